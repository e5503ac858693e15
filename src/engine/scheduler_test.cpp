#include "engine/scheduler.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "core/time.hpp"
#include "engine/ingest.hpp"
#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

TimeMs T(std::string_view rfc3339) {
  auto t = ParseRfc3339(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? t->ms : 0;
}

// Forwards to a real Ingest, but refuses the next `refuse` batches as an overloaded queue would.
class RefusingIngest final : public testing::ForwardingIngest {
 public:
  using ForwardingIngest::ForwardingIngest;
  void Submit(IngestBatch batch, Done done) override {
    if (refuse > 0) {
      --refuse;
      IngestResult r;
      r.status = Status(Code::kResourceExhausted, "queue full");
      done(std::move(r));
      return;
    }
    real_.Submit(std::move(batch), std::move(done));
  }

  std::atomic<int> refuse{0};
};

// Forwards to a real Ingest, but first runs `before_submit` (once) on the submitting thread: a
// writer's commit and Add that land while a batch of timers is being fired.
class HookedIngest final : public testing::ForwardingIngest {
 public:
  using ForwardingIngest::ForwardingIngest;
  void Submit(IngestBatch batch, Done done) override {
    if (before_submit) std::exchange(before_submit, nullptr)();
    real_.Submit(std::move(batch), std::move(done));
  }

  std::function<void()> before_submit;
};

// Forwards to a real store, counting the timer reads and due writes; GetTimers fails while
// `fail_gets` > 0, UpdateTimerDues while `fail_updates` > 0.
class CountingStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<int> scan_calls{0}, get_calls{0}, fail_gets{0}, update_calls{0}, fail_updates{0};
  std::atomic<size_t> largest_page{0};

  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) override {
    ++scan_calls;
    auto page = s_.ScanTimerDues(after, limit);
    if (page.ok()) largest_page = std::max(largest_page.load(), page->size());
    return page;
  }
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) override {
    ++get_calls;
    if (fail_gets > 0) {
      --fail_gets;
      return Status::Unavailable("disk on fire (test)");
    }
    return s_.GetTimers(ids);
  }
  Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) override {
    ++update_calls;
    if (fail_updates > 0) {
      --fail_updates;
      return Status::Unavailable("disk on fire (test)");
    }
    return s_.UpdateTimerDues(changes, applied);
  }
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.path(), "qz.db");
    ASSERT_NE(store_, nullptr);
    auto ingest = Ingest::Start(*store_);
    ASSERT_TRUE(ingest.ok()) << ingest.status().ToString();
    ingest_ = std::move(*ingest);
    // The community the timers belong to.
    auto r = ingest_->SubmitAndWait(testing::Batch(
        R"({"id":"m1","type":"message","time":"2026-02-28T08:00:00+08:00","platform":"qq","community":"acme","group":"g","member":"u1","text":"hi"})"));
    ASSERT_TRUE(r.status.ok());
    ASSERT_EQ(r.accepted, 1);
    auto communities = store_->ListCommunities();
    ASSERT_TRUE(communities.ok());
    for (const Community& c : *communities) {
      if (c.slug == "acme") community_id_ = c.id;
    }
    ASSERT_NE(community_id_, kNoId);
  }

  // Writes a timer as the writer would (insert-or-replace by key) and returns it with its id.
  TimerRecord PutTimer(std::string key, std::string rule, TimeMs due, std::string payload = "") {
    TimerRecord t;
    t.community_id = community_id_;
    t.community = "acme";
    t.key = std::move(key);
    t.rule = std::move(rule);
    t.due = due;
    t.payload = std::move(payload);
    t.cause_event = "test";
    auto txn = store_->Begin();
    EXPECT_TRUE(txn.ok()) << txn.status().ToString();
    if (!txn.ok()) return t;
    EXPECT_TRUE((*txn)->PutTimer(t).ok());
    EXPECT_TRUE((*txn)->Commit().ok());
    EXPECT_NE(t.id, 0);
    return t;
  }

  // Writes `timers` in one transaction as the writer would, setting their ids.
  void PutTimers(std::vector<TimerRecord>& timers) {
    auto txn = store_->Begin();
    ASSERT_TRUE(txn.ok()) << txn.status().ToString();
    for (TimerRecord& t : timers) {
      t.community_id = community_id_;
      t.community = "acme";
      ASSERT_TRUE((*txn)->PutTimer(t).ok());
    }
    ASSERT_TRUE((*txn)->Commit().ok());
  }

  std::unique_ptr<Scheduler> Open(SchedulerOptions options = {}) {
    auto s = Scheduler::Open(*store_, *ingest_, clock_, options);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::vector<StoredEvent> TimerEvents() {
    auto events = store_->ScanEvents(0, 100000);
    EXPECT_TRUE(events.ok());
    std::vector<StoredEvent> out;
    for (StoredEvent& e : *events) {
      if (e.type == EventType::kTimer) out.push_back(std::move(e));
    }
    return out;
  }

  int64_t EventCount() { return store_->Stats()->events; }

  // The timer's due time in the store (0 when finished: LoadTimers leaves those out).
  TimeMs StoredDue(int64_t id) {
    auto timers = store_->LoadTimers();
    EXPECT_TRUE(timers.ok());
    for (const TimerRecord& t : *timers) {
      if (t.id == id) return t.due;
    }
    return 0;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingest> ingest_;
  CommunityId community_id_ = kNoId;
  ManualClock clock_{T("2026-03-01T00:00:00+08:00")};
};

TEST_F(SchedulerTest, OneShotFiresOnceAtItsTime) {
  const TimeMs due = T("2026-03-01T09:30:00+08:00");
  const TimerRecord t = PutTimer("reminder", "", due, R"({"note":"standup"})");
  auto s = Open();
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->metrics().pending.load(), 1);

  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, due);
  clock_.Set(due - 1);
  EXPECT_EQ(s->RunDue().fired, 0);

  clock_.Set(due);
  r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, 0);
  clock_.Advance(kDay);
  EXPECT_EQ(s->RunDue().fired, 0);

  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].platform, "qunzhu");
  EXPECT_EQ(events[0].source_id, fmt::format("timer:{}:{}", t.id, due));
  EXPECT_EQ(events[0].time, due);
  EXPECT_EQ(events[0].community_id, community_id_);
  EXPECT_NE(events[0].json.find(R"("time":"2026-03-01T09:30:00+08:00")"), std::string::npos)
      << events[0].json;
  EXPECT_NE(events[0].json.find(R"("timer":"reminder")"), std::string::npos) << events[0].json;
  EXPECT_NE(events[0].json.find(R"("payload":{"note":"standup"})"), std::string::npos)
      << events[0].json;
  EXPECT_EQ(StoredDue(t.id), 0);  // finished
  EXPECT_EQ(s->metrics().fired.load(), 1);
  EXPECT_EQ(s->metrics().pending.load(), 0);
}

TEST_F(SchedulerTest, DailyFiresEachDayAt0620Shanghai) {
  const TimeMs first = T("2026-03-01T06:20:00+08:00");
  const TimerRecord t = PutTimer("morning", "daily 06:20", first);
  auto s = Open();
  ASSERT_NE(s, nullptr);
  for (int day = 0; day < 4; ++day) {
    const TimeMs due = first + day * kDay;
    clock_.Set(due - kMinute);
    EXPECT_EQ(s->RunDue().fired, 0) << "day " << day;
    clock_.Set(due + 5 * kMinute);  // a little late: still one firing, with the due time
    auto r = s->RunDue();
    EXPECT_EQ(r.fired, 1) << "day " << day;
    EXPECT_EQ(r.next_due, due + kDay);
    EXPECT_EQ(StoredDue(t.id), due + kDay);
  }
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 4u);
  for (int day = 0; day < 4; ++day) {
    EXPECT_EQ(events[day].time, first + day * kDay);
    EXPECT_NE(events[day].json.find(fmt::format(R"("time":"2026-03-0{}T06:20:00+08:00")", day + 1)),
              std::string::npos)
        << events[day].json;
  }
}

TEST_F(SchedulerTest, TimersFireInDueOrderInOneRun) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  PutTimer("c", "", base + 3 * kMinute);
  PutTimer("a", "", base + 1 * kMinute);
  PutTimer("b", "every 1h", base + 2 * kMinute);
  PutTimer("later", "", base + kHour);
  auto s = Open();
  clock_.Set(base + 10 * kMinute);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 3);
  EXPECT_EQ(r.next_due, base + kHour);  // "later"; "b" is next at base + 62 min
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_NE(events[0].json.find(R"("timer":"a")"), std::string::npos);
  EXPECT_NE(events[1].json.find(R"("timer":"b")"), std::string::npos);
  EXPECT_NE(events[2].json.find(R"("timer":"c")"), std::string::npos);
  EXPECT_EQ(s->metrics().pending.load(), 2);
}

TEST_F(SchedulerTest, RestartWithinTheWindowFiresOnceNotOncePerMissedDay) {
  const TimeMs first = T("2026-03-01T06:20:00+08:00");
  const TimerRecord t = PutTimer("morning", "daily 06:20", first);
  const SchedulerOptions options{.catch_up_window_ms = 4 * kDay};
  {
    auto s = Open(options);
    clock_.Set(first);
    EXPECT_EQ(s->RunDue().fired, 1);
  }                                             // "crash": the process is down from day 2 to day 4
  clock_.Set(first + 3 * kDay + 30 * kMinute);  // 4 March 06:50; due since 2 March 06:20
  auto s = Open(options);
  EXPECT_EQ(s->metrics().skipped.load(), 0);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, first + 4 * kDay);  // the next occurrence after now, not 3 March
  EXPECT_EQ(s->RunDue().fired, 0);
  EXPECT_EQ(StoredDue(t.id), first + 4 * kDay);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].time, first + kDay);  // the missed occurrence, fired late, once
}

TEST_F(SchedulerTest, RestartBeyondTheWindowSkipsWithoutFiring) {
  const TimeMs first = T("2026-03-01T06:20:00+08:00");
  const TimerRecord daily = PutTimer("morning", "daily 06:20", first);
  const TimerRecord once = PutTimer("once", "", first + kHour);
  const TimerRecord recent = PutTimer("recent", "", first + 3 * kDay);
  clock_.Set(first + 3 * kDay + 30 * kMinute);  // default window: 1 hour
  auto s = Open();
  EXPECT_EQ(s->metrics().skipped.load(), 2);
  EXPECT_EQ(s->metrics().pending.load(), 2);  // the daily one, moved on, and "recent"
  EXPECT_EQ(StoredDue(daily.id), first + 4 * kDay);
  EXPECT_EQ(StoredDue(once.id), 0);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);  // "recent": 30 minutes late, within the window
  EXPECT_EQ(r.next_due, first + 4 * kDay);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source_id, fmt::format("timer:{}:{}", recent.id, first + 3 * kDay));
}

TEST_F(SchedulerTest, EveryAfterALongPauseFiresOnceAndMovesPastNow) {
  const TimeMs first = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("tick", "every 1m", first);
  auto s = Open();
  clock_.Set(first + 45 * kMinute + 30'000);  // 45 missed minutes, still within the window
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, clock_.Now() + kMinute);
  EXPECT_EQ(StoredDue(t.id), clock_.Now() + kMinute);
  EXPECT_EQ(TimerEvents().size(), 1u);
}

TEST_F(SchedulerTest, CrashBetweenIngestAndAdvanceGivesADuplicateNotASecondEffect) {
  const TimeMs due = T("2026-03-01T09:30:00+08:00");
  const TimerRecord t = PutTimer("reminder", "daily 09:30", due);
  // The previous process fired it (the event is in the log) and died before advancing the due.
  auto first = ingest_->SubmitAndWait(testing::Batch(fmt::format(
      R"({{"id":"timer:{}:{}","type":"timer","time":"2026-03-01T09:30:00+08:00","platform":"qunzhu","community":"acme","timer":"reminder"}})",
      t.id, due)));
  ASSERT_TRUE(first.status.ok());
  ASSERT_EQ(first.accepted, 1);
  const int64_t events_before = EventCount();
  const int64_t duplicates_before = ingest_->metrics().duplicates.load();

  clock_.Set(due + kMinute);
  auto s = Open();
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(EventCount(), events_before);  // nothing new in the log
  EXPECT_EQ(ingest_->metrics().duplicates.load(), duplicates_before + 1);
  EXPECT_EQ(StoredDue(t.id), due + kDay);  // and now it is advanced
  EXPECT_EQ(TimerEvents().size(), 1u);
}

TEST_F(SchedulerTest, AddReplacesAPendingTimer) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  TimerRecord t = PutTimer("k", "", base);
  auto s = Open();
  // The writer moves it an hour later and hands the new record over after its commit.
  t = PutTimer("k", "", base + kHour, R"({"v":2})");
  s->Add({&t, 1});
  EXPECT_EQ(s->metrics().pending.load(), 1);
  clock_.Set(base + kMinute);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, base + kHour);
  clock_.Set(base + kHour);
  EXPECT_EQ(s->RunDue().fired, 1);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].time, base + kHour);
  EXPECT_NE(events[0].json.find(R"("payload":{"v":2})"), std::string::npos);

  // A record with due 0 (finished, cancelled) removes the pending one.
  TimerRecord u = PutTimer("u", "", base + 2 * kHour);
  s->Add({&u, 1});
  EXPECT_EQ(s->metrics().pending.load(), 1);
  u = PutTimer("u", "", 0);
  s->Add({&u, 1});
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_EQ(s->RunDue().next_due, 0);
}

TEST_F(SchedulerTest, ReplacementNotYetAddedWinsOverTheFiringItRacedWith) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "daily 10:00", base);
  auto s = Open();
  // The writer replaces it (due tomorrow at 12:00) but has not called Add yet.
  TimerRecord replaced = PutTimer("k", "daily 12:00", base + kDay + 2 * kHour);
  ASSERT_EQ(replaced.id, t.id);
  clock_.Set(base);
  EXPECT_EQ(s->RunDue().fired, 1);  // the old occurrence was already due: fired
  // Its compare-and-set did not apply: the store keeps the replacement.
  EXPECT_EQ(StoredDue(t.id), base + kDay + 2 * kHour);
  EXPECT_EQ(s->metrics().pending.load(), 0);  // dropped until Add brings the replacement
  s->Add({&replaced, 1});
  clock_.Set(base + kDay + 2 * kHour);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, base + 2 * kDay + 2 * kHour);
}

TEST_F(SchedulerTest, StaleAddOfAnAlreadyAdvancedOccurrenceKeepsTheStoredDue) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "daily 10:00", base);
  auto s = Open();
  clock_.Set(base);
  EXPECT_EQ(s->RunDue().fired, 1);
  // A late Add of the record as it was before the firing advanced it.
  s->Add({&t, 1});
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);  // fired again: a duplicate in the log
  EXPECT_EQ(r.next_due, base + kDay);
  EXPECT_EQ(TimerEvents().size(), 1u);
  EXPECT_EQ(StoredDue(t.id), base + kDay);
  EXPECT_EQ(s->metrics().pending.load(), 1);
}

TEST_F(SchedulerTest, ABurstLargerThanOneBatchAllFires) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  std::vector<TimerRecord> timers;
  {
    auto txn = store_->Begin();
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 5000; ++i) {
      TimerRecord t;
      t.community_id = community_id_;
      t.community = "acme";
      t.key = fmt::format("k{}", i);
      t.rule = i % 2 == 0 ? "" : "every 1h";
      t.due = base + i;
      ASSERT_TRUE((*txn)->PutTimer(t).ok());
    }
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto s = Open();
  EXPECT_EQ(s->metrics().pending.load(), 5000);
  clock_.Set(base + kMinute);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 5000);
  EXPECT_EQ(r.next_due, base + 1 + kHour);
  EXPECT_EQ(TimerEvents().size(), 5000u);
  EXPECT_EQ(s->metrics().pending.load(), 2500);
}

TEST_F(SchedulerTest, BackgroundThreadFiresAndAddWakesIt) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  PutTimer("a", "", base);
  auto s = Open();
  s->Start();
  s->Start();  // idempotent
  auto wait_for_fired = [&](int64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (s->metrics().fired.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return s->metrics().fired.load();
  };
  clock_.Set(base);  // a ManualClock does not wake anyone; the thread re-reads it within 1 s
  EXPECT_EQ(wait_for_fired(1), 1);
  TimerRecord b = PutTimer("b", "", base - kMinute);  // already due when added
  s->Add({&b, 1});
  EXPECT_EQ(wait_for_fired(2), 2);
  s->Stop();
  s->Stop();
  EXPECT_EQ(TimerEvents().size(), 2u);
}

TEST_F(SchedulerTest, RefusedIngestLeavesTheTimersDueForARetry) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "daily 10:00", base);
  RefusingIngest ingest(*ingest_);
  auto s = Scheduler::Open(*store_, ingest, clock_);
  ASSERT_TRUE(s.ok());
  clock_.Set(base);
  ingest.refuse = 1;
  auto r = (*s)->RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, base);  // still due: the background thread retries after a pause
  EXPECT_EQ(StoredDue(t.id), base);
  EXPECT_TRUE(TimerEvents().empty());
  r = (*s)->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, base + kDay);
  EXPECT_EQ(TimerEvents().size(), 1u);
}

// Many replacements of the same timers, committed and handed to Add each time, churn the
// index (stale heap items, rebuilds, deletions); the events carry each timer's latest key and
// payload, as the store holds them when they fire.
TEST_F(SchedulerTest, RepeatedReplacementsFireWithTheLatestContent) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  auto s = Open();
  std::vector<TimerRecord> timers(2000);
  for (size_t i = 0; i < timers.size(); ++i) {
    timers[i].key = fmt::format("k{}", i);
    timers[i].due = base + static_cast<TimeMs>(i);
  }
  for (int round = 0; round < 30; ++round) {
    for (TimerRecord& t : timers) {
      t.due += 1;
      t.payload = fmt::format(R"({{"round":{},"pad":"{}"}})", round, std::string(200, 'x'));
    }
    PutTimers(timers);
    s->Add(timers);
  }
  // Remove every other one (exercises the index's deletion), then fire the rest.
  std::vector<TimerRecord> cancelled;
  for (size_t i = 0; i < timers.size(); i += 2) {
    cancelled.push_back(timers[i]);
    cancelled.back().due = 0;
  }
  PutTimers(cancelled);
  s->Add(cancelled);
  EXPECT_EQ(s->metrics().pending.load(), 1000);
  clock_.Set(base + kHour);
  EXPECT_EQ(s->RunDue().fired, 1000);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1000u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_NE(events[i].json.find(fmt::format(R"("timer":"k{}")", 2 * i + 1)), std::string::npos)
        << events[i].json;
    EXPECT_NE(events[i].json.find(R"("round":29)"), std::string::npos) << events[i].json;
  }
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_EQ(StoredDue(timers[1].id), 0);  // one-shot: finished
}

// Add from several threads while the background thread fires (run under TSan/ASan in CI).
TEST_F(SchedulerTest, ConcurrentAddsWhileTheBackgroundThreadFires) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  clock_.Set(base);
  auto s = Open();
  s->Start();
  constexpr int kThreads = 4, kPerThread = 250;
  // Committed before the scheduler hears of them, as the writer does; the store holds each
  // timer's last version (a replaced one at its later due).
  std::vector<TimerRecord> committed(kThreads * kPerThread);
  for (int th = 0; th < kThreads; ++th) {
    for (int i = 0; i < kPerThread; ++i) {
      TimerRecord& t = committed[th * kPerThread + i];
      t.key = fmt::format("t{}-{}", th, i);
      t.due = base + (i % 50) * 10 + (i % 7 == 0 ? 5 : 0);
    }
  }
  PutTimers(committed);
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([&, th] {
      for (int i = 0; i < kPerThread; ++i) {
        TimerRecord t = committed[th * kPerThread + i];
        t.due = base + (i % 50) * 10;
        s->Add({&t, 1});
        if (i % 7 == 0) {  // replaced right away, maybe while it fires
          t.due += 5;
          s->Add({&t, 1});
        }
      }
    });
  }
  std::thread ticker([&] {
    for (int i = 0; i < 100; ++i) {
      clock_.Advance(10);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  for (auto& th : threads) th.join();
  ticker.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (s->metrics().pending.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  s->Stop();
  EXPECT_EQ(s->metrics().pending.load(), 0);
  std::set<std::string> keys;
  for (const StoredEvent& e : TimerEvents()) {
    const size_t at = e.json.find(R"("timer":")");
    ASSERT_NE(at, std::string::npos);
    keys.insert(e.json.substr(at, e.json.find('"', at + 9) - at));
  }
  EXPECT_EQ(keys.size(), static_cast<size_t>(kThreads * kPerThread));  // every timer fired
}

// Start-up reads ids and dues only; a rule this build cannot read is found when the timer comes
// due: not fired, out of the index, left in the store (a newer build may read it).
TEST_F(SchedulerTest, UnreadableRuleIsLeftInTheStoreAndNotFired) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord bad = PutTimer("bad", "fortnightly", base);
  PutTimer("good", "", base);
  auto s = Open();
  EXPECT_EQ(s->metrics().pending.load(), 2);
  clock_.Set(base);
  EXPECT_EQ(s->RunDue().fired, 1);
  EXPECT_EQ(StoredDue(bad.id), base);
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_EQ(TimerEvents().size(), 1u);
}

// A timer missed beyond the window is moved on by its rule at start; an unreadable one there is
// left as it is and not indexed.
TEST_F(SchedulerTest, UnreadableRuleMissedBeyondTheWindowIsLeftAlone) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord bad = PutTimer("bad", "fortnightly", base - 2 * kDay);
  clock_.Set(base);
  auto s = Open();
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_EQ(s->metrics().skipped.load(), 0);
  EXPECT_EQ(StoredDue(bad.id), base - 2 * kDay);
}

// ---- The index holds ids and dues; the rest is read from the store at fire time ----

TEST_F(SchedulerTest, PayloadIsReadWhenTheTimerFires) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord quiet = PutTimer("quiet", "", base, R"({"v":1})");
  const TimerRecord added = PutTimer("added", "every 1h", base, R"({"v":1})");
  auto s = Open();
  // Replaced after the scheduler indexed them, with the same due: "quiet" is not handed to Add
  // (nothing in the index changes), "added" is.
  PutTimer("quiet", "", base, R"({"v":2,"text":"新"})");
  const TimerRecord added2 = PutTimer("added", "every 1h", base, R"({"v":3})");
  s->Add({&added2, 1});
  clock_.Set(base);
  EXPECT_EQ(s->RunDue().fired, 2);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 2u);
  for (const StoredEvent& e : events) {
    if (e.source_id == TimerEventId(quiet.id, base, 2)) {
      EXPECT_NE(e.json.find(R"("payload":{"v":2,"text":"新"})"), std::string::npos) << e.json;
    } else {
      EXPECT_EQ(e.source_id, TimerEventId(added.id, base, added2.version));
      EXPECT_NE(e.json.find(R"("payload":{"v":3})"), std::string::npos) << e.json;
    }
  }
  EXPECT_EQ(StoredDue(added.id), base + kHour);
}

TEST_F(SchedulerTest, ReplacementNotYetAddedFiresTheTakenOccurrenceWithTheStoredContent) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "", base, R"({"v":1})");
  auto s = Open();
  PutTimer("k", "", base + kHour, R"({"v":2})");  // its Add has not come yet
  clock_.Set(base);
  EXPECT_EQ(s->RunDue().fired, 1);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source_id, TimerEventId(t.id, base, 2));
  EXPECT_NE(events[0].json.find(R"("payload":{"v":2})"), std::string::npos) << events[0].json;
  EXPECT_EQ(StoredDue(t.id), base + kHour);  // the compare-and-set did not apply
}

TEST_F(SchedulerTest, TimerFinishedOrCancelledBeforeItFiresDoesNotFire) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord once = PutTimer("once", "", base);
  const TimerRecord daily = PutTimer("daily", "daily 10:00", base);
  const TimerRecord kept = PutTimer("kept", "", base);
  auto s = Open();
  EXPECT_EQ(s->metrics().pending.load(), 3);
  // Cancelled by the writer; the scheduler has not heard of it (its Add is late, or lost).
  PutTimer("once", "", 0);
  PutTimer("daily", "daily 10:00", 0);
  clock_.Set(base);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, 0);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source_id, fmt::format("timer:{}:{}", kept.id, base));
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_EQ(StoredDue(daily.id), 0);  // left finished: not advanced
  EXPECT_EQ(StoredDue(once.id), 0);
  // The late Add of the cancellation changes nothing.
  TimerRecord late = daily;
  late.due = 0;
  s->Add({&late, 1});
  EXPECT_EQ(s->RunDue().fired, 0);
  EXPECT_EQ(TimerEvents().size(), 1u);
}

TEST_F(SchedulerTest, TimerNotInTheStoreIsDroppedWhenDue) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  auto s = Open();
  TimerRecord ghost;
  ghost.id = 987654;  // never committed
  ghost.community = "acme";
  ghost.key = "ghost";
  ghost.due = base;
  s->Add({&ghost, 1});
  EXPECT_EQ(s->metrics().pending.load(), 1);
  clock_.Set(base);
  auto r = s->RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, 0);
  EXPECT_EQ(s->metrics().pending.load(), 0);
  EXPECT_TRUE(TimerEvents().empty());
}

// A same-due replacement committed and added while its timer is being fired: the event has the
// content read before, and the new rule decides the next due.
// The replacement lands while the old content fires (here straight into the store, as if the
// writer had logged the old firing first): the old content's firing stands, the new content
// fires too (its own event), and the timer then advances by the new rule.
TEST_F(SchedulerTest, ReplacedDuringTheFiringFiresTheNewContentThenAdvancesByTheNewRule) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "daily 10:00", base, R"({"v":1})");
  HookedIngest ingest(*ingest_);
  auto opened = Scheduler::Open(*store_, ingest, clock_);
  ASSERT_TRUE(opened.ok());
  Scheduler& s = **opened;
  ingest.before_submit = [&] {
    const TimerRecord replaced = PutTimer("k", "daily 12:00", base, R"({"v":2})");
    s.Add({&replaced, 1});
  };
  clock_.Set(base);
  auto r = s.RunDue();
  EXPECT_EQ(r.fired, 2);
  EXPECT_EQ(r.next_due, base + 2 * kHour);  // 12:00 today, not 10:00 tomorrow
  EXPECT_EQ(StoredDue(t.id), base + 2 * kHour);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].source_id, TimerEventId(t.id, base, 1));
  EXPECT_NE(events[0].json.find(R"("payload":{"v":1})"), std::string::npos) << events[0].json;
  EXPECT_EQ(events[1].source_id, TimerEventId(t.id, base, 2));
  EXPECT_NE(events[1].json.find(R"("payload":{"v":2})"), std::string::npos) << events[1].json;
}

// The known race: a one-shot timer replaced with the same due while it fires used to finish
// with its old content and never fire the new one.
TEST_F(SchedulerTest, OneShotReplacedAtTheSameDueWhileFiringFiresItsNewContent) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "", base, R"({"text":"old"})");
  HookedIngest ingest(*ingest_);
  auto opened = Scheduler::Open(*store_, ingest, clock_);
  ASSERT_TRUE(opened.ok());
  Scheduler& s = **opened;
  ingest.before_submit = [&] {
    const TimerRecord replaced = PutTimer("k", "", base, R"({"text":"new"})");
    s.Add({&replaced, 1});
  };
  clock_.Set(base);
  EXPECT_EQ(s.RunDue().fired, 2);
  const auto events = TimerEvents();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[1].json.find(R"("payload":{"text":"new"})"), std::string::npos) << events[1].json;
  EXPECT_EQ(StoredDue(t.id), 0) << "finished after firing the new content";
  EXPECT_EQ(s.metrics().pending.load(), 0);
  // Nothing fires again.
  clock_.Set(base + kHour);
  EXPECT_EQ(s.RunDue().fired, 0);
}

TEST(TimerEventId, NamesTheTimerAndTheContentVersion) {
  EXPECT_EQ(TimerEventId(7, 1000, 1), "timer:7:1000");
  EXPECT_EQ(TimerEventId(7, 1000, 3), "timer:7:1000:v3");
  auto ref = ParseTimerEventId("timer:7:1000:v3");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->id, 7);
  EXPECT_EQ(ref->version, 3);
  ref = ParseTimerEventId("timer:7:-1000");
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(ref->version, 1);
  EXPECT_FALSE(ParseTimerEventId("timer:7").has_value());
  EXPECT_FALSE(ParseTimerEventId("timer:7:1000:x").has_value());
  EXPECT_FALSE(ParseTimerEventId("timer:7:1000:v0").has_value());
  EXPECT_FALSE(ParseTimerEventId("sandbox:m:1").has_value());
}

TEST_F(SchedulerTest, OneStoreReadPerFiringBatch) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  std::vector<TimerRecord> timers(5000);
  for (size_t i = 0; i < timers.size(); ++i) {
    timers[i].key = fmt::format("k{}", i);
    timers[i].rule = i % 2 == 0 ? "" : "every 1h";
    timers[i].due = base + static_cast<TimeMs>(i);
  }
  PutTimers(timers);
  CountingStore counting(*store_);
  auto opened = Scheduler::Open(counting, *ingest_, clock_);
  ASSERT_TRUE(opened.ok());
  Scheduler& s = **opened;
  EXPECT_EQ(counting.get_calls.load(), 0);
  clock_.Set(base + kMinute);
  EXPECT_EQ(s.RunDue().fired, 5000);
  EXPECT_EQ(counting.get_calls.load(), 2);  // batches of 4,096 and 904
  EXPECT_EQ(counting.update_calls.load(), 2) << "one commit of advanced dues per batch";
  clock_.Set(base + kMinute + kHour);
  EXPECT_EQ(s.RunDue().fired, 2500) << "the recurring half was advanced, the one-shot half finished";
}

TEST_F(SchedulerTest, FailedDueWriteLeavesTheBatchForARetryWithoutFiringTwice) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord a = PutTimer("a", "daily 10:00", base);
  const TimerRecord b = PutTimer("b", "daily 10:00", base);
  CountingStore counting(*store_);
  auto opened = Scheduler::Open(counting, *ingest_, clock_);
  ASSERT_TRUE(opened.ok());
  Scheduler& s = **opened;
  counting.fail_updates = 1;
  clock_.Set(base);
  auto r = s.RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, base);  // still due
  EXPECT_EQ(StoredDue(a.id), base);
  EXPECT_EQ(StoredDue(b.id), base);
  r = s.RunDue();
  EXPECT_EQ(r.fired, 2);
  EXPECT_EQ(StoredDue(a.id), base + kDay);
  EXPECT_EQ(StoredDue(b.id), base + kDay);
  EXPECT_EQ(TimerEvents().size(), 2u) << "the retried firings are duplicates of the logged events";
}

TEST_F(SchedulerTest, FailedTimerReadLeavesTheTimersDueForARetry) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  const TimerRecord t = PutTimer("k", "daily 10:00", base);
  CountingStore counting(*store_);
  auto opened = Scheduler::Open(counting, *ingest_, clock_);
  ASSERT_TRUE(opened.ok());
  Scheduler& s = **opened;
  counting.fail_gets = 1;
  clock_.Set(base);
  auto r = s.RunDue();
  EXPECT_EQ(r.fired, 0);
  EXPECT_EQ(r.next_due, base);  // still due
  EXPECT_EQ(s.metrics().pending.load(), 1);
  EXPECT_TRUE(TimerEvents().empty());
  EXPECT_EQ(StoredDue(t.id), base);
  r = s.RunDue();
  EXPECT_EQ(r.fired, 1);
  EXPECT_EQ(r.next_due, base + kDay);
}

TEST_F(SchedulerTest, StartUpReadsTheTimersInPages) {
  const TimeMs base = T("2026-03-01T10:00:00+08:00");
  std::vector<TimerRecord> timers(25);
  for (size_t i = 0; i < timers.size(); ++i) {
    timers[i].key = fmt::format("k{}", i);
    timers[i].rule = i % 3 == 0 ? "every 1h" : "";
    // Every fifth one was due two days ago: beyond the catch-up window, in every page.
    timers[i].due = i % 5 == 0 ? base - 2 * kDay : base + static_cast<TimeMs>(i);
  }
  PutTimers(timers);
  std::vector<TimerRecord> finished = {timers[1], timers[2]};
  for (TimerRecord& t : finished) t.due = 0;
  PutTimers(finished);  // 23 pending
  CountingStore counting(*store_);
  clock_.Set(base - kMinute);
  auto opened = Scheduler::Open(counting, *ingest_, clock_,
                                SchedulerOptions{.load_page_size = 4});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Scheduler& s = **opened;
  // Pages of 4 in due order (never everything at once): the 5 missed ones first, then the 18 on
  // time, then k0 and k15 again at the due they were moved on to: 25 rows, 7 pages.
  EXPECT_EQ(counting.scan_calls.load(), 7);
  EXPECT_EQ(counting.get_calls.load(), 2);  // the records of the 5 missed ones, by page
  EXPECT_EQ(counting.largest_page.load(), 4u);
  EXPECT_EQ(s.metrics().skipped.load(), 5);
  // 18 on time, 2 of the skipped ones recurring (k0, k15: moved on to the next hour).
  EXPECT_EQ(s.metrics().pending.load(), 20);
  EXPECT_EQ(StoredDue(timers[5].id), 0);  // a skipped one-shot is finished
  clock_.Set(base + kMinute);
  EXPECT_EQ(s.RunDue().fired, 18);
  std::set<std::string> fired;
  for (const StoredEvent& e : TimerEvents()) fired.insert(e.source_id);
  for (size_t i = 0; i < timers.size(); ++i) {
    const bool expected = i % 5 != 0 && i != 1 && i != 2;
    EXPECT_EQ(fired.contains(fmt::format("timer:{}:{}", timers[i].id, timers[i].due)), expected)
        << "k" << i;
  }
}

}  // namespace
}  // namespace qz
