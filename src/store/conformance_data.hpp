// qunzhu store: test data and comparisons shared by the conformance suites
// (<seam>_conformance.cpp). Test code only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "store/store.hpp"
#include "testing/status_matchers.hpp"

namespace qz {

// ---- Comparisons: field tuples, so failures print readable values (enums as integers) ----

// Field tuples, so failures print readable values (enums as integers).
inline auto Fields(const Community& c) {
  return std::tuple(c.id, c.slug, c.name, c.time_zone, c.created_at);
}
inline auto Fields(const Group& g) {
  return std::tuple(g.id, g.community_id, g.platform, g.external_id, g.name, int(g.type),
                    g.capacity, g.time_zone, g.first_seen, g.last_activity, g.member_count, g.joins,
                    g.leaves, g.messages, g.bot_left_at, g.last_event_seq);
}
inline auto Fields(const Member& m) {
  return std::tuple(m.id, m.community_id, m.display_name, m.first_seen, m.last_seen, m.referrer_id,
                    m.channel, m.messages, m.checkins, m.link_clicks, m.orders, m.order_amount_e4,
                    m.invited, m.points, m.last_message, m.last_checkin, m.last_event_seq);
}
inline auto Fields(const Identity& i) {
  return std::tuple(i.community_id, i.platform, i.external_id, i.member_id, i.name);
}
inline auto Fields(const Membership& m) {
  return std::tuple(m.group_id, m.member_id, int(m.role), m.active, m.joined_at, m.left_at,
                    int(m.left_reason), m.via_code, m.inviter_id, m.messages, m.last_message);
}
inline auto Fields(const MemberName& n) { return std::tuple(n.member_id, n.name, n.first_seen); }
inline auto Fields(const MemberTag& t) { return std::tuple(t.member_id, t.tag, t.added_at); }
inline auto Fields(const ModuleStateEntry& e) {
  return std::tuple(e.community_id, e.module, e.key, e.value);
}
inline auto Fields(const OutboxRecord& r) {
  return std::tuple(r.id, ActionToJson(r.action), r.idempotency_key, int(r.status), r.attempts,
                    r.next_attempt_at, r.last_error, r.platform_ref, r.created_at, r.updated_at);
}
inline auto Fields(const OperatorTask& t) {
  return std::tuple(t.id, t.community_id, t.group_id, t.member_id, t.kind, t.reason, t.evidence,
                    t.cause_event, t.rule, t.open, t.created_at);
}
inline auto Fields(const TimerRecord& t) {
  return std::tuple(t.id, t.community_id, t.community, t.key, t.rule, t.time_zone, t.due,
                    t.payload, t.cause_event, t.version);
}
inline auto Fields(const StoredPlaybook& p) {
  return std::tuple(p.community, p.toml, p.updated_at);
}
inline auto Fields(const ActionCounts& c) {
  return std::tuple(c.pending, c.sending, c.done, c.failed, c.possibly_sent);
}
inline auto Fields(const StoredEvent& e) {
  return std::tuple(e.seq, e.platform, e.source_id, e.community_id, e.group_id, e.member_id,
                    int(e.type), e.time, e.json);
}

template <typename T>
inline std::string Dump(const T& value) {
  return ::testing::PrintToString(Fields(value));
}
template <typename T>
inline std::string Dump(const std::vector<T>& values) {
  std::string out = "[";
  for (const T& value : values) out += "\n  " + Dump(value);
  return out + "]";
}
inline std::string Dump(const StateSnapshot& s) {
  return "communities " + Dump(s.communities) + "\ngroups " + Dump(s.groups) + "\nmembers " +
         Dump(s.members) + "\nidentities " + Dump(s.identities) + "\nmemberships " +
         Dump(s.memberships) + "\nnames " + Dump(s.names) + "\ntags " + Dump(s.tags) +
         "\nmodule_state " + Dump(s.module_state) + "\nlast_seq " + std::to_string(s.last_seq);
}

inline bool SameEvent(const StoredEvent& a, const StoredEvent& b) { return Fields(a) == Fields(b); }
inline bool SameEvents(const std::vector<StoredEvent>& a, const std::vector<StoredEvent>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), SameEvent);
}

// operator== on the structs; the dump only explains a mismatch.
#define EXPECT_SAME(actual, expected)                                    \
  EXPECT_TRUE((actual) == (expected)) << "actual:\n"                     \
                                      << Dump(actual) << "\nexpected:\n" \
                                      << Dump(expected)
#define EXPECT_SAME_EVENTS(actual, expected)                                       \
  EXPECT_TRUE(SameEvents((actual), (expected))) << "actual:\n"                     \
                                                << Dump(actual) << "\nexpected:\n" \
                                                << Dump(expected)

// ---- Test data: every field set to a non-default value ----

inline constexpr TimeMs kT0 = 1'700'000'000'000;

inline StoredEvent MakeEvent(std::string platform, std::string source_id, MemberId member = 1,
                      GroupId group = 1, EventType type = EventType::kMessage) {
  StoredEvent e;
  e.platform = std::move(platform);
  e.source_id = std::move(source_id);
  e.community_id = 1;
  e.group_id = group;
  e.member_id = member;
  e.type = type;
  e.time = kT0 + member * 1000;
  e.json = R"({"id":")" + e.source_id + R"(","type":"message","platform":")" + e.platform +
           R"(","text":"hello"})";
  return e;
}

inline Community MakeCommunity(CommunityId id) {
  return {.id = id,
          .slug = "c" + std::to_string(id),
          .name = "Community " + std::to_string(id),
          .time_zone = "Europe/Berlin",
          .created_at = kT0 + id};
}

inline Group MakeGroup(GroupId id, CommunityId community) {
  return {.id = id,
          .community_id = community,
          .platform = "wecom",
          .external_id = "g" + std::to_string(id),
          .name = "Group " + std::to_string(id),
          .type = GroupType::kLearning,
          .capacity = 2000 + static_cast<int32_t>(id),
          .time_zone = "America/New_York",
          .first_seen = kT0 + 10 * id,
          .last_activity = kT0 + 20 * id,
          .member_count = 30 + id,
          .joins = 40 + id,
          .leaves = 50 + id,
          .messages = 60 + id,
          .bot_left_at = kT0 + 70 * id,
          .last_event_seq = 6'000'000'000 + id};
}

inline Member MakeMember(MemberId id, CommunityId community, std::string name = {}) {
  if (name.empty()) name = "Member " + std::to_string(id);
  return {.id = id,
          .community_id = community,
          .display_name = std::move(name),
          .first_seen = kT0 + id,
          .last_seen = kT0 + 2 * id,
          .referrer_id = id + 1000,
          .channel = "qr-" + std::to_string(id),
          .messages = 3 + id,
          .checkins = 4 + id,
          .link_clicks = 5 + id,
          .orders = 6 + id,
          .order_amount_e4 = 9'000'000'000'000'000'000 + id,  // beyond 32 and 53 bits
          .invited = 7 + id,
          .points = -(8'000'000'000'000'000'000 + id),  // a balance may be negative
          .last_message = kT0 + 3 * id,
          .last_checkin = kT0 + 4 * id,
          .last_event_seq = 5'000'000'000 + id};
}

inline Identity MakeIdentity(CommunityId community, std::string platform, std::string external_id,
                      MemberId member) {
  return {.community_id = community,
          .platform = std::move(platform),
          .external_id = std::move(external_id),
          .member_id = member,
          .name = "nick of " + std::to_string(member)};
}

inline Membership MakeMembership(GroupId group, MemberId member, bool active = true) {
  return {.group_id = group,
          .member_id = member,
          .role = Role::kAdmin,
          .active = active,
          .joined_at = kT0 + member,
          .left_at = active ? 0 : kT0 + 5 * member,
          .left_reason = LeaveReason::kRemoved,
          .via_code = "code-" + std::to_string(member),
          .inviter_id = member + 500,
          .messages = 8 + member,
          .last_message = kT0 + 6 * member};
}

inline MemberName MakeName(MemberId member, std::string name) {
  return {.member_id = member, .name = std::move(name), .first_seen = kT0 + 7 * member};
}

inline MemberTag MakeTag(MemberId member, std::string tag) {
  return {.member_id = member, .tag = std::move(tag), .added_at = kT0 + 8 * member};
}

inline Status Put(StoreTxn& txn, const Community& v) { return txn.PutCommunity(v); }
inline Status Put(StoreTxn& txn, const Group& v) { return txn.PutGroup(v); }
inline Status Put(StoreTxn& txn, const Member& v) { return txn.PutMember(v); }
inline Status Put(StoreTxn& txn, const Identity& v) { return txn.PutIdentity(v); }
inline Status Put(StoreTxn& txn, const Membership& v) { return txn.PutMembership(v); }
inline Status Put(StoreTxn& txn, const MemberName& v) { return txn.PutMemberName(v); }
inline Status Put(StoreTxn& txn, const MemberTag& v) { return txn.PutTag(v); }

template <typename T>
inline Status PutEach(StoreTxn& txn, const std::vector<T>& values) {
  for (const T& value : values) QZ_RETURN_IF_ERROR(Put(txn, value));
  return Status::Ok();
}

// Puts every entity of `s` (in reverse order, so the store has to sort) in `txn`.
inline Status PutSnapshot(StoreTxn& txn, StateSnapshot s) {
  std::reverse(s.communities.begin(), s.communities.end());
  std::reverse(s.groups.begin(), s.groups.end());
  std::reverse(s.members.begin(), s.members.end());
  std::reverse(s.identities.begin(), s.identities.end());
  std::reverse(s.memberships.begin(), s.memberships.end());
  std::reverse(s.names.begin(), s.names.end());
  std::reverse(s.tags.begin(), s.tags.end());
  QZ_RETURN_IF_ERROR(PutEach(txn, s.communities));
  QZ_RETURN_IF_ERROR(PutEach(txn, s.groups));
  QZ_RETURN_IF_ERROR(PutEach(txn, s.members));
  QZ_RETURN_IF_ERROR(PutEach(txn, s.identities));
  QZ_RETURN_IF_ERROR(PutEach(txn, s.memberships));
  QZ_RETURN_IF_ERROR(PutEach(txn, s.names));
  return PutEach(txn, s.tags);
}

// A small state with every entity type, already in primary-key order.
inline StateSnapshot SampleState() {
  StateSnapshot s;
  s.communities = {MakeCommunity(1), MakeCommunity(2)};
  s.communities[1].name = "测试社群 🌏";
  s.groups = {MakeGroup(1, 1), MakeGroup(2, 1), MakeGroup(3, 2)};
  s.groups[0].type = GroupType::kIndustry;
  s.groups[1].name = "读书会 📚";
  s.groups[2].platform = "feishu";
  s.members = {MakeMember(1, 1), MakeMember(2, 1, "张三🙂"), MakeMember(3, 2)};
  s.identities = {MakeIdentity(1, "feishu", "ou_2", 2), MakeIdentity(1, "wecom", "wm_1", 1),
                  MakeIdentity(1, "wecom", "wm_2", 2), MakeIdentity(2, "wecom", "wm_1", 3)};
  s.memberships = {MakeMembership(1, 1), MakeMembership(1, 2, false), MakeMembership(2, 2),
                   MakeMembership(3, 3)};
  s.memberships[2].role = Role::kOwner;
  s.memberships[3].left_reason = LeaveReason::kLeft;
  s.names = {MakeName(1, "Member 1"), MakeName(2, "Zhang"), MakeName(2, "张三🙂"),
             MakeName(3, "Member 3")};
  s.tags = {MakeTag(1, "vip"), MakeTag(2, "高价值"), MakeTag(2, "new")};
  std::sort(s.tags.begin(), s.tags.end(), [](const MemberTag& a, const MemberTag& b) {
    return std::tie(a.member_id, a.tag) < std::tie(b.member_id, b.tag);
  });
  return s;
}

inline std::vector<MemberId> Ids(const std::vector<Member>& members) {
  std::vector<MemberId> ids;
  for (const Member& m : members) ids.push_back(m.id);
  return ids;
}

// The ids ListMembers answers for `q`; {-1} after a failed expectation naming the error.
inline std::vector<MemberId> ListedIds(ReadModel& read_model, const MemberQuery& q) {
  auto result = read_model.ListMembers(q);
  EXPECT_TRUE(result.ok()) << ::qz::testing::Describe(result);
  return result.ok() ? Ids(*result) : std::vector<MemberId>{-1};
}

// ---- The outbox, tasks, timers, module state and playbooks ----

// Every field set; the payload in the form ActionToJson writes (compact, keys sorted), which is
// the form a store keeps it in.
inline Action MakeAction(int n, GroupId group = 10) {
  const std::string i = std::to_string(n);
  return {.type = ActionType::kReply,
          .community_id = 1,
          .community = "c1",
          .platform = "wecom",
          .group = "g" + std::to_string(group),
          .group_id = group,
          .member = "wm_" + i,
          .member_id = 100 + n,
          .text = "回复 " + i + " 🙂",
          .reply_to = "msg-" + i,
          .duration_s = 600 + n,
          .tag = "标签",
          .remove_tag = true,
          .points = -5 - n,
          .timer = "t" + i,
          .due = kT0 + n,
          .payload = R"({"k":[1,2],"n":"x"})",
          .evidence = "https://example.com/e/" + i,
          .cause_event = "wecom:m" + i,
          .rule = "welcome.greet"};
}

inline OutboxRecord MakeRecord(int n, ActionStatus status = ActionStatus::kPending,
                               GroupId group = 10) {
  OutboxRecord r;
  r.action = MakeAction(n, group);
  r.idempotency_key = r.action.cause_event + "#" + r.action.rule + "#" + std::to_string(n);
  r.status = status;
  r.attempts = n % 3;
  r.next_attempt_at = kT0 + 100 * n;
  r.last_error = n % 2 ? "timeout 超时" : "";
  r.platform_ref = n % 2 ? "" : "ref-" + std::to_string(n);
  r.created_at = kT0 + n;
  r.updated_at = kT0 + 2 * n;
  return r;
}

inline OperatorTask MakeTask(int n, bool open = true) {
  const std::string i = std::to_string(n);
  return {.community_id = 1 + n % 2,
          .group_id = 10 + n,
          .member_id = 100 + n,
          .kind = n % 2 ? "degraded:remove_member" : "review",
          .reason = "请核实 " + i,
          .evidence = "wecom:m" + i,
          .cause_event = "wecom:m" + i,
          .rule = "antispam.links",
          .open = open,
          .created_at = kT0 + n};
}

inline TimerRecord MakeTimer(CommunityId community, std::string key, TimeMs due) {
  return {.community_id = community,
          .community = "c" + std::to_string(community),
          .key = std::move(key),
          .rule = "daily 06:20",
          .time_zone = "Europe/Berlin",
          .due = due,
          .payload = R"({"schedule":"morning"})",
          .cause_event = "playbook:c" + std::to_string(community)};
}

template <typename T>
inline std::vector<int64_t> IdsOf(const std::vector<T>& values) {
  std::vector<int64_t> ids;
  for (const T& v : values) ids.push_back(v.id);
  return ids;
}

// What UpdateActions makes of `record`.
inline OutboxRecord Updated(OutboxRecord record, const OutboxUpdate& u) {
  record.status = u.status;
  record.attempts = u.attempts;
  record.next_attempt_at = u.next_attempt_at;
  record.last_error = u.last_error;
  record.platform_ref = u.platform_ref;
  record.updated_at = u.updated_at;
  return record;
}

inline ActionCounts CountsOf(const std::vector<OutboxRecord>& records) {
  ActionCounts c;
  for (const OutboxRecord& r : records) c.Add(r.status);
  return c;
}

inline std::vector<OutboxRecord> OpenOnes(const std::vector<OutboxRecord>& records) {
  std::vector<OutboxRecord> open;
  for (const OutboxRecord& r : records) {
    if (r.status == ActionStatus::kPending || r.status == ActionStatus::kSending) {
      open.push_back(r);
    }
  }
  return open;
}

// Adds `records` in one committed transaction, setting their ids.
inline Status AddActions(EventLog& log, std::vector<OutboxRecord>& records) {
  auto txn = log.Begin();
  if (!txn.ok()) return txn.status();
  for (OutboxRecord& r : records) QZ_RETURN_IF_ERROR((*txn)->AddAction(r));
  return (*txn)->Commit();
}

// Writes `updates` in one committed transaction; the ids not in the outbox go to `missing`.
inline Status UpdateActions(EventLog& log, std::span<const OutboxUpdate> updates,
                     std::vector<int64_t>* missing = nullptr) {
  auto txn = log.Begin();
  if (!txn.ok()) return txn.status();
  std::vector<int64_t> skipped;
  QZ_RETURN_IF_ERROR((*txn)->UpdateActions(updates, skipped));
  if (missing != nullptr) *missing = std::move(skipped);
  return (*txn)->Commit();
}


inline Status PutTimers(EventLog& log, std::vector<TimerRecord>& timers) {
  auto txn = log.Begin();
  if (!txn.ok()) return txn.status();
  for (TimerRecord& t : timers) QZ_RETURN_IF_ERROR((*txn)->PutTimer(t));
  return (*txn)->Commit();
}

inline std::vector<StoredEvent> AppendChains(EventLog& log, int count) {
  std::vector<StoredEvent> mine;
  auto txn = log.Begin();
  EXPECT_TRUE(txn.ok()) << ::qz::testing::Describe(txn);
  if (!txn.ok()) return mine;
  std::map<MemberId, int64_t> last;
  std::map<GroupId, int64_t> last_of_group;
  for (int i = 0; i < count; ++i) {
    const MemberId member = i % 3 == 0 ? 5 : 6;
    const GroupId group = i % 2 == 0 ? 1 : 2;
    StoredEvent e = MakeEvent("wecom", "me" + std::to_string(i), member, group);
    e.member_prev_seq = last[member];
    e.group_prev_seq = last_of_group[group];
    auto ok = (*txn)->AppendEvent(e);
    EXPECT_TRUE(ok.ok() && *ok) << ::qz::testing::Describe(ok);
    last[member] = e.seq;
    last_of_group[group] = e.seq;
    if (member == 5) mine.push_back(e);
  }
  for (const auto& [id, seq] : last) {
    Member m = MakeMember(id, 1);
    m.last_event_seq = seq;
    EXPECT_OK((*txn)->PutMember(m));
  }
  for (const auto& [id, seq] : last_of_group) {
    Group g = MakeGroup(id, 1);
    g.last_event_seq = seq;
    EXPECT_OK((*txn)->PutGroup(g));
  }
  EXPECT_OK((*txn)->Commit());
  std::reverse(mine.begin(), mine.end());
  return mine;
}


}  // namespace qz
