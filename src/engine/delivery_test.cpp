#include "engine/delivery.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "engine/ingest.hpp"
#include "engine/rate_limit.hpp"
#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr TimeMs kStart = 1772323200000;  // 2026-03-01T00:00:00Z

// An adapter that answers from a script (then kDone), counts its calls, may not dedupe and
// declares the rate limits it is given.
class ScriptedAdapter final : public PlatformAdapter {
 public:
  explicit ScriptedAdapter(std::string platform, bool dedupes = false, RateLimits limits = {})
      : platform_(std::move(platform)), dedupes_(dedupes), limits_(limits) {}
  std::string_view platform() const override { return platform_; }
  RateLimits rate_limits() const override { return limits_; }
  Status Start(EventSink&) override { return Status::Ok(); }
  void Stop() override {}
  Capabilities capabilities() const override {
    Capabilities c;
    c.Add(ActionType::kSendMessage).Add(ActionType::kSendDirect).Add(ActionType::kDeleteMessage);
    c.dedupes_sends = dedupes_;
    return c;
  }
  PerformResult Perform(const OutboxRecord& record) override {
    std::lock_guard lock(mu_);
    ++calls_[record.id];
    if (log_ != nullptr) log_->push_back(record.id);
    if (script_.empty())
      return {PerformResult::Kind::kDone, 0, {}, fmt::format("ref-{}", record.id)};
    PerformResult r = script_.front();
    script_.pop_front();
    return r;
  }
  void Then(PerformResult r) {
    std::lock_guard lock(mu_);
    script_.push_back(std::move(r));
  }
  int calls(int64_t id) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(id);
    return it == calls_.end() ? 0 : it->second;
  }
  // Appends each performed id to `log` (shared by adapters; single-threaded delivery only).
  void LogTo(std::vector<int64_t>* log) { log_ = log; }
  int total_calls() const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [id, c] : calls_) n += c;
    return n;
  }

 private:
  const std::string platform_;
  const bool dedupes_;
  const RateLimits limits_;
  mutable std::mutex mu_;
  std::deque<PerformResult> script_;
  std::map<int64_t, int> calls_;
  std::vector<int64_t>* log_ = nullptr;
};

PerformResult Retry(TimeMs retry_after_ms, std::string error = "503") {
  return {PerformResult::Kind::kRetry, retry_after_ms, std::move(error), {}};
}

// Forwards to a real transaction; UpdateActions fails while `fail` is set (a full disk), which
// fails the whole transaction as a store failure would.
class FlakyTxn final : public StoreTxn {
 public:
  FlakyTxn(std::unique_ptr<StoreTxn> t, const std::atomic<bool>& fail) : t_(std::move(t)), fail_(fail) {}
  Result<bool> AppendEvent(StoredEvent& e) override { return t_->AppendEvent(e); }
  Status PutCommunity(const Community& c) override { return t_->PutCommunity(c); }
  Status PutGroup(const Group& g) override { return t_->PutGroup(g); }
  Status PutMember(const Member& m) override { return t_->PutMember(m); }
  Status PutIdentity(const Identity& i) override { return t_->PutIdentity(i); }
  Status PutMembership(const Membership& m) override { return t_->PutMembership(m); }
  Status PutMemberName(const MemberName& n) override { return t_->PutMemberName(n); }
  Status PutTag(const MemberTag& t) override { return t_->PutTag(t); }
  Status DeleteTag(MemberId m, const std::string& tag) override { return t_->DeleteTag(m, tag); }
  Status AddAction(OutboxRecord& r) override { return t_->AddAction(r); }
  Status UpdateActions(std::span<const OutboxUpdate> updates,
                       std::vector<int64_t>& missing) override {
    if (fail_) return Status::Unavailable("disk on fire (test)");
    return t_->UpdateActions(updates, missing);
  }
  Status AddTask(OperatorTask& task) override { return t_->AddTask(task); }
  Status PutTimer(TimerRecord& timer) override { return t_->PutTimer(timer); }
  Status PutModuleState(const ModuleStateEntry& e) override { return t_->PutModuleState(e); }
  Status PutPlaybook(const StoredPlaybook& p) override { return t_->PutPlaybook(p); }
  Status Commit() override { return t_->Commit(); }

 private:
  std::unique_ptr<StoreTxn> t_;
  const std::atomic<bool>& fail_;
};

// Forwards to a real store; its transactions fail at UpdateActions while `fail_updates` is set.
class FlakyStore final : public testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::atomic<bool> fail_updates{false};

  Result<std::unique_ptr<StoreTxn>> Begin() override {
    auto txn = s_.Begin();
    if (!txn.ok()) return txn.status();
    return std::unique_ptr<StoreTxn>(new FlakyTxn(std::move(*txn), fail_updates));
  }
};

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = testing::OpenStore(dir_.path(), "qz.db");
    ASSERT_NE(store_, nullptr);
    auto ingest = Ingest::Start(*store_);
    ASSERT_TRUE(ingest.ok()) << ingest.status().ToString();
    ingest_ = std::move(*ingest);
  }

  // Commits one pending action per entry of `groups` (a group, or "@member" for a DM).
  std::vector<OutboxRecord> Add(const std::vector<std::string>& groups,
                                const std::string& platform = "sandbox",
                                ActionType type = ActionType::kSendMessage,
                                ActionStatus status = ActionStatus::kPending, int attempts = 0) {
    std::vector<OutboxRecord> out;
    auto txn = store_->Begin();
    EXPECT_TRUE(txn.ok()) << txn.status().ToString();
    if (!txn.ok()) return out;
    for (const std::string& g : groups) {
      OutboxRecord r;
      r.action.type = g.starts_with('@') ? ActionType::kSendDirect : type;
      r.action.community = "acme";
      r.action.platform = platform;
      if (g.starts_with('@')) {
        r.action.member = g.substr(1);
      } else {
        r.action.group = g;
        r.action.member = "u1";
      }
      r.action.text = fmt::format("hello {}", next_key_);
      r.action.cause_event = fmt::format("{}:e{}", platform, next_key_);
      r.action.rule = "test";
      r.idempotency_key = fmt::format("key-{}", next_key_++);
      r.status = status;
      r.attempts = attempts;
      r.next_attempt_at = clock_.Now();
      r.created_at = r.updated_at = clock_.Now();
      Status st = (*txn)->AddAction(r);
      EXPECT_TRUE(st.ok()) << st.ToString();
      out.push_back(r);
    }
    Status st = (*txn)->Commit();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }

  std::unique_ptr<Delivery> Open(Delivery::AdapterMap adapters, DeliveryOptions options = {},
                                 Store* store = nullptr, Ingest* ingest = nullptr) {
    auto d = Delivery::Open(store != nullptr ? *store : *store_,
                            ingest != nullptr ? *ingest : *ingest_, clock_, std::move(adapters),
                            std::move(options));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? std::move(*d) : nullptr;
  }
  // Delivers to sandbox_, declaring `limits` for it.
  std::unique_ptr<Delivery> OpenSandbox(DeliveryOptions options = {}, RateLimits limits = {}) {
    limited_sandbox_ = std::make_unique<LimitedAdapter>(sandbox_, limits);
    return Open({{"sandbox", limited_sandbox_.get()}}, std::move(options));
  }

  // Forwards to an adapter, declaring other rate limits.
  class LimitedAdapter final : public PlatformAdapter {
   public:
    LimitedAdapter(PlatformAdapter& a, RateLimits limits) : a_(a), limits_(limits) {}
    std::string_view platform() const override { return a_.platform(); }
    Capabilities capabilities() const override { return a_.capabilities(); }
    RateLimits rate_limits() const override { return limits_; }
    Status Start(EventSink& sink) override { return a_.Start(sink); }
    void Stop() override { a_.Stop(); }
    PerformResult Perform(const OutboxRecord& record) override { return a_.Perform(record); }

   private:
    PlatformAdapter& a_;
    const RateLimits limits_;
  };

  OutboxRecord Row(int64_t id) {
    auto rows = store_->ListActions({.limit = 1, .after_id = id - 1});
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok() || rows->empty() || rows->front().id != id) {
      ADD_FAILURE() << "no outbox row " << id;
      return {};
    }
    return rows->front();
  }

  // The log's events, parsed, by source id.
  std::map<std::string, Event> Events() {
    std::map<std::string, Event> out;
    auto rows = store_->ScanEvents(0, 1 << 20);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    if (!rows.ok()) return out;
    EventParser parser;
    for (const StoredEvent& row : *rows) {
      auto e = parser.Parse(row.json);
      EXPECT_TRUE(e.ok()) << row.json;
      if (e.ok()) {
        EXPECT_TRUE(out.emplace(row.source_id, std::move(*e)).second) << row.source_id;
      }
    }
    return out;
  }

  // RunDue, then moves the clock to the next due time, until the queue is empty.
  int Drain(Delivery& d, int max_runs = 10000) {
    int runs = 0;
    for (; runs < max_runs; ++runs) {
      const Delivery::RunResult r = d.RunDue();
      if (r.next_due == 0) return runs + 1;
      EXPECT_GT(r.next_due, clock_.Now());  // everything due was attempted
      clock_.Set(r.next_due);
    }
    ADD_FAILURE() << "not drained after " << max_runs << " runs";
    return runs;
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingest> ingest_;
  ManualClock clock_{kStart};
  SandboxPlatform sandbox_{clock_};
  std::unique_ptr<LimitedAdapter> limited_sandbox_;
  int next_key_ = 1;
};

// ---- Pure parts ----

TEST(Backoff, DoublesWithBoundedDeterministicJitterUpToTheCap) {
  DeliveryOptions o;
  o.base_backoff_ms = 1000;
  o.max_backoff_ms = 60'000;
  for (int64_t id = 1; id <= 200; ++id) {
    for (int attempt = 1; attempt <= 5; ++attempt) {
      const double nominal = 1000.0 * (1 << (attempt - 1));
      const TimeMs d = BackoffDelay(o, id, attempt, 0);
      EXPECT_GE(d, static_cast<TimeMs>(nominal * 0.8)) << id << "/" << attempt;
      EXPECT_LE(d, static_cast<TimeMs>(nominal * 1.2)) << id << "/" << attempt;
      EXPECT_EQ(d, BackoffDelay(o, id, attempt, 0));  // deterministic
    }
    // Jitter never makes the next delay shorter than the previous one (ranges do not overlap
    // beyond a factor 1.5).
    EXPECT_GT(BackoffDelay(o, id, 3, 0), BackoffDelay(o, id, 1, 0));
    EXPECT_EQ(BackoffDelay(o, id, 30, 0), 60'000);         // capped
    EXPECT_EQ(BackoffDelay(o, id, 1'000'000, 0), 60'000);  // no overflow
  }
  // The jitter spreads actions out.
  std::set<TimeMs> distinct;
  for (int64_t id = 1; id <= 100; ++id) distinct.insert(BackoffDelay(o, id, 1, 0));
  EXPECT_GT(distinct.size(), 50u);
  // The platform's retry_after wins when longer, also above the cap.
  EXPECT_EQ(BackoffDelay(o, 1, 1, 7000), 7000);
  EXPECT_EQ(BackoffDelay(o, 1, 1, 500), BackoffDelay(o, 1, 1, 0));
  EXPECT_EQ(BackoffDelay(o, 1, 30, 90'000), 90'000);
}

TEST(TokenBucketTest, AllowsTheLimitPerWindowAndSaysHowLongToWait) {
  TokenBucket unlimited;
  EXPECT_FALSE(unlimited.limited());
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(unlimited.Wait(kStart), 0);
    unlimited.Take(kStart);
  }

  TokenBucket one(1, 1000);  // 1/s
  EXPECT_EQ(one.Wait(kStart), 0);
  one.Take(kStart);
  EXPECT_EQ(one.Wait(kStart), 1000);
  EXPECT_EQ(one.Wait(kStart + 400), 600);
  EXPECT_EQ(one.Wait(kStart + 1000), 0);
  one.Take(kStart + 1000);
  EXPECT_FALSE(one.Full(kStart + 1999));
  EXPECT_TRUE(one.Full(kStart + 2000));

  TokenBucket minute(20, 60'000);  // 20/min: a burst of 20, then one every 3 s
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(minute.Wait(kStart), 0) << i;
    minute.Take(kStart);
  }
  EXPECT_EQ(minute.Wait(kStart), 3000);
  EXPECT_EQ(minute.Wait(kStart + 3000), 0);

  TokenBucket thirty(30, 1000);
  int sent = 0;
  for (TimeMs t = kStart; t < kStart + 10'000; t += 10) {
    while (thirty.Wait(t) == 0) {
      thirty.Take(t);
      ++sent;
    }
  }
  EXPECT_NEAR(sent, 30 + 30 * 10, 2);  // the first burst, then 30 a second
}

TEST(SlidingWindowTest, AtMostTheLimitInAnyWindow) {
  SlidingWindow unlimited;
  EXPECT_FALSE(unlimited.limited());
  EXPECT_EQ(unlimited.Wait(kStart), 0);
  EXPECT_TRUE(unlimited.Full(kStart));

  SlidingWindow w(20, 60'000);  // 20 a minute
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(w.Wait(kStart + i * 1000), 0) << i;
    w.Take(kStart + i * 1000);
  }
  // Unlike a token bucket, no refill inside the minute: the 21st waits for the 1st to leave.
  EXPECT_EQ(w.Wait(kStart + 20'000), 40'000);
  EXPECT_EQ(w.Wait(kStart + 59'999), 1);
  EXPECT_EQ(w.Wait(kStart + 60'000), 0);
  w.Take(kStart + 60'000);
  EXPECT_EQ(w.Wait(kStart + 60'000), 1000);  // then the 2nd (sent at +1 s) must leave
  EXPECT_FALSE(w.Full(kStart + 60'000));
  EXPECT_TRUE(w.Full(kStart + 120'000));
  // Over ten minutes at most 20 in any minute.
  SlidingWindow v(20, 60'000);
  std::vector<TimeMs> sent;
  for (TimeMs t = kStart; t < kStart + 600'000; t += 100) {
    if (v.Wait(t) == 0) {
      v.Take(t);
      sent.push_back(t);
    }
  }
  for (size_t i = 20; i < sent.size(); ++i) EXPECT_GE(sent[i] - sent[i - 20], 60'000);
  EXPECT_EQ(sent.size(), 200u);
}

// ---- Delivery against the real store, ingest and sandbox ----

TEST_F(DeliveryTest, DoneWritesTheRowAndAnActionDoneEvent) {
  auto records = Add({"g1"});
  auto d = OpenSandbox();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->metrics().queued.load(), 1);
  const Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  EXPECT_EQ(r.next_due, 0);

  const int64_t id = records[0].id;
  const OutboxRecord row = Row(id);
  EXPECT_EQ(row.status, ActionStatus::kDone);
  EXPECT_EQ(row.attempts, 1);
  auto conversation = sandbox_.Conversation("g1");
  ASSERT_EQ(conversation.size(), 1u);
  EXPECT_EQ(conversation[0].kind, "bot");
  EXPECT_EQ(conversation[0].text, records[0].action.text);
  EXPECT_EQ(conversation[0].action_id, id);
  EXPECT_EQ(row.platform_ref, conversation[0].message_id);

  auto events = Events();
  const std::string event_id = fmt::format("qunzhu:action:{}:done", id);
  ASSERT_TRUE(events.contains(event_id));
  const Event& e = events[event_id];
  EXPECT_EQ(e.type, EventType::kActionDone);
  EXPECT_EQ(e.platform, "sandbox");
  EXPECT_EQ(e.community, "acme");
  EXPECT_EQ(e.group, "g1");
  EXPECT_EQ(e.action, std::to_string(id));
  EXPECT_EQ(e.action_type, "send_message");
  EXPECT_EQ(e.time, kStart);
  EXPECT_EQ(events.size(), 1u);

  EXPECT_EQ(d->metrics().done.load(), 1);
  EXPECT_EQ(d->metrics().queued.load(), 0);
  // Nothing more to do: no second send.
  EXPECT_EQ(d->RunDue().attempted, 0);
  EXPECT_EQ(sandbox_.perform_calls(), 1);
}

TEST_F(DeliveryTest, RetryBacksOffDoublingAndHonoursRetryAfter) {
  ScriptedAdapter fake("fake");
  fake.Then(Retry(0));
  fake.Then(Retry(0));
  fake.Then(Retry(30'000, "429"));
  auto records = Add({"g1"}, "fake");
  const int64_t id = records[0].id;
  DeliveryOptions options;
  options.base_backoff_ms = 1000;
  auto d = Open({{"fake", &fake}}, options);
  ASSERT_NE(d, nullptr);

  // Attempt 1 fails: about a second (+-20%).
  Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  OutboxRecord row = Row(id);
  EXPECT_EQ(row.status, ActionStatus::kPending);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_error, "503");
  EXPECT_EQ(row.next_attempt_at - kStart, BackoffDelay(options, id, 1, 0));
  EXPECT_GE(row.next_attempt_at - kStart, 800);
  EXPECT_LE(row.next_attempt_at - kStart, 1200);
  EXPECT_EQ(r.next_due, row.next_attempt_at);

  // Not before it is due.
  clock_.Set(row.next_attempt_at - 1);
  EXPECT_EQ(d->RunDue().attempted, 0);
  EXPECT_EQ(fake.calls(id), 1);

  // Attempt 2 fails: about two seconds.
  clock_.Set(row.next_attempt_at);
  EXPECT_EQ(d->RunDue().attempted, 1);
  TimeMs at = clock_.Now();
  row = Row(id);
  EXPECT_EQ(row.attempts, 2);
  EXPECT_GE(row.next_attempt_at - at, 1600);
  EXPECT_LE(row.next_attempt_at - at, 2400);

  // Attempt 3: the platform says 30 s, longer than the ~4 s back-off.
  clock_.Set(row.next_attempt_at);
  EXPECT_EQ(d->RunDue().attempted, 1);
  at = clock_.Now();
  row = Row(id);
  EXPECT_EQ(row.attempts, 3);
  EXPECT_EQ(row.next_attempt_at - at, 30'000);
  EXPECT_EQ(row.last_error, "429");

  clock_.Set(row.next_attempt_at);
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  EXPECT_EQ(r.next_due, 0);
  row = Row(id);
  EXPECT_EQ(row.status, ActionStatus::kDone);
  EXPECT_EQ(row.attempts, 4);
  EXPECT_EQ(row.platform_ref, fmt::format("ref-{}", id));
  EXPECT_EQ(fake.calls(id), 4);
  EXPECT_EQ(d->metrics().retries.load(), 3);
  EXPECT_EQ(d->metrics().done.load(), 1);
  EXPECT_TRUE(Events().contains(fmt::format("qunzhu:action:{}:done", id)));
}

// A platform that is down for ten minutes, failing as platforms do (first 429 with retry_after,
// then 503, then a dropped connection), then answers again.
class OutageAdapter final : public PlatformAdapter {
 public:
  OutageAdapter(const Clock& clock, TimeMs back_at) : clock_(clock), back_at_(back_at) {}
  std::string_view platform() const override { return "fake"; }
  RateLimits rate_limits() const override { return {}; }
  Status Start(EventSink&) override { return Status::Ok(); }
  void Stop() override {}
  Capabilities capabilities() const override {
    Capabilities c;
    c.Add(ActionType::kSendMessage).Add(ActionType::kSendDirect).Add(ActionType::kDeleteMessage);
    return c;
  }
  PerformResult Perform(const OutboxRecord& record) override {
    std::lock_guard lock(mu_);
    const TimeMs now = clock_.Now();
    if (now >= back_at_) {
      if (first_done_ == 0) first_done_ = now;
      ++done_[record.id];
      return {PerformResult::Kind::kDone, 0, {}, "ok"};
    }
    ++failed_calls_;
    const TimeMs left = back_at_ - now;
    if (left > 7 * 60'000) return {PerformResult::Kind::kRetry, 30'000, "429 Too Many Requests", {}};
    if (left > 3 * 60'000) return {PerformResult::Kind::kRetry, 0, "503 Service Unavailable", {}};
    return {PerformResult::Kind::kRetry, 0, "connection reset by peer", {}};
  }
  TimeMs first_done() const {
    std::lock_guard lock(mu_);
    return first_done_;
  }
  int failed_calls() const {
    std::lock_guard lock(mu_);
    return failed_calls_;
  }
  std::map<int64_t, int> done() const {
    std::lock_guard lock(mu_);
    return done_;
  }

 private:
  const Clock& clock_;
  const TimeMs back_at_;
  mutable std::mutex mu_;
  TimeMs first_done_ = 0;
  int failed_calls_ = 0;
  std::map<int64_t, int> done_;
};

TEST_F(DeliveryTest, ATenMinuteOutageLosesNothingAndDeliveryResumesWithinFiveSeconds) {
  const TimeMs back_at = kStart + 10 * 60'000;
  OutageAdapter fake(clock_, back_at);
  auto records = Add({"g1", "g2", "g3", "g1", "g2", "g3", "@m1", "g4", "g5", "g6"}, "fake");
  auto d = Open({{"fake", &fake}});  // default options: 10 attempts, 5 s probes
  ASSERT_NE(d, nullptr);
  // Virtual time: run what is due, then move the clock to the next due time (at most a second
  // at a time, as the background thread would wake).
  while (clock_.Now() < back_at + 60'000 && fake.done().size() < records.size()) {
    const Delivery::RunResult r = d->RunDue();
    const TimeMs next = r.next_due == 0 ? clock_.Now() + 1000 : r.next_due;
    clock_.Set(std::max(clock_.Now() + 1, std::min(next, clock_.Now() + 1000)));
  }
  EXPECT_EQ(d->metrics().outages.load(), 1);
  EXPECT_EQ(d->metrics().platforms_down.load(), 0);
  EXPECT_EQ(d->metrics().failed.load(), 0) << "no action gave up";
  ASSERT_EQ(fake.done().size(), records.size());
  for (const auto& [id, n] : fake.done()) EXPECT_EQ(n, 1) << id;
  for (const OutboxRecord& r : records) EXPECT_EQ(Row(r.id).status, ActionStatus::kDone) << r.id;
  EXPECT_GE(fake.first_done(), back_at);
  EXPECT_LE(fake.first_done(), back_at + 5000) << "resumed within a probe interval of recovery";
  // While down, the platform got a probe every 5 s (or per its retry_after), not every action's
  // retries: ten minutes are at most ~120 probes plus the failures that revealed the outage.
  EXPECT_LT(fake.failed_calls(), 150);
}

TEST_F(DeliveryTest, OneActionThatKeepsFailingIsNotAnOutage) {
  ScriptedAdapter fake("fake");
  for (int i = 0; i < 10; ++i) fake.Then(Retry(0));
  auto records = Add({"g1"}, "fake");
  DeliveryOptions options;
  options.max_attempts = 5;
  auto d = Open({{"fake", &fake}}, options);
  ASSERT_NE(d, nullptr);
  for (int i = 0; i < 10; ++i) {
    const Delivery::RunResult r = d->RunDue();
    if (r.next_due == 0) break;
    clock_.Set(r.next_due);
  }
  EXPECT_EQ(d->metrics().outages.load(), 0);
  EXPECT_EQ(Row(records[0].id).status, ActionStatus::kFailed);
  EXPECT_EQ(fake.calls(records[0].id), 5);
}

TEST_F(DeliveryTest, SandboxRetryAfterIsHonoured) {
  sandbox_.SetFailures({.fail_percent = 100, .retry_after_ms = 120'000, .seed = 3});
  auto records = Add({"g1", "g2", "g3", "g4", "g5", "g6"});
  DeliveryOptions options;
  options.max_backoff_ms = 10'000;  // below the platform's hint, which still wins
  auto d = OpenSandbox(options);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->RunDue().attempted, 6);
  int throttled = 0;
  for (const OutboxRecord& r : records) {
    const OutboxRecord row = Row(r.id);
    EXPECT_EQ(row.status, ActionStatus::kPending);
    if (row.last_error.find("429") != std::string::npos) {
      ++throttled;
      EXPECT_EQ(row.next_attempt_at - kStart, 120'000);
    } else {
      EXPECT_LE(row.next_attempt_at - kStart, 1200);
    }
  }
  EXPECT_GT(throttled, 0);
  EXPECT_LT(throttled, 6);
}

TEST_F(DeliveryTest, OutOfAttemptsFailsWithAnActionFailedEvent) {
  sandbox_.SetFailures({.fail_percent = 100, .retry_after_ms = 1000, .seed = 1});
  auto records = Add({"g1"});
  const int64_t id = records[0].id;
  DeliveryOptions options;
  options.max_attempts = 3;
  auto d = OpenSandbox(options);
  ASSERT_NE(d, nullptr);
  Drain(*d);
  const OutboxRecord row = Row(id);
  EXPECT_EQ(row.status, ActionStatus::kFailed);
  EXPECT_EQ(row.attempts, 3);
  EXPECT_NE(row.last_error.find("gave up after 3 attempts"), std::string::npos) << row.last_error;
  EXPECT_EQ(sandbox_.perform_calls(), 3);
  EXPECT_EQ(sandbox_.RecordedCount(records[0].idempotency_key), 0);
  auto events = Events();
  const std::string event_id = fmt::format("qunzhu:action:{}:failed", id);
  ASSERT_TRUE(events.contains(event_id));
  EXPECT_EQ(events[event_id].type, EventType::kActionFailed);
  EXPECT_EQ(events[event_id].error, row.last_error);
  EXPECT_FALSE(events.contains(fmt::format("qunzhu:action:{}:done", id)));
  EXPECT_EQ(d->metrics().retries.load(), 2);
  EXPECT_EQ(d->metrics().failed.load(), 1);
  EXPECT_EQ(d->metrics().queued.load(), 0);
}

TEST_F(DeliveryTest, AnUnknownOutcomeIsRepeatedOnlyWhereThatIsHarmless) {
  ScriptedAdapter fake("fake");
  fake.Then({PerformResult::Kind::kUnknown, 0, "the WebSocket closed before the answer", {}});
  fake.Then({PerformResult::Kind::kUnknown, 0, "the WebSocket closed before the answer", {}});
  auto send = Add({"g1"}, "fake");
  auto del = Add({"g2"}, "fake", ActionType::kDeleteMessage);
  auto d = Open({{"fake", &fake}});
  ASSERT_NE(d, nullptr);
  Drain(*d);
  OutboxRecord row = Row(send[0].id);
  EXPECT_EQ(row.status, ActionStatus::kPossiblySent) << "members may have seen it: not shown twice";
  EXPECT_EQ(row.last_error, "possibly sent: the WebSocket closed before the answer");
  EXPECT_EQ(fake.calls(send[0].id), 1);
  EXPECT_EQ(Events()[fmt::format("qunzhu:action:{}:failed", send[0].id)].error, row.last_error);
  EXPECT_EQ(Row(del[0].id).status, ActionStatus::kDone) << "deleting again is harmless";
  EXPECT_EQ(fake.calls(del[0].id), 2);
  EXPECT_EQ(d->metrics().possibly_sent.load(), 1);

  // A platform that dedupes sends by key takes the message again.
  ScriptedAdapter deduping("dd", /*dedupes=*/true);
  deduping.Then({PerformResult::Kind::kUnknown, 0, "no answer", {}});
  auto again = Add({"g3"}, "dd");
  auto d2 = Open({{"dd", &deduping}});
  ASSERT_NE(d2, nullptr);
  Drain(*d2);
  EXPECT_EQ(Row(again[0].id).status, ActionStatus::kDone);
  EXPECT_EQ(deduping.calls(again[0].id), 2);
}

TEST_F(DeliveryTest, PermanentFailureIsNotRetried) {
  ScriptedAdapter fake("fake");
  fake.Then({PerformResult::Kind::kFailed, 0, "403 Forbidden: bot is not a member", {}});
  auto records = Add({"g1"}, "fake");
  // The sandbox refuses a mute that names no member.
  auto mute = Add({"g2"}, "sandbox", ActionType::kMute);
  {
    // (Add fills in a member; commit one without.)
    auto txn = store_->Begin();
    ASSERT_TRUE(txn.ok());
    OutboxRecord r = mute[0];
    r.action.member.clear();
    r.idempotency_key = "mute-nobody";
    ASSERT_TRUE((*txn)->AddAction(r).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
    mute.push_back(r);
  }
  auto d = Open({{"fake", &fake}, {"sandbox", &sandbox_}});
  ASSERT_NE(d, nullptr);
  const Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 3);
  EXPECT_EQ(r.next_due, 0);

  OutboxRecord row = Row(records[0].id);
  EXPECT_EQ(row.status, ActionStatus::kFailed);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_EQ(row.last_error, "403 Forbidden: bot is not a member");
  EXPECT_EQ(Row(mute[0].id).status, ActionStatus::kDone);
  row = Row(mute[1].id);
  EXPECT_EQ(row.status, ActionStatus::kFailed);
  EXPECT_EQ(row.last_error, "member: required");
  auto events = Events();
  EXPECT_EQ(events[fmt::format("qunzhu:action:{}:failed", records[0].id)].error,
            "403 Forbidden: bot is not a member");
  EXPECT_EQ(events[fmt::format("qunzhu:action:{}:failed", mute[1].id)].action_type, "mute");
  EXPECT_EQ(d->metrics().retries.load(), 0);
  EXPECT_EQ(d->metrics().failed.load(), 2);
  EXPECT_EQ(fake.total_calls(), 1);
}

TEST_F(DeliveryTest, OnePerSecondPerChatTakesFiveSecondsForFive) {
  auto records = Add({"g1", "g1", "g1", "g1", "g1"});
  auto d = OpenSandbox({}, {.per_chat_per_second = 1});
  ASSERT_NE(d, nullptr);
  for (int second = 0; second < 5; ++second) {
    clock_.Set(kStart + second * 1000);
    const Delivery::RunResult r = d->RunDue();
    EXPECT_EQ(r.attempted, 1) << "second " << second;
    EXPECT_EQ(r.next_due, second < 4 ? kStart + (second + 1) * 1000 : 0) << "second " << second;
    EXPECT_EQ(sandbox_.Conversation("g1").size(), static_cast<size_t>(second + 1));
    if (second < 4) {
      clock_.Set(kStart + second * 1000 + 999);
      EXPECT_EQ(d->RunDue().attempted, 0);  // not a millisecond early
    }
  }
  // In order, one a second.
  auto conversation = sandbox_.Conversation("g1");
  for (size_t i = 0; i < conversation.size(); ++i) {
    EXPECT_EQ(conversation[i].action_id, records[i].id);
    EXPECT_EQ(conversation[i].time, kStart + static_cast<TimeMs>(i) * 1000);
  }
  EXPECT_GT(d->metrics().rate_limited.load(), 0);
  EXPECT_EQ(d->metrics().done.load(), 5);
}

TEST_F(DeliveryTest, ChatsAreLimitedSeparately) {
  Add({"g1", "g2", "g1", "g2", "g1", "g2", "g1", "g2", "g1", "g2", "@u7", "@u7", "@u8"});
  auto d = OpenSandbox({}, {.per_chat_per_second = 1});
  ASSERT_NE(d, nullptr);
  // Two groups and two direct chats in parallel, one action each a second.
  EXPECT_EQ(d->RunDue().attempted, 4);
  clock_.Set(kStart + 1000);
  EXPECT_EQ(d->RunDue().attempted, 3);
  for (int second = 2; second < 5; ++second) {
    clock_.Set(kStart + second * 1000);
    EXPECT_EQ(d->RunDue().attempted, 2) << second;
  }
  EXPECT_EQ(sandbox_.Conversation("g1").size(), 5u);
  EXPECT_EQ(sandbox_.Conversation("g2").size(), 5u);
  EXPECT_EQ(sandbox_.Conversation("").size(), 3u);
  EXPECT_EQ(d->metrics().queued.load(), 0);
}

TEST_F(DeliveryTest, PerMinuteAndPlatformLimits) {
  Add({"g1", "g1", "g1", "g2"});
  auto d = OpenSandbox({}, {.per_second = 2, .per_chat_per_minute = 2});
  ASSERT_NE(d, nullptr);
  // The platform allows two at once: g1's first two (by id).
  Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 2);
  EXPECT_EQ(r.next_due, kStart + 500);  // the platform bucket refills one per 500 ms
  clock_.Set(kStart + 500);
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);  // g2; g1 has used its two a minute
  EXPECT_EQ(sandbox_.Conversation("g2").size(), 1u);
  // A sliding minute: g1's third goes when its first leaves the window.
  EXPECT_EQ(r.next_due, kStart + 60'000);
  clock_.Set(kStart + 59'999);
  EXPECT_EQ(d->RunDue().attempted, 0);
  clock_.Set(kStart + 60'000);
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  EXPECT_EQ(r.next_due, 0);
  EXPECT_EQ(sandbox_.Conversation("g1").size(), 3u);
}

// The limits are the adapter's declaration, platform by platform; the engine adds none of its
// own (a platform named "telegram" declaring none is not held to Telegram's figures).
TEST_F(DeliveryTest, LimitsAreTheOnesEachAdapterDeclares) {
  ScriptedAdapter limited("fake", false, {.per_chat_per_second = 2});
  ScriptedAdapter unlimited("telegram");
  auto fake = Add({"g1", "g1", "g1", "g1", "g1", "g2"}, "fake");
  auto tg = Add(std::vector<std::string>(25, "g1"), "telegram");
  auto d = Open({{"fake", &limited}, {"telegram", &unlimited}});
  ASSERT_NE(d, nullptr);
  // fake: two at once into g1 (a second's worth), one into g2; telegram: all 25.
  Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 2 + 1 + 25);
  EXPECT_EQ(unlimited.total_calls(), 25);
  EXPECT_EQ(limited.calls(fake[0].id) + limited.calls(fake[1].id), 2);
  EXPECT_EQ(limited.calls(fake[2].id), 0);
  EXPECT_EQ(r.next_due, kStart + 500);  // then one every 500 ms: 2 a second
  clock_.Set(kStart + 499);
  EXPECT_EQ(d->RunDue().attempted, 0);
  clock_.Set(kStart + 500);
  EXPECT_EQ(d->RunDue().attempted, 1);
  EXPECT_EQ(limited.calls(fake[2].id), 1);
  clock_.Set(kStart + 1000);
  EXPECT_EQ(d->RunDue().attempted, 1);
  clock_.Set(kStart + 1500);
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  EXPECT_EQ(r.next_due, 0);
  EXPECT_EQ(limited.total_calls(), 6);
  EXPECT_EQ(d->metrics().done.load(), 31);
}

TEST_F(DeliveryTest, PlatformsTakeTurnsSoABacklogDoesNotHoldUpAnother) {
  ScriptedAdapter a("a"), b("b");
  std::vector<int64_t> order;
  a.LogTo(&order);
  b.LogTo(&order);
  auto backlog = Add(std::vector<std::string>(10, "g1"), "a");
  auto other = Add({"g1"}, "b");
  DeliveryOptions options;
  options.max_batch = 2;
  auto d = Open({{"a", &a}, {"b", &b}}, options);
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->RunDue().attempted, 11);
  ASSERT_EQ(order.size(), 11u);
  const auto at = std::find(order.begin(), order.end(), other[0].id) - order.begin();
  EXPECT_LE(at, 3) << "b's action waited behind a's backlog";
}

TEST_F(DeliveryTest, ThousandActionsWithThirtyPercentFailuresAllEndDoneOnce) {
  sandbox_.SetFailures({.fail_percent = 30, .retry_after_ms = 1500, .seed = 2026});
  std::vector<std::string> groups;
  for (int i = 0; i < 1000; ++i)
    groups.push_back(i % 7 == 0 ? fmt::format("@m{}", i % 13) : fmt::format("g{}", i % 10));
  auto records = Add(groups);
  ASSERT_EQ(records.size(), 1000u);
  DeliveryOptions options;
  options.max_attempts = 20;  // 0.3^20: no action runs out of attempts
  options.max_batch = 64;
  options.threads = 4;
  auto d = OpenSandbox(options);
  ASSERT_NE(d, nullptr);
  Drain(*d);

  auto counts = store_->CountActions();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->done, 1000);
  EXPECT_EQ(counts->pending + counts->sending + counts->failed + counts->possibly_sent, 0);
  auto events = Events();
  int bot_entries = 0;
  for (const std::string& g : sandbox_.Groups()) bot_entries += sandbox_.Conversation(g).size();
  bot_entries += sandbox_.Conversation("", 0, 10000).size();
  EXPECT_EQ(bot_entries, 1000);
  for (const OutboxRecord& r : records) {
    EXPECT_EQ(sandbox_.RecordedCount(r.idempotency_key), 1) << r.id;
    EXPECT_TRUE(events.contains(fmt::format("qunzhu:action:{}:done", r.id))) << r.id;
    EXPECT_EQ(Row(r.id).status, ActionStatus::kDone);
  }
  const int64_t retries = d->metrics().retries.load();
  EXPECT_GT(retries, 300);  // ~30% of ~1430 attempts
  EXPECT_LT(retries, 600);
  EXPECT_EQ(sandbox_.perform_calls(), 1000 + retries);
  EXPECT_EQ(d->metrics().done.load(), 1000);
  EXPECT_EQ(d->metrics().failed.load(), 0);
  EXPECT_EQ(events.size(), 1000u);
}

TEST_F(DeliveryTest, SendingAtRestartIsResentWithTheSameKeyWhereThePlatformDedupes) {
  auto records = Add({"g1", "g1"});
  // The first reached the platform before the crash; the second never did.
  const PerformResult before = sandbox_.Perform(records[0]);
  ASSERT_EQ(before.kind, PerformResult::Kind::kDone);
  std::vector<OutboxUpdate> sending;
  for (const OutboxRecord& r : records) {
    sending.push_back({.id = r.id,
                       .status = ActionStatus::kSending,
                       .attempts = 1,
                       .next_attempt_at = kStart,
                       .updated_at = kStart});
  }
  {
    auto txn = store_->Begin();
    ASSERT_TRUE(txn.ok());
    std::vector<int64_t> missing;
    ASSERT_TRUE((*txn)->UpdateActions(sending, missing).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }

  auto d = OpenSandbox();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->metrics().queued.load(), 2);
  EXPECT_EQ(d->RunDue().attempted, 2);
  for (const OutboxRecord& r : records) {
    const OutboxRecord row = Row(r.id);
    EXPECT_EQ(row.status, ActionStatus::kDone);
    EXPECT_EQ(row.attempts, 2);
    EXPECT_EQ(sandbox_.RecordedCount(r.idempotency_key), 1);
  }
  EXPECT_EQ(Row(records[0].id).platform_ref, before.platform_ref);  // the platform's first answer
  EXPECT_EQ(sandbox_.Conversation("g1").size(), 2u);
  EXPECT_EQ(sandbox_.perform_calls(), 3);
  EXPECT_EQ(d->metrics().possibly_sent.load(), 0);
}

TEST_F(DeliveryTest, SendingAtRestartIsPossiblySentWhereThePlatformCannotDedupe) {
  ScriptedAdapter fake("fake", /*dedupes=*/false);
  auto crashed = Add({"g1"}, "fake", ActionType::kSendMessage, ActionStatus::kSending, 1);
  auto pending = Add({"g1"}, "fake");
  auto d = Open({{"fake", &fake}});
  ASSERT_NE(d, nullptr);
  // Decided at Open: never performed again.
  OutboxRecord row = Row(crashed[0].id);
  EXPECT_EQ(row.status, ActionStatus::kPossiblySent);
  EXPECT_EQ(row.last_error, "possibly sent: outcome unknown after a restart");
  EXPECT_EQ(d->metrics().possibly_sent.load(), 1);
  EXPECT_EQ(d->metrics().queued.load(), 1);
  Drain(*d);
  EXPECT_EQ(fake.calls(crashed[0].id), 0);
  EXPECT_EQ(fake.calls(pending[0].id), 1);
  EXPECT_EQ(Row(pending[0].id).status, ActionStatus::kDone);
  auto events = Events();
  const std::string id = fmt::format("qunzhu:action:{}:failed", crashed[0].id);
  ASSERT_TRUE(events.contains(id));
  EXPECT_EQ(events[id].error, "possibly sent: outcome unknown after a restart");
  EXPECT_EQ(events[id].platform, "fake");

  // A second restart finds nothing open for it and reports nothing twice.
  d.reset();
  d = Open({{"fake", &fake}});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->metrics().queued.load(), 0);
  Drain(*d);
  EXPECT_EQ(fake.calls(crashed[0].id), 0);
  EXPECT_EQ(Events().size(), events.size());
}

TEST_F(DeliveryTest, ActionWithoutAnAdapterFails) {
  auto at_open = Add({"g1"}, "telegram");
  auto d = OpenSandbox();
  ASSERT_NE(d, nullptr);
  OutboxRecord row = Row(at_open[0].id);
  EXPECT_EQ(row.status, ActionStatus::kFailed);
  EXPECT_EQ(row.last_error, "no adapter for platform telegram");
  EXPECT_EQ(row.attempts, 0);

  auto later = Add({"g1"}, "telegram");
  d->Enqueue(later);
  Drain(*d);
  row = Row(later[0].id);
  EXPECT_EQ(row.status, ActionStatus::kFailed);
  EXPECT_EQ(row.last_error, "no adapter for platform telegram");
  auto events = Events();
  EXPECT_EQ(events[fmt::format("qunzhu:action:{}:failed", at_open[0].id)].error,
            "no adapter for platform telegram");
  EXPECT_TRUE(events.contains(fmt::format("qunzhu:action:{}:failed", later[0].id)));
  EXPECT_EQ(d->metrics().failed.load(), 2);
}

TEST_F(DeliveryTest, EnqueueAddsNewWorkOnceAndIgnoresRepeats) {
  auto loaded = Add({"g1"});
  auto d = OpenSandbox();
  ASSERT_NE(d, nullptr);
  auto fresh = Add({"g1", "g2"});
  d->Enqueue(fresh);
  d->Enqueue(fresh);   // a repeat
  d->Enqueue(loaded);  // loaded at Open already
  EXPECT_EQ(d->metrics().queued.load(), 3);
  EXPECT_EQ(d->RunDue().attempted, 3);
  d->Enqueue(loaded);  // done by now; still ignored (not above the loaded ids)
  EXPECT_EQ(d->RunDue().attempted, 0);
  EXPECT_EQ(sandbox_.perform_calls(), 3);

  // Due later: waits until then.
  auto later = Add({"g3"});
  later[0].next_attempt_at = kStart + 60'000;
  d->Enqueue(later);
  Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 0);
  EXPECT_EQ(r.next_due, kStart + 60'000);
}

// Wraps the sandbox; when armed, makes the store fail right after performing (so the outcome
// write fails, as on a full disk between the send and its record).
class FailStoreAfterPerform final : public PlatformAdapter {
 public:
  FailStoreAfterPerform(SandboxPlatform& s, FlakyStore& store) : s_(s), store_(store) {}
  std::string_view platform() const override { return s_.platform(); }
  Capabilities capabilities() const override { return s_.capabilities(); }
  RateLimits rate_limits() const override { return s_.rate_limits(); }
  Status Start(EventSink& sink) override { return s_.Start(sink); }
  void Stop() override { s_.Stop(); }
  PerformResult Perform(const OutboxRecord& record) override {
    PerformResult r = s_.Perform(record);
    if (armed) store_.fail_updates = true;
    return r;
  }
  std::atomic<bool> armed{false};

 private:
  SandboxPlatform& s_;
  FlakyStore& store_;
};

TEST_F(DeliveryTest, FailedStoreWritesAreRetriedWithoutPerformingAgain) {
  FlakyStore flaky(*store_);
  FailStoreAfterPerform adapter(sandbox_, flaky);
  auto records = Add({"g1"});
  const int64_t id = records[0].id;
  auto flaky_ingest = Ingest::Start(flaky);  // records through the flaky store
  ASSERT_TRUE(flaky_ingest.ok()) << flaky_ingest.status().ToString();
  auto d = Open({{"sandbox", &adapter}}, {}, &flaky, flaky_ingest->get());
  ASSERT_NE(d, nullptr);

  // The "sending" mark fails: nothing is performed; the action stays queued.
  flaky.fail_updates = true;
  Delivery::RunResult r = d->RunDue();
  EXPECT_EQ(r.attempted, 0);
  EXPECT_EQ(r.next_due, kStart);  // still due
  EXPECT_EQ(sandbox_.perform_calls(), 0);
  EXPECT_EQ(Row(id).status, ActionStatus::kPending);
  EXPECT_EQ(Row(id).attempts, 0);
  EXPECT_EQ(d->metrics().queued.load(), 1);

  // The mark works, the outcome write fails: performed once, the row stays "sending".
  flaky.fail_updates = false;
  adapter.armed = true;
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 1);
  EXPECT_EQ(sandbox_.perform_calls(), 1);
  EXPECT_EQ(Row(id).status, ActionStatus::kSending);
  EXPECT_EQ(Row(id).attempts, 1);
  EXPECT_FALSE(Events().contains(fmt::format("qunzhu:action:{}:done", id)));
  EXPECT_EQ(d->metrics().queued.load(), 1);  // in flight until recorded
  EXPECT_EQ(d->metrics().done.load(), 0);

  EXPECT_EQ(r.next_due, kStart + 1000);  // nothing queued, but the outcome waits for a retry

  // Still failing: nothing is performed again.
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 0);
  EXPECT_EQ(sandbox_.perform_calls(), 1);

  // The store is back: the kept outcome is written and reported; still one send.
  adapter.armed = false;
  flaky.fail_updates = false;
  r = d->RunDue();
  EXPECT_EQ(r.attempted, 0);
  EXPECT_EQ(r.next_due, 0);
  const OutboxRecord row = Row(id);
  EXPECT_EQ(row.status, ActionStatus::kDone);
  EXPECT_EQ(row.attempts, 1);
  EXPECT_FALSE(row.platform_ref.empty());
  EXPECT_TRUE(Events().contains(fmt::format("qunzhu:action:{}:done", id)));
  EXPECT_EQ(sandbox_.perform_calls(), 1);
  EXPECT_EQ(sandbox_.RecordedCount(records[0].idempotency_key), 1);
  EXPECT_EQ(d->metrics().done.load(), 1);
  EXPECT_EQ(d->metrics().queued.load(), 0);
}

TEST_F(DeliveryTest, BackgroundThreadDeliversWhatIsEnqueued) {
  DeliveryOptions options;
  options.threads = 3;
  auto d = OpenSandbox(options);
  ASSERT_NE(d, nullptr);
  d->Start();
  d->Start();  // idempotent
  auto records = Add({"g1", "g2", "g3", "@u1", "g1"});
  const auto started = std::chrono::steady_clock::now();
  d->Enqueue(records);
  while (d->metrics().done.load() < 5 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(d->metrics().done.load(), 5);
  // One due later (on the manual clock) is picked up once the clock gets there.
  auto later = Add({"g4"});
  later[0].next_attempt_at = kStart + 10'000;
  d->Enqueue(later);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(d->metrics().done.load(), 5);
  clock_.Set(kStart + 10'000);
  while (d->metrics().done.load() < 6 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(d->metrics().done.load(), 6);
  d->Stop();
  d->Stop();
  EXPECT_EQ(store_->CountActions()->done, 6);
}

}  // namespace
}  // namespace qz
