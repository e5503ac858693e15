// Black-box test of the activity module's routes (the Overview's daily chart, the groups'
// sparklines): events at known local days go in through the API, the counts come back per day.
#include <chrono>
#include <ctime>
#include <string>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::seconds;
using std::chrono::system_clock;

constexpr hours kShanghai{8};  // the demo's zone: UTC+8 all year

// The local midnight of `d` days before today in Shanghai, as UTC time.
system_clock::time_point Midnight(int d) {
  const auto local = std::chrono::floor<days>(system_clock::now() + kShanghai) - days{d};
  return local - kShanghai;
}
std::string Rfc3339(system_clock::time_point t) {
  const std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
std::string DayLabel(int d) {
  const std::time_t tt = system_clock::to_time_t(Midnight(d) + kShanghai);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

json Event(const std::string& id, const std::string& type, system_clock::time_point at,
           const std::string& group, const std::string& member) {
  json e = {{"id", id},       {"type", type},   {"time", Rfc3339(at)}, {"platform", "sandbox"},
            {"group", group}, {"member", member}, {"name", member}};
  if (type == "message") {
    e["kind"] = "text";
    e["text"] = "hi";
  }
  return e;
}

// The entry of `day` in a daily answer (null when the window has no such day).
json Entry(const json& answer, const std::string& day) {
  for (const json& e : answer["days"]) {
    if (e["day"] == day) return e;
  }
  return nullptr;
}

TEST_F(ConsoleApi, ActivityCountsJoinsLeavesAndMessagesPerLocalDay) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  const auto today = Midnight(0) + seconds(1);
  const auto yesterday = Midnight(1) + hours(12);
  const auto long_ago = Midnight(40) + hours(12);
  json events = json::array({
      Event("j1", "member_joined", long_ago, "g1", "u1"),
      Event("m0", "message", long_ago, "g1", "u1"),
      Event("j2", "member_joined", yesterday, "g2", "u2"),
      Event("m1", "message", yesterday, "g2", "u2"),
      Event("m2", "message", yesterday + seconds(1), "g2", "u2"),
      Event("l1", "member_left", yesterday + seconds(2), "g2", "u2"),
      Event("j3", "member_joined", today, "g1", "u3"),
      Event("m3", "message", today + seconds(1), "g1", "u3"),
      Event("m4", "message", today + seconds(2), "g1", "u1"),
      Event("m5", "message", today + seconds(3), "g1", "u3"),
  });
  const HttpResponse ingested = Post("/api/v1/events", events);
  ASSERT_EQ(ingested.status, 200) << ingested.Describe();

  // A window of three days (so a midnight during the test moves nothing out of it).
  const HttpResponse daily = Get("/api/v1/activity/daily?days=3");
  ASSERT_EQ(daily.status, 200) << daily.Describe();
  const json d = daily.Json();
  EXPECT_EQ(d["time_zone"], "Asia/Shanghai");
  ASSERT_EQ(d["days"].size(), 3u) << d.dump();
  const json t = Entry(d, DayLabel(0));
  ASSERT_FALSE(t.is_null()) << d.dump();
  EXPECT_EQ(t["joins"], 1);
  EXPECT_EQ(t["leaves"], 0);
  EXPECT_EQ(t["messages"], 3);
  const json y = Entry(d, DayLabel(1));
  ASSERT_FALSE(y.is_null()) << d.dump();
  EXPECT_EQ(y["joins"], 1);
  EXPECT_EQ(y["leaves"], 1);
  EXPECT_EQ(y["messages"], 2);
  // The default window is 30 days: the events of 40 days ago are outside it, 60 takes them in.
  int64_t messages_30 = 0, messages_60 = 0;
  const json d30 = Get("/api/v1/activity/daily").Json();
  EXPECT_EQ(d30["days"].size(), 30u);
  for (const json& e : d30["days"]) messages_30 += e["messages"].get<int64_t>();
  const json d60 = Get("/api/v1/activity/daily?days=60").Json();  // kept: the loop reads into it
  for (const json& e : d60["days"]) messages_60 += e["messages"].get<int64_t>();
  EXPECT_EQ(messages_30, 5);
  EXPECT_EQ(messages_60, 6);

  // Per group, in the order asked, oldest day first.
  int64_t g1 = 0, g2 = 0;
  const json listed = Get("/api/v1/groups").Json();
  for (const json& g : listed["groups"]) {
    (g["external_id"] == "g1" ? g1 : g2) = g["id"].get<int64_t>();
  }
  const HttpResponse groups =
      Get("/api/v1/activity/groups?days=2&groups=" + std::to_string(g2) + "," + std::to_string(g1));
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  const json gj = groups.Json();
  ASSERT_EQ(gj["days"].size(), 2u);
  ASSERT_EQ(gj["groups"].size(), 2u);
  EXPECT_EQ(gj["groups"][0]["group"], g2);
  EXPECT_EQ(gj["groups"][1]["group"], g1);
  if (gj["days"][1] == DayLabel(0)) {  // not across a midnight
    EXPECT_EQ(gj["groups"][0]["messages"], json::array({2, 0}));
    EXPECT_EQ(gj["groups"][0]["leaves"], json::array({1, 0}));
    EXPECT_EQ(gj["groups"][1]["messages"], json::array({0, 3}));
    EXPECT_EQ(gj["groups"][1]["joins"], json::array({0, 1}));
  }

  // Bad parameters name themselves; an unknown community is 404.
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"daily?days=0", "days"},
           {"daily?days=367", "days"},
           {"daily?days=x", "days"},
           {"groups", "groups"},
           {"groups?groups=1,x", "groups"},
           {"groups?groups=1,,2", "groups"},
       }) {
    const HttpResponse r = Get("/api/v1/activity/" + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.Describe();
    EXPECT_EQ(ErrorField(r), field) << query << ": " << r.body;
  }
  EXPECT_EQ(Get("/api/v1/activity/daily?community=nope").status, 404);
}

}  // namespace
}  // namespace qzbb
