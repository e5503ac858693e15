#include "demo/demo.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace qz {
namespace {

constexpr TimeMs kDay = 86'400'000;

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return h;
}

// Hash of the whole NDJSON stream and its length.
std::pair<uint64_t, int64_t> StreamHash(const DemoOptions& options) {
  DemoGenerator gen(options);
  Event e;
  uint64_t h = 0xCBF29CE484222325ull;
  int64_t n = 0;
  while (gen.Next(e)) {
    h = Fnv1a(h, EventToJson(e));
    h = Fnv1a(h, "\n");
    ++n;
  }
  return {h, n};
}

std::vector<Event> Collect(const DemoOptions& options, int64_t limit = -1) {
  DemoGenerator gen(options);
  std::vector<Event> events;
  Event e;
  while ((limit < 0 || static_cast<int64_t>(events.size()) < limit) && gen.Next(e)) {
    events.push_back(e);
  }
  return events;
}

// The default demo, generated once for the tests that only read it.
const std::vector<Event>& Defaults() {
  static const std::vector<Event> kEvents = Collect(DemoOptions{});
  return kEvents;
}

std::string Key(const std::string& a, const std::string& b) { return a + '\x1f' + b; }
std::string Key(const std::string& a, const std::string& b, const std::string& c) {
  return a + '\x1f' + b + '\x1f' + c;
}

TEST(DemoTest, SameOptionsGiveTheSameStreamAndAnotherSeedAnother) {
  DemoOptions options;
  const auto a = StreamHash(options);
  const auto b = StreamHash(options);
  EXPECT_EQ(a, b);
  options.seed = 43;
  const auto c = StreamHash(options);
  EXPECT_NE(a.first, c.first);
}

// Pins the exact output for a small community: the same seed must give the same bytes with any
// compiler and standard library. Update the constant only for an intended change of content.
TEST(DemoTest, SmallStreamIsPinned) {
  const auto [hash, count] = StreamHash({.seed = 7, .members = 50, .days = 3});
  EXPECT_EQ(count, 647);
  EXPECT_EQ(hash, 0x44d70effdc4925fdull) << std::hex << hash;
}

TEST(DemoTest, EndsAndStaysEnded) {
  DemoGenerator gen({.seed = 1, .members = 10, .days = 1});
  Event e;
  int n = 0;
  while (gen.Next(e)) ++n;
  EXPECT_GT(n, 10);
  EXPECT_FALSE(gen.Next(e));
  EXPECT_FALSE(gen.Next(e));
}

TEST(DemoTest, EmptyOptionsGiveNoEvents) {
  Event e;
  EXPECT_FALSE(DemoGenerator({.members = 0}).Next(e));
  EXPECT_FALSE(DemoGenerator({.days = 0}).Next(e));
  EXPECT_FALSE(DemoGenerator({.members = -5, .days = -1}).Next(e));
}

TEST(DemoTest, EveryEventParsesRoundTripsAndIsOrderedAndUnique) {
  const auto& events = Defaults();
  const DemoOptions options;
  EventParser parser;
  std::set<std::string> ids;
  TimeMs last = options.start;
  for (const Event& e : events) {
    const std::string json = EventToJson(e);
    auto parsed = parser.Parse(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString() << "\n" << json;
    ASSERT_EQ(EventToJson(*parsed), json);
    ASSERT_GE(e.time, last) << json;
    last = e.time;
    ASSERT_LT(e.time, options.start + options.days * kDay) << json;
    EXPECT_EQ(e.time_offset, 480);
    ASSERT_TRUE(ids.insert(Key(e.platform, e.id)).second) << "duplicate id " << json;
    EXPECT_FALSE(e.community.empty());
    EXPECT_FALSE(e.name.empty()) << json;
  }
}

TEST(DemoTest, HasTheShapeOfTheTwoCommunities) {
  const auto& events = Defaults();
  std::map<EventType, int> types;
  std::set<MessageKind> kinds;
  std::set<std::string> groups, roles;
  std::map<std::string, std::string> group_names;
  for (const Event& e : events) {
    ++types[e.type];
    if (e.type == EventType::kMessage) kinds.insert(e.kind);
    groups.insert(Key(e.community, e.platform, e.group));
    if (e.role) roles.insert(std::string(RoleName(*e.role)));
    if (!e.group.empty()) group_names[e.group] = e.group_name;
  }
  // Every type a platform or operator produces; the engine's own (system events, points) are not
  // part of a member's behaviour.
  size_t member_types = 0;
  for (int t = 1; t <= kEventTypeCount; ++t) {
    const auto type = static_cast<EventType>(t);
    if (!IsSystemEvent(type) && type != EventType::kPointsChanged) ++member_types;
  }
  EXPECT_EQ(types.size(), member_types);
  for (const auto& [type, n] : types) EXPECT_GT(n, 0) << EventTypeName(type);
  EXPECT_GT(types[EventType::kMessage], types[EventType::kMemberJoined]);
  EXPECT_EQ(groups, (std::set<std::string>{
                        Key("camp", "wecom", "camp-1"), Key("camp", "wecom", "camp-2"),
                        Key("camp", "qq", "camp-qq-1"), Key("fans", "telegram", "fans-tg"),
                        Key("fans", "qq", "fans-qq")}));
  EXPECT_EQ(group_names["camp-1"], "7天成长营·1群");
  EXPECT_EQ(roles, (std::set<std::string>{"owner", "admin", "assistant"}));
  for (MessageKind k : {MessageKind::kText, MessageKind::kImage, MessageKind::kLink,
                        MessageKind::kRedpacket, MessageKind::kFile, MessageKind::kVoice}) {
    EXPECT_TRUE(kinds.count(k)) << MessageKindName(k);
  }
}

// Joins come before anything a member does in a group; nothing after leaving until a rejoin;
// inviters joined earlier on the same platform.
TEST(DemoTest, MembershipIsConsistent) {
  const auto& events = Defaults();
  std::map<std::string, bool> present;       // (platform, group, member)
  std::map<std::string, TimeMs> first_join;  // (platform, member)
  int referrals = 0, rejoins = 0, leaves = 0;
  std::set<std::string> left_before;
  for (const Event& e : events) {
    const std::string key = Key(e.platform, e.group, e.member);
    switch (e.type) {
      case EventType::kMemberJoined:
        ASSERT_FALSE(present[key]) << "joined twice: " << EventToJson(e);
        present[key] = true;
        if (left_before.count(key)) ++rejoins;
        if (!e.via_inviter.empty()) {
          ++referrals;
          auto it = first_join.find(Key(e.platform, e.via_inviter));
          ASSERT_NE(it, first_join.end()) << "unknown inviter: " << EventToJson(e);
          ASSERT_LT(it->second, e.time) << EventToJson(e);
          EXPECT_NE(e.via_inviter, e.member);
          if (e.community == "camp") {
            EXPECT_EQ(e.via_code, "poster:" + e.via_inviter);
          }
        }
        first_join.emplace(Key(e.platform, e.member), e.time);
        break;
      case EventType::kMemberLeft:
        ASSERT_TRUE(present[key]) << "left without being in: " << EventToJson(e);
        present[key] = false;
        left_before.insert(key);
        ++leaves;
        break;
      case EventType::kJoinRequest:  // asking to join: not in the group (yet)
        ASSERT_FALSE(present[key]) << "asks to join while in: " << EventToJson(e);
        break;
      default:
        if (!e.group.empty()) {
          ASSERT_TRUE(present[key]) << "acts outside the group: " << EventToJson(e);
        }
    }
  }
  EXPECT_GT(referrals, 20);
  EXPECT_GT(leaves, 20);
  EXPECT_GT(rejoins, 0);
}

// QQ groups take people by request: each first join there follows the member's request (the
// group's question and their answer, a flag to answer it by) by at most a quarter of an hour.
// The bot's daily sync lists the staff of the QQ and Telegram groups with their roles.
TEST(DemoTest, JoinRequestsPrecedeQqJoinsAndSyncsListTheStaff) {
  const auto& events = Defaults();
  std::map<std::string, TimeMs> asked;  // (platform, group, member) -> the request's time
  std::set<std::string> flags, joined_before;
  int requests = 0, qq_first_joins = 0;
  std::map<std::string, std::set<std::string>> synced_days;  // group -> days it was synced
  for (const Event& e : events) {
    const std::string key = Key(e.platform, e.group, e.member);
    if (e.type == EventType::kJoinRequest) {
      ++requests;
      EXPECT_EQ(e.platform, "qq") << EventToJson(e);
      EXPECT_EQ(e.text.rfind("问题：", 0), 0u) << e.text;
      EXPECT_NE(e.text.find("\n答案："), std::string::npos) << e.text;
      EXPECT_EQ(e.request.size(), 16u) << e.request;
      EXPECT_TRUE(flags.insert(e.request).second) << "flag used twice: " << e.request;
      asked[key] = e.time;
    } else if (e.type == EventType::kMemberJoined && e.platform == "qq" && !e.role &&
               joined_before.insert(key).second) {
      ++qq_first_joins;
      auto it = asked.find(key);
      ASSERT_NE(it, asked.end()) << "joined without asking: " << EventToJson(e);
      EXPECT_LE(e.time - it->second, 15 * 60'000) << EventToJson(e);
    } else if (e.type == EventType::kMemberSynced) {
      ASSERT_TRUE(e.role.has_value()) << EventToJson(e);
      EXPECT_NE(e.platform, "wecom");
      synced_days[e.group].insert(FormatRfc3339(e.time, 480).substr(0, 10));
    }
  }
  EXPECT_EQ(requests, qq_first_joins);
  EXPECT_GT(requests, 50);
  EXPECT_EQ(synced_days.size(), 3u);  // camp-qq-1, fans-tg, fans-qq
  for (const auto& [group, days] : synced_days) EXPECT_EQ(days.size(), 30u) << group;
}

// Replies point at earlier messages of the same group; the assistant's answers mention the asker.
TEST(DemoTest, RepliesAndAnswers) {
  const auto& events = Defaults();
  std::map<std::string, const Event*> messages;  // (platform, id)
  int answers = 0, member_replies = 0;
  for (const Event& e : events) {
    if (e.type != EventType::kMessage) continue;
    if (!e.reply_to.empty()) {
      auto it = messages.find(Key(e.platform, e.reply_to));
      ASSERT_NE(it, messages.end()) << EventToJson(e);
      const Event& q = *it->second;
      EXPECT_EQ(q.group, e.group);
      EXPECT_LE(q.time, e.time);
      if (e.role == Role::kAssistant) {
        ++answers;
        EXPECT_EQ(e.mentions, std::vector<std::string>{q.member}) << EventToJson(e);
        EXPECT_NE(q.text.find("？"), std::string::npos) << q.text;
      } else if (!e.role) {
        ++member_replies;
      }
    }
    messages.emplace(Key(e.platform, e.id), &e);
  }
  EXPECT_GT(answers, 50);
  EXPECT_GT(member_replies, 100);
}

TEST(DemoTest, SpammersPostAdsAndSomeAreRemoved) {
  const auto& events = Defaults();
  std::map<std::string, std::vector<std::string>> texts;  // (platform, member) -> messages
  std::map<std::string, int> removed_by_community;
  const std::vector<std::string> markers = {"加v", "威❤", "q 8 5 9", "兼职日结",
                                            "vx",  "V➕",  "扣扣",    "ｗｘ"};
  for (const Event& e : events) {
    const std::string who = Key(e.platform, e.member);
    if (e.type == EventType::kMessage) texts[who].push_back(e.text);
    if (e.type == EventType::kMemberLeft && e.reason == LeaveReason::kRemoved) {
      ++removed_by_community[e.community];
      EXPECT_NE(e.attrs.find("\"operator\""), std::string::npos) << EventToJson(e);
      bool advertised = false;
      for (const std::string& t : texts[who]) {
        for (const std::string& m : markers) advertised |= t.find(m) != std::string::npos;
      }
      EXPECT_TRUE(advertised) << "removed without an ad: " << EventToJson(e);
    }
  }
  EXPECT_GE(removed_by_community["camp"], 2);
  EXPECT_GE(removed_by_community["fans"], 2);
}

TEST(DemoTest, ActivityAndCheckinsFade) {
  const auto& events = Defaults();
  const DemoOptions options;
  int early = 0, late = 0, day1 = 0, day7 = 0;
  for (const Event& e : events) {
    const TimeMs day = (e.time - options.start) / kDay;
    if (e.type == EventType::kMessage && !e.role) {
      if (day >= 3 && day < 10) ++early;
      if (day >= 23) ++late;
    }
    if (e.type == EventType::kCheckin) {
      if (e.text.rfind("打卡第1天", 0) == 0) ++day1;
      if (e.text.rfind("打卡第7天", 0) == 0) ++day7;
    }
  }
  EXPECT_LT(late * 10, early * 7) << "early " << early << " late " << late;
  EXPECT_GT(day7, 0);
  EXPECT_LT(day7 * 10, day1 * 8) << day1 << " " << day7;
}

TEST(DemoTest, TheFunnelConverts) {
  const auto& events = Defaults();
  int trials = 0, paid = 0, intent = 0, clicks = 0;
  for (const Event& e : events) {
    if (e.type == EventType::kOrder && e.community == "camp") {
      EXPECT_EQ(e.currency, "CNY");
      if (e.amount_e4 == 99'000) {
        EXPECT_NE(e.product.find("体验课"), std::string::npos);
        ++trials;
      } else {
        EXPECT_EQ(e.amount_e4, 19'990'000);
        EXPECT_NE(e.product.find("进阶课"), std::string::npos);
        ++paid;
      }
    }
    if (e.type == EventType::kTagChanged && e.tag == "意向客户" && e.tag_op == TagOp::kAdd) {
      ++intent;
    }
    if (e.type == EventType::kLinkClick) {
      EXPECT_EQ(e.url.rfind("https://", 0), 0u);
      ++clicks;
    }
  }
  EXPECT_GT(trials, 20);
  EXPECT_GT(paid, 2);
  EXPECT_LT(paid, trials);
  EXPECT_GT(intent, 5);
  EXPECT_GT(clicks, 500);
}

// Defaults (600 members, 30 days) give about 33k events with seed 42; the promise is 20k-60k.
TEST(DemoTest, DefaultScaleIsPlausible) {
  const auto n = static_cast<int64_t>(Defaults().size());
  EXPECT_GE(n, 20'000);
  EXPECT_LE(n, 60'000);
}

TEST(DemoTest, MoreMembersFewerDaysWorks) {
  const DemoOptions options{.seed = 5, .members = 2000, .days = 5};
  const auto events = Collect(options);
  EXPECT_GE(events.size(), 10'000u);
  EXPECT_LE(events.size(), 60'000u);
  EventParser parser;
  std::set<std::string> ids, groups;
  TimeMs last = 0;
  for (const Event& e : events) {
    const std::string json = EventToJson(e);
    auto parsed = parser.Parse(json);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(EventToJson(*parsed), json);
    ASSERT_GE(e.time, last);
    last = e.time;
    ASSERT_TRUE(ids.insert(Key(e.platform, e.id)).second);
    groups.insert(e.group);
  }
  // 900 WeCom camp members at 250 a group.
  EXPECT_TRUE(groups.count("camp-4"));
  EXPECT_FALSE(groups.count("camp-5"));
}

// The load-generator shape: a large community starts streaming at once (days are generated
// lazily) and stays ordered.
TEST(DemoTest, LargeCommunityStreamsLazily) {
  DemoGenerator gen({.seed = 9, .members = 100'000, .days = 90});
  Event e;
  TimeMs last = 0;
  std::set<std::string> groups;
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(gen.Next(e));
    ASSERT_GE(e.time, last);
    last = e.time;
    groups.insert(e.group);
  }
  EXPECT_GT(groups.size(), 200u);
  EXPECT_LT(last, kDemoDefaultStart + kDay);  // still on day one
}

TEST(DemoRecent, TheDaysEndYesterdayInShanghai) {
  const auto ms = [](std::string_view t) { return ParseRfc3339(t)->ms; };
  // 00:23 on 7 December in +08:00: the 30 days are 7 November to 6 December.
  EXPECT_EQ(RecentDemoStart(30, ms("2026-12-06T16:23:00Z")), ms("2026-11-07T00:00:00+08:00"));
  // 23:59 on 6 December in +08:00: they end on 5 December.
  EXPECT_EQ(RecentDemoStart(30, ms("2026-12-06T15:59:00Z")), ms("2026-11-06T00:00:00+08:00"));
  EXPECT_EQ(RecentDemoStart(1, ms("2026-12-06T16:00:00Z")), ms("2026-12-06T00:00:00+08:00"));
}

}  // namespace
}  // namespace qz
