// Conformance of TimerStore, and StoreTxn::PutTimer.
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

TEST_P(TimerConformance, FreshStoreHasNoTimers) {
  ASSERT_OK_AND_ASSIGN(auto timers, timer_store().LoadTimers());
  EXPECT_TRUE(timers.empty());
  ASSERT_OK_AND_ASSIGN(auto dues, timer_store().ScanTimerDues(std::nullopt, 100));
  EXPECT_TRUE(dues.empty());
  const int64_t some_ids[] = {1, 2, 3};
  ASSERT_OK_AND_ASSIGN(timers, timer_store().GetTimers(some_ids));
  EXPECT_TRUE(timers.empty()) << "no such timers";
  ASSERT_OK_AND_ASSIGN(timers, timer_store().GetTimers({}));
  EXPECT_TRUE(timers.empty());
  ASSERT_OK_AND_ASSIGN(bool applied, timer_store().UpdateTimerDue(1, 0, 5));
  EXPECT_FALSE(applied) << "no such timer";
}

TEST_P(TimerConformance, TimersPutReplaceAndLoad) {
  TimerRecord a1 = MakeTimer(1, "morning", kT0 + 1000);
  TimerRecord b1 = MakeTimer(1, "evening", kT0 + 2000);
  TimerRecord a2 = MakeTimer(2, "morning", kT0 + 3000);  // the same key in another community
  a2.rule = "";
  a2.payload = "";
  TimerRecord u = MakeTimer(1, "提醒🔔", kT0 + 500);
  u.id = 4242;  // ignored: a new timer gets a new id
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(auto loaded, timer_store().LoadTimers());
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
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
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
  ASSERT_OK_AND_ASSIGN(loaded, timer_store().LoadTimers());
  EXPECT_SAME(loaded, by_id({a1_new, a2, u}));
  // A finished timer put again comes back with its id.
  TimerRecord b1_again = MakeTimer(1, "evening", kT0 + 7000);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTimer(b1_again));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(b1_again.id, b1.id);
  ASSERT_OK_AND_ASSIGN(loaded, timer_store().LoadTimers());
  EXPECT_SAME(loaded, by_id({a1_new, b1_again, a2, u}));
}

TEST_P(TimerConformance, UpdateTimerDuesAppliesEachCompareAndSetInOneCommit) {
  TimerRecord a = MakeTimer(1, "a", kT0);
  TimerRecord b = MakeTimer(1, "b", kT0);
  TimerRecord c = MakeTimer(1, "c", kT0);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTimer(a));
    ASSERT_OK(txn->PutTimer(b));
    ASSERT_OK(txn->PutTimer(c));
    ASSERT_OK(txn->Commit());
  }
  const std::vector<TimerStore::DueChange> changes = {
      {a.id, kT0, kT0 + 10},      // applies
      {b.id, kT0 + 1, kT0 + 20},  // not the stored due
      {c.id, kT0, 0},             // finishes c
      {a.id + b.id + c.id + 100, kT0, 1},  // unknown id
      {a.id, kT0 + 10, kT0 + 10},  // a probe of the first change's outcome, same commit
  };
  std::vector<bool> applied;
  ASSERT_OK(timer_store().UpdateTimerDues(changes, applied));
  EXPECT_EQ(applied, (std::vector<bool>{true, false, true, false, true}));
  ASSERT_OK(timer_store().UpdateTimerDues({}, applied));
  EXPECT_TRUE(applied.empty());
  Reopen();
  ASSERT_OK_AND_ASSIGN(auto loaded, timer_store().LoadTimers());
  a.due = kT0 + 10;
  std::vector<TimerRecord> expected = {a, b};
  if (b.id < a.id) std::swap(expected[0], expected[1]);
  EXPECT_SAME(loaded, expected);
}

TEST_P(TimerConformance, UpdateTimerDueIsACompareAndSet) {
  TimerRecord t = MakeTimer(1, "k", kT0);
  TimerRecord other = MakeTimer(1, "other", kT0);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTimer(t));
    ASSERT_OK(txn->PutTimer(other));
    ASSERT_OK(txn->Commit());
  }
  auto due_of = [&](int64_t id) -> std::optional<TimeMs> {
    auto timers = timer_store().LoadTimers();
    EXPECT_TRUE(timers.ok()) << ::qz::testing::Describe(timers);
    if (!timers.ok()) return std::nullopt;
    for (const TimerRecord& x : *timers) {
      if (x.id == id) return x.due;
    }
    return std::nullopt;  // finished or absent
  };
  ASSERT_OK_AND_ASSIGN(bool applied, timer_store().UpdateTimerDue(t.id, kT0 + 1, kT0 + 100));
  EXPECT_FALSE(applied) << "the expected due is not the stored one";
  EXPECT_EQ(due_of(t.id), kT0);
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0, kT0 + 100));
  EXPECT_TRUE(applied);
  EXPECT_EQ(due_of(t.id), kT0 + 100);
  EXPECT_EQ(due_of(other.id), kT0) << "only that timer";
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0, kT0 + 200));
  EXPECT_FALSE(applied) << "a second set from the same expected value";
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0 + 100, kT0 + 100));
  EXPECT_TRUE(applied) << "a probe: the stored due is the expected one";
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(other.id + t.id + 100, kT0, 1));
  EXPECT_FALSE(applied) << "an unknown id";

  // A replacement by the writer wins over a set that expected the old due.
  TimerRecord replaced = MakeTimer(1, "k", kT0 + 5000);
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTimer(replaced));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0 + 100, kT0 + 300));
  EXPECT_FALSE(applied);
  EXPECT_EQ(due_of(t.id), kT0 + 5000);
  // Each put is a new version of the content: a set that expected the version that fired
  // fails once the content was replaced, even at the same due.
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(replaced.version, 2);
  TimerRecord same_due = MakeTimer(1, "k", kT0 + 5000);
  same_due.payload = R"({"v":"new"})";
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    ASSERT_OK(txn->PutTimer(same_due));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(same_due.version, 3);
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0 + 5000, kT0 + 6000, 2));
  EXPECT_FALSE(applied) << "the content changed since version 2";
  EXPECT_EQ(due_of(t.id), kT0 + 5000);
  ASSERT_OK_AND_ASSIGN(auto read, timer_store().GetTimers(std::vector<int64_t>{t.id}));
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].version, 3);
  EXPECT_EQ(read[0].payload, R"({"v":"new"})");
  // Setting due 0 finishes the timer (its version given: 3 is the stored one).
  ASSERT_OK_AND_ASSIGN(applied, timer_store().UpdateTimerDue(t.id, kT0 + 5000, 0, 3));
  EXPECT_TRUE(applied);
  Reopen();
  EXPECT_FALSE(due_of(t.id).has_value());
  ASSERT_OK_AND_ASSIGN(auto loaded, timer_store().LoadTimers());
  EXPECT_SAME(loaded, std::vector<TimerRecord>{other});
}

// Puts `timers` in one committed transaction, setting their ids.

TEST_P(TimerConformance, GetTimersReadsByIdAscendingSkippingUnknownIds) {
  std::vector<TimerRecord> timers = {MakeTimer(1, "a", kT0 + 300), MakeTimer(1, "b", kT0 + 100),
                                     MakeTimer(2, "a", kT0 + 200), MakeTimer(1, "done", kT0)};
  timers[2].rule = "";
  timers[2].payload = "";
  timers[2].time_zone = "Asia/Shanghai";
  ASSERT_OK(PutTimers(log(), timers));
  // Finished: still read by id, with due 0 (LoadTimers and ScanTimerDues leave it out).
  TimerRecord done = timers[3];
  done.due = 0;
  {
    std::vector<TimerRecord> finish = {done};
    ASSERT_OK(PutTimers(log(), finish));
    done.version = finish[0].version;
  }
  EXPECT_EQ(done.version, 2);
  const int64_t unknown = timers[0].id + timers[1].id + timers[2].id + timers[3].id + 1000;
  // Scrambled, with an unknown id, a repeated id and a negative one.
  const std::vector<int64_t> ids = {timers[2].id, unknown,      timers[0].id, done.id,
                                    timers[2].id, timers[1].id, -5};
  ASSERT_OK_AND_ASSIGN(auto got, timer_store().GetTimers(ids));
  std::vector<TimerRecord> want = {timers[0], timers[1], timers[2], done};
  std::sort(want.begin(), want.end(),
            [](const TimerRecord& x, const TimerRecord& y) { return x.id < y.id; });
  EXPECT_SAME(got, want);
  // A subset, in the order asked or not: ascending by id.
  const std::vector<int64_t> two = {std::max(timers[1].id, done.id),
                                    std::min(timers[1].id, done.id)};
  ASSERT_OK_AND_ASSIGN(got, timer_store().GetTimers(two));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, two[1]);
  EXPECT_EQ(got[1].id, two[0]);
  const std::vector<int64_t> only_unknown = {unknown, unknown + 1};
  ASSERT_OK_AND_ASSIGN(got, timer_store().GetTimers(only_unknown));
  EXPECT_TRUE(got.empty());
}

TEST_P(TimerConformance, GetTimersSeesTheLatestReplacement) {
  std::vector<TimerRecord> timers = {MakeTimer(1, "k", kT0), MakeTimer(1, "other", kT0 + 1)};
  ASSERT_OK(PutTimers(log(), timers));
  const int64_t ids[] = {timers[0].id};
  ASSERT_OK_AND_ASSIGN(auto got, timer_store().GetTimers(ids));
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
    ASSERT_OK(PutTimers(log(), put));
    replaced.id = put[0].id;
    replaced.version = put[0].version;
  }
  EXPECT_EQ(replaced.version, 2) << "a replacement is the content's next version";
  ASSERT_EQ(replaced.id, timers[0].id);
  ASSERT_OK_AND_ASSIGN(got, timer_store().GetTimers(ids));
  EXPECT_SAME(got, std::vector<TimerRecord>{replaced});
  // A compare-and-set of its due shows too, and survives a reopen.
  ASSERT_OK_AND_ASSIGN(bool applied,
                       timer_store().UpdateTimerDue(replaced.id, kT0 + 5000, kT0 + 6000));
  ASSERT_TRUE(applied);
  replaced.due = kT0 + 6000;
  Reopen();
  ASSERT_OK_AND_ASSIGN(got, timer_store().GetTimers(ids));
  EXPECT_SAME(got, std::vector<TimerRecord>{replaced});
}

TEST_P(TimerConformance, GetTimersTakesLargeIdLists) {
  std::vector<TimerRecord> timers;
  for (int i = 0; i < 1300; ++i) {
    timers.push_back(MakeTimer(1 + i % 3, "k" + std::to_string(i), kT0 + (i * 7919) % 1300));
    if (i % 5 == 0) timers.back().payload = R"({"n":)" + std::to_string(i) + "}";
  }
  ASSERT_OK(PutTimers(log(), timers));
  ASSERT_OK_AND_ASSIGN(auto all, timer_store().LoadTimers());
  ASSERT_EQ(all.size(), timers.size());
  // Every id, each twice, newest first, with unknown ids (past the largest) in between.
  const int64_t max_id = all.back().id;
  std::vector<int64_t> ids;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    ids.push_back(it->id);
    ids.push_back(max_id + 1 + static_cast<int64_t>(ids.size()));
    ids.push_back(it->id);
  }
  ASSERT_OK_AND_ASSIGN(auto got, timer_store().GetTimers(ids));
  EXPECT_SAME(got, all);
  // Lists around any chunk size a store may use: the first n timers, exactly.
  for (size_t n : {1u, 63u, 64u, 65u, 255u, 256u, 257u, 511u, 512u, 513u, 1024u, 1025u}) {
    std::vector<int64_t> first;
    for (size_t i = 0; i < n; ++i) first.push_back(all[i].id);
    std::reverse(first.begin(), first.end());
    ASSERT_OK_AND_ASSIGN(got, timer_store().GetTimers(first));
    ASSERT_EQ(got.size(), n);
    EXPECT_TRUE(std::equal(got.begin(), got.end(), all.begin())) << "first " << n;
  }
}

TEST_P(TimerConformance, ScanTimerDuesPagesInDueOrder) {
  std::vector<TimerRecord> timers;
  for (int i = 0; i < 20; ++i) {
    // Dues out of id order, with ties (i % 7), one before 1970.
    const TimeMs due = i == 13 ? -5000 : kT0 + (i * 5) % 7;
    timers.push_back(MakeTimer(1 + i % 2, "d" + std::to_string(i), due));
  }
  ASSERT_OK(PutTimers(log(), timers));
  std::vector<TimerRecord> finished = {timers[2], timers[9]};
  for (TimerRecord& t : finished) t.due = 0;
  ASSERT_OK(PutTimers(log(), finished));
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
      ASSERT_OK_AND_ASSIGN(auto part, timer_store().ScanTimerDues(after, limit));
      if (part.empty()) break;
      EXPECT_LE(part.size(), static_cast<size_t>(limit));
      paged.insert(paged.end(), part.begin(), part.end());
      after = part.back();
    }
    EXPECT_EQ(paged, expected) << "limit " << limit;
  }
  ASSERT_OK_AND_ASSIGN(auto none, timer_store().ScanTimerDues(std::nullopt, 0));
  EXPECT_TRUE(none.empty()) << "limit 0";
  ASSERT_OK_AND_ASSIGN(none, timer_store().ScanTimerDues(expected.back(), 10));
  EXPECT_TRUE(none.empty()) << "past the last";
  // After a tie's first member: the rest of the tie, then later dues.
  ASSERT_OK_AND_ASSIGN(auto from_middle, timer_store().ScanTimerDues(expected[4], 3));
  EXPECT_EQ(from_middle,
            (std::vector<TimerDue>{expected[5], expected[6], expected[7]}));
}

TEST_P(TimerConformance, FindTimersByKeyPrefixWithinACommunity) {
  std::vector<TimerRecord> timers = {
      MakeTimer(1, "playbook:morning", kT0 + 1), MakeTimer(1, "welcome:u1", kT0 + 2),
      MakeTimer(1, "playbook:evening", kT0 + 3), MakeTimer(2, "playbook:morning", kT0 + 4),
      MakeTimer(1, "playbook", kT0 + 5),         MakeTimer(1, "playbook;", kT0 + 6),
      MakeTimer(1, "playbook:done", kT0 + 7),    MakeTimer(1, "playbook:\xff\xff", kT0 + 8)};
  ASSERT_OK(PutTimers(log(), timers));
  std::vector<TimerRecord> done = {timers[6]};
  done[0].due = 0;  // finished: left out
  ASSERT_OK(PutTimers(log(), done));
  ASSERT_OK_AND_ASSIGN(auto found, timer_store().FindTimers(1, "playbook:"));
  EXPECT_SAME(found, (std::vector<TimerRecord>{timers[0], timers[2], timers[7]}));
  ASSERT_OK_AND_ASSIGN(found, timer_store().FindTimers(2, "playbook:"));
  EXPECT_SAME(found, std::vector<TimerRecord>{timers[3]});
  ASSERT_OK_AND_ASSIGN(found, timer_store().FindTimers(3, "playbook:"));
  EXPECT_TRUE(found.empty());
  ASSERT_OK_AND_ASSIGN(found, timer_store().FindTimers(1, "playbook:\xff"));
  EXPECT_SAME(found, std::vector<TimerRecord>{timers[7]}) << "a prefix ending in 0xff";
  ASSERT_OK_AND_ASSIGN(found, timer_store().FindTimers(1, ""));
  EXPECT_EQ(found.size(), 6u) << "every pending timer of the community";
}

}  // namespace
}  // namespace qz
