#include "store/store_conformance.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

namespace qz {

void StoreConformance::SetUp() {
  std::string pattern = testing::TempDir() + "qz_store_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  dir_ = pattern;
  store_ = GetParam()(dir_);
  ASSERT_NE(store_, nullptr) << "the factory could not open a store in " << dir_;
}

void StoreConformance::TearDown() {
  store_.reset();
  if (!dir_.empty()) {
    std::error_code ignored;  // best effort: a leftover temp dir must not fail the test
    std::filesystem::remove_all(dir_, ignored);
  }
}

void StoreConformance::Reopen() {
  store_.reset();
  store_ = GetParam()(dir_);
  ASSERT_NE(store_, nullptr) << "the factory could not reopen the store in " << dir_;
}

namespace {

// ---- Assertion helpers ----

std::string Describe(const Status& status) { return status.ToString(); }
template <typename T>
std::string Describe(const Result<T>& result) {
  return result.status().ToString();
}

#define QZ_CONCAT_INNER(a, b) a##b
#define QZ_CONCAT(a, b) QZ_CONCAT_INNER(a, b)
#define ASSERT_OK(expr)                                            \
  do {                                                             \
    const auto& qz_ok_ = (expr);                                   \
    ASSERT_TRUE(qz_ok_.ok()) << #expr << ": " << Describe(qz_ok_); \
  } while (0)
#define EXPECT_OK(expr)                                            \
  do {                                                             \
    const auto& qz_ok_ = (expr);                                   \
    EXPECT_TRUE(qz_ok_.ok()) << #expr << ": " << Describe(qz_ok_); \
  } while (0)
// Declares `lhs` from the value of a Result, failing the test if it holds an error.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(QZ_CONCAT(qz_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, expr)             \
  auto result = (expr);                                          \
  ASSERT_TRUE(result.ok()) << #expr << ": " << Describe(result); \
  lhs = std::move(result).value()

// Field tuples, so failures print readable values (enums as integers).
auto Fields(const Community& c) {
  return std::tuple(c.id, c.slug, c.name, c.time_zone, c.created_at);
}
auto Fields(const Group& g) {
  return std::tuple(g.id, g.community_id, g.platform, g.external_id, g.name, int(g.type),
                    g.capacity, g.time_zone, g.first_seen, g.last_activity, g.member_count, g.joins,
                    g.leaves, g.messages);
}
auto Fields(const Member& m) {
  return std::tuple(m.id, m.community_id, m.display_name, m.first_seen, m.last_seen, m.referrer_id,
                    m.channel, m.messages, m.checkins, m.link_clicks, m.orders, m.order_amount_e4,
                    m.invited, m.points, m.last_message, m.last_checkin, m.last_event_seq);
}
auto Fields(const Identity& i) {
  return std::tuple(i.community_id, i.platform, i.external_id, i.member_id, i.name);
}
auto Fields(const Membership& m) {
  return std::tuple(m.group_id, m.member_id, int(m.role), m.active, m.joined_at, m.left_at,
                    int(m.left_reason), m.via_code, m.inviter_id, m.messages, m.last_message);
}
auto Fields(const MemberName& n) { return std::tuple(n.member_id, n.name, n.first_seen); }
auto Fields(const MemberTag& t) { return std::tuple(t.member_id, t.tag, t.added_at); }
auto Fields(const ModuleStateEntry& e) {
  return std::tuple(e.community_id, e.module, e.key, e.value);
}
auto Fields(const OutboxRecord& r) {
  return std::tuple(r.id, ActionToJson(r.action), r.idempotency_key, int(r.status), r.attempts,
                    r.next_attempt_at, r.last_error, r.platform_ref, r.created_at, r.updated_at);
}
auto Fields(const OperatorTask& t) {
  return std::tuple(t.id, t.community_id, t.group_id, t.member_id, t.kind, t.reason, t.evidence,
                    t.cause_event, t.rule, t.open, t.created_at);
}
auto Fields(const TimerRecord& t) {
  return std::tuple(t.id, t.community_id, t.community, t.key, t.rule, t.time_zone, t.due,
                    t.payload, t.cause_event);
}
auto Fields(const StoredPlaybook& p) { return std::tuple(p.community, p.toml, p.updated_at); }
auto Fields(const ActionCounts& c) {
  return std::tuple(c.pending, c.sending, c.done, c.failed, c.possibly_sent);
}
auto Fields(const StoredEvent& e) {
  return std::tuple(e.seq, e.platform, e.source_id, e.community_id, e.group_id, e.member_id,
                    int(e.type), e.time, e.json);
}

template <typename T>
std::string Dump(const T& value) {
  return testing::PrintToString(Fields(value));
}
template <typename T>
std::string Dump(const std::vector<T>& values) {
  std::string out = "[";
  for (const T& value : values) out += "\n  " + Dump(value);
  return out + "]";
}
std::string Dump(const StateSnapshot& s) {
  return "communities " + Dump(s.communities) + "\ngroups " + Dump(s.groups) + "\nmembers " +
         Dump(s.members) + "\nidentities " + Dump(s.identities) + "\nmemberships " +
         Dump(s.memberships) + "\nnames " + Dump(s.names) + "\ntags " + Dump(s.tags) +
         "\nmodule_state " + Dump(s.module_state) + "\nlast_seq " + std::to_string(s.last_seq);
}

bool SameEvent(const StoredEvent& a, const StoredEvent& b) { return Fields(a) == Fields(b); }
bool SameEvents(const std::vector<StoredEvent>& a, const std::vector<StoredEvent>& b) {
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

constexpr TimeMs kT0 = 1'700'000'000'000;

StoredEvent MakeEvent(std::string platform, std::string source_id, MemberId member = 1,
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

Community MakeCommunity(CommunityId id) {
  return {.id = id,
          .slug = "c" + std::to_string(id),
          .name = "Community " + std::to_string(id),
          .time_zone = "Europe/Berlin",
          .created_at = kT0 + id};
}

Group MakeGroup(GroupId id, CommunityId community) {
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
          .messages = 60 + id};
}

Member MakeMember(MemberId id, CommunityId community, std::string name = {}) {
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

Identity MakeIdentity(CommunityId community, std::string platform, std::string external_id,
                      MemberId member) {
  return {.community_id = community,
          .platform = std::move(platform),
          .external_id = std::move(external_id),
          .member_id = member,
          .name = "nick of " + std::to_string(member)};
}

Membership MakeMembership(GroupId group, MemberId member, bool active = true) {
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

MemberName MakeName(MemberId member, std::string name) {
  return {.member_id = member, .name = std::move(name), .first_seen = kT0 + 7 * member};
}

MemberTag MakeTag(MemberId member, std::string tag) {
  return {.member_id = member, .tag = std::move(tag), .added_at = kT0 + 8 * member};
}

Status Put(StoreTxn& txn, const Community& v) { return txn.PutCommunity(v); }
Status Put(StoreTxn& txn, const Group& v) { return txn.PutGroup(v); }
Status Put(StoreTxn& txn, const Member& v) { return txn.PutMember(v); }
Status Put(StoreTxn& txn, const Identity& v) { return txn.PutIdentity(v); }
Status Put(StoreTxn& txn, const Membership& v) { return txn.PutMembership(v); }
Status Put(StoreTxn& txn, const MemberName& v) { return txn.PutMemberName(v); }
Status Put(StoreTxn& txn, const MemberTag& v) { return txn.PutTag(v); }

template <typename T>
Status PutEach(StoreTxn& txn, const std::vector<T>& values) {
  for (const T& value : values) QZ_RETURN_IF_ERROR(Put(txn, value));
  return Status::Ok();
}

// Puts every entity of `s` (in reverse order, so the store has to sort) in `txn`.
Status PutSnapshot(StoreTxn& txn, StateSnapshot s) {
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
StateSnapshot SampleState() {
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

std::vector<MemberId> Ids(const std::vector<Member>& members) {
  std::vector<MemberId> ids;
  for (const Member& m : members) ids.push_back(m.id);
  return ids;
}

// ---- Tests ----

TEST_P(StoreConformance, FreshStoreIsEmpty) {
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state, StateSnapshot{});
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 0);
  EXPECT_EQ(stats.members, 0);
  EXPECT_EQ(stats.groups, 0);
  EXPECT_EQ(stats.communities, 0);
  ASSERT_OK_AND_ASSIGN(auto communities, store().ListCommunities());
  EXPECT_TRUE(communities.empty());
  ASSERT_OK_AND_ASSIGN(auto groups, store().ListGroups(std::nullopt));
  EXPECT_TRUE(groups.empty());
  ASSERT_OK_AND_ASSIGN(auto members, store().ListMembers({}));
  EXPECT_TRUE(members.empty());
  ASSERT_OK_AND_ASSIGN(auto events, store().ScanEvents(0, 100));
  EXPECT_TRUE(events.empty());
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("wecom", "x"));
  EXPECT_FALSE(found.has_value());
  ASSERT_OK_AND_ASSIGN(bool has_token, store().HasToken("abc"));
  EXPECT_FALSE(has_token);
}

TEST_P(StoreConformance, AppendDetectsDuplicatesPerPlatform) {
  StoredEvent first = MakeEvent("wecom", "m1");
  StoredEvent same = MakeEvent("wecom", "m1");
  same.json = R"({"different":"body"})";
  StoredEvent other_platform = MakeEvent("feishu", "m1");
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(first));
    EXPECT_TRUE(appended);
    EXPECT_GT(first.seq, 0);
    ASSERT_OK_AND_ASSIGN(appended, txn->AppendEvent(same));
    EXPECT_FALSE(appended) << "same platform and id within one transaction";
    ASSERT_OK_AND_ASSIGN(appended, txn->AppendEvent(other_platform));
    EXPECT_TRUE(appended) << "the same id on another platform is another event";
    EXPECT_GT(other_platform.seq, first.seq);
    ASSERT_OK(txn->Commit());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    StoredEvent again = MakeEvent("wecom", "m1");
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(again));
    EXPECT_FALSE(appended) << "a duplicate of a committed event";
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("wecom", "m1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, first)) << "the duplicate must not overwrite: " << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto all, store().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, (std::vector<StoredEvent>{first, other_platform}));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 2);
}

TEST_P(StoreConformance, SeqIncreasesAcrossTransactions) {
  std::vector<StoredEvent> appended;
  int64_t last = 0;
  for (int t = 0; t < 3; ++t) {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (int i = 0; i < 50; ++i) {
      StoredEvent e = MakeEvent("wecom", "e" + std::to_string(t) + "-" + std::to_string(i),
                                i % 7 + 1, i % 3 + 1, static_cast<EventType>(i % 7 + 1));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(e));
      ASSERT_TRUE(ok);
      EXPECT_GT(e.seq, last);
      last = e.seq;
      appended.push_back(e);
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto all, store().ScanEvents(0, 1000));
  EXPECT_SAME_EVENTS(all, appended);
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_EQ(state.last_seq, last);
}

TEST_P(StoreConformance, DestroyingAnUncommittedTxnRollsBack) {
  const StateSnapshot base = SampleState();
  StoredEvent kept = MakeEvent("wecom", "kept");
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, base));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(kept));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  std::vector<StoredEvent> lost;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (int i = 0; i < 5; ++i) {
      lost.push_back(MakeEvent("wecom", "lost" + std::to_string(i)));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(lost.back()));
      ASSERT_TRUE(ok);
    }
    StateSnapshot extra;
    extra.communities = {MakeCommunity(9)};
    extra.groups = {MakeGroup(9, 9)};
    extra.members = {MakeMember(9, 9), MakeMember(1, 1, "renamed")};  // also a replacement
    extra.identities = {MakeIdentity(9, "wecom", "x9", 9)};
    extra.memberships = {MakeMembership(9, 9)};
    extra.names = {MakeName(9, "n9")};
    extra.tags = {MakeTag(9, "t9")};
    ASSERT_OK(PutSnapshot(*txn, extra));
    ASSERT_OK(txn->DeleteTag(1, "vip"));
    // Destroyed without Commit().
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  StateSnapshot expected = base;
  expected.last_seq = kept.seq;
  EXPECT_SAME(state, expected);
  for (const StoredEvent& e : lost) {
    ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent(e.platform, e.source_id));
    EXPECT_FALSE(found.has_value()) << e.source_id;
  }
  ASSERT_OK_AND_ASSIGN(auto all, store().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, std::vector<StoredEvent>{kept});
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 1);
  EXPECT_EQ(stats.members, 3);
  auto missing = store().GetMember(9);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  // The rolled-back ids are free again, and the store is usable.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    StoredEvent retry = MakeEvent("wecom", "lost0");
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(retry));
    EXPECT_TRUE(ok);
    EXPECT_GT(retry.seq, kept.seq);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("wecom", "lost0"));
  EXPECT_TRUE(found.has_value());
}

TEST_P(StoreConformance, EveryEntityRoundTrips) {
  const StateSnapshot sample = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state, sample);
  ASSERT_OK_AND_ASSIGN(auto communities, store().ListCommunities());
  EXPECT_SAME(communities, sample.communities);
  ASSERT_OK_AND_ASSIGN(auto groups, store().ListGroups(std::nullopt));
  EXPECT_SAME(groups, sample.groups);
  ASSERT_OK_AND_ASSIGN(auto groups_of_1, store().ListGroups(1));
  EXPECT_SAME(groups_of_1, (std::vector<Group>{sample.groups[0], sample.groups[1]}));
  ASSERT_OK_AND_ASSIGN(auto groups_of_7, store().ListGroups(7));
  EXPECT_TRUE(groups_of_7.empty());
  ASSERT_OK_AND_ASSIGN(auto members, store().ListMembers({}));
  EXPECT_SAME(members, sample.members);
}

TEST_P(StoreConformance, ExtremeValuesRoundTrip) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  Member member = MakeMember(1, 1);
  member.id = kMax;
  member.community_id = kMax;
  member.order_amount_e4 = kMin;
  member.first_seen = -1;
  member.channel = "";  // empty strings stay empty (not NULL, not missing)
  Group group = MakeGroup(7, 1);
  group.capacity = std::numeric_limits<int32_t>::max();
  group.type = GroupType::kUnspecified;
  group.name = "";
  Membership membership = MakeMembership(7, 1);
  membership.member_id = kMax;
  membership.role = Role::kMember;
  membership.left_reason = LeaveReason::kLeft;
  membership.via_code = "";
  StoredEvent event = MakeEvent("p", std::string(256, 'x'));
  event.json = std::string(64 * 1024, 'j');
  event.time = kMin;
  event.type = EventType::kTagChanged;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutMember(member));
    ASSERT_OK(txn->PutGroup(group));
    ASSERT_OK(txn->PutMembership(membership));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(event));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state.members, std::vector<Member>{member});
  EXPECT_SAME(state.groups, std::vector<Group>{group});
  EXPECT_SAME(state.memberships, std::vector<Membership>{membership});
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("p", event.source_id));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, event));
}

TEST_P(StoreConformance, PutReplacesByPrimaryKey) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, SampleState()));
    ASSERT_OK(txn->Commit());
  }
  StateSnapshot expected = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    Community c = MakeCommunity(1);
    c.name = "renamed";
    c.slug = "new-slug";
    expected.communities[0] = c;
    Group g = MakeGroup(2, 2);
    g.external_id = "moved";
    g.member_count = 999;
    expected.groups[1] = g;
    Member m = MakeMember(3, 1, "new name");
    m.messages = 12345;
    expected.members[2] = m;
    // Same key (community, platform, external id), new member and name.
    Identity i = MakeIdentity(1, "wecom", "wm_2", 3);
    i.name = "moved identity";
    expected.identities[2] = i;
    Membership ms = MakeMembership(1, 2, true);
    ms.role = Role::kAssistant;
    expected.memberships[1] = ms;
    MemberName n = MakeName(2, "Zhang");
    n.first_seen = 42;
    expected.names[1] = n;
    MemberTag t = MakeTag(1, "vip");
    t.added_at = 43;
    expected.tags[0] = t;
    ASSERT_OK(txn->PutCommunity(c));
    ASSERT_OK(txn->PutGroup(g));
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->PutIdentity(i));
    ASSERT_OK(txn->PutMembership(ms));
    ASSERT_OK(txn->PutMemberName(n));
    ASSERT_OK(txn->PutTag(t));
    // Replacing twice within one transaction keeps the last.
    Member m2 = m;
    m2.display_name = "newest name";
    expected.members[2] = m2;
    ASSERT_OK(txn->PutMember(m2));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state, expected);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.communities, 2);
  EXPECT_EQ(stats.groups, 3);
  EXPECT_EQ(stats.members, 3);
}

TEST_P(StoreConformance, DeleteTag) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutTag(MakeTag(1, "vip")));
    ASSERT_OK(txn->PutTag(MakeTag(1, "new")));
    ASSERT_OK(txn->PutTag(MakeTag(2, "vip")));
    ASSERT_OK(txn->Commit());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->DeleteTag(1, "vip"));
    ASSERT_OK(txn->DeleteTag(1, "absent"));  // deleting what is not there is fine
    ASSERT_OK(txn->DeleteTag(3, "vip"));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state.tags, (std::vector<MemberTag>{MakeTag(1, "new"), MakeTag(2, "vip")}));
  {
    // Delete then re-add in one transaction.
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->DeleteTag(2, "vip"));
    MemberTag readded = MakeTag(2, "vip");
    readded.added_at = 77;
    ASSERT_OK(txn->PutTag(readded));
    ASSERT_OK(txn->Commit());
    ASSERT_OK_AND_ASSIGN(StateSnapshot after, store().LoadState());
    EXPECT_SAME(after.tags, (std::vector<MemberTag>{MakeTag(1, "new"), readded}));
  }
}

TEST_P(StoreConformance, LoadStateIsOrderedByPrimaryKey) {
  StateSnapshot expected;
  std::vector<StoredEvent> events;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    // Keys inserted in a scrambled order.
    for (int64_t k : {5, 3, 9, 1, 7, 2, 8, 4, 6}) {
      expected.communities.push_back(MakeCommunity(k));
      expected.groups.push_back(MakeGroup(k * 10, k));
      expected.members.push_back(MakeMember(k * 100, k));
      expected.identities.push_back(
          MakeIdentity(k % 3, k % 2 ? "wecom" : "feishu", "u" + std::to_string(9 - k), k * 100));
      expected.memberships.push_back(MakeMembership((k % 4) * 10, k * 100));
      expected.names.push_back(MakeName(k % 2 + 1, k % 3 ? "Bob" + std::to_string(k) : "bob"));
      expected.tags.push_back(MakeTag(k % 3 + 1, k % 2 ? "a" + std::to_string(k) : "Z"));
    }
    for (const auto& v : expected.communities) ASSERT_OK(txn->PutCommunity(v));
    for (const auto& v : expected.groups) ASSERT_OK(txn->PutGroup(v));
    for (const auto& v : expected.members) ASSERT_OK(txn->PutMember(v));
    for (const auto& v : expected.identities) ASSERT_OK(txn->PutIdentity(v));
    for (const auto& v : expected.memberships) ASSERT_OK(txn->PutMembership(v));
    for (const auto& v : expected.names) ASSERT_OK(txn->PutMemberName(v));
    for (const auto& v : expected.tags) ASSERT_OK(txn->PutTag(v));
    for (int i = 0; i < 4; ++i) {
      events.push_back(MakeEvent("wecom", "ev" + std::to_string(i)));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(events.back()));
      ASSERT_TRUE(ok);
    }
    ASSERT_OK(txn->Commit());
  }
  auto by = [](auto key) {
    return [key](const auto& a, const auto& b) { return key(a) < key(b); };
  };
  std::sort(expected.communities.begin(), expected.communities.end(),
            by([](const Community& v) { return v.id; }));
  std::sort(expected.groups.begin(), expected.groups.end(),
            by([](const Group& v) { return v.id; }));
  std::sort(expected.members.begin(), expected.members.end(),
            by([](const Member& v) { return v.id; }));
  // Strings compare bytewise (std::string's order; "Z" < "a").
  std::sort(expected.identities.begin(), expected.identities.end(), by([](const Identity& v) {
              return std::tie(v.community_id, v.platform, v.external_id);
            }));
  std::sort(expected.memberships.begin(), expected.memberships.end(),
            by([](const Membership& v) { return std::tie(v.group_id, v.member_id); }));
  // Duplicated keys among names ("bob" for several k): the last put wins.
  std::stable_sort(expected.names.begin(), expected.names.end(),
                   by([](const MemberName& v) { return std::tie(v.member_id, v.name); }));
  auto last_wins = [](auto& v, auto same_key) {
    std::vector<typename std::remove_reference_t<decltype(v)>::value_type> out;
    for (const auto& x : v) {
      if (!out.empty() && same_key(out.back(), x)) {
        out.back() = x;
      } else {
        out.push_back(x);
      }
    }
    v = out;
  };
  last_wins(expected.names, [](const MemberName& a, const MemberName& b) {
    return a.member_id == b.member_id && a.name == b.name;
  });
  std::stable_sort(expected.tags.begin(), expected.tags.end(),
                   by([](const MemberTag& v) { return std::tie(v.member_id, v.tag); }));
  last_wins(expected.tags, [](const MemberTag& a, const MemberTag& b) {
    return a.member_id == b.member_id && a.tag == b.tag;
  });
  expected.last_seq = events.back().seq;

  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state, expected);
}

TEST_P(StoreConformance, ReopenKeepsEverything) {
  const StateSnapshot sample = SampleState();
  std::vector<StoredEvent> events;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    for (int i = 0; i < 10; ++i) {
      events.push_back(MakeEvent(i % 2 ? "wecom" : "feishu", "r" + std::to_string(i), i % 3 + 1));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(events.back()));
      ASSERT_TRUE(ok);
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK(store().PutToken({.hash = "h1", .name = "ops", .created_at = kT0}));

  ASSERT_NO_FATAL_FAILURE(Reopen());

  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  StateSnapshot expected = sample;
  expected.last_seq = events.back().seq;
  EXPECT_SAME(state, expected);
  ASSERT_OK_AND_ASSIGN(auto all, store().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, events);
  ASSERT_OK_AND_ASSIGN(bool has_token, store().HasToken("h1"));
  EXPECT_TRUE(has_token);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    StoredEvent dup = MakeEvent("feishu", "r0");
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(dup));
    EXPECT_FALSE(appended) << "duplicate detection survives a restart";
    StoredEvent next = MakeEvent("wecom", "after-restart");
    ASSERT_OK_AND_ASSIGN(appended, txn->AppendEvent(next));
    EXPECT_TRUE(appended);
    EXPECT_GT(next.seq, events.back().seq);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 11);
}

TEST_P(StoreConformance, ListMembersFilters) {
  // Members 1..20 in community 1, 21..25 in community 2. Group 10 (community 1): active
  // memberships of the even members up to 12, an inactive one of member 3.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (MemberId id = 1; id <= 25; ++id) {
      std::string name = "user " + std::to_string(id);
      if (id == 7) name = "100%_real";
      if (id == 8) name = "1000 real";  // matches "100%" only if % were a wildcard
      if (id == 9) name = "a_b";
      if (id == 11) name = "axb";  // matches "a_b" only if _ were a wildcard
      if (id == 13) name = "张三🙂";
      if (id == 14) name = "back\\slash";
      ASSERT_OK(txn->PutMember(MakeMember(id, id <= 20 ? 1 : 2, name)));
      ASSERT_OK(txn->PutIdentity(MakeIdentity(
          id <= 20 ? 1 : 2, "wecom", id == 12 ? "needle_ext" : "wm" + std::to_string(id), id)));
    }
    for (MemberId id = 2; id <= 12; id += 2) ASSERT_OK(txn->PutMembership(MakeMembership(10, id)));
    ASSERT_OK(txn->PutMembership(MakeMembership(10, 3, /*active=*/false)));
    ASSERT_OK(txn->PutMembership(MakeMembership(11, 5)));
    ASSERT_OK(txn->Commit());
  }
  auto list = [&](MemberQuery q) -> std::vector<MemberId> {
    auto result = store().ListMembers(q);
    EXPECT_TRUE(result.ok()) << Describe(result);
    return result.ok() ? Ids(*result) : std::vector<MemberId>{-1};
  };
  using V = std::vector<MemberId>;
  std::vector<MemberId> all;
  for (MemberId id = 1; id <= 25; ++id) all.push_back(id);

  EXPECT_EQ(list({.limit = 1000}), all);
  EXPECT_EQ(list({.community_id = 2}), (V{21, 22, 23, 24, 25}));
  EXPECT_EQ(list({.community_id = 3}), V{});
  EXPECT_EQ(list({.group_id = 10}), (V{2, 4, 6, 8, 10, 12})) << "active memberships only";
  EXPECT_EQ(list({.group_id = 11}), V{5});
  EXPECT_EQ(list({.community_id = 2, .group_id = 10}), V{});
  EXPECT_EQ(list({.community_id = 1, .group_id = 10, .q = "1"}), (V{8, 10, 12}));
  // q: substring of the display name or of an identity's external id.
  EXPECT_EQ(list({.q = "user 2"}), (V{2, 20, 21, 22, 23, 24, 25}));
  EXPECT_EQ(list({.q = "needle"}), V{12});
  EXPECT_EQ(list({.q = "m17"}), V{17});
  EXPECT_EQ(list({.q = "张三"}), V{13});
  EXPECT_EQ(list({.q = "🙂"}), V{13});
  // LIKE wildcards in q are literal characters.
  EXPECT_EQ(list({.q = "100%"}), V{7});
  EXPECT_EQ(list({.q = "%"}), V{7});
  EXPECT_EQ(list({.q = "a_b"}), V{9});
  EXPECT_EQ(list({.q = "_"}), (V{7, 9, 12}));
  EXPECT_EQ(list({.q = "\\"}), V{14});
  EXPECT_EQ(list({.q = "no such text"}), V{});

  // Cursor paging: ascending ids after the cursor.
  std::vector<MemberId> paged;
  MemberId cursor = kNoId;
  for (int page = 0; page < 10; ++page) {
    std::vector<MemberId> ids = list({.limit = 7, .after_id = cursor});
    if (ids.empty()) break;
    EXPECT_LE(ids.size(), 7u);
    paged.insert(paged.end(), ids.begin(), ids.end());
    cursor = ids.back();
  }
  EXPECT_EQ(paged, all);
  EXPECT_EQ(list({.group_id = 10, .limit = 2, .after_id = 4}), (V{6, 8}));
  EXPECT_EQ(list({.after_id = 25}), V{});
}

TEST_P(StoreConformance, ListMembersClampsLimit) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (MemberId id = 1; id <= 1100; ++id) ASSERT_OK(txn->PutMember(MakeMember(id, 1)));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto zero, store().ListMembers({.limit = 0}));
  EXPECT_EQ(Ids(zero), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto negative, store().ListMembers({.limit = -5}));
  EXPECT_EQ(Ids(negative), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto huge, store().ListMembers({.limit = 5000}));
  ASSERT_EQ(huge.size(), 1000u);
  EXPECT_EQ(huge.front().id, 1);
  EXPECT_EQ(huge.back().id, 1000);
  ASSERT_OK_AND_ASSIGN(auto standard, store().ListMembers({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
  EXPECT_SAME(standard.front(), MakeMember(1, 1));
}

TEST_P(StoreConformance, GetMember) {
  auto missing = store().GetMember(1);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  const StateSnapshot sample = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, store().GetMember(2));
  EXPECT_SAME(profile.member, sample.members[1]);
  EXPECT_SAME(profile.identities,
              (std::vector<Identity>{sample.identities[0], sample.identities[2]}));
  EXPECT_SAME(profile.memberships,
              (std::vector<Membership>{sample.memberships[1], sample.memberships[2]}));
  EXPECT_SAME(profile.names, (std::vector<MemberName>{sample.names[1], sample.names[2]}));
  std::vector<MemberTag> tags;
  for (const MemberTag& t : sample.tags) {
    if (t.member_id == 2) tags.push_back(t);
  }
  EXPECT_SAME(profile.tags, tags);

  // A member with nothing but the member row.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutMember(MakeMember(50, 1)));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile bare, store().GetMember(50));
  EXPECT_SAME(bare.member, MakeMember(50, 1));
  EXPECT_TRUE(bare.identities.empty());
  EXPECT_TRUE(bare.memberships.empty());
  EXPECT_TRUE(bare.names.empty());
  EXPECT_TRUE(bare.tags.empty());
  EXPECT_EQ(store().GetMember(51).status().code(), Code::kNotFound);
}

// Appends `count` events alternating between members 5 (every third) and 6, linked as the
// writer links them (member_prev_seq, Member::last_event_seq); returns member 5's, newest first.
std::vector<StoredEvent> AppendChains(Store& store, int count) {
  std::vector<StoredEvent> mine;
  auto txn = store.Begin();
  EXPECT_TRUE(txn.ok()) << Describe(txn);
  if (!txn.ok()) return mine;
  std::map<MemberId, int64_t> last;
  for (int i = 0; i < count; ++i) {
    const MemberId member = i % 3 == 0 ? 5 : 6;
    StoredEvent e = MakeEvent("wecom", "me" + std::to_string(i), member);
    e.member_prev_seq = last[member];
    auto ok = (*txn)->AppendEvent(e);
    EXPECT_TRUE(ok.ok() && *ok) << Describe(ok);
    last[member] = e.seq;
    if (member == 5) mine.push_back(e);
  }
  for (const auto& [id, seq] : last) {
    Member m = MakeMember(id, 1);
    m.last_event_seq = seq;
    EXPECT_OK((*txn)->PutMember(m));
  }
  EXPECT_OK((*txn)->Commit());
  std::reverse(mine.begin(), mine.end());
  return mine;
}

TEST_P(StoreConformance, MemberEventsNewestFirstWithPaging) {
  const std::vector<StoredEvent> mine = AppendChains(store(), 30);
  ASSERT_EQ(mine.size(), 10u);
  ASSERT_OK_AND_ASSIGN(auto all, store().MemberEvents(5, 0, 100));
  EXPECT_SAME_EVENTS(all, mine);

  std::vector<StoredEvent> paged;
  int64_t before = 0;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto events, store().MemberEvents(5, before, 3));
    if (events.empty()) break;
    EXPECT_LE(events.size(), 3u);
    paged.insert(paged.end(), events.begin(), events.end());
    before = events.back().seq;
  }
  EXPECT_SAME_EVENTS(paged, mine);

  ASSERT_OK_AND_ASSIGN(auto older, store().MemberEvents(5, mine[2].seq, 100));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin() + 3, mine.end()));
  // A before_seq that is not one of the member's events: another member's, and one past the
  // end of the log.
  ASSERT_OK_AND_ASSIGN(older, store().MemberEvents(5, mine[2].seq + 1, 2));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin() + 2, mine.begin() + 4));
  ASSERT_OK_AND_ASSIGN(older, store().MemberEvents(5, mine[0].seq + 1000, 2));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin(), mine.begin() + 2));
  ASSERT_OK_AND_ASSIGN(auto none, store().MemberEvents(99, 0, 100));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(none, store().MemberEvents(5, mine.back().seq, 100));
  EXPECT_TRUE(none.empty()) << "nothing older than the first event";
}

TEST_P(StoreConformance, ScanEventsAscendingWithPaging) {
  std::vector<StoredEvent> appended;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (int i = 0; i < 25; ++i) {
      appended.push_back(MakeEvent("wecom", "s" + std::to_string(i), i + 1));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(appended.back()));
      ASSERT_TRUE(ok);
    }
    ASSERT_OK(txn->Commit());
  }
  std::vector<StoredEvent> scanned;
  int64_t after = 0;
  std::vector<size_t> page_sizes;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto events, store().ScanEvents(after, 10));
    page_sizes.push_back(events.size());
    if (events.empty()) break;
    scanned.insert(scanned.end(), events.begin(), events.end());
    after = events.back().seq;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5, 0}));
  EXPECT_SAME_EVENTS(scanned, appended);
  ASSERT_OK_AND_ASSIGN(auto tail, store().ScanEvents(appended[20].seq, 100));
  EXPECT_SAME_EVENTS(tail, std::vector<StoredEvent>(appended.begin() + 21, appended.end()));
}

TEST_P(StoreConformance, FindEvent) {
  StoredEvent e = MakeEvent("wecom", "find-me", 4, 2, EventType::kOrder);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(e));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("wecom", "find-me"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, e)) << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto other_platform, store().FindEvent("feishu", "find-me"));
  EXPECT_FALSE(other_platform.has_value());
  ASSERT_OK_AND_ASSIGN(auto other_id, store().FindEvent("wecom", "find-me-not"));
  EXPECT_FALSE(other_id.has_value());
}

TEST_P(StoreConformance, Tokens) {
  ASSERT_OK_AND_ASSIGN(bool before, store().HasToken("aa11"));
  EXPECT_FALSE(before);
  ASSERT_OK(store().PutToken({.hash = "aa11", .name = "ci", .created_at = kT0}));
  ASSERT_OK(store().PutToken({.hash = "bb22", .name = "ops", .created_at = kT0 + 1}));
  ASSERT_OK(store().PutToken({.hash = "aa11", .name = "ci renamed", .created_at = kT0 + 2}));
  ASSERT_OK_AND_ASSIGN(bool a, store().HasToken("aa11"));
  EXPECT_TRUE(a);
  ASSERT_OK_AND_ASSIGN(bool b, store().HasToken("bb22"));
  EXPECT_TRUE(b);
  ASSERT_OK_AND_ASSIGN(bool c, store().HasToken("AA11"));
  EXPECT_FALSE(c) << "hashes compare exactly";
  ASSERT_OK_AND_ASSIGN(bool d, store().HasToken(""));
  EXPECT_FALSE(d);
}

TEST_P(StoreConformance, Stats) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, SampleState()));  // 2 communities, 3 groups, 3 members
    ASSERT_OK(txn->PutMember(MakeMember(40, 1)));
    ASSERT_OK(txn->PutMember(MakeMember(41, 1)));
    for (int i = 0; i < 7; ++i) {
      StoredEvent e = MakeEvent("wecom", "st" + std::to_string(i % 6));  // one duplicate
      ASSERT_OK(txn->AppendEvent(e));
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 6);
  EXPECT_EQ(stats.members, 5);
  EXPECT_EQ(stats.groups, 3);
  EXPECT_EQ(stats.communities, 2);
}

TEST_P(StoreConformance, ReadsDuringAnOpenTxnSeeOnlyCommittedData) {
  StoredEvent committed = MakeEvent("wecom", "committed", 1);
  StateSnapshot sample = SampleState();
  for (Member& m : sample.members) m.last_event_seq = 0;  // no events of theirs yet
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(committed));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
  StoredEvent pending = MakeEvent("wecom", "pending", 2);
  ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(pending));
  ASSERT_TRUE(ok);
  Member two = sample.members[1];
  two.last_event_seq = pending.seq;  // the head of member 2's chain, as the writer keeps it
  ASSERT_OK(txn->PutMember(two));
  ASSERT_OK(txn->PutCommunity(MakeCommunity(8)));
  ASSERT_OK(txn->PutGroup(MakeGroup(8, 1)));
  ASSERT_OK(txn->PutMember(MakeMember(8, 1, "pending member")));
  ASSERT_OK(txn->PutMember(MakeMember(1, 1, "renamed while pending")));
  ASSERT_OK(txn->PutTag(MakeTag(2, "pending-tag")));
  ASSERT_OK(txn->PutMembership(MakeMembership(1, 8)));

  // The same checks from this (the writer's) thread and from another thread.
  auto check_committed_view = [&] {
    auto stats = store().Stats();
    ASSERT_TRUE(stats.ok()) << Describe(stats);
    EXPECT_EQ(stats->events, 1);
    EXPECT_EQ(stats->members, 3);
    EXPECT_EQ(stats->groups, 3);
    EXPECT_EQ(stats->communities, 2);
    auto found = store().FindEvent("wecom", "pending");
    ASSERT_TRUE(found.ok()) << Describe(found);
    EXPECT_FALSE(found->has_value());
    auto scanned = store().ScanEvents(0, 100);
    ASSERT_TRUE(scanned.ok()) << Describe(scanned);
    EXPECT_EQ(scanned->size(), 1u);
    auto mine = store().MemberEvents(2, 0, 100);
    ASSERT_TRUE(mine.ok()) << Describe(mine);
    EXPECT_TRUE(mine->empty());
    EXPECT_EQ(store().GetMember(8).status().code(), Code::kNotFound);
    auto profile = store().GetMember(2);
    ASSERT_TRUE(profile.ok()) << Describe(profile);
    EXPECT_EQ(profile->tags.size(), 2u);
    auto members = store().ListMembers({});
    ASSERT_TRUE(members.ok()) << Describe(members);
    EXPECT_EQ(Ids(*members), (std::vector<MemberId>{1, 2, 3}));
    EXPECT_EQ((*members)[0].display_name, "Member 1");
    auto in_group = store().ListMembers({.group_id = 1});
    ASSERT_TRUE(in_group.ok()) << Describe(in_group);
    EXPECT_EQ(Ids(*in_group), std::vector<MemberId>{1});
    auto communities = store().ListCommunities();
    ASSERT_TRUE(communities.ok()) << Describe(communities);
    EXPECT_EQ(communities->size(), 2u);
    auto groups = store().ListGroups(std::nullopt);
    ASSERT_TRUE(groups.ok()) << Describe(groups);
    EXPECT_EQ(groups->size(), 3u);
  };
  check_committed_view();
  std::thread reader(check_committed_view);
  reader.join();

  ASSERT_OK(txn->Commit());
  txn.reset();
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, 2);
  EXPECT_EQ(stats.members, 4);
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("wecom", "pending"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, pending));
  ASSERT_OK_AND_ASSIGN(auto mine, store().MemberEvents(2, 0, 100));
  EXPECT_SAME_EVENTS(mine, std::vector<StoredEvent>{pending});
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, store().GetMember(8));
  EXPECT_EQ(profile.member.display_name, "pending member");
  ASSERT_OK_AND_ASSIGN(auto in_group, store().ListMembers({.group_id = 1}));
  EXPECT_EQ(Ids(in_group), (std::vector<MemberId>{1, 8}));
}

// Readers on other threads never see part of a transaction.
TEST_P(StoreConformance, ConcurrentReadersSeeWholeTransactions) {
  constexpr int kTxns = 20;
  constexpr int kPerTxn = 50;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    int64_t last = 0;
    while (!done.load()) {
      auto stats = store().Stats();
      auto scanned = store().ScanEvents(0, kTxns * kPerTxn);
      reads++;
      if (!stats.ok() || !scanned.ok()) {
        failures++;
        continue;
      }
      const int64_t n = static_cast<int64_t>(scanned->size());
      if (stats->events % kPerTxn != 0 || n % kPerTxn != 0 || n < last) failures++;
      last = n;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader);
  // In a lambda so a failed ASSERT still reaches the join below.
  [&] {
    for (int t = 0; t < kTxns; ++t) {
      auto txn = store().Begin();
      ASSERT_TRUE(txn.ok()) << Describe(txn);
      for (int i = 0; i < kPerTxn; ++i) {
        StoredEvent e = MakeEvent("wecom", "c" + std::to_string(t * kPerTxn + i), i + 1);
        auto ok = (*txn)->AppendEvent(e);
        ASSERT_TRUE(ok.ok()) << Describe(ok);
        ASSERT_OK((*txn)->PutMember(MakeMember(t * kPerTxn + i + 1, 1)));
      }
      ASSERT_OK((*txn)->Commit());
    }
  }();
  // Let the readers observe the final state too.
  const int reads_at_end = reads.load();
  while (reads.load() < reads_at_end + 6) std::this_thread::yield();
  done = true;
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, store().Stats());
  EXPECT_EQ(stats.events, kTxns * kPerTxn);
  EXPECT_EQ(stats.members, kTxns * kPerTxn);
}

TEST_P(StoreConformance, UnicodeRoundTrips) {
  Community c = MakeCommunity(1);
  c.slug = "读书";
  c.name = "深圳读书会 📖";
  Group g = MakeGroup(1, 1);
  g.external_id = "群🎉1";
  g.name = "每日打卡群 ✅";
  Member m = MakeMember(1, 1, "李四 👩‍💻");  // includes a zero-width joiner sequence
  m.channel = "渠道-二维码";
  Identity i = MakeIdentity(1, "企业微信", "wxid_李四", 1);
  i.name = "四哥🔥";
  MemberName n = MakeName(1, "李四 👩‍💻");
  MemberTag t = MakeTag(1, "高价值客户🏆");
  Membership ms = MakeMembership(1, 1);
  ms.via_code = "邀请码😀";
  StoredEvent e = MakeEvent("企业微信", "消息-1", 1);
  e.json = R"({"id":"消息-1","text":"你好，世界 🌍 \u0000 ok"})";
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutCommunity(c));
    ASSERT_OK(txn->PutGroup(g));
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->PutIdentity(i));
    ASSERT_OK(txn->PutMembership(ms));
    ASSERT_OK(txn->PutMemberName(n));
    ASSERT_OK(txn->PutTag(t));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(e));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  StateSnapshot expected;
  expected.communities = {c};
  expected.groups = {g};
  expected.members = {m};
  expected.identities = {i};
  expected.memberships = {ms};
  expected.names = {n};
  expected.tags = {t};
  expected.last_seq = e.seq;
  EXPECT_SAME(state, expected);
  ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("企业微信", "消息-1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, e)) << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto by_name, store().ListMembers({.q = "李四"}));
  EXPECT_EQ(Ids(by_name), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto by_identity, store().ListMembers({.q = "wxid_李"}));
  EXPECT_EQ(Ids(by_identity), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, store().GetMember(1));
  EXPECT_SAME(profile.tags, std::vector<MemberTag>{t});
}


// ---- The outbox, tasks, timers, module state and playbooks ----

// Every field set; the payload in the form ActionToJson writes (compact, keys sorted), which is
// the form a store keeps it in.
Action MakeAction(int n, GroupId group = 10) {
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

OutboxRecord MakeRecord(int n, ActionStatus status = ActionStatus::kPending, GroupId group = 10) {
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

OperatorTask MakeTask(int n, bool open = true) {
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

TimerRecord MakeTimer(CommunityId community, std::string key, TimeMs due) {
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
std::vector<int64_t> IdsOf(const std::vector<T>& values) {
  std::vector<int64_t> ids;
  for (const T& v : values) ids.push_back(v.id);
  return ids;
}

// What UpdateActions makes of `record`.
OutboxRecord Updated(OutboxRecord record, const OutboxUpdate& u) {
  record.status = u.status;
  record.attempts = u.attempts;
  record.next_attempt_at = u.next_attempt_at;
  record.last_error = u.last_error;
  record.platform_ref = u.platform_ref;
  record.updated_at = u.updated_at;
  return record;
}

ActionCounts CountsOf(const std::vector<OutboxRecord>& records) {
  ActionCounts c;
  for (const OutboxRecord& r : records) {
    switch (r.status) {
      case ActionStatus::kPending: ++c.pending; break;
      case ActionStatus::kSending: ++c.sending; break;
      case ActionStatus::kDone: ++c.done; break;
      case ActionStatus::kFailed: ++c.failed; break;
      case ActionStatus::kPossiblySent: ++c.possibly_sent; break;
    }
  }
  return c;
}

std::vector<OutboxRecord> OpenOnes(const std::vector<OutboxRecord>& records) {
  std::vector<OutboxRecord> open;
  for (const OutboxRecord& r : records) {
    if (r.status == ActionStatus::kPending || r.status == ActionStatus::kSending) {
      open.push_back(r);
    }
  }
  return open;
}

// Adds `records` in one committed transaction, setting their ids.
Status AddActions(Store& store, std::vector<OutboxRecord>& records) {
  auto txn = store.Begin();
  if (!txn.ok()) return txn.status();
  for (OutboxRecord& r : records) QZ_RETURN_IF_ERROR((*txn)->AddAction(r));
  return (*txn)->Commit();
}

// Writes `updates` in one committed transaction; the ids not in the outbox go to `missing`.
Status UpdateActions(Store& store, std::span<const OutboxUpdate> updates,
                     std::vector<int64_t>* missing = nullptr) {
  auto txn = store.Begin();
  if (!txn.ok()) return txn.status();
  std::vector<int64_t> skipped;
  QZ_RETURN_IF_ERROR((*txn)->UpdateActions(updates, skipped));
  if (missing != nullptr) *missing = std::move(skipped);
  return (*txn)->Commit();
}

TEST_P(StoreConformance, FreshStoreHasNoActionsTasksTimersOrPlaybooks) {
  ASSERT_OK_AND_ASSIGN(auto open, store().LoadOpenActions());
  EXPECT_TRUE(open.empty());
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
  EXPECT_TRUE(listed.empty());
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, ActionCounts{});
  ASSERT_OK_AND_ASSIGN(auto tasks, store().ListTasks({.open_only = false}));
  EXPECT_TRUE(tasks.empty());
  ASSERT_OK_AND_ASSIGN(auto timers, store().LoadTimers());
  EXPECT_TRUE(timers.empty());
  ASSERT_OK_AND_ASSIGN(auto dues, store().ScanTimerDues(std::nullopt, 100));
  EXPECT_TRUE(dues.empty());
  const int64_t some_ids[] = {1, 2, 3};
  ASSERT_OK_AND_ASSIGN(timers, store().GetTimers(some_ids));
  EXPECT_TRUE(timers.empty()) << "no such timers";
  ASSERT_OK_AND_ASSIGN(timers, store().GetTimers({}));
  EXPECT_TRUE(timers.empty());
  ASSERT_OK_AND_ASSIGN(auto playbooks, store().LoadPlaybooks());
  EXPECT_TRUE(playbooks.empty());
  ASSERT_OK_AND_ASSIGN(bool applied, store().UpdateTimerDue(1, 0, 5));
  EXPECT_FALSE(applied) << "no such timer";
  std::vector<int64_t> missing;
  EXPECT_OK(UpdateActions(store(), {}, &missing));  // an empty update list does nothing
  EXPECT_TRUE(missing.empty());
}

TEST_P(StoreConformance, MemberPointsRoundTrip) {
  Member m = MakeMember(1, 1);
  m.points = 12345;
  Member low = MakeMember(2, 1);
  low.points = std::numeric_limits<int64_t>::min();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->PutMember(low));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, store().GetMember(1));
  EXPECT_EQ(profile.member.points, 12345);
  m.points = -7;  // replaced with the rest of the row
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state.members, (std::vector<Member>{m, low}));
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListMembers({}));
  EXPECT_SAME(listed, (std::vector<Member>{m, low}));
}

TEST_P(StoreConformance, OutboxRecordsRoundTrip) {
  std::vector<OutboxRecord> records = {
      MakeRecord(1), MakeRecord(2, ActionStatus::kSending), MakeRecord(3, ActionStatus::kDone),
      MakeRecord(4, ActionStatus::kFailed), MakeRecord(5, ActionStatus::kPossiblySent)};
  // An action with nothing but its type, and every other field at its default.
  OutboxRecord bare;
  bare.idempotency_key = "bare";
  records.push_back(bare);
  // Extreme values and every action type that reaches the outbox.
  OutboxRecord extreme = MakeRecord(7);
  extreme.action.type = ActionType::kCreateInvite;
  extreme.action.community_id = std::numeric_limits<int64_t>::max();
  extreme.action.points = std::numeric_limits<int64_t>::min();
  extreme.action.payload = "";
  extreme.action.remove_tag = false;
  extreme.attempts = std::numeric_limits<int32_t>::max();
  extreme.next_attempt_at = -1;
  extreme.idempotency_key = std::string(300, 'k');
  records.push_back(extreme);
  for (int t = 1; t <= static_cast<int>(ActionType::kCreateInvite); ++t) {
    OutboxRecord r = MakeRecord(100 + t);
    r.action.type = static_cast<ActionType>(t);
    records.push_back(r);
  }
  for (OutboxRecord& r : records) r.id = 999'999;  // ignored: the store assigns ids
  ASSERT_OK(AddActions(store(), records));
  int64_t last = 0;
  for (const OutboxRecord& r : records) {
    EXPECT_GT(r.id, last) << "ids increase in the order of AddAction";
    last = r.id;
  }
  EXPECT_NE(records.front().id, 999'999);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({.limit = 1000}));
    EXPECT_SAME(listed, records);
    ASSERT_OK_AND_ASSIGN(auto open, store().LoadOpenActions());
    EXPECT_SAME(open, OpenOnes(records));
    ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
    EXPECT_SAME(counts, CountsOf(records));
    Reopen();  // and again from disk
  }
  // Later ids keep increasing.
  std::vector<OutboxRecord> more = {MakeRecord(50)};
  ASSERT_OK(AddActions(store(), more));
  EXPECT_GT(more[0].id, last);
}

TEST_P(StoreConformance, IdempotencyKeysAreUnique) {
  std::vector<OutboxRecord> first = {MakeRecord(1)};
  ASSERT_OK(AddActions(store(), first));
  {
    // A key already committed: the call and the transaction fail.
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    OutboxRecord other = MakeRecord(2);
    ASSERT_OK(txn->AddAction(other));
    OperatorTask task = MakeTask(1);
    ASSERT_OK(txn->AddTask(task));
    OutboxRecord again = MakeRecord(3);
    again.idempotency_key = first[0].idempotency_key;
    Status dup = txn->AddAction(again);
    EXPECT_EQ(dup.code(), Code::kAlreadyExists) << Describe(dup);
    EXPECT_FALSE(txn->Commit().ok()) << "the transaction failed with it";
  }
  {
    // A key added earlier in the same transaction.
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    OutboxRecord a = MakeRecord(4);
    OutboxRecord b = MakeRecord(5);
    b.idempotency_key = a.idempotency_key;
    ASSERT_OK(txn->AddAction(a));
    EXPECT_EQ(txn->AddAction(b).code(), Code::kAlreadyExists);
    EXPECT_FALSE(txn->Commit().ok());
  }
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
  EXPECT_SAME(listed, first);
  ASSERT_OK_AND_ASSIGN(auto tasks, store().ListTasks({.open_only = false}));
  EXPECT_TRUE(tasks.empty());
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, ActionCounts{.pending = 1});
  // The same key differs only in case: another key.
  std::vector<OutboxRecord> upper = {MakeRecord(6)};
  upper[0].idempotency_key = "WECOM:M1#WELCOME.GREET#1";
  EXPECT_OK(AddActions(store(), upper));
}

TEST_P(StoreConformance, AddActionRejectsAPayloadThatCannotBeStored) {
  for (std::string payload : {"[1,2]", "not json", "42", "{\"unterminated\":"}) {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    OutboxRecord r = MakeRecord(1);
    r.action.payload = payload;
    Status added = txn->AddAction(r);
    EXPECT_EQ(added.code(), Code::kInvalidArgument) << payload << ": " << Describe(added);
    EXPECT_EQ(added.field(), "payload") << payload;
    EXPECT_FALSE(txn->Commit().ok());
  }
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
  EXPECT_TRUE(listed.empty());
}

TEST_P(StoreConformance, UpdateActionsAppliesEveryUpdate) {
  std::vector<OutboxRecord> records = {MakeRecord(1), MakeRecord(2), MakeRecord(3),
                                       MakeRecord(4, ActionStatus::kSending)};
  ASSERT_OK(AddActions(store(), records));
  const OutboxUpdate sending{.id = records[0].id,
                             .status = ActionStatus::kSending,
                             .attempts = 1,
                             .next_attempt_at = kT0 + 5000,
                             .last_error = "",
                             .platform_ref = "",
                             .updated_at = kT0 + 10};
  const OutboxUpdate done{.id = records[1].id,
                          .status = ActionStatus::kDone,
                          .attempts = 2,
                          .next_attempt_at = 0,
                          .last_error = "",
                          .platform_ref = "msg-sent-2",
                          .updated_at = kT0 + 11};
  const OutboxUpdate retry{.id = records[3].id,
                           .status = ActionStatus::kPending,
                           .attempts = 3,
                           .next_attempt_at = kT0 + 60'000,
                           .last_error = "503 服务不可用",
                           .platform_ref = "",
                           .updated_at = kT0 + 12};
  ASSERT_OK(UpdateActions(store(), std::vector<OutboxUpdate>{sending, done, retry}));
  std::vector<OutboxRecord> expected = {Updated(records[0], sending), Updated(records[1], done),
                                        records[2], Updated(records[3], retry)};
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
  EXPECT_SAME(listed, expected);
  ASSERT_OK_AND_ASSIGN(auto open, store().LoadOpenActions());
  EXPECT_SAME(open, OpenOnes(expected));
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, (ActionCounts{.pending = 2, .sending = 1, .done = 1}));

  // The same id twice in one list: the later update wins.
  OutboxUpdate failed = retry;
  failed.status = ActionStatus::kFailed;
  failed.last_error = "given up";
  OutboxUpdate possibly = sending;
  possibly.status = ActionStatus::kPossiblySent;
  ASSERT_OK(UpdateActions(store(), std::vector<OutboxUpdate>{retry, failed, possibly}));
  expected[3] = Updated(records[3], failed);
  expected[0] = Updated(records[0], possibly);
  Reopen();
  ASSERT_OK_AND_ASSIGN(listed, store().ListActions({}));
  EXPECT_SAME(listed, expected);
  ASSERT_OK_AND_ASSIGN(counts, store().CountActions());
  EXPECT_SAME(counts, CountsOf(expected));
  EXPECT_SAME(counts, (ActionCounts{.pending = 1, .done = 1, .failed = 1, .possibly_sent = 1}));
  // A status set to what it already is changes no count.
  ASSERT_OK(UpdateActions(store(), std::vector<OutboxUpdate>{done}));
  ASSERT_OK_AND_ASSIGN(counts, store().CountActions());
  EXPECT_SAME(counts, CountsOf(expected));
}

TEST_P(StoreConformance, UpdateActionsSkipsMissingRowsAndRefusesAnUnknownStatus) {
  std::vector<OutboxRecord> records = {MakeRecord(1), MakeRecord(2)};
  ASSERT_OK(AddActions(store(), records));
  const int64_t unknown = records.back().id + 1000;
  const OutboxUpdate first{.id = records[0].id, .status = ActionStatus::kDone, .updated_at = 1};
  const OutboxUpdate gone{.id = unknown, .status = ActionStatus::kDone, .updated_at = 1};
  const OutboxUpdate second{.id = records[1].id, .status = ActionStatus::kFailed, .updated_at = 1};
  // An update with a status outside ActionStatus: refused before anything is written.
  OutboxUpdate bad = second;
  bad.status = static_cast<ActionStatus>(17);
  Status status = UpdateActions(store(), std::vector<OutboxUpdate>{first, bad});
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << Describe(status);
  ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
  EXPECT_SAME(listed, records) << "nothing changed";
  // A missing row is skipped and reported; the others are written.
  std::vector<int64_t> missing;
  ASSERT_OK(UpdateActions(store(), std::vector<OutboxUpdate>{first, gone, second}, &missing));
  EXPECT_EQ(missing, std::vector<int64_t>{unknown});
  ASSERT_OK_AND_ASSIGN(listed, store().ListActions({}));
  EXPECT_SAME(listed, (std::vector<OutboxRecord>{Updated(records[0], first),
                                                 Updated(records[1], second)}));
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, (ActionCounts{.done = 1, .failed = 1}));
}

// Delivery writes an outcome with the event that reports it: both or neither.
TEST_P(StoreConformance, UpdateActionsCommitWithTheirTransactionOrNotAtAll) {
  std::vector<OutboxRecord> records = {MakeRecord(1)};
  ASSERT_OK(AddActions(store(), records));
  const OutboxUpdate done{.id = records[0].id,
                          .status = ActionStatus::kDone,
                          .attempts = 1,
                          .platform_ref = "sent",
                          .updated_at = kT0 + 1};
  for (const bool commit : {false, true}) {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    StoredEvent reported = MakeEvent("qunzhu", "qunzhu:action:1:done");
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(reported));
    EXPECT_TRUE(appended);
    std::vector<int64_t> missing;
    ASSERT_OK(txn->UpdateActions(std::vector<OutboxUpdate>{done}, missing));
    EXPECT_TRUE(missing.empty());
    if (commit) ASSERT_OK(txn->Commit());
    txn.reset();  // uncommitted: rolled back
    ASSERT_OK_AND_ASSIGN(auto listed, store().ListActions({}));
    ASSERT_OK_AND_ASSIGN(auto found, store().FindEvent("qunzhu", "qunzhu:action:1:done"));
    EXPECT_SAME(listed, (std::vector<OutboxRecord>{commit ? Updated(records[0], done) : records[0]}));
    EXPECT_EQ(found.has_value(), commit);
  }
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, ActionCounts{.done = 1});
}

TEST_P(StoreConformance, ListAndCountActionsByStatusAndGroup) {
  // 30 records over groups 10, 11 and none (a direct message), all pending at first.
  std::vector<OutboxRecord> records;
  for (int n = 0; n < 30; ++n) {
    records.push_back(MakeRecord(n, ActionStatus::kPending, n % 3 == 2 ? kNoId : 10 + n % 3));
  }
  ASSERT_OK(AddActions(store(), records));
  // Then every status, by n % 5 (0 stays pending).
  std::vector<OutboxUpdate> updates;
  for (OutboxRecord& r : records) {
    const int n = static_cast<int>(&r - records.data());
    if (n % 5 == 0) continue;
    OutboxUpdate u{.id = r.id,
                   .status = static_cast<ActionStatus>(n % 5),
                   .attempts = 1,
                   .updated_at = kT0 + 1000 + n};
    updates.push_back(u);
    r = Updated(r, u);
  }
  ASSERT_OK(UpdateActions(store(), updates));

  auto expect_list = [&](const ActionQuery& query) {
    std::vector<OutboxRecord> expected;
    for (const OutboxRecord& r : records) {
      if (r.id <= query.after_id) continue;
      if (query.status && r.status != *query.status) continue;
      if (query.group_id && r.action.group_id != *query.group_id) continue;
      if (static_cast<int>(expected.size()) < std::clamp(query.limit, 1, 1000)) {
        expected.push_back(r);
      }
    }
    auto listed = store().ListActions(query);
    ASSERT_TRUE(listed.ok()) << Describe(listed);
    EXPECT_SAME(*listed, expected);
  };
  expect_list({.limit = 100});
  for (int s = 0; s < 5; ++s) {
    expect_list({.status = static_cast<ActionStatus>(s), .limit = 100});
    expect_list({.status = static_cast<ActionStatus>(s), .group_id = 10, .limit = 100});
    expect_list({.status = static_cast<ActionStatus>(s), .group_id = kNoId, .limit = 100});
  }
  expect_list({.group_id = 10, .limit = 100});
  expect_list({.group_id = 11, .limit = 100});
  expect_list({.group_id = kNoId, .limit = 100});
  expect_list({.group_id = 99, .limit = 100});
  expect_list({});  // default limit
  expect_list({.group_id = 11, .limit = 2, .after_id = records[4].id});
  expect_list({.status = ActionStatus::kDone, .limit = 1, .after_id = records[2].id});
  expect_list({.after_id = records.back().id});

  // Cursor paging visits every record once, in id order.
  for (std::optional<ActionStatus> status :
       {std::optional<ActionStatus>(), std::optional<ActionStatus>(ActionStatus::kFailed)}) {
    std::vector<OutboxRecord> paged;
    int64_t cursor = 0;
    for (int page = 0; page < 40; ++page) {
      ASSERT_OK_AND_ASSIGN(auto part,
                           store().ListActions({.status = status, .limit = 4, .after_id = cursor}));
      if (part.empty()) break;
      EXPECT_LE(part.size(), 4u);
      paged.insert(paged.end(), part.begin(), part.end());
      cursor = part.back().id;
    }
    std::vector<OutboxRecord> expected;
    for (const OutboxRecord& r : records) {
      if (!status || r.status == *status) expected.push_back(r);
    }
    EXPECT_SAME(paged, expected);
  }

  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_SAME(counts, CountsOf(records));
  EXPECT_SAME(counts, (ActionCounts{6, 6, 6, 6, 6}));
  ASSERT_OK_AND_ASSIGN(auto open, store().LoadOpenActions());
  EXPECT_SAME(open, OpenOnes(records));
}

TEST_P(StoreConformance, ListActionsClampsLimit) {
  std::vector<OutboxRecord> records;
  for (int n = 0; n < 1005; ++n) {
    OutboxRecord r;
    r.action.platform = "wecom";
    r.idempotency_key = "k" + std::to_string(n);
    records.push_back(std::move(r));
  }
  ASSERT_OK(AddActions(store(), records));
  ASSERT_OK_AND_ASSIGN(auto zero, store().ListActions({.limit = 0}));
  EXPECT_EQ(IdsOf(zero), std::vector<int64_t>{records[0].id});
  ASSERT_OK_AND_ASSIGN(auto negative, store().ListActions({.limit = -3}));
  EXPECT_EQ(IdsOf(negative), std::vector<int64_t>{records[0].id});
  ASSERT_OK_AND_ASSIGN(auto huge, store().ListActions({.limit = 5000}));
  ASSERT_EQ(huge.size(), 1000u);
  EXPECT_EQ(huge.back().id, records[999].id);
  ASSERT_OK_AND_ASSIGN(auto standard, store().ListActions({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, store().CountActions());
  EXPECT_EQ(counts.pending, 1005);
  ASSERT_OK_AND_ASSIGN(auto open, store().LoadOpenActions());
  EXPECT_EQ(open.size(), 1005u) << "LoadOpenActions has no limit";
}

TEST_P(StoreConformance, TasksAddAndList) {
  std::vector<OperatorTask> tasks;
  for (int n = 0; n < 9; ++n) tasks.push_back(MakeTask(n, /*open=*/n % 3 != 1));
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    int64_t last = 0;
    for (OperatorTask& t : tasks) {
      t.id = 777;  // ignored
      ASSERT_OK(txn->AddTask(t));
      EXPECT_GT(t.id, last);
      last = t.id;
    }
    ASSERT_OK(txn->Commit());
  }
  std::vector<OperatorTask> open;
  for (const OperatorTask& t : tasks) {
    if (t.open) open.push_back(t);
  }
  ASSERT_EQ(open.size(), 6u);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(auto all, store().ListTasks({.open_only = false}));
    EXPECT_SAME(all, tasks);
    ASSERT_OK_AND_ASSIGN(auto listed_open, store().ListTasks({}));
    EXPECT_SAME(listed_open, open) << "open_only by default";
    Reopen();
  }
  ASSERT_OK_AND_ASSIGN(auto after, store().ListTasks({.open_only = false, .after_id = tasks[6].id}));
  EXPECT_SAME(after, (std::vector<OperatorTask>{tasks[7], tasks[8]}));
  ASSERT_OK_AND_ASSIGN(auto open_after, store().ListTasks({.limit = 2, .after_id = tasks[1].id}));
  EXPECT_SAME(open_after, (std::vector<OperatorTask>{tasks[2], tasks[3]}));
  for (bool open_only : {true, false}) {
    std::vector<OperatorTask> paged;
    int64_t cursor = 0;
    for (int page = 0; page < 20; ++page) {
      ASSERT_OK_AND_ASSIGN(auto part, store().ListTasks({.open_only = open_only,
                                                         .limit = 4,
                                                         .after_id = cursor}));
      if (part.empty()) break;
      EXPECT_LE(part.size(), 4u);
      paged.insert(paged.end(), part.begin(), part.end());
      cursor = part.back().id;
    }
    EXPECT_SAME(paged, open_only ? open : tasks);
  }
  ASSERT_OK_AND_ASSIGN(auto one, store().ListTasks({.open_only = false, .limit = 0}));
  EXPECT_SAME(one, std::vector<OperatorTask>{tasks[0]});
}

TEST_P(StoreConformance, ListTasksClampsLimit) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (int n = 0; n < 1005; ++n) {
      OperatorTask t{.kind = "review", .created_at = n};
      ASSERT_OK(txn->AddTask(t));
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto huge, store().ListTasks({.limit = 5000}));
  EXPECT_EQ(huge.size(), 1000u);
  ASSERT_OK_AND_ASSIGN(auto negative, store().ListTasks({.limit = -1}));
  EXPECT_EQ(negative.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto standard, store().ListTasks({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
}

TEST_P(StoreConformance, TimersPutReplaceAndLoad) {
  TimerRecord a1 = MakeTimer(1, "morning", kT0 + 1000);
  TimerRecord b1 = MakeTimer(1, "evening", kT0 + 2000);
  TimerRecord a2 = MakeTimer(2, "morning", kT0 + 3000);  // the same key in another community
  a2.rule = "";
  a2.payload = "";
  TimerRecord u = MakeTimer(1, "提醒🔔", kT0 + 500);
  u.id = 4242;  // ignored: a new timer gets a new id
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (TimerRecord* t : {&a1, &b1, &a2, &u}) ASSERT_OK(txn->PutTimer(*t));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_GT(a1.id, 0);
  EXPECT_NE(u.id, 4242);
  std::vector<int64_t> ids = {a1.id, b1.id, a2.id, u.id};
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << "distinct ids";
  auto by_id = [](std::vector<TimerRecord> timers) {
    std::sort(timers.begin(), timers.end(),
              [](const TimerRecord& x, const TimerRecord& y) { return x.id < y.id; });
    return timers;
  };
  ASSERT_OK_AND_ASSIGN(auto loaded, store().LoadTimers());
  EXPECT_SAME(loaded, by_id({a1, b1, a2, u}));

  // Replacing by (community_id, key) keeps the id and replaces every other field; the id
  // passed in does not matter.
  TimerRecord a1_new = MakeTimer(1, "morning", kT0 + 9000);
  a1_new.community = "renamed";
  a1_new.rule = "weekly mon 08:00";
  a1_new.time_zone = "Asia/Tokyo";
  a1_new.payload = R"({"v":2})";
  a1_new.cause_event = "wecom:m9";
  a1_new.id = b1.id;
  // Finishing a timer (due 0) keeps it, out of LoadTimers.
  TimerRecord b1_done = b1;
  b1_done.due = 0;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutTimer(a1_new));
    EXPECT_EQ(a1_new.id, a1.id);
    ASSERT_OK(txn->PutTimer(b1_done));
    EXPECT_EQ(b1_done.id, b1.id);
    // Twice in one transaction: still the same id, the last put wins.
    a1_new.due = kT0 + 9500;
    ASSERT_OK(txn->PutTimer(a1_new));
    EXPECT_EQ(a1_new.id, a1.id);
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(loaded, store().LoadTimers());
  EXPECT_SAME(loaded, by_id({a1_new, a2, u}));
  // A finished timer put again comes back with its id.
  TimerRecord b1_again = MakeTimer(1, "evening", kT0 + 7000);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutTimer(b1_again));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(b1_again.id, b1.id);
  ASSERT_OK_AND_ASSIGN(loaded, store().LoadTimers());
  EXPECT_SAME(loaded, by_id({a1_new, b1_again, a2, u}));
}

TEST_P(StoreConformance, UpdateTimerDueIsACompareAndSet) {
  TimerRecord t = MakeTimer(1, "k", kT0);
  TimerRecord other = MakeTimer(1, "other", kT0);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutTimer(t));
    ASSERT_OK(txn->PutTimer(other));
    ASSERT_OK(txn->Commit());
  }
  auto due_of = [&](int64_t id) -> std::optional<TimeMs> {
    auto timers = store().LoadTimers();
    EXPECT_TRUE(timers.ok()) << Describe(timers);
    if (!timers.ok()) return std::nullopt;
    for (const TimerRecord& x : *timers) {
      if (x.id == id) return x.due;
    }
    return std::nullopt;  // finished or absent
  };
  ASSERT_OK_AND_ASSIGN(bool applied, store().UpdateTimerDue(t.id, kT0 + 1, kT0 + 100));
  EXPECT_FALSE(applied) << "the expected due is not the stored one";
  EXPECT_EQ(due_of(t.id), kT0);
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(t.id, kT0, kT0 + 100));
  EXPECT_TRUE(applied);
  EXPECT_EQ(due_of(t.id), kT0 + 100);
  EXPECT_EQ(due_of(other.id), kT0) << "only that timer";
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(t.id, kT0, kT0 + 200));
  EXPECT_FALSE(applied) << "a second set from the same expected value";
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(t.id, kT0 + 100, kT0 + 100));
  EXPECT_TRUE(applied) << "a probe: the stored due is the expected one";
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(other.id + t.id + 100, kT0, 1));
  EXPECT_FALSE(applied) << "an unknown id";

  // A replacement by the writer wins over a set that expected the old due.
  TimerRecord replaced = MakeTimer(1, "k", kT0 + 5000);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->PutTimer(replaced));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(t.id, kT0 + 100, kT0 + 300));
  EXPECT_FALSE(applied);
  EXPECT_EQ(due_of(t.id), kT0 + 5000);
  // Setting due 0 finishes the timer.
  ASSERT_OK_AND_ASSIGN(applied, store().UpdateTimerDue(t.id, kT0 + 5000, 0));
  EXPECT_TRUE(applied);
  Reopen();
  EXPECT_FALSE(due_of(t.id).has_value());
  ASSERT_OK_AND_ASSIGN(auto loaded, store().LoadTimers());
  EXPECT_SAME(loaded, std::vector<TimerRecord>{other});
}

// Puts `timers` in one committed transaction, setting their ids.
Status PutTimers(Store& store, std::vector<TimerRecord>& timers) {
  auto txn = store.Begin();
  if (!txn.ok()) return txn.status();
  for (TimerRecord& t : timers) QZ_RETURN_IF_ERROR((*txn)->PutTimer(t));
  return (*txn)->Commit();
}

TEST_P(StoreConformance, GetTimersReadsByIdAscendingSkippingUnknownIds) {
  std::vector<TimerRecord> timers = {MakeTimer(1, "a", kT0 + 300), MakeTimer(1, "b", kT0 + 100),
                                     MakeTimer(2, "a", kT0 + 200), MakeTimer(1, "done", kT0)};
  timers[2].rule = "";
  timers[2].payload = "";
  timers[2].time_zone = "Asia/Shanghai";
  ASSERT_OK(PutTimers(store(), timers));
  // Finished: still read by id, with due 0 (LoadTimers and ScanTimerDues leave it out).
  TimerRecord done = timers[3];
  done.due = 0;
  {
    std::vector<TimerRecord> finish = {done};
    ASSERT_OK(PutTimers(store(), finish));
  }
  const int64_t unknown = timers[0].id + timers[1].id + timers[2].id + timers[3].id + 1000;
  // Scrambled, with an unknown id, a repeated id and a negative one.
  const std::vector<int64_t> ids = {timers[2].id, unknown,      timers[0].id, done.id,
                                    timers[2].id, timers[1].id, -5};
  ASSERT_OK_AND_ASSIGN(auto got, store().GetTimers(ids));
  std::vector<TimerRecord> want = {timers[0], timers[1], timers[2], done};
  std::sort(want.begin(), want.end(),
            [](const TimerRecord& x, const TimerRecord& y) { return x.id < y.id; });
  EXPECT_SAME(got, want);
  // A subset, in the order asked or not: ascending by id.
  const std::vector<int64_t> two = {std::max(timers[1].id, done.id),
                                    std::min(timers[1].id, done.id)};
  ASSERT_OK_AND_ASSIGN(got, store().GetTimers(two));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, two[1]);
  EXPECT_EQ(got[1].id, two[0]);
  const std::vector<int64_t> only_unknown = {unknown, unknown + 1};
  ASSERT_OK_AND_ASSIGN(got, store().GetTimers(only_unknown));
  EXPECT_TRUE(got.empty());
}

TEST_P(StoreConformance, GetTimersSeesTheLatestReplacement) {
  std::vector<TimerRecord> timers = {MakeTimer(1, "k", kT0), MakeTimer(1, "other", kT0 + 1)};
  ASSERT_OK(PutTimers(store(), timers));
  const int64_t ids[] = {timers[0].id};
  ASSERT_OK_AND_ASSIGN(auto got, store().GetTimers(ids));
  EXPECT_SAME(got, std::vector<TimerRecord>{timers[0]});

  // Replaced by key: the same id, every other field new.
  TimerRecord replaced = MakeTimer(1, "k", kT0 + 5000);
  replaced.community = "renamed";
  replaced.rule = "every 15m";
  replaced.time_zone = "America/New_York";
  replaced.payload = R"({"v":2,"text":"新的 🎉"})";
  replaced.cause_event = "qq:m2";
  {
    std::vector<TimerRecord> put = {replaced};
    ASSERT_OK(PutTimers(store(), put));
    replaced.id = put[0].id;
  }
  ASSERT_EQ(replaced.id, timers[0].id);
  ASSERT_OK_AND_ASSIGN(got, store().GetTimers(ids));
  EXPECT_SAME(got, std::vector<TimerRecord>{replaced});
  // A compare-and-set of its due shows too, and survives a reopen.
  ASSERT_OK_AND_ASSIGN(bool applied, store().UpdateTimerDue(replaced.id, kT0 + 5000, kT0 + 6000));
  ASSERT_TRUE(applied);
  replaced.due = kT0 + 6000;
  Reopen();
  ASSERT_OK_AND_ASSIGN(got, store().GetTimers(ids));
  EXPECT_SAME(got, std::vector<TimerRecord>{replaced});
}

TEST_P(StoreConformance, GetTimersTakesLargeIdLists) {
  std::vector<TimerRecord> timers;
  for (int i = 0; i < 1300; ++i) {
    timers.push_back(MakeTimer(1 + i % 3, "k" + std::to_string(i), kT0 + (i * 7919) % 1300));
    if (i % 5 == 0) timers.back().payload = R"({"n":)" + std::to_string(i) + "}";
  }
  ASSERT_OK(PutTimers(store(), timers));
  ASSERT_OK_AND_ASSIGN(auto all, store().LoadTimers());
  ASSERT_EQ(all.size(), timers.size());
  // Every id, each twice, newest first, with unknown ids (past the largest) in between.
  const int64_t max_id = all.back().id;
  std::vector<int64_t> ids;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    ids.push_back(it->id);
    ids.push_back(max_id + 1 + static_cast<int64_t>(ids.size()));
    ids.push_back(it->id);
  }
  ASSERT_OK_AND_ASSIGN(auto got, store().GetTimers(ids));
  EXPECT_SAME(got, all);
  // Lists around any chunk size a store may use: the first n timers, exactly.
  for (size_t n : {1u, 63u, 64u, 65u, 255u, 256u, 257u, 511u, 512u, 513u, 1024u, 1025u}) {
    std::vector<int64_t> first;
    for (size_t i = 0; i < n; ++i) first.push_back(all[i].id);
    std::reverse(first.begin(), first.end());
    ASSERT_OK_AND_ASSIGN(got, store().GetTimers(first));
    ASSERT_EQ(got.size(), n);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), all.begin())) << "first " << n;
  }
}

TEST_P(StoreConformance, ScanTimerDuesPagesInDueOrder) {
  std::vector<TimerRecord> timers;
  for (int i = 0; i < 20; ++i) {
    // Dues out of id order, with ties (i % 7), one before 1970.
    const TimeMs due = i == 13 ? -5000 : kT0 + (i * 5) % 7;
    timers.push_back(MakeTimer(1 + i % 2, "d" + std::to_string(i), due));
  }
  ASSERT_OK(PutTimers(store(), timers));
  std::vector<TimerRecord> finished = {timers[2], timers[9]};
  for (TimerRecord& t : finished) t.due = 0;
  ASSERT_OK(PutTimers(store(), finished));
  std::vector<TimerDue> expected;
  for (size_t i = 0; i < timers.size(); ++i) {
    if (i != 2 && i != 9) expected.push_back({timers[i].id, timers[i].due});
  }
  std::sort(expected.begin(), expected.end(), [](const TimerDue& a, const TimerDue& b) {
    return std::tie(a.due, a.id) < std::tie(b.due, b.id);
  });
  ASSERT_EQ(expected.size(), 18u);
  EXPECT_EQ(expected.front().due, -5000);
  for (int limit : {1, 3, 18, 100}) {
    std::vector<TimerDue> paged;
    std::optional<TimerDue> after;
    for (int page = 0; page < 50; ++page) {
      ASSERT_OK_AND_ASSIGN(auto part, store().ScanTimerDues(after, limit));
      if (part.empty()) break;
      EXPECT_LE(part.size(), static_cast<size_t>(limit));
      paged.insert(paged.end(), part.begin(), part.end());
      after = part.back();
    }
    EXPECT_EQ(paged, expected) << "limit " << limit;
  }
  ASSERT_OK_AND_ASSIGN(auto none, store().ScanTimerDues(std::nullopt, 0));
  EXPECT_TRUE(none.empty()) << "limit 0";
  ASSERT_OK_AND_ASSIGN(none, store().ScanTimerDues(expected.back(), 10));
  EXPECT_TRUE(none.empty()) << "past the last";
  // After a tie's first member: the rest of the tie, then later dues.
  ASSERT_OK_AND_ASSIGN(auto from_middle, store().ScanTimerDues(expected[4], 3));
  EXPECT_EQ(from_middle,
            (std::vector<TimerDue>{expected[5], expected[6], expected[7]}));
}

TEST_P(StoreConformance, FindTimersByKeyPrefixWithinACommunity) {
  std::vector<TimerRecord> timers = {
      MakeTimer(1, "playbook:morning", kT0 + 1), MakeTimer(1, "welcome:u1", kT0 + 2),
      MakeTimer(1, "playbook:evening", kT0 + 3), MakeTimer(2, "playbook:morning", kT0 + 4),
      MakeTimer(1, "playbook", kT0 + 5),         MakeTimer(1, "playbook;", kT0 + 6),
      MakeTimer(1, "playbook:done", kT0 + 7),    MakeTimer(1, "playbook:\xff\xff", kT0 + 8)};
  ASSERT_OK(PutTimers(store(), timers));
  std::vector<TimerRecord> done = {timers[6]};
  done[0].due = 0;  // finished: left out
  ASSERT_OK(PutTimers(store(), done));
  ASSERT_OK_AND_ASSIGN(auto found, store().FindTimers(1, "playbook:"));
  EXPECT_SAME(found, (std::vector<TimerRecord>{timers[0], timers[2], timers[7]}));
  ASSERT_OK_AND_ASSIGN(found, store().FindTimers(2, "playbook:"));
  EXPECT_SAME(found, std::vector<TimerRecord>{timers[3]});
  ASSERT_OK_AND_ASSIGN(found, store().FindTimers(3, "playbook:"));
  EXPECT_TRUE(found.empty());
  ASSERT_OK_AND_ASSIGN(found, store().FindTimers(1, "playbook:\xff"));
  EXPECT_SAME(found, std::vector<TimerRecord>{timers[7]}) << "a prefix ending in 0xff";
  ASSERT_OK_AND_ASSIGN(found, store().FindTimers(1, ""));
  EXPECT_EQ(found.size(), 6u) << "every pending timer of the community";
}

TEST_P(StoreConformance, ModuleStatePutDeleteAndLoad) {
  // Keys put in a scrambled order; bytewise order puts "B" before "a".
  std::vector<ModuleStateEntry> entries = {
      {.community_id = 2, .module = "checkin", .key = "streak:1", .value = "3"},
      {.community_id = 1, .module = "welcome", .key = "a", .value = R"({"n":1})"},
      {.community_id = 1, .module = "checkin", .key = "streak:10", .value = "7"},
      {.community_id = 1, .module = "welcome", .key = "B", .value = "大写"},
      {.community_id = 1, .module = "checkin", .key = "streak:2", .value = "1"},
      {.community_id = 1, .module = "antispam", .key = "窗口🙂", .value = std::string(10000, 'v')},
  };
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (const ModuleStateEntry& e : entries) ASSERT_OK(txn->PutModuleState(e));
    ASSERT_OK(txn->Commit());
  }
  auto sorted = [](std::vector<ModuleStateEntry> v) {
    std::sort(v.begin(), v.end(), [](const ModuleStateEntry& a, const ModuleStateEntry& b) {
      return std::tie(a.community_id, a.module, a.key) < std::tie(b.community_id, b.module, b.key);
    });
    return v;
  };
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state.module_state, sorted(entries));

  {
    // Replace one, delete two (an empty value deletes), delete an absent one.
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    entries[2].value = "8";
    ASSERT_OK(txn->PutModuleState(entries[2]));
    ASSERT_OK(txn->PutModuleState({.community_id = 1, .module = "welcome", .key = "a"}));
    ASSERT_OK(txn->PutModuleState({.community_id = 2, .module = "checkin", .key = "streak:1"}));
    ASSERT_OK(txn->PutModuleState({.community_id = 3, .module = "none", .key = "absent"}));
    // Deleted and put again in one transaction.
    ASSERT_OK(txn->PutModuleState({.community_id = 1, .module = "checkin", .key = "streak:2"}));
    entries[4].value = "2";
    ASSERT_OK(txn->PutModuleState(entries[4]));
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(state, store().LoadState());
  EXPECT_SAME(state.module_state, sorted({entries[2], entries[3], entries[4], entries[5]}));
  EXPECT_TRUE(state.members.empty()) << "module state is not an entity";
}

TEST_P(StoreConformance, PlaybooksPutReplaceAndLoad) {
  const StoredPlaybook b{.community = "b", .toml = "[welcome]\ntext = \"hi\"\n", .updated_at = 1};
  const StoredPlaybook a{.community = "a", .toml = "# 欢迎 🎉\n", .updated_at = 2};
  const StoredPlaybook upper{.community = "Z", .toml = "", .updated_at = 3};
  ASSERT_OK(store().PutPlaybook(b));
  ASSERT_OK(store().PutPlaybook(a));
  ASSERT_OK(store().PutPlaybook(upper));
  ASSERT_OK_AND_ASSIGN(auto loaded, store().LoadPlaybooks());
  EXPECT_SAME(loaded, (std::vector<StoredPlaybook>{upper, a, b})) << "ordered by slug, bytewise";
  const StoredPlaybook b2{.community = "b", .toml = std::string(100'000, '#'), .updated_at = 9};
  ASSERT_OK(store().PutPlaybook(b2));
  Reopen();
  ASSERT_OK_AND_ASSIGN(loaded, store().LoadPlaybooks());
  EXPECT_SAME(loaded, (std::vector<StoredPlaybook>{upper, a, b2}));
}

// Everything a StoreTxn writes is rolled back together, and is invisible while it is open.
TEST_P(StoreConformance, RolledBackTxnLeavesNoActionsTasksTimersOrModuleState) {
  std::vector<OutboxRecord> records = {MakeRecord(1)};
  OperatorTask task = MakeTask(1);
  TimerRecord timer = MakeTimer(1, "k", kT0);
  const ModuleStateEntry kept{.community_id = 1, .module = "m", .key = "kept", .value = "1"};
  Member member = MakeMember(1, 1);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(txn->AddAction(records[0]));
    ASSERT_OK(txn->AddTask(task));
    ASSERT_OK(txn->PutTimer(timer));
    ASSERT_OK(txn->PutModuleState(kept));
    ASSERT_OK(txn->PutMember(member));
    ASSERT_OK(txn->Commit());
  }
  // GetTimers is asked for the committed timer and for one added (then rolled back) below.
  std::vector<int64_t> timer_ids = {timer.id};
  auto check_committed_view = [&] {
    auto open = store().LoadOpenActions();
    ASSERT_TRUE(open.ok()) << Describe(open);
    EXPECT_SAME(*open, records);
    auto listed = store().ListActions({});
    ASSERT_TRUE(listed.ok()) << Describe(listed);
    EXPECT_SAME(*listed, records);
    auto counts = store().CountActions();
    ASSERT_TRUE(counts.ok()) << Describe(counts);
    EXPECT_SAME(*counts, ActionCounts{.pending = 1});
    auto tasks = store().ListTasks({.open_only = false});
    ASSERT_TRUE(tasks.ok()) << Describe(tasks);
    EXPECT_SAME(*tasks, std::vector<OperatorTask>{task});
    auto timers = store().LoadTimers();
    ASSERT_TRUE(timers.ok()) << Describe(timers);
    EXPECT_SAME(*timers, std::vector<TimerRecord>{timer});
    auto dues = store().ScanTimerDues(std::nullopt, 10);
    ASSERT_TRUE(dues.ok()) << Describe(dues);
    EXPECT_EQ(*dues, (std::vector<TimerDue>{{timer.id, timer.due}}));
    timers = store().GetTimers(timer_ids);
    ASSERT_TRUE(timers.ok()) << Describe(timers);
    EXPECT_SAME(*timers, std::vector<TimerRecord>{timer});
    auto profile = store().GetMember(1);
    ASSERT_TRUE(profile.ok()) << Describe(profile);
    EXPECT_EQ(profile->member.points, member.points);
  };
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    OutboxRecord lost = MakeRecord(2);
    ASSERT_OK(txn->AddAction(lost));
    OperatorTask lost_task = MakeTask(2);
    ASSERT_OK(txn->AddTask(lost_task));
    TimerRecord replaced = MakeTimer(1, "k", kT0 + 1);
    replaced.rule = "";
    ASSERT_OK(txn->PutTimer(replaced));
    TimerRecord added = MakeTimer(1, "new", kT0 + 2);
    ASSERT_OK(txn->PutTimer(added));
    timer_ids.push_back(added.id);
    ASSERT_OK(txn->PutModuleState({.community_id = 1, .module = "m", .key = "kept"}));
    ASSERT_OK(txn->PutModuleState({.community_id = 1, .module = "m", .key = "new", .value = "x"}));
    Member richer = member;
    richer.points += 100;
    ASSERT_OK(txn->PutMember(richer));
    // While it is open, readers (here and on another thread) see only committed data.
    check_committed_view();
    std::thread reader(check_committed_view);
    reader.join();
    // Destroyed without Commit().
  }
  check_committed_view();
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, store().LoadState());
  EXPECT_SAME(state.module_state, std::vector<ModuleStateEntry>{kept});
  EXPECT_SAME(state.members, std::vector<Member>{member});
  // The store goes on: ids keep increasing past the committed ones.
  std::vector<OutboxRecord> next = {MakeRecord(3)};
  ASSERT_OK(AddActions(store(), next));
  EXPECT_GT(next[0].id, records[0].id);
}

}  // namespace
}  // namespace qz
