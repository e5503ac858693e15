#include "store/store_conformance.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <limits>
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
#define ASSERT_OK(expr)                                       \
  do {                                                        \
    const auto& qz_ok_ = (expr);                              \
    ASSERT_TRUE(qz_ok_.ok()) << #expr << ": " << Describe(qz_ok_); \
  } while (0)
#define EXPECT_OK(expr)                                       \
  do {                                                        \
    const auto& qz_ok_ = (expr);                              \
    EXPECT_TRUE(qz_ok_.ok()) << #expr << ": " << Describe(qz_ok_); \
  } while (0)
// Declares `lhs` from the value of a Result, failing the test if it holds an error.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL(QZ_CONCAT(qz_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL(result, lhs, expr)                   \
  auto result = (expr);                                                \
  ASSERT_TRUE(result.ok()) << #expr << ": " << Describe(result);       \
  lhs = std::move(result).value()

// Field tuples, so failures print readable values (enums as integers).
auto Fields(const Community& c) { return std::tuple(c.id, c.slug, c.name, c.time_zone, c.created_at); }
auto Fields(const Group& g) {
  return std::tuple(g.id, g.community_id, g.platform, g.external_id, g.name, int(g.type),
                    g.capacity, g.time_zone, g.first_seen, g.last_activity, g.member_count,
                    g.joins, g.leaves, g.messages);
}
auto Fields(const Member& m) {
  return std::tuple(m.id, m.community_id, m.display_name, m.first_seen, m.last_seen,
                    m.referrer_id, m.channel, m.messages, m.checkins, m.link_clicks, m.orders,
                    m.order_amount_e4, m.invited, m.last_message, m.last_checkin);
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
         "\nlast_seq " + std::to_string(s.last_seq);
}

bool SameEvent(const StoredEvent& a, const StoredEvent& b) { return Fields(a) == Fields(b); }
bool SameEvents(const std::vector<StoredEvent>& a, const std::vector<StoredEvent>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), SameEvent);
}

// operator== on the structs; the dump only explains a mismatch.
#define EXPECT_SAME(actual, expected) \
  EXPECT_TRUE((actual) == (expected)) << "actual:\n" << Dump(actual) << "\nexpected:\n" << Dump(expected)
#define EXPECT_SAME_EVENTS(actual, expected)                                               \
  EXPECT_TRUE(SameEvents((actual), (expected))) << "actual:\n" << Dump(actual) << "\nexpected:\n" \
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
          .last_message = kT0 + 3 * id,
          .last_checkin = kT0 + 4 * id};
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
  Member member = MakeMember(kMax, kMax);
  member.order_amount_e4 = kMin;
  member.first_seen = -1;
  member.channel = "";  // empty strings stay empty (not NULL, not missing)
  Group group = MakeGroup(7, 1);
  group.capacity = std::numeric_limits<int32_t>::max();
  group.type = GroupType::kUnspecified;
  group.name = "";
  Membership membership = MakeMembership(7, kMax);
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
      expected.identities.push_back(MakeIdentity(k % 3, k % 2 ? "wecom" : "feishu",
                                                 "u" + std::to_string(9 - k), k * 100));
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
      ASSERT_OK(txn->PutIdentity(MakeIdentity(id <= 20 ? 1 : 2, "wecom",
                                              id == 12 ? "needle_ext" : "wm" + std::to_string(id),
                                              id)));
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
  EXPECT_SAME(profile.identities, (std::vector<Identity>{sample.identities[0], sample.identities[2]}));
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

TEST_P(StoreConformance, MemberEventsNewestFirstWithPaging) {
  std::vector<StoredEvent> mine;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    for (int i = 0; i < 30; ++i) {
      const MemberId member = i % 3 == 0 ? 5 : 6;  // member 5 gets every third event
      StoredEvent e = MakeEvent("wecom", "me" + std::to_string(i), member);
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(e));
      ASSERT_TRUE(ok);
      if (member == 5) mine.push_back(e);
    }
    ASSERT_OK(txn->Commit());
  }
  std::reverse(mine.begin(), mine.end());
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
  ASSERT_OK_AND_ASSIGN(auto none, store().MemberEvents(99, 0, 100));
  EXPECT_TRUE(none.empty());
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
  {
    ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
    ASSERT_OK(PutSnapshot(*txn, SampleState()));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(committed));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto txn, store().Begin());
  StoredEvent pending = MakeEvent("wecom", "pending", 2);
  ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(pending));
  ASSERT_TRUE(ok);
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

}  // namespace
}  // namespace qz
