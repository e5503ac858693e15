#include "engine/scheduler.hpp"

#include "engine/due_loop.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/time.hpp"
#include "engine/ingest.hpp"
#include "engine/recurrence.hpp"
#include "model/event.hpp"
#include "store/timer_store.hpp"

namespace qz {
namespace {

// Timer events per ingest batch: bounded so a burst of due timers (a restart after downtime,
// a million timers at 09:00) neither overflows the ingest queue nor holds one huge batch.
constexpr size_t kMaxFiringsPerBatch = 4096;
// Open logs this many skipped timers one by one, then only a summary.
constexpr int kSkipLogLimit = 20;

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();
// A slot keeps due times in 62 bits: about ±73 million years around 1970.
constexpr TimeMs kMaxDue = (TimeMs{1} << 61) - 1;
// Parsed schedules kept for reuse; beyond this many distinct ones the cache starts over.
constexpr size_t kMaxCachedSchedules = 1024;

// A parsed (rule, time zone) pair. Immutable, shared by every timer with that pair.
struct Schedule {
  std::optional<Recurrence> recurrence;   // set for a recurring rule; unset: one-shot
  const date::time_zone* zone = nullptr;  // for the event's UTC offset; null: unknown (offset 0)
};
using SchedulePtr = std::shared_ptr<const Schedule>;

// Parses each distinct (rule, time zone) once while it stays in use. The index does not refer
// to entries (a firing reads its timer's rule from the store and looks it up again), so a set
// with more distinct rules than the cache holds only costs re-parsing. Thread-safe.
class ScheduleCache {
 public:
  Result<SchedulePtr> Get(const std::string& rule, const std::string& time_zone) {
    std::string name = rule + '\n' + time_zone;
    std::lock_guard lock(mu_);
    if (auto it = map_.find(name); it != map_.end()) return it->second;
    auto schedule = std::make_shared<Schedule>();
    if (!rule.empty()) {
      auto recurrence = Recurrence::Parse(rule, time_zone);
      if (!recurrence.ok()) return recurrence.status();
      schedule->recurrence = std::move(*recurrence);
    }
    try {
      schedule->zone = date::locate_zone(time_zone);
    } catch (const std::exception&) {
      schedule->zone = nullptr;  // a one-shot timer still fires; its event says +00:00
    }
    if (map_.size() >= kMaxCachedSchedules) map_.clear();
    map_.emplace(std::move(name), schedule);
    return SchedulePtr(std::move(schedule));
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, SchedulePtr> map_;  // by rule + '\n' + time zone
};

// One pending timer: 16 bytes. Everything else about it stays in the store until it fires.
struct Slot {
  int64_t id = 0;
  TimeMs due : 63 = 0;      // 0: the slot is free
  uint64_t firing : 1 = 0;  // taken by RunDue; its outcome is not applied yet
};
static_assert(sizeof(Slot) == 16);

// 12 bytes: a million pending timers need 12 MB of heap, not 16.
#pragma pack(push, 4)
struct HeapItem {
  TimeMs due;
  uint32_t slot;
};
#pragma pack(pop)
static_assert(sizeof(HeapItem) == 12);
// std::push_heap builds a max-heap; this ordering puts the earliest due on top.
bool Later(const HeapItem& a, const HeapItem& b) {
  return a.due != b.due ? a.due > b.due : a.slot > b.slot;
}

// A due timer taken out of the index.
struct Firing {
  int64_t id = 0;
  TimeMs due = 0;
  uint32_t slot = 0;  // where the timer was; still it if the slot's id and due are unchanged
};

uint64_t Mix(int64_t id) {  // splitmix64's finaliser: ids are sequential, the table wants noise
  auto x = static_cast<uint64_t>(id);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int16_t OffsetMinutes(const date::time_zone* zone, TimeMs t) {
  if (zone == nullptr) return 0;
  try {
    const auto s = date::floor<std::chrono::seconds>(
        date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds{t}});
    return static_cast<int16_t>(zone->get_info(s).offset.count() / 60);
  } catch (const std::exception&) {
    return 0;
  }
}

// The next due time of a timer that fired at `due`, or 0 when it is finished. A recurring
// timer that is still behind `now` after one step (an "every 1m" after a long pause) jumps to
// its first occurrence after now: missed occurrences are not fired one by one.
TimeMs NextDue(const Schedule& schedule, TimeMs due, TimeMs now) {
  if (!schedule.recurrence) return 0;
  TimeMs next = schedule.recurrence->NextAfter(due);
  if (next != 0 && next <= now) next = schedule.recurrence->NextAfter(now);
  return next;
}

}  // namespace

std::string TimerEventId(int64_t id, TimeMs due, int64_t version) {
  return version <= 1 ? fmt::format("timer:{}:{}", id, due) : fmt::format("timer:{}:{}:v{}", id, due, version);
}

std::optional<TimerEventRef> ParseTimerEventId(std::string_view event_id) {
  if (!event_id.starts_with("timer:")) return std::nullopt;
  std::string_view rest = event_id.substr(6);
  TimerEventRef ref;
  auto number = [&](int64_t& out) {
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), out);
    if (ec != std::errc()) return false;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    return true;
  };
  int64_t due = 0;
  if (!number(ref.id) || !rest.starts_with(':')) return std::nullopt;
  rest.remove_prefix(1);
  if (!number(due)) return std::nullopt;
  if (rest.empty()) return ref;
  if (!rest.starts_with(":v")) return std::nullopt;
  rest.remove_prefix(2);
  if (!number(ref.version) || !rest.empty() || ref.version < 1) return std::nullopt;
  return ref;
}

namespace {

// Threads: Add from any thread; RunDue from one caller at a time (run_mu_ serialises the
// background thread and direct callers); the background thread runs Loop between Start and
// Stop. mu_ guards the index and is never held across a store or ingest call.
class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(TimerStore& store, Ingest& ingest, const Clock& clock, SchedulerOptions options)
      : store_(store),
        ingest_(ingest),
        clock_(clock),
        options_(options),
        loop_(clock, [this] {
          RunDue();
          std::lock_guard lock(mu_);
          const TimeMs next = EarliestDue();
          // Retry after a delay only while due timers were left undone by a failed run.
          return DueLoop::Next{next, next != 0 && next <= clock_.Now() && last_run_failed_};
        }) {}
  ~SchedulerImpl() override { Stop(); }

  Status Load();

  void Add(std::span<const TimerRecord> timers) override;
  RunResult RunDue() override;
  void Start() override { loop_.Start(); }
  void Stop() override { loop_.Stop(); }
  const SchedulerMetrics& metrics() const override { return metrics_; }

 private:
  // The index; all with mu_ held.
  uint32_t Find(int64_t id) const;
  void IndexInsert(uint32_t slot);
  void IndexErase(int64_t id);
  void IndexGrow();
  // Makes timer `id` pending at `due` (inserted, moved, or left as it is when already there).
  void Put(int64_t id, TimeMs due);
  void Remove(int64_t id);
  void Push(TimeMs due, uint32_t slot);
  // A heap item that no longer stands for a pending timer (its slot moved on, was freed or
  // reused, or is being fired).
  bool IsTaken(const HeapItem& item) const;
  // Whether the timer taken for `f` is still pending as it was taken (Add did not replace or
  // remove it meanwhile). Then slots_[f.slot] is it.
  bool Ours(const Firing& f) const;
  TimeMs EarliestDue();  // 0: none
  std::vector<Firing> TakeDue(TimeMs now, size_t max);
  // Puts firings whose outcome was not applied back into the heap (if Add did not replace them).
  void Release(std::span<const Firing> firings);
  // Takes firings of timers the store no longer has pending out of the index.
  void Drop(std::span<const Firing> firings);

  // Without mu_. Whether `timer` can be scheduled: a due time a slot can hold and a rule that
  // parses; also the parsed schedule.
  Result<SchedulePtr> Check(const TimerRecord& timer);
  // Without mu_: reads the batch's timers from the store, ingests the events of those still
  // pending and applies each outcome. False: nothing was ingested (the batch is left taken, for
  // Release).
  bool Fire(std::span<const Firing> batch, TimeMs now, RunResult& result,
            std::vector<Firing>& retry);
  // Advances (or finishes) the durably fired timers batch[fired[k]] in the store, all in one
  // commit, then in memory; each only if its content is still the version that fired
  // (versions[i]). One replaced meanwhile at the same due fires again, with its new content.
  // done[k] false: the store write failed; that firing stays taken, for Release.
  std::vector<bool> Complete(std::span<const Firing> batch, std::span<const size_t> fired,
                             std::span<const SchedulePtr> schedules,
                             std::span<const int64_t> versions, TimeMs now);

  TimerStore& store_;
  Ingest& ingest_;
  const Clock& clock_;
  const SchedulerOptions options_;
  SchedulerMetrics metrics_;
  ScheduleCache schedules_;  // thread-safe on its own

  std::mutex run_mu_;  // one RunDue at a time

  std::mutex mu_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t live_ = 0;
  // Open addressing (linear probing, backward-shift deletion) from id to slot; a power of two
  // in size, at most 3/4 full. 4 bytes an entry: the id itself is read from the slot.
  std::vector<uint32_t> table_;
  std::vector<HeapItem> heap_;  // lazy deletion: items whose slot changed are skipped

  bool last_run_failed_ = false;  // due timers were left for a retry

  // The background thread (Start/Stop); declared last so it stops before the rest goes.
  DueLoop loop_;
};

uint32_t SchedulerImpl::Find(int64_t id) const {
  if (table_.empty()) return kNoSlot;
  const size_t mask = table_.size() - 1;
  for (size_t i = Mix(id) & mask;; i = (i + 1) & mask) {
    const uint32_t s = table_[i];
    if (s == kNoSlot) return kNoSlot;
    if (slots_[s].id == id) return s;
  }
}

void SchedulerImpl::IndexInsert(uint32_t slot) {
  if ((live_ + 1) * 4 > table_.size() * 3) IndexGrow();
  const size_t mask = table_.size() - 1;
  size_t i = Mix(slots_[slot].id) & mask;
  while (table_[i] != kNoSlot) i = (i + 1) & mask;
  table_[i] = slot;
}

void SchedulerImpl::IndexErase(int64_t id) {
  const size_t mask = table_.size() - 1;
  size_t i = Mix(id) & mask;
  while (slots_[table_[i]].id != id) i = (i + 1) & mask;  // present: the caller found it
  // Backward shift: move later entries of the probe run into the hole when their home allows.
  for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
    const uint32_t s = table_[j];
    if (s == kNoSlot) break;
    const size_t home = Mix(slots_[s].id) & mask;
    // The entry at j may fill the hole at i unless its home lies cyclically in (i, j].
    const bool home_after_hole = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!home_after_hole) {
      table_[i] = s;
      i = j;
    }
  }
  table_[i] = kNoSlot;
}

void SchedulerImpl::IndexGrow() {
  std::vector<uint32_t> old = std::move(table_);
  table_.assign(std::max<size_t>(16, old.size() * 2), kNoSlot);
  const size_t mask = table_.size() - 1;
  for (uint32_t s : old) {
    if (s == kNoSlot) continue;
    size_t i = Mix(slots_[s].id) & mask;
    while (table_[i] != kNoSlot) i = (i + 1) & mask;
    table_[i] = s;
  }
}

void SchedulerImpl::Push(TimeMs due, uint32_t slot) {
  heap_.push_back({due, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later);
  // Replaced timers leave stale items behind; rebuild before they outnumber the live ones.
  if (heap_.size() > 2 * live_ + 1024) {
    heap_.clear();
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].due != 0 && !slots_[i].firing) {
        heap_.push_back({slots_[i].due, static_cast<uint32_t>(i)});
      }
    }
    std::make_heap(heap_.begin(), heap_.end(), Later);
  }
}

Result<SchedulePtr> SchedulerImpl::Check(const TimerRecord& timer) {
  if (timer.due < -kMaxDue || timer.due > kMaxDue) {
    return Status::Invalid(fmt::format("due time {} is out of range", timer.due), "due");
  }
  return schedules_.Get(timer.rule, timer.time_zone);
}

void SchedulerImpl::Put(int64_t id, TimeMs due) {
  uint32_t s = Find(id);
  if (s == kNoSlot) {
    if (free_slots_.empty()) {
      s = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      s = free_slots_.back();
      free_slots_.pop_back();
    }
    Slot& slot = slots_[s];
    slot.id = id;
    slot.due = due;
    slot.firing = 0;
    IndexInsert(s);
    ++live_;
    metrics_.pending.store(static_cast<int64_t>(live_), std::memory_order_relaxed);
    Push(due, s);
    return;
  }
  Slot& slot = slots_[s];
  if (slot.due == due) {
    // Same occurrence: its heap item still stands. If it is being fired right now, the firing
    // carries on; its compare-and-set then finds a newer version and fires this one (Complete).
    return;
  }
  slot.due = due;
  slot.firing = 0;  // a firing under way now finds the timer replaced and leaves it alone
  Push(due, s);
}

void SchedulerImpl::Remove(int64_t id) {
  const uint32_t s = Find(id);
  if (s == kNoSlot) return;
  IndexErase(id);
  slots_[s] = Slot{};
  free_slots_.push_back(s);
  --live_;
  metrics_.pending.store(static_cast<int64_t>(live_), std::memory_order_relaxed);
}

bool SchedulerImpl::IsTaken(const HeapItem& item) const {
  const Slot& slot = slots_[item.slot];
  return slot.due != item.due || slot.firing;  // a free slot has due 0, never an item's
}

bool SchedulerImpl::Ours(const Firing& f) const {
  const Slot& slot = slots_[f.slot];
  return slot.id == f.id && slot.due == f.due && slot.firing;
}

TimeMs SchedulerImpl::EarliestDue() {
  while (!heap_.empty() && IsTaken(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
  }
  return heap_.empty() ? 0 : heap_.front().due;
}

std::vector<Firing> SchedulerImpl::TakeDue(TimeMs now, size_t max) {
  std::vector<Firing> out;
  std::lock_guard lock(mu_);
  while (out.size() < max && !heap_.empty() && heap_.front().due <= now) {
    const HeapItem item = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), Later);
    heap_.pop_back();
    if (IsTaken(item)) continue;
    Slot& slot = slots_[item.slot];
    slot.firing = 1;
    out.push_back(Firing{slot.id, item.due, item.slot});
  }
  return out;
}

void SchedulerImpl::Release(std::span<const Firing> firings) {
  std::lock_guard lock(mu_);
  for (const Firing& f : firings) {
    if (!Ours(f)) continue;
    slots_[f.slot].firing = 0;
    Push(f.due, f.slot);
  }
}

void SchedulerImpl::Drop(std::span<const Firing> firings) {
  if (firings.empty()) return;
  std::lock_guard lock(mu_);
  for (const Firing& f : firings) {
    if (Ours(f)) Remove(f.id);  // else Add brought something newer meanwhile: it stands
  }
}

void SchedulerImpl::Add(std::span<const TimerRecord> timers) {
  // Rules are parsed before taking mu_, so RunDue is not held up by them.
  std::vector<bool> valid(timers.size(), true);
  for (size_t i = 0; i < timers.size(); ++i) {
    const TimerRecord& t = timers[i];
    if (t.due == 0) continue;
    if (auto checked = Check(t); !checked.ok()) {
      valid[i] = false;
      spdlog::error("scheduler: timer {} ({}/{}) not scheduled: {}", t.id, t.community, t.key,
                    checked.status().ToString());
    }
  }
  std::lock_guard lock(mu_);
  TimeMs earliest = kNever;
  for (size_t i = 0; i < timers.size(); ++i) {
    const TimerRecord& t = timers[i];
    if (t.due == 0 || !valid[i]) {
      // Finished or cancelled; or replaced by something this build cannot schedule.
      Remove(t.id);
      continue;
    }
    Put(t.id, t.due);
    earliest = std::min(earliest, t.due);
  }
  if (earliest != kNever) loop_.Wake(earliest);
}

Status SchedulerImpl::Load() {
  const TimeMs now = clock_.Now();
  const TimeMs cutoff = now - options_.catch_up_window_ms;
  const int page_size = std::max(1, options_.load_page_size);
  int64_t skipped = 0;
  std::optional<TimerDue> after;
  std::vector<std::pair<int64_t, TimeMs>> pending;  // one page's (id, due) to index
  std::vector<int64_t> missed;
  while (true) {
    // Ids and dues only, a page at a time in due order: the index needs nothing else, and a
    // timer's rule and payload are read when it fires. A rule this build cannot read is found
    // then (logged, not fired, left in the store).
    auto page = store_.ScanTimerDues(after, page_size);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back();
    pending.clear();
    missed.clear();
    for (const TimerDue& t : *page) {
      if (t.due < -kMaxDue || t.due > kMaxDue) {
        spdlog::error("scheduler: timer {} not loaded: due time {} is out of range", t.id, t.due);
      } else if (t.due < cutoff) {
        missed.push_back(t.id);  // in due order, these come first
      } else {
        pending.emplace_back(t.id, t.due);
      }
    }
    if (!missed.empty()) {
      // Missed by more than the catch-up window: not fired; a recurring timer moves on to its
      // first occurrence after now (its rule decides), a one-shot timer is finished. A timer
      // moved on is indexed here; should the scan meet it again at its new due, Put is a no-op.
      auto records = store_.GetTimers(missed);
      if (!records.ok()) return records.status();
      for (const TimerRecord& t : *records) {
        if (t.due == 0) continue;  // finished meanwhile
        if (t.due >= cutoff) {
          pending.emplace_back(t.id, t.due);  // replaced meanwhile: indexed at its new due
          continue;
        }
        auto schedule = Check(t);
        if (!schedule.ok()) {
          // Left as it is in the store: a rule this build cannot read is not a reason to drop it.
          spdlog::error("scheduler: timer {} ({}/{}) not loaded: {}", t.id, t.community, t.key,
                        schedule.status().ToString());
          continue;
        }
        const Schedule& sched = **schedule;
        const TimeMs next = sched.recurrence ? sched.recurrence->NextAfter(now) : 0;
        auto applied = store_.UpdateTimerDue(t.id, t.due, next);
        if (!applied.ok()) return applied.status();
        if (!*applied) continue;  // changed meanwhile; its writer hands the new one to Add
        ++skipped;
        if (skipped <= kSkipLogLimit) {
          spdlog::info(
              "scheduler: timer {} ({}/{}) was due at {}, beyond the catch-up window; "
              "skipped to {}",
              t.id, t.community, t.key, FormatRfc3339(t.due),
              next == 0 ? std::string("finished") : FormatRfc3339(next));
        }
        if (next != 0) pending.emplace_back(t.id, next);
      }
    }
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, due] : pending) Put(id, due);
    }
    if (page->size() < static_cast<size_t>(page_size)) break;
  }
  metrics_.skipped.fetch_add(skipped, std::memory_order_relaxed);
  if (skipped > kSkipLogLimit) {
    spdlog::info("scheduler: {} timers in all were skipped (due before {})", skipped,
                 FormatRfc3339(cutoff));
  }
  std::lock_guard lock(mu_);
  spdlog::info("scheduler: {} pending timers", live_);
#if defined(__GLIBC__)
  malloc_trim(0);  // the pages were many small blocks; give their memory back
#endif
  return Status::Ok();
}

Scheduler::RunResult SchedulerImpl::RunDue() {
  std::lock_guard run_lock(run_mu_);
  RunResult result;
  const TimeMs now = clock_.Now();  // fixed for the run: advanced timers lie after it
  std::vector<Firing> retry;        // taken but not done; released when the run ends
  bool failed = false;
  while (true) {
    std::vector<Firing> batch = TakeDue(now, kMaxFiringsPerBatch);
    if (batch.empty()) break;
    if (!Fire(batch, now, result, retry)) {
      Release(batch);
      failed = true;
      break;
    }
  }
  Release(retry);
  std::lock_guard lock(mu_);
  last_run_failed_ = failed || !retry.empty();
  result.next_due = EarliestDue();
  return result;
}

bool SchedulerImpl::Fire(std::span<const Firing> batch, TimeMs now, RunResult& result,
                         std::vector<Firing>& retry) {
  // What the events need, for the whole batch in one read.
  std::vector<int64_t> ids;
  ids.reserve(batch.size());
  for (const Firing& f : batch) ids.push_back(f.id);
  auto records = store_.GetTimers(ids);
  if (!records.ok()) {
    spdlog::warn("scheduler: {} due timers not fired (their timers could not be read), will "
                 "retry: {}",
                 batch.size(), records.status().ToString());
    return false;
  }
  std::vector<SchedulePtr> schedules(batch.size());  // set for the timers that fire
  std::vector<int64_t> versions(batch.size(), 0);     // the content versions that fire
  std::vector<size_t> firing;                         // their indexes in `batch`
  std::vector<Firing> gone;
  IngestBatch ib;
  ib.events.reserve(batch.size());
  ib.json.reserve(batch.size());
  ib.indexes.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Firing& f = batch[i];
    // GetTimers answers in id order.
    auto it = std::lower_bound(records->begin(), records->end(), f.id,
                               [](const TimerRecord& t, int64_t id) { return t.id < id; });
    if (it == records->end() || it->id != f.id || it->due == 0) {
      // Finished or cancelled since it was indexed (or never committed): nothing to fire.
      gone.push_back(f);
      continue;
    }
    const TimerRecord& t = *it;
    auto schedule = schedules_.Get(t.rule, t.time_zone);
    if (!schedule.ok()) {
      // Replaced by a rule this build cannot read; its Add will say so too. Left in the store.
      spdlog::error("scheduler: timer {} ({}/{}) not fired: {}", t.id, t.community, t.key,
                    schedule.status().ToString());
      gone.push_back(f);
      continue;
    }
    schedules[i] = std::move(*schedule);
    versions[i] = t.version;
    Event e;
    // The id makes a repeated firing of this occurrence and content a duplicate in the log.
    e.id = TimerEventId(f.id, f.due, t.version);
    e.type = EventType::kTimer;
    e.time = f.due;
    e.time_offset = OffsetMinutes(schedules[i]->zone, f.due);
    e.platform = "qunzhu";
    // Copied, not moved: a batch can hold two firings of one timer (Add moved it to an earlier
    // due while the first was being taken).
    e.community = t.community;
    e.timer = t.key;
    e.payload = t.payload;
    ib.json.push_back(EventToJson(e));
    ib.events.push_back(std::move(e));
    ib.indexes.push_back(i);
    firing.push_back(i);
  }
  records->clear();
  Drop(gone);
  if (firing.empty()) return true;
  IngestResult r = ingest_.SubmitAndWait(std::move(ib));
  if (!r.status.ok()) {
    spdlog::warn("scheduler: {} due timers not fired, will retry: {}", firing.size(),
                 r.status.ToString());
    return false;
  }
  std::vector<bool> rejected(batch.size(), false);
  for (const ItemError& item : r.rejected) {
    const Firing& f = batch[item.index];
    rejected[item.index] = true;
    if (item.error.field() == "timer") {
      // Stale: the writer logged a replacement first; the compare-and-set below fails on the
      // version and the new content fires instead.
      spdlog::info("scheduler: {}", item.error.message());
      continue;
    }
    // Retrying cannot help (the event itself is invalid): the timer moves on regardless.
    spdlog::error("scheduler: timer {} due at {}: its event was rejected: {}", f.id,
                  FormatRfc3339(f.due), item.error.ToString());
  }
  int64_t fired = 0;
  const std::vector<bool> done = Complete(batch, firing, schedules, versions, now);
  for (size_t k = 0; k < firing.size(); ++k) {
    const size_t i = firing[k];
    if (!done[k]) {
      retry.push_back(batch[i]);
      continue;
    }
    if (!rejected[i]) ++fired;
  }
  result.fired += fired;
  metrics_.fired.fetch_add(fired, std::memory_order_relaxed);
  return true;
}

std::vector<bool> SchedulerImpl::Complete(std::span<const Firing> batch, std::span<const size_t> fired,
                                          std::span<const SchedulePtr> schedules,
                                          std::span<const int64_t> versions, TimeMs now) {
  std::vector<TimerStore::DueChange> changes;
  changes.reserve(fired.size());
  for (size_t i : fired) {
    changes.push_back(
        {batch[i].id, batch[i].due, NextDue(*schedules[i], batch[i].due, now), versions[i]});
  }
  std::vector<bool> applied;
  const Status written = store_.UpdateTimerDues(changes, applied);
  // Where the set did not apply, a replacement was committed meanwhile; what the store holds
  // now decides (one read, only for those):
  //  - the fired due with a newer content: replaced at the same due while firing; it fires
  //    again (a new event id, since the version differs) with the new content;
  //  - `next`: an earlier firing of this occurrence advanced it and a stale Add brought the old
  //    due back; the timer stays at next;
  //  - anything else: the replacement reaches the index through Add.
  enum class After : uint8_t { kAdvance, kRefire, kKeepNext, kRemove };
  std::vector<After> after(changes.size(), After::kAdvance);
  if (written.ok()) {
    std::vector<int64_t> ids;
    for (size_t k = 0; k < changes.size(); ++k) {
      if (!applied[k]) ids.push_back(changes[k].id);
    }
    if (!ids.empty()) {
      auto records = store_.GetTimers(ids);
      if (!records.ok()) {
        spdlog::warn("scheduler: {} replaced timers could not be read, will fire them again: {}",
                     ids.size(), records.status().ToString());
      }
      for (size_t k = 0; k < changes.size(); ++k) {
        if (applied[k]) continue;
        if (!records.ok()) {
          // Fired again later: a duplicate if nothing changed, the new content if it did.
          after[k] = After::kRefire;
          continue;
        }
        auto it = std::lower_bound(records->begin(), records->end(), changes[k].id,
                                   [](const TimerRecord& t, int64_t id) { return t.id < id; });
        const bool found = it != records->end() && it->id == changes[k].id;
        if (found && it->due == changes[k].expected && it->version != changes[k].version) {
          after[k] = After::kRefire;
        } else if (found && changes[k].due != 0 && it->due == changes[k].due) {
          after[k] = After::kKeepNext;
        } else {
          after[k] = After::kRemove;
        }
      }
    }
  } else {
    spdlog::warn("scheduler: {} timers fired but their dues could not be advanced, will retry: {}",
                 changes.size(), written.ToString());
  }
  std::vector<bool> done(changes.size(), true);
  std::lock_guard lock(mu_);
  for (size_t k = 0; k < changes.size(); ++k) {
    const Firing& f = batch[fired[k]];
    if (!Ours(f)) continue;  // replaced or removed by Add meanwhile: the new state stands
    if (!written.ok()) {
      done[k] = false;
      continue;
    }
    Slot& slot = slots_[f.slot];
    if (after[k] == After::kRefire) {
      slot.firing = 0;
      Push(f.due, f.slot);
      continue;
    }
    const TimeMs next = changes[k].due;
    if (after[k] == After::kRemove || next == 0) {
      Remove(f.id);
      continue;
    }
    slot.due = next;
    slot.firing = 0;
    Push(next, f.slot);
  }
  return done;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Open(TimerStore& store, Ingest& ingest,
                                                   const Clock& clock, SchedulerOptions options) {
  auto scheduler = std::make_unique<SchedulerImpl>(store, ingest, clock, options);
  QZ_RETURN_IF_ERROR(scheduler->Load());
  return std::unique_ptr<Scheduler>(std::move(scheduler));
}

}  // namespace qz
