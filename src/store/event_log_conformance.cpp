// Conformance of the event log and the writer's transactions (StoreTxn), checked
// through every sub-seam.
#include <algorithm>
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

TEST_P(EventLogConformance, FreshStoreIsEmpty) {
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state, StateSnapshot{});
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 0);
  EXPECT_EQ(stats.members, 0);
  EXPECT_EQ(stats.groups, 0);
  EXPECT_EQ(stats.communities, 0);
  ASSERT_OK_AND_ASSIGN(auto communities, read_model().ListCommunities());
  EXPECT_TRUE(communities.empty());
  ASSERT_OK_AND_ASSIGN(auto groups, read_model().ListGroups(std::nullopt));
  EXPECT_TRUE(groups.empty());
  ASSERT_OK_AND_ASSIGN(auto members, read_model().ListMembers({}));
  EXPECT_TRUE(members.empty());
  ASSERT_OK_AND_ASSIGN(auto events, log().ScanEvents(0, 100));
  EXPECT_TRUE(events.empty());
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("wecom", "x"));
  EXPECT_FALSE(found.has_value());
  ASSERT_OK_AND_ASSIGN(auto token, admin().FindToken("abc"));
  EXPECT_FALSE(token.has_value());
}

TEST_P(EventLogConformance, AppendDetectsDuplicatesPerPlatform) {
  StoredEvent first = MakeEvent("wecom", "m1");
  StoredEvent same = MakeEvent("wecom", "m1");
  same.json = R"({"different":"body"})";
  StoredEvent other_platform = MakeEvent("feishu", "m1");
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    StoredEvent again = MakeEvent("wecom", "m1");
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(again));
    EXPECT_FALSE(appended) << "a duplicate of a committed event";
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("wecom", "m1"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, first)) << "the duplicate must not overwrite: " << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto all, log().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, (std::vector<StoredEvent>{first, other_platform}));
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 2);
}

TEST_P(EventLogConformance, SeqIncreasesAcrossTransactions) {
  std::vector<StoredEvent> appended;
  int64_t last = 0;
  for (int t = 0; t < 3; ++t) {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(auto all, log().ScanEvents(0, 1000));
  EXPECT_SAME_EVENTS(all, appended);
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_EQ(state.last_seq, last);
}

TEST_P(EventLogConformance, DestroyingAnUncommittedTxnRollsBack) {
  const StateSnapshot base = SampleState();
  StoredEvent kept = MakeEvent("wecom", "kept");
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, base));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(kept));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  std::vector<StoredEvent> lost;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  StateSnapshot expected = base;
  expected.last_seq = kept.seq;
  EXPECT_SAME(state, expected);
  for (const StoredEvent& e : lost) {
    ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent(e.platform, e.source_id));
    EXPECT_FALSE(found.has_value()) << e.source_id;
  }
  ASSERT_OK_AND_ASSIGN(auto all, log().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, std::vector<StoredEvent>{kept});
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 1);
  EXPECT_EQ(stats.members, 3);
  auto missing = read_model().GetMember(9);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);

  // The rolled-back ids are free again, and the store is usable.
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    StoredEvent retry = MakeEvent("wecom", "lost0");
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(retry));
    EXPECT_TRUE(ok);
    EXPECT_GT(retry.seq, kept.seq);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("wecom", "lost0"));
  EXPECT_TRUE(found.has_value());
}

TEST_P(EventLogConformance, ExtremeValuesRoundTrip) {
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
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutMember(member));
    ASSERT_OK(txn->PutGroup(group));
    ASSERT_OK(txn->PutMembership(membership));
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(event));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state.members, std::vector<Member>{member});
  EXPECT_SAME(state.groups, std::vector<Group>{group});
  EXPECT_SAME(state.memberships, std::vector<Membership>{membership});
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("p", event.source_id));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, event));
}

TEST_P(EventLogConformance, PutReplacesByPrimaryKey) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, SampleState()));
    ASSERT_OK(txn->Commit());
  }
  StateSnapshot expected = SampleState();
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state, expected);
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.communities, 2);
  EXPECT_EQ(stats.groups, 3);
  EXPECT_EQ(stats.members, 3);
}

TEST_P(EventLogConformance, DeleteTag) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTag(MakeTag(1, "vip")));
    ASSERT_OK(txn->PutTag(MakeTag(1, "new")));
    ASSERT_OK(txn->PutTag(MakeTag(2, "vip")));
    ASSERT_OK(txn->Commit());
  }
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->DeleteTag(1, "vip"));
    ASSERT_OK(txn->DeleteTag(1, "absent"));  // deleting what is not there is fine
    ASSERT_OK(txn->DeleteTag(3, "vip"));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state.tags, (std::vector<MemberTag>{MakeTag(1, "new"), MakeTag(2, "vip")}));
  {
    // Delete then re-add in one transaction.
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->DeleteTag(2, "vip"));
    MemberTag readded = MakeTag(2, "vip");
    readded.added_at = 77;
    ASSERT_OK(txn->PutTag(readded));
    ASSERT_OK(txn->Commit());
    ASSERT_OK_AND_ASSIGN(StateSnapshot after, log().LoadState());
    EXPECT_SAME(after.tags, (std::vector<MemberTag>{MakeTag(1, "new"), readded}));
  }
}

TEST_P(EventLogConformance, LoadStateIsOrderedByPrimaryKey) {
  StateSnapshot expected;
  std::vector<StoredEvent> events;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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

  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state, expected);
}

TEST_P(EventLogConformance, ReopenKeepsEverything) {
  const StateSnapshot sample = SampleState();
  std::vector<StoredEvent> events;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(PutSnapshot(*txn, sample));
    for (int i = 0; i < 10; ++i) {
      events.push_back(MakeEvent(i % 2 ? "wecom" : "feishu", "r" + std::to_string(i), i % 3 + 1));
      ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(events.back()));
      ASSERT_TRUE(ok);
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK(admin().PutToken({.hash = "h1", .name = "ops", .created_at = kT0}));

  ASSERT_NO_FATAL_FAILURE(Reopen());

  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  StateSnapshot expected = sample;
  expected.last_seq = events.back().seq;
  EXPECT_SAME(state, expected);
  ASSERT_OK_AND_ASSIGN(auto all, log().ScanEvents(0, 100));
  EXPECT_SAME_EVENTS(all, events);
  ASSERT_OK_AND_ASSIGN(auto token, admin().FindToken("h1"));
  EXPECT_TRUE(token.has_value());
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, 11);
}

TEST_P(EventLogConformance, ScanEventsAscendingWithPaging) {
  std::vector<StoredEvent> appended;
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
    ASSERT_OK_AND_ASSIGN(auto events, log().ScanEvents(after, 10));
    page_sizes.push_back(events.size());
    if (events.empty()) break;
    scanned.insert(scanned.end(), events.begin(), events.end());
    after = events.back().seq;
  }
  EXPECT_EQ(page_sizes, (std::vector<size_t>{10, 10, 5, 0}));
  EXPECT_SAME_EVENTS(scanned, appended);
  ASSERT_OK_AND_ASSIGN(auto tail, log().ScanEvents(appended[20].seq, 100));
  EXPECT_SAME_EVENTS(tail, std::vector<StoredEvent>(appended.begin() + 21, appended.end()));
}

TEST_P(EventLogConformance, FindEvent) {
  StoredEvent e = MakeEvent("wecom", "find-me", 4, 2, EventType::kOrder);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK_AND_ASSIGN(bool ok, txn->AppendEvent(e));
    ASSERT_TRUE(ok);
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("wecom", "find-me"));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(SameEvent(*found, e)) << Dump(*found);
  ASSERT_OK_AND_ASSIGN(auto other_platform, log().FindEvent("feishu", "find-me"));
  EXPECT_FALSE(other_platform.has_value());
  ASSERT_OK_AND_ASSIGN(auto other_id, log().FindEvent("wecom", "find-me-not"));
  EXPECT_FALSE(other_id.has_value());
}

TEST_P(EventLogConformance, ConcurrentReadersSeeWholeTransactions) {
  constexpr int kTxns = 20;
  constexpr int kPerTxn = 50;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  auto reader = [&] {
    int64_t last = 0;
    while (!done.load()) {
      auto stats = read_model().Stats();
      auto scanned = log().ScanEvents(0, kTxns * kPerTxn);
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
      auto txn = log().Begin();
      ASSERT_TRUE(txn.ok()) << ::qz::testing::Describe(txn);
      for (int i = 0; i < kPerTxn; ++i) {
        StoredEvent e = MakeEvent("wecom", "c" + std::to_string(t * kPerTxn + i), i + 1);
        auto ok = (*txn)->AppendEvent(e);
        ASSERT_TRUE(ok.ok()) << ::qz::testing::Describe(ok);
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
  ASSERT_OK_AND_ASSIGN(StoreStats stats, read_model().Stats());
  EXPECT_EQ(stats.events, kTxns * kPerTxn);
  EXPECT_EQ(stats.members, kTxns * kPerTxn);
}

TEST_P(EventLogConformance, ModuleStatePutDeleteAndLoad) {
  // Keys put in a scrambled order; bytewise order puts "B" before "a".
  std::vector<ModuleStateEntry> entries = {
      {.community_id = 2, .module = "checkin", .key = "streak:1", .value = "3"},
      {.community_id = 1, .module = "welcome", .key = "a", .value = R"({"n":1})"},
      {.community_id = 1, .module = "checkin", .key = "streak:10", .value = "7"},
      {.community_id = 1, .module = "welcome", .key = "B", .value = "大写"},
      {.community_id = 1, .module = "checkin", .key = "streak:2", .value = "1"},
      {.community_id = 1,
       .module = "antispam",
       .key = "窗口🙂",
       .value = std::string(10000, 'v')},
  };
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (const ModuleStateEntry& e : entries) ASSERT_OK(txn->PutModuleState(e));
    ASSERT_OK(txn->Commit());
  }
  auto sorted = [](std::vector<ModuleStateEntry> v) {
    std::sort(v.begin(), v.end(), [](const ModuleStateEntry& a, const ModuleStateEntry& b) {
      return std::tie(a.community_id, a.module, a.key) < std::tie(b.community_id, b.module, b.key);
    });
    return v;
  };
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state.module_state, sorted(entries));

  {
    // Replace one, delete two (an empty value deletes), delete an absent one.
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(state, log().LoadState());
  EXPECT_SAME(state.module_state, sorted({entries[2], entries[3], entries[4], entries[5]}));
  EXPECT_TRUE(state.members.empty()) << "module state is not an entity";
}


// The writer's start leaves cold tables' rows in the store: LoadStateWithout returns everything
// but the tables it is told to skip, in every community, and LoadState still returns all.
TEST_P(EventLogConformance, LoadStateWithoutLeavesTheNamedModuleTablesOut) {
  std::vector<ModuleStateEntry> warm, cold;
  for (CommunityId c : {1, 2}) {
    warm.push_back({.community_id = c, .module = "moderation.standing", .key = "[1]", .value = "{}"});
    warm.push_back({.community_id = c, .module = "welcome.sent", .key = "[2]", .value = "{}"});
    for (int i = 0; i < 3; ++i) {
      cold.push_back({.community_id = c,
                      .module = "moderation.decisions",
                      .key = "[" + std::to_string(i) + "]",
                      .value = R"({"text":"广告"})"});
    }
  }
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (const auto* rows : {&cold, &warm}) {
      for (const ModuleStateEntry& e : *rows) ASSERT_OK(txn->PutModuleState(e));
    }
    ASSERT_OK(txn->Commit());
  }
  std::vector<std::string> asked;
  ASSERT_OK_AND_ASSIGN(StateSnapshot without, log().LoadStateWithout([&](std::string_view table) {
    asked.emplace_back(table);
    return table == "moderation.decisions";
  }));
  std::vector<std::string> tables;
  for (const ModuleStateEntry& e : without.module_state) {
    EXPECT_NE(e.module, "moderation.decisions");
    tables.push_back(std::to_string(e.community_id) + "/" + e.module);
  }
  EXPECT_EQ(tables, (std::vector<std::string>{"1/moderation.standing", "1/welcome.sent",
                                              "2/moderation.standing", "2/welcome.sent"}));
  EXPECT_TRUE(std::find(asked.begin(), asked.end(), "moderation.decisions") != asked.end());
  ASSERT_OK_AND_ASSIGN(StateSnapshot all, log().LoadState());
  EXPECT_EQ(all.module_state.size(), warm.size() + cold.size());
}
TEST_P(EventLogConformance, RolledBackTxnLeavesNoActionsTasksTimersOrModuleState) {
  std::vector<OutboxRecord> records = {MakeRecord(1)};
  OperatorTask task = MakeTask(1);
  TimerRecord timer = MakeTimer(1, "k", kT0);
  const ModuleStateEntry kept{.community_id = 1, .module = "m", .key = "kept", .value = "1"};
  Member member = MakeMember(1, 1);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
    auto open = outbox().LoadOpenActions();
    ASSERT_TRUE(open.ok()) << ::qz::testing::Describe(open);
    EXPECT_SAME(*open, records);
    auto listed = outbox().ListActions({});
    ASSERT_TRUE(listed.ok()) << ::qz::testing::Describe(listed);
    EXPECT_SAME(*listed, records);
    auto counts = outbox().CountActions();
    ASSERT_TRUE(counts.ok()) << ::qz::testing::Describe(counts);
    EXPECT_SAME(*counts, ActionCounts{.pending = 1});
    auto tasks = outbox().ListTasks({.open_only = false});
    ASSERT_TRUE(tasks.ok()) << ::qz::testing::Describe(tasks);
    EXPECT_SAME(*tasks, std::vector<OperatorTask>{task});
    auto timers = timer_store().LoadTimers();
    ASSERT_TRUE(timers.ok()) << ::qz::testing::Describe(timers);
    EXPECT_SAME(*timers, std::vector<TimerRecord>{timer});
    auto dues = timer_store().ScanTimerDues(std::nullopt, 10);
    ASSERT_TRUE(dues.ok()) << ::qz::testing::Describe(dues);
    EXPECT_EQ(*dues, (std::vector<TimerDue>{{timer.id, timer.due}}));
    timers = timer_store().GetTimers(timer_ids);
    ASSERT_TRUE(timers.ok()) << ::qz::testing::Describe(timers);
    EXPECT_SAME(*timers, std::vector<TimerRecord>{timer});
    auto profile = read_model().GetMember(1);
    ASSERT_TRUE(profile.ok()) << ::qz::testing::Describe(profile);
    EXPECT_EQ(profile->member.points, member.points);
  };
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(StateSnapshot state, log().LoadState());
  EXPECT_SAME(state.module_state, std::vector<ModuleStateEntry>{kept});
  EXPECT_SAME(state.members, std::vector<Member>{member});
  // The store goes on: ids keep increasing past the committed ones.
  std::vector<OutboxRecord> next = {MakeRecord(3)};
  ASSERT_OK(AddActions(log(), next));
  EXPECT_GT(next[0].id, records[0].id);
}

}  // namespace
}  // namespace qz
