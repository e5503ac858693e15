// Conformance of ReadModel: entities, member events, stats and module state.
#include <algorithm>
#include <cstdio>
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

TEST_P(ReadModelConformance, EveryEntityRoundTrips) {
  const StateSnapshot sample = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state, sample);
  ASSERT_OK_AND_ASSIGN(auto communities, read_model().ListCommunities());
  EXPECT_SAME(communities, sample.communities);
  ASSERT_OK_AND_ASSIGN(auto groups, read_model().ListGroups(std::nullopt));
  EXPECT_SAME(groups, sample.groups);
  ASSERT_OK_AND_ASSIGN(auto groups_of_1, read_model().ListGroups(1));
  EXPECT_SAME(groups_of_1, (std::vector<Group>{sample.groups[0], sample.groups[1]}));
  ASSERT_OK_AND_ASSIGN(auto groups_of_7, read_model().ListGroups(7));
  EXPECT_TRUE(groups_of_7.empty());
  ASSERT_OK_AND_ASSIGN(auto members, read_model().ListMembers({}));
  EXPECT_SAME(members, sample.members);
}

TEST_P(ReadModelConformance, ListMembersFilters) {
  // Members 1..20 in community 1, 21..25 in community 2. Group 10 (community 1): active
  // memberships of the even members up to 12, an inactive one of member 3.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  auto list = [&](const MemberQuery& q) { return ListedIds(read_model(), q); };
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

TEST_P(ReadModelConformance, ListMembersClampsLimit) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (MemberId id = 1; id <= 1100; ++id) ASSERT_OK(txn->PutMember(MakeMember(id, 1)));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto zero, read_model().ListMembers({.limit = 0}));
  EXPECT_EQ(Ids(zero), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto negative, read_model().ListMembers({.limit = -5}));
  EXPECT_EQ(Ids(negative), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto huge, read_model().ListMembers({.limit = 5000}));
  ASSERT_EQ(huge.size(), 1000u);
  EXPECT_EQ(huge.front().id, 1);
  EXPECT_EQ(huge.back().id, 1000);
  ASSERT_OK_AND_ASSIGN(auto standard, read_model().ListMembers({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
  EXPECT_SAME(standard.front(), MakeMember(1, 1));
}

TEST_P(ReadModelConformance, GetMember) {
  auto missing = read_model().GetMember(1);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  const StateSnapshot sample = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, read_model().GetMember(2));
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
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutMember(MakeMember(50, 1)));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile bare, read_model().GetMember(50));
  EXPECT_SAME(bare.member, MakeMember(50, 1));
  EXPECT_TRUE(bare.identities.empty());
  EXPECT_TRUE(bare.memberships.empty());
  EXPECT_TRUE(bare.names.empty());
  EXPECT_TRUE(bare.tags.empty());
  EXPECT_EQ(read_model().GetMember(51).status().code(), Code::kNotFound);
}

// Appends `count` events alternating between members 5 (every third) and 6, linked as the
// writer links them (member_prev_seq, Member::last_event_seq); returns member 5's, newest first.

TEST_P(ReadModelConformance, MemberEventsNewestFirstWithPaging) {
  const std::vector<StoredEvent> mine = AppendChains(log(), 30);
  ASSERT_EQ(mine.size(), 10u);
  ASSERT_OK_AND_ASSIGN(auto all, read_model().MemberEvents(5, 0, 100));
  EXPECT_SAME_EVENTS(all, mine);

  std::vector<StoredEvent> paged;
  int64_t before = 0;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto events, read_model().MemberEvents(5, before, 3));
    if (events.empty()) break;
    EXPECT_LE(events.size(), 3u);
    paged.insert(paged.end(), events.begin(), events.end());
    before = events.back().seq;
  }
  EXPECT_SAME_EVENTS(paged, mine);

  ASSERT_OK_AND_ASSIGN(auto older, read_model().MemberEvents(5, mine[2].seq, 100));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin() + 3, mine.end()));
  // A before_seq that is not one of the member's events: another member's, and one past the
  // end of the log.
  ASSERT_OK_AND_ASSIGN(older, read_model().MemberEvents(5, mine[2].seq + 1, 2));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin() + 2, mine.begin() + 4));
  ASSERT_OK_AND_ASSIGN(older, read_model().MemberEvents(5, mine[0].seq + 1000, 2));
  EXPECT_SAME_EVENTS(older, std::vector<StoredEvent>(mine.begin(), mine.begin() + 2));
  ASSERT_OK_AND_ASSIGN(auto none, read_model().MemberEvents(99, 0, 100));
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(none, read_model().MemberEvents(5, mine.back().seq, 100));
  EXPECT_TRUE(none.empty()) << "nothing older than the first event";
}

TEST_P(ReadModelConformance, GroupEventsFollowTheGroupsChain) {
  AppendChains(log(), 30);  // even events in group 1, odd ones in group 2
  ASSERT_OK_AND_ASSIGN(auto all, log().ScanEvents(0, 100));
  ASSERT_EQ(all.size(), 30u);
  std::vector<StoredEvent> ones;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    if (it->group_id == 1) ones.push_back(*it);
  }
  ASSERT_OK_AND_ASSIGN(auto events, read_model().GroupEvents(1, 0, 100));
  EXPECT_SAME_EVENTS(events, ones);
  std::vector<StoredEvent> paged;
  int64_t before = 0;
  for (int page = 0; page < 10; ++page) {
    ASSERT_OK_AND_ASSIGN(auto part, read_model().GroupEvents(1, before, 4));
    if (part.empty()) break;
    paged.insert(paged.end(), part.begin(), part.end());
    before = part.back().seq;
  }
  EXPECT_SAME_EVENTS(paged, ones);
  ASSERT_OK_AND_ASSIGN(auto none, read_model().GroupEvents(99, 0, 100));
  EXPECT_TRUE(none.empty());
}

TEST_P(ReadModelConformance, GetAndFindGroup) {
  const StateSnapshot sample = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(std::optional<Group> two, read_model().GetGroup(2));
  ASSERT_TRUE(two.has_value());
  EXPECT_SAME(*two, sample.groups[1]);
  ASSERT_OK_AND_ASSIGN(std::optional<Group> absent, read_model().GetGroup(42));
  EXPECT_FALSE(absent.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<Group> three, read_model().FindGroup("feishu", "g3"));
  ASSERT_TRUE(three.has_value());
  EXPECT_SAME(*three, sample.groups[2]);
  ASSERT_OK_AND_ASSIGN(absent, read_model().FindGroup("wecom", "g3"));
  EXPECT_FALSE(absent.has_value()) << "another platform's id";
  ASSERT_OK_AND_ASSIGN(absent, read_model().FindGroup("wecom", "g"));
  EXPECT_FALSE(absent.has_value());
}

TEST_P(ReadModelConformance, ListMembersByTagAndRole) {
  // Members 1..12 in community 1, 13..15 in community 2. Tags: "kol" on 2, 5, 8, 13; "vip" on
  // 5. Group 10: 3 owner, 4 admin (inactive), 6 assistant, 7 and 8 members; group 11: 9 admin.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (MemberId id = 1; id <= 15; ++id) {
      ASSERT_OK(txn->PutMember(MakeMember(id, id <= 12 ? 1 : 2, "m" + std::to_string(100 - id))));
    }
    for (MemberId id : {2, 5, 8, 13}) ASSERT_OK(txn->PutTag({.member_id = id, .tag = "kol"}));
    ASSERT_OK(txn->PutTag({.member_id = 5, .tag = "vip"}));
    auto membership = [&](GroupId g, MemberId m, Role role, bool active = true) {
      Membership ms = MakeMembership(g, m, active);
      ms.role = role;
      return txn->PutMembership(ms);
    };
    ASSERT_OK(membership(10, 3, Role::kOwner));
    ASSERT_OK(membership(10, 4, Role::kAdmin, false));
    ASSERT_OK(membership(10, 6, Role::kAssistant));
    ASSERT_OK(membership(10, 7, Role::kMember));
    ASSERT_OK(membership(10, 8, Role::kMember));
    ASSERT_OK(membership(11, 9, Role::kAdmin));
    ASSERT_OK(membership(11, 8, Role::kAdmin));
    ASSERT_OK(txn->Commit());
  }
  auto list = [&](const MemberQuery& q) { return ListedIds(read_model(), q); };
  using V = std::vector<MemberId>;
  EXPECT_EQ(list({.tag = "kol"}), (V{2, 5, 8, 13}));
  EXPECT_EQ(list({.community_id = 1, .tag = "kol"}), (V{2, 5, 8}));
  EXPECT_EQ(list({.tag = "vip"}), V{5});
  EXPECT_EQ(list({.tag = "ko"}), V{}) << "a tag matches whole";
  EXPECT_EQ(list({.group_id = 10, .tag = "kol"}), V{8});
  EXPECT_EQ(list({.role = Role::kAdmin}), (V{8, 9})) << "active memberships only";
  EXPECT_EQ(list({.role = Role::kOwner}), V{3});
  EXPECT_EQ(list({.group_id = 10, .role = Role::kAdmin}), V{});
  EXPECT_EQ(list({.group_id = 11, .role = Role::kAdmin}), (V{8, 9}));
  EXPECT_EQ(list({.group_id = 10, .role = Role::kMember}), (V{7, 8}));
  EXPECT_EQ(list({.role = Role::kMember}), (V{7, 8}));
  EXPECT_EQ(list({.tag = "kol", .role = Role::kAdmin}), V{8});
  // Pages by id, and in another order.
  EXPECT_EQ(list({.tag = "kol", .limit = 2}), (V{2, 5}));
  EXPECT_EQ(list({.tag = "kol", .limit = 2, .after_id = 5}), (V{8, 13}));
  EXPECT_EQ(list({.tag = "kol", .sort = MemberSort::kDisplayName}), (V{13, 8, 5, 2}));
  EXPECT_EQ(list({.q = "m9", .tag = "kol"}), (V{2, 5, 8}));

  ASSERT_OK_AND_ASSIGN(std::vector<TagCount> tags, read_model().ListTags(std::nullopt));
  EXPECT_EQ(tags, (std::vector<TagCount>{{"kol", 4}, {"vip", 1}}));
  ASSERT_OK_AND_ASSIGN(tags, read_model().ListTags(2));
  EXPECT_EQ(tags, (std::vector<TagCount>{{"kol", 1}}));
  ASSERT_OK_AND_ASSIGN(tags, read_model().ListTags(9));
  EXPECT_TRUE(tags.empty());
}

TEST_P(ReadModelConformance, Stats) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, SampleState()));  // 2 communities, 3 groups, 3 members
    ASSERT_OK(txn->PutMember(MakeMember(40, 1)));
    ASSERT_OK(txn->PutMember(MakeMember(41, 1)));
    for (int i = 0; i < 7; ++i) {
      StoredEvent e = MakeEvent("wecom", "st" + std::to_string(i % 6));  // one duplicate
      ASSERT_OK(txn->AppendEvent(e));
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 6);
  EXPECT_EQ(stats.members, 5);
  EXPECT_EQ(stats.groups, 3);
  EXPECT_EQ(stats.communities, 2);
}

TEST_P(ReadModelConformance, ReadsDuringAnOpenTxnSeeOnlyCommittedData) {
  StoredEvent committed = MakeEvent("wecom", "committed", 1);
  StateSnapshot sample = SampleState();
  for (Member& m : sample.members) m.last_event_seq = 0;  // no events of theirs yet
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(committed));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
    auto stats = read_model().Stats();
    ASSERT_TRUE(stats.ok()) << ::qz::testing::Describe(stats);
    EXPECT_EQ(stats->events, 1);
    EXPECT_EQ(stats->members, 3);
    EXPECT_EQ(stats->groups, 3);
    EXPECT_EQ(stats->communities, 2);
    auto found = log().FindEvent("wecom", "pending");
    ASSERT_TRUE(found.ok()) << ::qz::testing::Describe(found);
    EXPECT_FALSE(found->has_value());
    auto scanned = log().ScanEvents(0, 100);
    ASSERT_TRUE(scanned.ok()) << ::qz::testing::Describe(scanned);
    EXPECT_EQ(scanned->size(), 1u);
    auto mine = read_model().MemberEvents(2, 0, 100);
    ASSERT_TRUE(mine.ok()) << ::qz::testing::Describe(mine);
    EXPECT_TRUE(mine->empty());
    EXPECT_EQ(read_model().GetMember(8).status().code(), Code::kNotFound);
    auto profile = read_model().GetMember(2);
    ASSERT_TRUE(profile.ok()) << ::qz::testing::Describe(profile);
    EXPECT_EQ(profile->tags.size(), 2u);
    auto members = read_model().ListMembers({});
    ASSERT_TRUE(members.ok()) << ::qz::testing::Describe(members);
    EXPECT_EQ(Ids(*members), (std::vector<MemberId>{1, 2, 3}));
    EXPECT_EQ((*members)[0].display_name, "Member 1");
    auto in_group = read_model().ListMembers({.group_id = 1});
    ASSERT_TRUE(in_group.ok()) << ::qz::testing::Describe(in_group);
    EXPECT_EQ(Ids(*in_group), std::vector<MemberId>{1});
    auto communities = read_model().ListCommunities();
    ASSERT_TRUE(communities.ok()) << ::qz::testing::Describe(communities);
    EXPECT_EQ(communities->size(), 2u);
    auto groups = read_model().ListGroups(std::nullopt);
    ASSERT_TRUE(groups.ok()) << ::qz::testing::Describe(groups);
    EXPECT_EQ(groups->size(), 3u);
  };
  check_committed_view();
  std::thread reader(check_committed_view);
  reader.join();

  ASSERT_OK(txn->Commit());
  txn.reset();
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 2);
  EXPECT_EQ(stats.members, 4);
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("wecom", "pending"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, pending));
  ASSERT_OK_AND_ASSIGN(auto mine, read_model().MemberEvents(2, 0, 100));
  EXPECT_SAME_EVENTS(mine, std::vector<StoredEvent>{pending});
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, read_model().GetMember(8));
  EXPECT_EQ(profile.member.display_name, "pending member");
  ASSERT_OK_AND_ASSIGN(auto in_group, read_model().ListMembers({.group_id = 1}));
  EXPECT_EQ(Ids(in_group), (std::vector<MemberId>{1, 8}));
}

// Readers on other threads never see part of a transaction.

TEST_P(ReadModelConformance, UnicodeRoundTrips) {
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
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
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
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("企业微信", "消息-1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, e)) << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto by_name, read_model().ListMembers({.q = "李四"}));
  EXPECT_EQ(Ids(by_name), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(auto by_identity, read_model().ListMembers({.q = "wxid_李"}));
  EXPECT_EQ(Ids(by_identity), std::vector<MemberId>{1});
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, read_model().GetMember(1));
  EXPECT_SAME(profile.tags, std::vector<MemberTag>{t});
}

TEST_P(ReadModelConformance, MemberPointsRoundTrip) {
  Member m = MakeMember(1, 1);
  m.points = 12345;
  Member low = MakeMember(2, 1);
  low.points = std::numeric_limits<int64_t>::min();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->PutMember(low));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(MemberProfile profile, read_model().GetMember(1));
  EXPECT_EQ(profile.member.points, 12345);
  m.points = -7;  // replaced with the rest of the row
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutMember(m));
    ASSERT_OK(txn->Commit());
  }
  Reopen();
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state.members, (std::vector<Member>{m, low}));
  ASSERT_OK_AND_ASSIGN(auto listed, read_model().ListMembers({}));
  EXPECT_SAME(listed, (std::vector<Member>{m, low}));
}


// ---- Module state tables ----

ModuleStateEntry Row(CommunityId community, std::string table, std::string key, std::string value) {
  return {.community_id = community,
          .module = std::move(table),
          .key = std::move(key),
          .value = std::move(value)};
}

TEST_P(ReadModelConformance, ModuleStateListsOneTableOfOneCommunityByKey) {
  // Keys in bytewise order: '"' (0x22) < '1' < '2' < '4'.
  const std::vector<ModuleStateEntry> mine = {
      Row(1, "checkin.streaks", R"(["u1",3])", R"({"days":3})"),
      Row(1, "checkin.streaks", "[1]", R"({"days":1})"),
      Row(1, "checkin.streaks", "[2]", R"({"days":2})"),
      Row(1, "checkin.streaks", "[42]", R"({"days":42})")};
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (auto it = mine.rbegin(); it != mine.rend(); ++it) ASSERT_OK(txn->PutModuleState(*it));
    // Neighbours that must not show: another community, another table, a table name that
    // extends this one.
    ASSERT_OK(txn->PutModuleState(Row(2, "checkin.streaks", "[1]", R"({"other":1})")));
    ASSERT_OK(txn->PutModuleState(Row(1, "checkin.totals", "[1]", R"({"other":2})")));
    ASSERT_OK(txn->PutModuleState(Row(1, "checkin.streaks2", "[0]", R"({"other":3})")));
    ASSERT_OK(txn->PutModuleState(Row(1, "checkin", "[9]", R"({"other":4})")));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto all, read_model().ListModuleState(1, "checkin.streaks", "", 100));
  EXPECT_SAME(all, mine);

  // Pages of two, each from the last key of the previous one.
  std::vector<ModuleStateEntry> paged;
  std::string after;
  for (int page = 0; page < 5; ++page) {
    ASSERT_OK_AND_ASSIGN(auto rows, read_model().ListModuleState(1, "checkin.streaks", after, 2));
    if (rows.empty()) break;
    EXPECT_LE(rows.size(), 2u);
    paged.insert(paged.end(), rows.begin(), rows.end());
    after = rows.back().key;
  }
  EXPECT_SAME(paged, mine);
  // A cursor that is not a stored key: the keys after it.
  ASSERT_OK_AND_ASSIGN(auto tail, read_model().ListModuleState(1, "checkin.streaks", "[3", 10));
  EXPECT_SAME(tail, (std::vector<ModuleStateEntry>{mine[3]}));
  ASSERT_OK_AND_ASSIGN(auto none, read_model().ListModuleState(1, "checkin.streaks", "[9]", 10));
  EXPECT_TRUE(none.empty());
  // The other community and table see only their own rows.
  ASSERT_OK_AND_ASSIGN(auto other, read_model().ListModuleState(2, "checkin.streaks", "", 10));
  EXPECT_SAME(other, (std::vector<ModuleStateEntry>{Row(2, "checkin.streaks", "[1]",
                                                        R"({"other":1})")}));
  ASSERT_OK_AND_ASSIGN(auto absent, read_model().ListModuleState(3, "checkin.streaks", "", 10));
  EXPECT_TRUE(absent.empty());
  ASSERT_OK_AND_ASSIGN(auto unknown, read_model().ListModuleState(1, "no.such", "", 10));
  EXPECT_TRUE(unknown.empty());
}

TEST_P(ReadModelConformance, ModuleStateListClampsLimit) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (int i = 0; i < 1005; ++i) {
      char key[16];
      std::snprintf(key, sizeof key, "[%05d]", i);  // zero-padded: bytewise = numeric order
      ASSERT_OK(txn->PutModuleState(Row(1, "m.t", key, "{}")));
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto one, read_model().ListModuleState(1, "m.t", "", 0));
  ASSERT_EQ(one.size(), 1u) << "a limit below 1 reads one row";
  EXPECT_EQ(one[0].key, "[00000]");
  ASSERT_OK_AND_ASSIGN(one, read_model().ListModuleState(1, "m.t", "", -5));
  EXPECT_EQ(one.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto most, read_model().ListModuleState(1, "m.t", "", 5000));
  ASSERT_EQ(most.size(), 1000u) << "a limit above 1000 reads 1000 rows";
  EXPECT_EQ(most.back().key, "[00999]");
  ASSERT_OK_AND_ASSIGN(auto rest, read_model().ListModuleState(1, "m.t", most.back().key, 1000));
  EXPECT_EQ(rest.size(), 5u);
}

TEST_P(ReadModelConformance, ModuleStateGetByKey) {
  const ModuleStateEntry row = Row(1, "points.balance", R"(["u1",3])", R"({"points":10})");
  ASSERT_OK_AND_ASSIGN(auto missing, read_model().GetModuleState(1, "points.balance", "[1]"));
  EXPECT_FALSE(missing.has_value()) << "fresh store";
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutModuleState(row));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto got, read_model().GetModuleState(1, "points.balance", row.key));
  ASSERT_TRUE(got.has_value());
  EXPECT_SAME(*got, row);
  ASSERT_OK_AND_ASSIGN(missing, read_model().GetModuleState(2, "points.balance", row.key));
  EXPECT_FALSE(missing.has_value()) << "another community";
  ASSERT_OK_AND_ASSIGN(missing, read_model().GetModuleState(1, "points.other", row.key));
  EXPECT_FALSE(missing.has_value()) << "another table";
  ASSERT_OK_AND_ASSIGN(missing, read_model().GetModuleState(1, "points.balance", R"(["u1",3)"));
  EXPECT_FALSE(missing.has_value()) << "a prefix of the key";
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutModuleState(Row(1, "points.balance", row.key, "")));  // deletes
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(missing, read_model().GetModuleState(1, "points.balance", row.key));
  EXPECT_FALSE(missing.has_value()) << "deleted";
}

}  // namespace
}  // namespace qz
