#include "engine/delivery.hpp"

#include "engine/due_loop.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/ingest.hpp"
#include "engine/perform_pool.hpp"
#include "engine/rate_limit.hpp"
#include "model/event.hpp"
#include "platform/adapter.hpp"
#include "store/outbox_store.hpp"

namespace qz {
namespace {

constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
// After a failed store write or ingest, work waits this long before it is retried.
constexpr auto kRetryDelay = DueLoop::kRetryDelay;
// Empty chats are kept while their buckets are not full; all are swept once there are more
// than this many chats and more than twice as many as queued actions.
constexpr size_t kChatSweepSlack = 4096;

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

// ---- Back-off ----

TimeMs BackoffDelay(const DeliveryOptions& options, int64_t action_id, int attempts,
                    TimeMs retry_after_ms) {
  const double cap = static_cast<double>(std::max<TimeMs>(options.max_backoff_ms, 0));
  const int doublings = std::clamp(attempts - 1, 0, 62);
  double delay = static_cast<double>(std::max<TimeMs>(options.base_backoff_ms, 0)) *
                 std::ldexp(1.0, doublings);
  // Jitter in [0.8, 1.2), from the action and the attempt.
  const uint64_t h = Mix(static_cast<uint64_t>(action_id) * 0x9e3779b97f4a7c15ULL +
                         static_cast<uint64_t>(attempts));
  const double unit = static_cast<double>(h >> 11) * 0x1.0p-53;  // [0, 1)
  delay *= 0.8 + 0.4 * unit;
  const auto backoff = static_cast<TimeMs>(std::min(delay, cap));
  return std::max(backoff, retry_after_ms);
}

namespace {

// ---- The queue ----

struct PlatformQueue;

// One chat's queue and buckets. Owned by its PlatformQueue; lives while it has queued or
// in-flight actions or buckets that are not full.
struct Chat {
  PlatformQueue* platform = nullptr;
  std::string key;
  std::set<std::pair<TimeMs, int64_t>> queue;  // (next_attempt_at, id), queued actions only
  TokenBucket per_second;
  SlidingWindow per_minute;
  TimeMs blocked_until = 0;  // a bucket was empty, or the platform said retry_after
  int in_flight = 0;
  bool ready = false;  // in platform->ready, under `ready_key`
  std::tuple<TimeMs, int64_t, Chat*> ready_key;
};

// The chats of one platform with queued actions, by when their first action may go (then its
// id, for a stable order).
struct PlatformQueue {
  std::string name;
  PlatformAdapter* adapter = nullptr;  // null: no adapter serves this platform
  Capabilities capabilities;
  RateLimits limits;
  TokenBucket bucket;
  TimeMs blocked_until = 0;  // the platform-wide bucket was empty
  // Outage detection (DeliveryOptions::outage_failures): transient failures in a row, and
  // whether they concern more than one action.
  int failure_streak = 0;
  int64_t streak_action = 0;
  bool streak_of_several = false;
  bool down = false;
  TimeMs probe_at = 0;  // while down: when the next probe may go
  std::set<std::tuple<TimeMs, int64_t, Chat*>> ready;
  std::unordered_map<std::string, Chat> chats;  // node-based: Chat* stays valid
};

struct Item {
  OutboxRecord record;
  Chat* chat = nullptr;
  bool in_flight = false;
};

// An action taken for an attempt, with a copy of its record (the adapter reads it unlocked).
struct Taken {
  OutboxRecord record;
  PlatformAdapter* adapter = nullptr;
  PerformResult result;
  std::string refused;  // non-empty: not attempted, fails with this reason
  bool probe = false;   // taken while its platform is down: a failure uses no attempt
};

// What an attempt (or Open) decided for one action: the row update, the event to report, and
// what changes in memory once the row is written.
struct Outcome {
  OutboxUpdate update;
  std::optional<Event> event;
  TimeMs block_chat_until = 0;  // the platform's retry_after
  // The platform answered: it is up (any answer but a transient failure), or not.
  enum class Reached : uint8_t { kUnknown, kUp, kTransient } reached = Reached::kUnknown;
  enum class Count : uint8_t { kNone, kDone, kFailed, kRetry, kPossiblySent } count = Count::kNone;
};

Event OutcomeEvent(const OutboxRecord& r, bool done, const std::string& error, TimeMs now) {
  Event e;
  e.id = fmt::format("qunzhu:action:{}:{}", r.id, done ? "done" : "failed");
  e.type = done ? EventType::kActionDone : EventType::kActionFailed;
  e.time = now;
  e.platform = r.action.platform;
  e.community = r.action.community;
  e.group = r.action.group;
  e.action = std::to_string(r.id);
  e.action_type = std::string(ActionTypeName(r.action.type));
  e.error = error;
  return e;
}

OutboxUpdate UpdateOf(const OutboxRecord& r, ActionStatus status, TimeMs now) {
  return OutboxUpdate{.id = r.id,
                      .status = status,
                      .attempts = r.attempts,
                      .next_attempt_at = r.next_attempt_at,
                      .last_error = r.last_error,
                      .platform_ref = r.platform_ref,
                      .updated_at = now};
}

// Threads: Enqueue from any thread; RunDue from one caller at a time (run_mu_ serialises the
// background thread and direct callers); the background thread runs Loop between Start and
// Stop; the adapters are called from RunDue's thread and the pool's helpers. mu_ guards the
// queue and is never held across a store, ingest or adapter call.
class DeliveryImpl final : public Delivery {
 public:
  DeliveryImpl(OutboxStore& store, Ingest& ingest, const Clock& clock, AdapterMap adapters,
               DeliveryOptions options)
      : store_(store),
        ingest_(ingest),
        clock_(clock),
        adapters_(std::move(adapters)),
        options_(std::move(options)),
        pool_(std::max(options_.threads, 1) - 1),
        loop_(clock, [this] {
          RunDue();
          std::lock_guard lock(mu_);
          return DueLoop::Next{NextDue(), last_run_failed_};
        }) {
    options_.max_batch = std::max<size_t>(options_.max_batch, 1);
  }
  ~DeliveryImpl() override { Stop(); }

  Status Load();

  void Enqueue(std::span<const OutboxRecord> records) override;
  void Requeue(const OutboxRecord& record) override;
  RunResult RunDue() override;
  void Start() override { loop_.Start(); }
  void Stop() override { loop_.Stop(); }
  const DeliveryMetrics& metrics() const override { return metrics_; }

 private:
  // The queue; all with mu_ held.
  PlatformQueue& PlatformOf(const std::string& name);
  Chat& ChatOf(const Action& action);
  void Unready(Chat& chat);
  void Ready(Chat& chat);
  void Push(Item& item);
  void MaybeDropChat(Chat& chat, TimeMs now);
  void SweepChats(TimeMs now);
  std::vector<Taken> TakeDue(TimeMs now);
  void Release(std::span<const Taken> batch);
  void UpdateQueuedMetric() {
    metrics_.queued.store(static_cast<int64_t>(items_.size()), std::memory_order_relaxed);
  }
  TimeMs NextDue() const;  // 0: nothing queued
  // Outage bookkeeping from one attempt's outcome on `p`.
  void NoteReached(PlatformQueue& p, int64_t action, Outcome::Reached reached, TimeMs retry_until, TimeMs now);

  // Without mu_.
  void Perform(std::vector<Taken>& batch);
  Outcome Decide(Taken& t, TimeMs now);
  // Applies recorded outcomes in memory and in the metrics (skipping ids in `missing`).
  void Apply(std::vector<Outcome>& outcomes, std::span<const int64_t> missing);
  // Drops from `batch` (and from memory) the actions whose rows are missing.
  void DropMissing(std::vector<Taken>& batch, std::span<const int64_t> missing, TimeMs now);
  // Makes the outcomes (rows and events) and the marks durable in one ingest transaction and
  // returns the ids of rows that were not in the outbox (skipped). On failure nothing is written.
  Result<std::vector<int64_t>> Record(const std::vector<Outcome>& outcomes,
                                      std::vector<OutboxUpdate> marks);

  OutboxStore& store_;
  Ingest& ingest_;
  const Clock& clock_;
  const AdapterMap adapters_;
  DeliveryOptions options_;
  DeliveryMetrics metrics_;
  PerformPool pool_;

  std::mutex run_mu_;                // one RunDue at a time; guards unrecorded_
  std::vector<Outcome> unrecorded_;  // performed, but not recorded yet (the ingest failed)

  mutable std::mutex mu_;
  std::map<std::string, PlatformQueue, std::less<>> platforms_;
  std::unordered_map<int64_t, Item> items_;  // queued and in flight
  size_t chat_count_ = 0;
  int64_t loaded_max_id_ = 0;
  std::string first_platform_;  // TakeDue's first platform last time
  bool last_run_failed_ = false;

  // The background thread (Start/Stop); declared last so it stops before the rest goes.
  DueLoop loop_;
};

PlatformQueue& DeliveryImpl::PlatformOf(const std::string& name) {
  auto it = platforms_.find(name);
  if (it != platforms_.end()) return it->second;
  PlatformQueue& p = platforms_[name];
  p.name = name;
  if (auto a = adapters_.find(name); a != adapters_.end() && a->second != nullptr) {
    p.adapter = a->second;
    p.capabilities = p.adapter->capabilities();
    p.limits = p.adapter->rate_limits();  // without an adapter nothing is sent: no limit
  }
  p.bucket = TokenBucket(p.limits.per_second, 1000);
  return p;
}

Chat& DeliveryImpl::ChatOf(const Action& action) {
  PlatformQueue& p = PlatformOf(action.platform);
  std::string key = action.group.empty() ? "m:" + action.member : "g:" + action.group;
  auto [it, inserted] = p.chats.try_emplace(key);
  Chat& chat = it->second;
  if (inserted) {
    chat.platform = &p;
    chat.key = std::move(key);
    chat.per_second = TokenBucket(p.limits.per_chat_per_second, 1000);
    chat.per_minute = SlidingWindow(p.limits.per_chat_per_minute, 60 * 1000);
    ++chat_count_;
  }
  return chat;
}

void DeliveryImpl::Unready(Chat& chat) {
  if (!chat.ready) return;
  chat.platform->ready.erase(chat.ready_key);
  chat.ready = false;
}

void DeliveryImpl::Ready(Chat& chat) {
  Unready(chat);
  if (chat.queue.empty()) return;
  const auto& [due, id] = *chat.queue.begin();
  chat.ready_key = {std::max(due, chat.blocked_until), id, &chat};
  chat.platform->ready.insert(chat.ready_key);
  chat.ready = true;
}

void DeliveryImpl::Push(Item& item) {
  Chat& chat = *item.chat;
  chat.queue.emplace(item.record.next_attempt_at, item.record.id);
  Ready(chat);
}

void DeliveryImpl::MaybeDropChat(Chat& chat, TimeMs now) {
  if (!chat.queue.empty() || chat.in_flight > 0 || chat.blocked_until > now) return;
  if (!chat.per_second.Full(now) || !chat.per_minute.Full(now)) return;  // kept for its limits
  PlatformQueue& p = *chat.platform;
  const std::string key = chat.key;
  p.chats.erase(key);  // `chat` is gone now
  --chat_count_;
}

void DeliveryImpl::SweepChats(TimeMs now) {
  for (auto& [name, p] : platforms_) {
    for (auto it = p.chats.begin(); it != p.chats.end();) {
      Chat& chat = it->second;
      const bool keep = !chat.queue.empty() || chat.in_flight > 0 || chat.blocked_until > now ||
                        !chat.per_second.Full(now) || !chat.per_minute.Full(now);
      if (keep) {
        ++it;
      } else {
        it = p.chats.erase(it);
        --chat_count_;
      }
    }
  }
}

TimeMs DeliveryImpl::NextDue() const {
  TimeMs next = kNever;
  for (const auto& [name, p] : platforms_) {
    if (p.ready.empty()) continue;
    if (p.down) {
      next = std::min(next, p.probe_at);
      continue;
    }
    const TimeMs chat_due = std::get<0>(*p.ready.begin());
    next = std::min(next, p.adapter != nullptr ? std::max(chat_due, p.blocked_until) : chat_due);
  }
  return next == kNever ? 0 : next;
}

std::vector<Taken> DeliveryImpl::TakeDue(TimeMs now) {
  std::vector<Taken> out;
  const size_t max = options_.max_batch;
  std::lock_guard lock(mu_);
  // Platforms in turn, starting after the one that started last time, so that a backlog on one
  // platform does not hold up the others for the whole run.
  std::vector<PlatformQueue*> order;
  order.reserve(platforms_.size());
  const auto start = platforms_.upper_bound(first_platform_);
  for (auto it = start; it != platforms_.end(); ++it) order.push_back(&it->second);
  for (auto it = platforms_.begin(); it != start; ++it) order.push_back(&it->second);
  if (!order.empty()) first_platform_ = order.front()->name;
  for (PlatformQueue* platform : order) {
    PlatformQueue& p = *platform;
    if (p.down) {
      // One probe per interval: the chat whose first action is earliest, due or not (the
      // waiting actions' back-off says nothing about when the platform comes back).
      if (p.probe_at > now || p.ready.empty() || out.size() >= max) continue;
      Chat& chat = *std::get<2>(*p.ready.begin());
      Unready(chat);
      const int64_t id = chat.queue.begin()->second;
      Item& item = items_.at(id);
      chat.queue.erase(chat.queue.begin());
      item.in_flight = true;
      ++chat.in_flight;
      out.push_back(Taken{item.record, p.adapter, {}, {}, true});
      Ready(chat);
      p.probe_at = now + options_.probe_interval_ms;
      continue;
    }
    bool platform_blocked = p.adapter != nullptr && p.blocked_until > now;
    // One action at a time from the chat whose first action is earliest (then lowest id):
    // across chats the batch goes in (next_attempt_at, id) order, which keeps the rows a batch
    // writes close together in the outbox (ids) and lets no chat crowd out the others.
    while (!platform_blocked && out.size() < max && !p.ready.empty() &&
           std::get<0>(*p.ready.begin()) <= now) {
      Chat& chat = *std::get<2>(*p.ready.begin());
      Unready(chat);
      const int64_t id = chat.queue.begin()->second;  // due: the chat's ready time has come
      Item& item = items_.at(id);
      std::string refused;
      if (p.adapter == nullptr) {
        refused = fmt::format("no adapter for platform {}", p.name);
      } else if (!p.capabilities.Has(item.record.action.type)) {
        refused =
            fmt::format("platform {} cannot {}", p.name, ActionTypeName(item.record.action.type));
      } else {
        // The chat first: a chat at its limit must not hold up the platform's other chats.
        const TimeMs wait = std::max(chat.per_second.Wait(now), chat.per_minute.Wait(now));
        if (wait > 0) {
          chat.blocked_until = now + wait;
          metrics_.rate_limited.fetch_add(1, std::memory_order_relaxed);
          Ready(chat);
          continue;
        }
        if (const TimeMs platform_wait = p.bucket.Wait(now); platform_wait > 0) {
          p.blocked_until = now + platform_wait;
          metrics_.rate_limited.fetch_add(1, std::memory_order_relaxed);
          platform_blocked = true;
          Ready(chat);
          break;
        }
        p.bucket.Take(now);
        chat.per_second.Take(now);
        chat.per_minute.Take(now);
      }
      chat.queue.erase(chat.queue.begin());
      item.in_flight = true;
      ++chat.in_flight;
      out.push_back(Taken{item.record, p.adapter, {}, std::move(refused)});
      Ready(chat);
    }
    if (out.size() >= max) break;
  }
  return out;
}

void DeliveryImpl::Release(std::span<const Taken> batch) {
  std::lock_guard lock(mu_);
  for (const Taken& t : batch) {
    auto it = items_.find(t.record.id);
    if (it == items_.end() || !it->second.in_flight) continue;
    it->second.in_flight = false;
    --it->second.chat->in_flight;
    Push(it->second);
  }
}

void DeliveryImpl::Enqueue(std::span<const OutboxRecord> records) {
  std::lock_guard lock(mu_);
  TimeMs earliest = kNever;
  for (const OutboxRecord& r : records) {
    if (r.status != ActionStatus::kPending || r.id <= loaded_max_id_ || items_.contains(r.id)) {
      continue;
    }
    Item& item = items_[r.id];
    item.record = r;
    item.chat = &ChatOf(r.action);
    Push(item);
    earliest = std::min(earliest, r.next_attempt_at);
  }
  UpdateQueuedMetric();
  if (earliest != kNever) loop_.Wake(earliest);
}

void DeliveryImpl::Requeue(const OutboxRecord& record) {
  {
    std::lock_guard lock(mu_);
    if (record.status != ActionStatus::kPending || items_.contains(record.id)) return;
    Item& item = items_[record.id];
    item.record = record;
    item.chat = &ChatOf(record.action);
    Push(item);
    UpdateQueuedMetric();
  }
  loop_.Wake(record.next_attempt_at);
}

Status DeliveryImpl::Load() {
  auto records = store_.LoadOpenActions();
  if (!records.ok()) return records.status();
  const TimeMs now = clock_.Now();
  std::vector<Outcome> outcomes;
  {
    std::lock_guard lock(mu_);
    items_.reserve(records->size());
    for (OutboxRecord& r : *records) {
      loaded_max_id_ = std::max(loaded_max_id_, r.id);
      PlatformQueue& p = PlatformOf(r.action.platform);
      if (p.adapter == nullptr) {
        r.last_error = fmt::format("no adapter for platform {}", r.action.platform);
        Outcome o{UpdateOf(r, ActionStatus::kFailed, now),
                  OutcomeEvent(r, false, r.last_error, now)};
        o.count = Outcome::Count::kFailed;
        spdlog::error("delivery: action {} failed: {}", r.id, r.last_error);
        outcomes.push_back(std::move(o));
        continue;
      }
      if (r.status == ActionStatus::kSending) {
        if (!p.capabilities.dedupes_sends) {
          // The attempt under way at the crash may or may not have reached the platform, which
          // cannot tell a repeat from a new send: not resent, and said so.
          spdlog::warn("action {} possibly sent before the crash; not resent ({} on {})", r.id,
                       ActionTypeName(r.action.type), r.action.platform);
          r.last_error = "possibly sent: outcome unknown after a restart";
          Outcome o{UpdateOf(r, ActionStatus::kPossiblySent, now),
                    OutcomeEvent(r, false, r.last_error, now)};
          o.count = Outcome::Count::kPossiblySent;
          outcomes.push_back(std::move(o));
          continue;
        }
        // Resent with the same idempotency key; the platform drops it if it got it before.
        spdlog::info(
            "delivery: action {} was being sent at the crash; resending it ({} "
            "deduplicates)",
            r.id, r.action.platform);
        r.status = ActionStatus::kPending;
      } else if (r.status != ActionStatus::kPending) {
        continue;
      }
      Item& item = items_[r.id];
      item.record = std::move(r);
      item.chat = &ChatOf(item.record.action);
      Push(item);
    }
    UpdateQueuedMetric();
  }
  if (outcomes.empty()) return Status::Ok();
  // Open fails when these cannot be recorded: nothing else depends on them yet.
  auto missing = Record(outcomes, {});
  if (!missing.ok()) return missing.status();
  std::lock_guard run_lock(run_mu_);
  Apply(outcomes, *missing);  // counts them; none is in memory
  return Status::Ok();
}

Result<std::vector<int64_t>> DeliveryImpl::Record(const std::vector<Outcome>& outcomes,
                                                  std::vector<OutboxUpdate> marks) {
  IngestBatch batch;
  std::vector<const Event*> reported;  // batch.events[i] is a copy of *reported[i]
  batch.outbox_updates.reserve(outcomes.size() + marks.size());
  for (const Outcome& o : outcomes) {
    batch.outbox_updates.push_back(o.update);
    if (!o.event) continue;
    batch.indexes.push_back(batch.events.size());
    batch.json.push_back(EventToJson(*o.event));
    batch.events.push_back(*o.event);  // copied: the outcome keeps it for a retry
    reported.push_back(&*o.event);
  }
  batch.outbox_updates.insert(batch.outbox_updates.end(), std::make_move_iterator(marks.begin()),
                              std::make_move_iterator(marks.end()));
  if (batch.outbox_updates.empty()) return std::vector<int64_t>{};
  IngestResult r = ingest_.SubmitAndWait(std::move(batch));
  if (!r.status.ok()) return r.status;
  for (const ItemError& e : r.rejected) {
    // Retrying cannot help: the event itself is invalid. The outbox row has the outcome.
    spdlog::error("delivery: outcome event {} was rejected: {}", reported[e.index]->id,
                  e.error.ToString());
  }
  for (int64_t id : r.missing_actions) {
    spdlog::error("delivery: action {} is not in the outbox; dropped", id);
  }
  return std::move(r.missing_actions);
}

// The run goes batch by batch: one ingest transaction records the outcomes of the previous
// batch (rows and events together) and the "sending" marks of the next, which is then performed.
// A mark is durable before its attempt starts, so a crash mid-attempt is known at the restart.
Delivery::RunResult DeliveryImpl::RunDue() {
  std::lock_guard run_lock(run_mu_);
  RunResult result;
  const TimeMs now = clock_.Now();  // fixed for the run: retried actions lie after it
  bool failed = false;
  std::vector<Outcome> decided;  // performed; not recorded yet
  decided.swap(unrecorded_);
  while (true) {
    std::vector<Taken> batch = failed ? std::vector<Taken>{} : TakeDue(now);
    if (batch.empty() && decided.empty()) break;
    // What is due is decided at `now`; times written are the clock's as the run goes on (a
    // retry waits its back-off from when the attempt failed).
    const TimeMs at = clock_.Now();
    std::vector<OutboxUpdate> marks;
    marks.reserve(batch.size());
    for (Taken& t : batch) {
      if (!t.refused.empty()) continue;  // not attempted: no mark
      ++t.record.attempts;
      marks.push_back(UpdateOf(t.record, ActionStatus::kSending, at));
    }
    auto missing = Record(decided, std::move(marks));
    if (!missing.ok()) {
      spdlog::warn(
          "delivery: recording failed ({} outcomes kept, {} actions not attempted), will retry: "
          "{}",
          decided.size(), batch.size(), missing.status().ToString());
      unrecorded_ = std::move(decided);
      Release(batch);  // as they were: the records in memory were not changed
      failed = true;
      break;
    }
    Apply(decided, *missing);
    decided.clear();
    DropMissing(batch, *missing, at);
    Perform(batch);
    const TimeMs done_at = clock_.Now();
    for (Taken& t : batch) {
      if (t.refused.empty()) ++result.attempted;
      decided.push_back(Decide(t, done_at));
    }
  }
  std::lock_guard lock(mu_);
  if (chat_count_ > kChatSweepSlack && chat_count_ > 2 * items_.size()) SweepChats(now);
  last_run_failed_ = failed || !unrecorded_.empty();
  result.next_due = NextDue();
  if (!unrecorded_.empty()) {
    // Outcomes wait for an ingest to be retried: come back for them.
    const TimeMs retry = clock_.Now() + std::chrono::milliseconds(kRetryDelay).count();
    result.next_due = result.next_due == 0 ? retry : std::min(result.next_due, retry);
  }
  return result;
}

void DeliveryImpl::DropMissing(std::vector<Taken>& batch, std::span<const int64_t> missing,
                               TimeMs now) {
  if (missing.empty()) return;
  std::lock_guard lock(mu_);
  std::erase_if(batch, [&](const Taken& t) {
    if (std::find(missing.begin(), missing.end(), t.record.id) == missing.end()) return false;
    auto it = items_.find(t.record.id);
    Chat& chat = *it->second.chat;
    items_.erase(it);
    --chat.in_flight;
    MaybeDropChat(chat, now);
    return true;
  });
  UpdateQueuedMetric();
}

void DeliveryImpl::Perform(std::vector<Taken>& batch) {
  pool_.Run(batch.size(), [&](size_t i) {
    Taken& t = batch[i];
    if (!t.refused.empty()) return;
    try {
      t.result = t.adapter->Perform(t.record);
    } catch (const std::exception& e) {
      t.result = PerformResult{
          PerformResult::Kind::kRetry, 0, fmt::format("the adapter threw: {}", e.what()), {}};
    } catch (...) {
      t.result = PerformResult{PerformResult::Kind::kRetry, 0, "the adapter threw", {}};
    }
  });
}

Outcome DeliveryImpl::Decide(Taken& t, TimeMs now) {
  OutboxRecord& r = t.record;
  Outcome o;
  auto fail = [&](std::string error) {
    r.last_error = std::move(error);
    o.update = UpdateOf(r, ActionStatus::kFailed, now);
    o.event = OutcomeEvent(r, false, r.last_error, now);
    o.count = Outcome::Count::kFailed;
    spdlog::warn("delivery: action {} ({} on {}) failed: {}", r.id, ActionTypeName(r.action.type),
                 r.action.platform, r.last_error);
    return o;
  };
  if (!t.refused.empty()) return fail(t.refused);
  const PerformResult& p = t.result;
  switch (p.kind) {
    case PerformResult::Kind::kDone:
      o.reached = Outcome::Reached::kUp;
      r.platform_ref = p.platform_ref;
      r.last_error.clear();
      o.update = UpdateOf(r, ActionStatus::kDone, now);
      o.event = OutcomeEvent(r, true, {}, now);
      o.count = Outcome::Count::kDone;
      return o;
    case PerformResult::Kind::kFailed:
      o.reached = Outcome::Reached::kUp;  // it answered
      return fail(p.error.empty() ? std::string("refused by the platform") : p.error);
    case PerformResult::Kind::kUnknown:
      if (RepeatIsHarmless(r.action.type) || t.adapter->capabilities().dedupes_sends) break;
      r.last_error = "possibly sent: " + (p.error.empty() ? std::string("no answer") : p.error);
      spdlog::warn("delivery: action {} ({} on {}) possibly sent; not resent: {}", r.id,
                   ActionTypeName(r.action.type), r.action.platform, r.last_error);
      o.update = UpdateOf(r, ActionStatus::kPossiblySent, now);
      o.event = OutcomeEvent(r, false, r.last_error, now);
      o.count = Outcome::Count::kPossiblySent;
      return o;
    case PerformResult::Kind::kRetry:
      break;
  }
  o.reached = Outcome::Reached::kTransient;
  const std::string error = p.error.empty() ? std::string("transient failure") : p.error;
  if (options_.max_age_ms > 0 && r.created_at > 0 && now - r.created_at >= options_.max_age_ms) {
    return fail(fmt::format("gave up after {} s undelivered: {}", (now - r.created_at) / 1000, error));
  }
  if (t.probe) {
    --r.attempts;  // a probe of a platform that is down: its failure uses no attempt
  } else if (r.attempts >= options_.max_attempts) {
    return fail(fmt::format("gave up after {} attempts: {}", r.attempts, error));
  }
  r.last_error = error;
  r.next_attempt_at = now + BackoffDelay(options_, r.id, r.attempts, p.retry_after_ms);
  o.update = UpdateOf(r, ActionStatus::kPending, now);
  o.count = Outcome::Count::kRetry;
  if (p.retry_after_ms > 0) o.block_chat_until = now + p.retry_after_ms;
  return o;
}

void DeliveryImpl::NoteReached(PlatformQueue& p, int64_t action, Outcome::Reached reached, TimeMs retry_until,
                               TimeMs now) {
  if (options_.outage_failures <= 0) return;
  if (reached == Outcome::Reached::kTransient) {
    if (p.down) {
      p.probe_at = std::max(p.probe_at, retry_until);
      return;
    }
    if (p.failure_streak == 0) {
      p.streak_action = action;
      p.streak_of_several = false;
    } else if (action != p.streak_action) {
      p.streak_of_several = true;
    }
    if (++p.failure_streak < options_.outage_failures || !p.streak_of_several) return;
    p.down = true;
    p.probe_at = std::max(now + options_.probe_interval_ms, retry_until);
    metrics_.outages.fetch_add(1, std::memory_order_relaxed);
    metrics_.platforms_down.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("delivery: platform {} looks down ({} transient failures in a row); its actions wait, and one "
                 "is tried every {} ms without using an attempt",
                 p.name, p.failure_streak, options_.probe_interval_ms);
    return;
  }
  p.failure_streak = 0;
  if (!p.down) return;
  // Back: every waiting action of the platform is due now, whatever its back-off said.
  p.down = false;
  metrics_.platforms_down.fetch_sub(1, std::memory_order_relaxed);
  size_t resumed = 0;
  for (auto& [key, chat] : p.chats) {
    chat.blocked_until = 0;
    std::set<std::pair<TimeMs, int64_t>> queue;
    for (const auto& [due, id] : chat.queue) {
      Item& item = items_.at(id);
      item.record.next_attempt_at = std::min(item.record.next_attempt_at, now);
      queue.emplace(item.record.next_attempt_at, id);
      ++resumed;
    }
    chat.queue = std::move(queue);
    Ready(chat);
  }
  spdlog::info("delivery: platform {} answers again; {} waiting actions resume", p.name, resumed);
}

void DeliveryImpl::Apply(std::vector<Outcome>& outcomes, std::span<const int64_t> missing) {
  const TimeMs now = clock_.Now();
  std::lock_guard lock(mu_);
  for (Outcome& o : outcomes) {
    const bool was_missing =
        std::find(missing.begin(), missing.end(), o.update.id) != missing.end();
    auto it = items_.find(o.update.id);
    if (it != items_.end() && it->second.in_flight) {
      Item& item = it->second;
      Chat& chat = *item.chat;
      item.in_flight = false;
      --chat.in_flight;
      if (o.reached != Outcome::Reached::kUnknown && !was_missing) {
        NoteReached(*chat.platform, o.update.id, o.reached, o.block_chat_until, now);
      }
      if (o.block_chat_until > 0) {
        chat.blocked_until = std::max(chat.blocked_until, o.block_chat_until);
      }
      if (o.update.status == ActionStatus::kPending && !was_missing) {
        OutboxRecord& r = item.record;
        r.status = ActionStatus::kPending;
        r.attempts = o.update.attempts;
        r.next_attempt_at = o.update.next_attempt_at;
        r.last_error = o.update.last_error;
        r.updated_at = o.update.updated_at;
        Push(item);
      } else {
        items_.erase(it);
        Ready(chat);  // its ready time may depend on blocked_until
        MaybeDropChat(chat, now);
      }
    }
    if (was_missing) continue;
    switch (o.count) {
      case Outcome::Count::kDone:
        metrics_.done.fetch_add(1, std::memory_order_relaxed);
        break;
      case Outcome::Count::kFailed:
        metrics_.failed.fetch_add(1, std::memory_order_relaxed);
        break;
      case Outcome::Count::kRetry:
        metrics_.retries.fetch_add(1, std::memory_order_relaxed);
        break;
      case Outcome::Count::kPossiblySent:
        metrics_.possibly_sent.fetch_add(1, std::memory_order_relaxed);
        break;
      case Outcome::Count::kNone:
        break;
    }
  }
  UpdateQueuedMetric();
}

}  // namespace

Result<std::unique_ptr<Delivery>> Delivery::Open(OutboxStore& store, Ingest& ingest,
                                                 const Clock& clock, AdapterMap adapters,
                                                 DeliveryOptions options) {
  auto delivery =
      std::make_unique<DeliveryImpl>(store, ingest, clock, std::move(adapters), std::move(options));
  QZ_RETURN_IF_ERROR(delivery->Load());
  return std::unique_ptr<Delivery>(std::move(delivery));
}

}  // namespace qz
