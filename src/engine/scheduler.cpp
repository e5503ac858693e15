#include "engine/scheduler.hpp"

#include "engine/due_loop.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/time.hpp"
#include "engine/ingest.hpp"
#include "engine/recurrence.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

// Timer events per ingest batch: bounded so a burst of due timers (a restart after downtime,
// a million timers at 09:00) neither overflows the ingest queue nor holds one huge batch.
constexpr size_t kMaxFiringsPerBatch = 4096;
// Open logs this many skipped timers one by one, then only a summary.
constexpr int kSkipLogLimit = 20;

constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
constexpr TimeMs kNever = std::numeric_limits<TimeMs>::max();

// The keys and payloads of all pending timers, packed back to back in 256 KiB chunks as
// [varint key size][varint payload size][key][payload] (a large text gets a chunk of its own).
// A timer holds one pointer (8 bytes) instead of two std::string (64 bytes) plus their heap
// blocks. Texts are immutable; a released one stays as garbage until the owner copies the live
// texts into a fresh arena (WantsCompaction), so memory stays within about twice the live bytes.
class TextArena {
 public:
  const char* Append(std::string_view key, std::string_view payload) {
    char header[20];
    char* h = PutVarint(PutVarint(header, key.size()), payload.size());
    const size_t size = static_cast<size_t>(h - header) + key.size() + payload.size();
    char* out = nullptr;
    if (size > kChunk / 4) {
      chunks_.push_back(std::make_unique_for_overwrite<char[]>(size));
      out = chunks_.back().get();
    } else {
      if (size > left_) {
        chunks_.push_back(std::make_unique_for_overwrite<char[]>(kChunk));
        cursor_ = chunks_.back().get();
        left_ = kChunk;
      }
      out = cursor_;
      cursor_ += size;
      left_ -= size;
    }
    std::memcpy(out, header, static_cast<size_t>(h - header));
    std::memcpy(out + (h - header), key.data(), key.size());
    std::memcpy(out + (h - header) + key.size(), payload.data(), payload.size());
    used_ += size;
    live_ += size;
    return out;
  }
  void Release(const char* text) { live_ -= Parse(text).size; }
  bool WantsCompaction() const { return used_ > 4 * kChunk && live_ * 2 < used_; }

  static std::string_view Key(const char* text) {
    const Parsed p = Parse(text);
    return {p.key, p.key_size};
  }
  static std::string_view Payload(const char* text) {
    const Parsed p = Parse(text);
    return {p.key + p.key_size, p.payload_size};
  }

 private:
  static constexpr size_t kChunk = 256 * 1024;
  struct Parsed {
    const char* key;
    size_t key_size;
    size_t payload_size;
    size_t size;  // the whole record
  };
  static char* PutVarint(char* out, size_t v) {
    while (v >= 0x80) {
      *out++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *out++ = static_cast<char>(v);
    return out;
  }
  static const char* GetVarint(const char* in, size_t& v) {
    v = 0;
    for (int shift = 0;; shift += 7) {
      const auto b = static_cast<unsigned char>(*in++);
      v |= static_cast<size_t>(b & 0x7f) << shift;
      if (b < 0x80) return in;
    }
  }
  static Parsed Parse(const char* text) {
    Parsed p{};
    const char* in = GetVarint(GetVarint(text, p.key_size), p.payload_size);
    p.key = in;
    p.size = static_cast<size_t>(in - text) + p.key_size + p.payload_size;
    return p;
  }

  std::vector<std::unique_ptr<char[]>> chunks_;
  char* cursor_ = nullptr;
  size_t left_ = 0;
  size_t used_ = 0;  // bytes of every text appended, live or released
  size_t live_ = 0;
};

// A distinct (rule, time zone) pair; many timers share one. Never removed, so pointers to it
// stay valid for the scheduler's life.
struct Schedule {
  std::string rule;  // empty: one-shot
  std::string time_zone;
  std::optional<Recurrence> recurrence;   // set for a recurring rule
  const date::time_zone* zone = nullptr;  // for the event's UTC offset; null: unknown (offset 0)
};

// One pending timer: 32 bytes, plus its text in the arena.
struct Slot {
  int64_t id = 0;
  TimeMs due = 0;               // 0: the slot is free
  const char* text = nullptr;   // key and payload, in arena_
  uint32_t schedule = 0;        // index into schedules_
  uint32_t community : 31 = 0;  // index into communities_
  uint32_t firing : 1 = 0;      // taken by RunDue; its outcome is not applied yet
};
static_assert(sizeof(Slot) == 32);

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

// A due timer taken out of the index, with copies of what its event needs.
struct Firing {
  int64_t id = 0;
  TimeMs due = 0;
  uint32_t slot = 0;  // where the timer was; still it if the slot's id and due are unchanged
  const Schedule* schedule = nullptr;
  std::string community;
  std::string key;
  std::string payload;
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

// Threads: Add from any thread; RunDue from one caller at a time (run_mu_ serialises the
// background thread and direct callers); the background thread runs Loop between Start and
// Stop. mu_ guards the index and is never held across a store or ingest call.
class SchedulerImpl final : public Scheduler {
 public:
  SchedulerImpl(Store& store, Ingest& ingest, const Clock& clock, SchedulerOptions options)
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
  Result<uint32_t> InternSchedule(const std::string& rule, const std::string& time_zone);
  uint32_t InternCommunity(const std::string& slug);
  Status Put(const TimerRecord& timer);
  void Remove(int64_t id);
  void Push(TimeMs due, uint32_t slot);
  void SetText(Slot& slot, const TimerRecord& timer);
  void CompactTexts();
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

  // Without mu_: ingests the batch and applies each outcome. False: nothing was ingested (the
  // batch is left taken, for Release).
  bool Fire(std::span<const Firing> batch, TimeMs now, RunResult& result,
            std::vector<Firing>& retry);
  // Advances (or finishes) one durably fired timer in the store, then in memory. False: the
  // store write failed; the firing stays taken, for Release.
  bool Complete(const Firing& f, TimeMs now);

  Store& store_;
  Ingest& ingest_;
  const Clock& clock_;
  const SchedulerOptions options_;
  SchedulerMetrics metrics_;

  std::mutex run_mu_;  // one RunDue at a time

  std::mutex mu_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  size_t live_ = 0;
  // Open addressing (linear probing, backward-shift deletion) from id to slot; a power of two
  // in size, at most 3/4 full. 4 bytes an entry: the id itself is read from the slot.
  std::vector<uint32_t> table_;
  std::vector<HeapItem> heap_;  // lazy deletion: items whose slot changed are skipped
  TextArena arena_;
  std::vector<std::unique_ptr<Schedule>> schedules_;
  std::unordered_map<std::string, uint32_t> schedule_ids_;  // rule + '\n' + time zone
  std::vector<std::string> communities_;
  std::unordered_map<std::string, uint32_t> community_ids_;

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

Result<uint32_t> SchedulerImpl::InternSchedule(const std::string& rule,
                                               const std::string& time_zone) {
  std::string name = rule + '\n' + time_zone;
  if (auto it = schedule_ids_.find(name); it != schedule_ids_.end()) return it->second;
  auto schedule = std::make_unique<Schedule>();
  schedule->rule = rule;
  schedule->time_zone = time_zone;
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
  const auto id = static_cast<uint32_t>(schedules_.size());
  schedules_.push_back(std::move(schedule));
  schedule_ids_.emplace(std::move(name), id);
  return id;
}

uint32_t SchedulerImpl::InternCommunity(const std::string& slug) {
  if (auto it = community_ids_.find(slug); it != community_ids_.end()) return it->second;
  const auto id = static_cast<uint32_t>(communities_.size());
  communities_.push_back(slug);
  community_ids_.emplace(slug, id);
  return id;
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

void SchedulerImpl::SetText(Slot& slot, const TimerRecord& timer) {
  if (slot.text != nullptr) arena_.Release(slot.text);
  slot.text = arena_.Append(timer.key, timer.payload);
  if (arena_.WantsCompaction()) CompactTexts();
}

// O(live texts), amortised over at least as many released bytes.
void SchedulerImpl::CompactTexts() {
  TextArena fresh;
  for (Slot& slot : slots_) {
    if (slot.text == nullptr) continue;
    slot.text = fresh.Append(TextArena::Key(slot.text), TextArena::Payload(slot.text));
  }
  arena_ = std::move(fresh);
}

Status SchedulerImpl::Put(const TimerRecord& timer) {
  if (timer.due == 0) {  // finished (or cancelled): nothing to fire
    Remove(timer.id);
    return Status::Ok();
  }
  auto schedule = InternSchedule(timer.rule, timer.time_zone);
  if (!schedule.ok()) {
    Remove(timer.id);  // whatever was pending under this id was replaced
    return schedule.status();
  }
  const uint32_t community = InternCommunity(timer.community);
  uint32_t s = Find(timer.id);
  if (s == kNoSlot) {
    if (free_slots_.empty()) {
      s = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    } else {
      s = free_slots_.back();
      free_slots_.pop_back();
    }
    Slot& slot = slots_[s];
    slot.id = timer.id;
    slot.due = timer.due;
    slot.schedule = *schedule;
    slot.community = community;
    slot.firing = 0;
    SetText(slot, timer);
    IndexInsert(s);
    ++live_;
    metrics_.pending.store(static_cast<int64_t>(live_), std::memory_order_relaxed);
    Push(timer.due, s);
    return Status::Ok();
  }
  Slot& slot = slots_[s];
  SetText(slot, timer);
  slot.schedule = *schedule;
  slot.community = community;
  if (slot.due == timer.due) {
    // Same occurrence: its heap item still stands. If it is being fired right now, the firing
    // carries on and its outcome advances this (new) content.
    return Status::Ok();
  }
  slot.due = timer.due;
  slot.firing = 0;  // a firing under way now finds the timer replaced and leaves it alone
  Push(timer.due, s);
  return Status::Ok();
}

void SchedulerImpl::Remove(int64_t id) {
  const uint32_t s = Find(id);
  if (s == kNoSlot) return;
  IndexErase(id);
  arena_.Release(slots_[s].text);
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
    out.push_back(Firing{slot.id, item.due, item.slot, schedules_[slot.schedule].get(),
                         communities_[slot.community], std::string(TextArena::Key(slot.text)),
                         std::string(TextArena::Payload(slot.text))});
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

void SchedulerImpl::Add(std::span<const TimerRecord> timers) {
  std::lock_guard lock(mu_);
  TimeMs earliest = kNever;
  for (const TimerRecord& t : timers) {
    if (Status st = Put(t); !st.ok()) {
      spdlog::error("scheduler: timer {} ({}/{}) not scheduled: {}", t.id, t.community, t.key,
                    st.ToString());
      continue;
    }
    if (t.due != 0) earliest = std::min(earliest, t.due);
  }
  if (earliest != kNever) loop_.Wake(earliest);
}

Status SchedulerImpl::Load() {
  auto timers = store_.LoadTimers();
  if (!timers.ok()) return timers.status();
  const TimeMs now = clock_.Now();
  const TimeMs cutoff = now - options_.catch_up_window_ms;
  int64_t skipped = 0;
  {
    std::lock_guard lock(mu_);
    slots_.reserve(timers->size());
    heap_.reserve(timers->size());
  }
  for (TimerRecord& t : *timers) {
    if (t.due == 0) continue;
    std::unique_lock lock(mu_);
    auto schedule = InternSchedule(t.rule, t.time_zone);
    if (!schedule.ok()) {
      // Left as it is in the store: a rule this build cannot read is not a reason to drop it.
      spdlog::error("scheduler: timer {} ({}/{}) not loaded: {}", t.id, t.community, t.key,
                    schedule.status().ToString());
      continue;
    }
    if (t.due < cutoff) {
      // Missed by more than the catch-up window: not fired; a recurring timer moves on to its
      // first occurrence after now, a one-shot timer is finished.
      const Schedule& sched = *schedules_[*schedule];
      const TimeMs next = sched.recurrence ? sched.recurrence->NextAfter(now) : 0;
      lock.unlock();
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
      if (next == 0) continue;
      t.due = next;
      lock.lock();
    }
    if (Status st = Put(t); !st.ok()) {
      spdlog::error("scheduler: timer {} ({}/{}) not loaded: {}", t.id, t.community, t.key,
                    st.ToString());
    }
  }
  metrics_.skipped.fetch_add(skipped, std::memory_order_relaxed);
  if (skipped > kSkipLogLimit) {
    spdlog::info("scheduler: {} timers in all were skipped (due before {})", skipped,
                 FormatRfc3339(cutoff));
  }
  std::lock_guard lock(mu_);
  spdlog::info("scheduler: {} pending timers, {} distinct schedules", live_, schedules_.size());
  timers->clear();
  timers->shrink_to_fit();
#if defined(__GLIBC__)
  malloc_trim(0);  // the loaded records were many small blocks; give their pages back
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
  IngestBatch ib;
  ib.events.reserve(batch.size());
  ib.json.reserve(batch.size());
  ib.indexes.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Firing& f = batch[i];
    Event e;
    // The id makes a repeated firing of this occurrence a duplicate in the log.
    e.id = fmt::format("timer:{}:{}", f.id, f.due);
    e.type = EventType::kTimer;
    e.time = f.due;
    e.time_offset = OffsetMinutes(f.schedule->zone, f.due);
    e.platform = "qunzhu";
    e.community = f.community;
    e.timer = f.key;
    e.payload = f.payload;
    ib.json.push_back(EventToJson(e));
    ib.events.push_back(std::move(e));
    ib.indexes.push_back(i);
  }
  IngestResult r = ingest_.SubmitAndWait(std::move(ib));
  if (!r.status.ok()) {
    spdlog::warn("scheduler: {} due timers not fired, will retry: {}", batch.size(),
                 r.status.ToString());
    return false;
  }
  std::vector<bool> rejected(batch.size(), false);
  for (const ItemError& item : r.rejected) {
    const Firing& f = batch[item.index];
    rejected[item.index] = true;
    // Retrying cannot help (the event itself is invalid): the timer moves on regardless.
    spdlog::error("scheduler: timer {} ({}/{}) due at {}: its event was rejected: {}", f.id,
                  f.community, f.key, FormatRfc3339(f.due), item.error.ToString());
  }
  int64_t fired = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!Complete(batch[i], now)) {
      retry.push_back(batch[i]);
      continue;
    }
    if (!rejected[i]) ++fired;
  }
  result.fired += fired;
  metrics_.fired.fetch_add(fired, std::memory_order_relaxed);
  return true;
}

bool SchedulerImpl::Complete(const Firing& f, TimeMs now) {
  TimeMs next = 0;
  {
    std::lock_guard lock(mu_);
    // If Add replaced the content during the firing (same due), the new rule applies.
    const Schedule& schedule = Ours(f) ? *schedules_[slots_[f.slot].schedule] : *f.schedule;
    next = NextDue(schedule, f.due, now);
  }
  auto applied = store_.UpdateTimerDue(f.id, f.due, next);
  bool store_has_next = false;
  if (applied.ok() && !*applied && next != 0) {
    // The store's due is no longer f.due: a replacement was committed. If it nevertheless holds
    // `next` (an earlier firing of this occurrence advanced it and a stale Add brought the old
    // due back), keep the timer; otherwise the replacement reaches us through Add.
    auto probe = store_.UpdateTimerDue(f.id, next, next);
    store_has_next = probe.ok() && *probe;
  }
  std::lock_guard lock(mu_);
  if (!Ours(f)) return true;  // replaced or removed by Add meanwhile: the new state stands
  if (!applied.ok()) {
    spdlog::warn(
        "scheduler: timer {} fired at {} but its due could not be advanced, will "
        "retry: {}",
        f.id, FormatRfc3339(f.due), applied.status().ToString());
    return false;
  }
  if (!*applied && !store_has_next) {
    Remove(f.id);
    return true;
  }
  if (next == 0) {
    Remove(f.id);
    return true;
  }
  slots_[f.slot].due = next;
  slots_[f.slot].firing = 0;
  Push(next, f.slot);
  return true;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Open(Store& store, Ingest& ingest, const Clock& clock,
                                                   SchedulerOptions options) {
  auto scheduler = std::make_unique<SchedulerImpl>(store, ingest, clock, options);
  QZ_RETURN_IF_ERROR(scheduler->Load());
  return std::unique_ptr<Scheduler>(std::move(scheduler));
}

}  // namespace qz
