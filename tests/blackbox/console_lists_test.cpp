// Black-box tests of the console's lists (issue 11): GET /api/v1/groups a page at a time in any
// of its orders with the total, GET /api/v1/members sorted, both through their opaque cursors,
// member search by name and id, the filters by tag and role, a group's own page (the group, its
// conversation newest first), and the moderation decisions newest first by id, through the real
// binary.
#include <algorithm>
#include <string>
#include <vector>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

// Group g<k> gets k joins; member u<n> writes n % 7 messages in group g<n % 8 + 1>.
json Events() {
  json events = json::array();
  int n = 0;
  auto at = [&] {
    ++n;
    char buf[40];
    std::snprintf(buf, sizeof buf, "2026-03-01T%02d:%02d:%02d+08:00", n / 3600, n / 60 % 60,
                  n % 60);
    return std::string(buf);
  };
  const std::vector<std::string> names = {"小明", "Lily", "LILY", "王芳-上海", "阿杰", "Coco"};
  for (int k = 1; k <= 8; ++k) {
    for (int j = 1; j <= k; ++j) {
      events.push_back(
          {{"id", "j" + std::to_string(k) + "-" + std::to_string(j)},
           {"type", "member_joined"},
           {"time", at()},
           {"platform", "sandbox"},
           {"group", "g" + std::to_string(k)},
           {"group_name", "群" + std::to_string(k % 3)},
           {"member", "u" + std::to_string(k * 10 + j)},
           {"name", names[static_cast<size_t>(j) % names.size()] + std::to_string(k)}});
    }
  }
  for (int m = 1; m <= 30; ++m) {
    for (int i = 0; i < m % 7; ++i) {
      events.push_back({{"id", "m" + std::to_string(m) + "-" + std::to_string(i)},
                        {"type", "message"},
                        {"time", at()},
                        {"platform", "sandbox"},
                        {"group", "g" + std::to_string(m % 8 + 1)},
                        {"member", "u" + std::to_string(m)},
                        {"name", names[static_cast<size_t>(m) % names.size()]},
                        {"text", "hi"}});
    }
  }
  return events;
}

class ConsoleLists : public ConsoleApi {
 protected:
  // Every page of `path` (which has its query already), `key` the list's field.
  std::vector<json> AllPages(const std::string& path, const std::string& key,
                             int64_t* total = nullptr) {
    std::vector<json> out;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      const HttpResponse r = Get(path + (cursor.empty() ? "" : "&cursor=" + cursor));
      EXPECT_EQ(r.status, 200) << r.Describe();
      const json j = r.Json();
      if (r.status != 200) break;
      for (const json& item : j[key]) out.push_back(item);
      if (total != nullptr) *total = j.value("total", int64_t{-1});
      if (j["next_cursor"].is_null()) break;
      cursor = j["next_cursor"];
    }
    return out;
  }
};

TEST_F(ConsoleLists, GroupsAndMembersComeInPagesInTheOrderAskedFor) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  const HttpResponse ingested = Post("/api/v1/events", Events());
  ASSERT_EQ(ingested.status, 200) << ingested.Describe();

  // The default: by id, 50 a page, with the total.
  const json first = Get("/api/v1/groups").Json();
  ASSERT_EQ(first["groups"].size(), 8u) << first.dump();
  EXPECT_EQ(first["total"], 8);
  EXPECT_TRUE(first["next_cursor"].is_null());
  const std::vector<json> groups(first["groups"].begin(), first["groups"].end());

  for (const char* sort :
       {"id", "name", "platform", "member_count", "messages", "last_activity", "first_seen"}) {
    for (const char* order : {"asc", "desc"}) {
      std::vector<json> expected = groups;
      std::stable_sort(expected.begin(), expected.end(), [&](const json& a, const json& b) {
        const auto ka = std::make_pair(a[sort], a["id"]), kb = std::make_pair(b[sort], b["id"]);
        return std::string(order) == "asc" ? ka < kb : kb < ka;
      });
      int64_t total = 0;
      const std::vector<json> paged = AllPages(
          std::string("/api/v1/groups?limit=3&sort=") + sort + "&order=" + order, "groups", &total);
      EXPECT_EQ(total, 8);
      ASSERT_EQ(paged.size(), expected.size()) << sort << " " << order;
      for (size_t i = 0; i < paged.size(); ++i) {
        EXPECT_EQ(paged[i]["id"], expected[i]["id"]) << sort << " " << order << " at " << i;
      }
    }
  }

  // A search of names and platform ids (ASCII letters in any case), paged with its total.
  int64_t found = 0;
  EXPECT_EQ(AllPages("/api/v1/groups?limit=2&q=" + UrlEncode("群1"), "groups", &found).size(), 3u);
  EXPECT_EQ(found, 3) << "g1, g4, g7 are named 群1";
  EXPECT_EQ(AllPages("/api/v1/groups?q=G8", "groups", &found).size(), 1u);
  EXPECT_EQ(found, 1);
  EXPECT_TRUE(AllPages("/api/v1/groups?q=nothing", "groups", &found).empty());
  EXPECT_EQ(found, 0);
  EXPECT_EQ(ErrorField(Get("/api/v1/groups?q=" + std::string(300, 'x'))), "q");

  // Bad parameters name themselves; a cursor belongs to its sort and order.
  const std::string by_members = "/api/v1/groups?limit=3&sort=member_count&order=desc";
  const std::string cursor = Get(by_members).Json()["next_cursor"];
  EXPECT_EQ(Get(by_members + "&cursor=" + cursor).status, 200);
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"?sort=size", "sort"},
           {"?order=up", "order"},
           {"?limit=0", "limit"},
           {"?limit=1001", "limit"},
           {"?cursor=zz", "cursor"},
           {"?sort=member_count&order=asc&cursor=" + cursor, "cursor"},
           {"?sort=name&order=desc&cursor=" + cursor, "cursor"},
       }) {
    const HttpResponse r = Get("/api/v1/groups" + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.Describe();
    EXPECT_EQ(ErrorField(r), field) << query << ": " << r.body;
  }

  // Members: the busiest first, ties by id, through the opaque cursor.
  const std::vector<json> busiest =
      AllPages("/api/v1/members?limit=7&sort=messages&order=desc", "members");
  ASSERT_EQ(busiest.size(), Get("/api/v1/members?limit=1000").Json()["members"].size());
  for (size_t i = 1; i < busiest.size(); ++i) {
    const auto prev = std::make_pair(busiest[i - 1]["counters"]["messages"], busiest[i - 1]["id"]);
    const auto cur = std::make_pair(busiest[i]["counters"]["messages"], busiest[i]["id"]);
    EXPECT_LT(cur, prev) << "at " << i;
  }
  const std::vector<json> by_name =
      AllPages("/api/v1/members?limit=4&sort=display_name&q=lily", "members");
  std::vector<std::string> names;
  for (const json& m : by_name) names.push_back(m["display_name"]);
  EXPECT_FALSE(names.empty());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << json(names).dump();
  for (const std::string& name : names) {
    std::string lower = name;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_NE(lower.find("lily"), std::string::npos) << name;
  }
  EXPECT_EQ(ErrorField(Get("/api/v1/members?sort=points")), "sort");
  EXPECT_EQ(ErrorField(Get("/api/v1/members?sort=messages&cursor=12")), "cursor");
  // Without a sort the cursor is the last id, as it always was.
  const json plain = Get("/api/v1/members?limit=5").Json();
  EXPECT_EQ(plain["next_cursor"], std::to_string(plain["members"][4]["id"].get<int64_t>()));

  // Search: by a piece of a name (any ASCII case, one or more characters) or of an id.
  for (const auto& [q, at_least] : std::vector<std::pair<std::string, size_t>>{{"小", 1},
                                                                               {"王芳", 1},
                                                                               {"王芳-上海", 1},
                                                                               {"lIlY", 2},
                                                                               {"u1", 5},
                                                                               {"U2", 1},
                                                                               {"没有", 0}}) {
    const std::vector<json> found =
        AllPages("/api/v1/members?limit=3&q=" + UrlEncode(q), "members");
    EXPECT_GE(found.size(), at_least) << q;
    if (at_least == 0) {
      EXPECT_TRUE(found.empty()) << q;
    }
  }
}

TEST_F(ConsoleLists, MembersByTagAndRoleAndAGroupsOwnConversation) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  json events = Events();
  int n = 0;
  auto event = [&](json e) {
    e["id"] = "x" + std::to_string(++n);
    e["time"] = "2026-03-02T10:00:" + std::string(n < 10 ? "0" : "") + std::to_string(n) + "+08:00";
    e["platform"] = "sandbox";
    events.push_back(std::move(e));
  };
  event({{"type", "tag_changed"}, {"group", "g2"}, {"member", "u21"}, {"tag", "意向客户"}});
  event({{"type", "tag_changed"}, {"group", "g3"}, {"member", "u31"}, {"tag", "意向客户"}});
  event({{"type", "tag_changed"}, {"group", "g3"}, {"member", "u32"}, {"tag", "vip"}});
  event({{"type", "member_synced"}, {"group", "g3"}, {"member", "u32"}, {"role", "admin"}});
  event({{"type", "member_synced"}, {"group", "g4"}, {"member", "u41"}, {"role", "owner"}});
  event({{"type", "message"}, {"group", "g3"}, {"member", "u33"}, {"text", "<b>最后一句</b>"}});
  const HttpResponse ingested = Post("/api/v1/events", events);
  ASSERT_EQ(ingested.status, 200) << ingested.Describe();

  auto names = [&](const std::string& query) {
    std::vector<std::string> out;
    for (const json& m : AllPages("/api/v1/members?limit=1" + query, "members")) {
      out.push_back(m["display_name"]);
    }
    return out;
  };
  using S = std::vector<std::string>;
  // Names: see Events() (u<k*10+j> is names[j % 6] + k).
  EXPECT_EQ(names("&tag=" + UrlEncode("意向客户")), (S{"Lily2", "Lily3"}));
  EXPECT_EQ(names("&tag=vip"), S{"LILY3"});
  EXPECT_EQ(names("&tag=vi"), S{}) << "a tag matches whole";
  EXPECT_EQ(names("&role=admin"), S{"LILY3"});
  EXPECT_EQ(names("&role=owner"), S{"Lily4"});
  EXPECT_EQ(names("&role=owner&group=3"), S{});
  EXPECT_EQ(names("&role=admin&tag=vip&sort=display_name&order=desc"), S{"LILY3"});
  EXPECT_EQ(ErrorField(Get("/api/v1/members?role=king")), "role");
  EXPECT_EQ(ErrorField(Get("/api/v1/members?tag=" + std::string(300, 'x'))), "tag");
  const json tags = Get("/api/v1/tags").Json();
  EXPECT_EQ(tags, json::parse(R"({"tags":[{"tag":"vip","members":1},{"tag":"意向客户","members":2}]})"));

  // Group g3 (id 3): its own object, and its events newest first, a page at a time.
  const HttpResponse group = Get("/api/v1/groups/3");
  ASSERT_EQ(group.status, 200) << group.Describe();
  EXPECT_EQ(group.Json()["external_id"], "g3");
  EXPECT_EQ(Get("/api/v1/groups/99").status, 404);
  std::vector<json> seen;
  std::string before;
  for (int page = 0; page < 50; ++page) {
    const HttpResponse r =
        Get("/api/v1/groups/3/events?limit=2" + (before.empty() ? "" : "&before=" + before));
    ASSERT_EQ(r.status, 200) << r.Describe();
    const json j = r.Json();
    for (const json& e : j["events"]) seen.push_back(e);
    if (j["next_before"].is_null()) break;
    before = std::to_string(j["next_before"].get<int64_t>());
  }
  size_t expected = 0;
  for (const json& e : events) expected += e.value("group", "") == "g3" ? 1 : 0;
  ASSERT_EQ(seen.size(), expected);
  EXPECT_EQ(seen.front()["text"], "<b>最后一句</b>") << "the newest first, as stored";
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i]["group"], "g3");
    if (i > 0) {
      EXPECT_LT(seen[i]["seq"], seen[i - 1]["seq"]);
    }
  }
  EXPECT_EQ(seen.back()["type"], "member_joined") << "down to the group's first event";
}

// Decision ids past 9 ("[10]" sorts before "[9]" as stored): the log comes newest first by id,
// a page at a time, the same with a filter as the whole log filtered.
TEST_F(ConsoleLists, ModerationDecisionsComeNewestFirstByIdInPages) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--playbook", File("camp.toml", R"toml(
[community]
slug = "camp"
name = "camp"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "camp 1"

[moderation]
ladder = ["warn"]
)toml")}));
  // Through the sandbox, as live messages (history posted to /api/v1/events is not moderated).
  for (int i = 0; i < 24; ++i) {
    const HttpResponse ad = Post("/api/v1/sandbox/groups/camp-1/messages",
                                 {{"member", "spam" + std::to_string(i)},
                                  {"name", "广告哥"},
                                  {"text", "加我微信 abc12345 低价代购 http://spam.example.com 快来"}});
    ASSERT_EQ(ad.status, 200) << ad.Describe();
  }
  const std::string base = "/api/v1/moderation/decisions?community=camp";
  const json whole = Get(base + "&limit=1000").Json();
  ASSERT_EQ(whole["decisions"].size(), 24u) << whole.dump();
  EXPECT_TRUE(whole["next_cursor"].is_null());
  std::vector<int64_t> ids;
  for (const json& d : whole["decisions"]) ids.push_back(d["id"]);
  EXPECT_EQ(ids.back(), 1);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i], ids[i - 1] - 1) << "at " << i;

  for (const std::string filter : {"", "&member=sandbox:spam13"}) {
    std::vector<int64_t> expected;
    for (const json& d : whole["decisions"]) {
      if (filter.empty() || d["member"] == "sandbox:spam13") expected.push_back(d["id"]);
    }
    std::vector<int64_t> paged;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      const json j =
          Get(base + filter + "&limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor)).Json();
      for (const json& d : j["decisions"]) paged.push_back(d["id"]);
      if (j["next_cursor"].is_null()) break;
      cursor = j["next_cursor"];
    }
    EXPECT_EQ(paged, expected) << filter;
  }
  EXPECT_EQ(ErrorField(Get(base + "&cursor=x")), "cursor");
}

}  // namespace
}  // namespace qzbb
