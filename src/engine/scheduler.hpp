// qunzhu engine: the scheduler of durable timers. Owns the in-memory index of pending timers
// (id and due time only, in a min-heap: about 37 bytes a timer whatever its payload), fires
// each due timer as a `timer` event through Ingest, and advances recurring timers.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/action.hpp"

namespace qz {

class TimerStore;
class Ingest;

// The id of the timer event of timer `id` firing at `due` with content `version`: firing one
// occurrence of one content twice gives a duplicate in the log, a replacement's firing at the
// same due a new event. "timer:<id>:<due>" for version 1 (as before timers had versions),
// "timer:<id>:<due>:v<version>" after.
std::string TimerEventId(int64_t id, TimeMs due, int64_t version);
// The timer and content version a timer event's id names (version 1 when it names none);
// nullopt for an id of another form.
struct TimerEventRef {
  int64_t id = 0;
  int64_t version = 1;
};
std::optional<TimerEventRef> ParseTimerEventId(std::string_view event_id);

struct SchedulerOptions {
  // On start, a timer that came due while the process was down fires once if its due time is
  // within this window before now; older ones are skipped to their next occurrence (logged).
  // Never fires N times for N missed occurrences.
  TimeMs catch_up_window_ms = 60 * 60 * 1000;
  // Open reads the pending timers' ids and dues in pages of this many
  // (TimerStore::ScanTimerDues), and the records of only those missed beyond the catch-up window.
  int load_page_size = 4096;
};

struct SchedulerMetrics {
  std::atomic<int64_t> pending{0};
  std::atomic<int64_t> fired{0};
  std::atomic<int64_t> skipped{0};  // missed beyond the catch-up window
};

// Firing is idempotent: the timer event's id is "timer:<timer id>:<due ms>", so a firing that
// is repeated after a crash (event ingested, due not yet advanced) is a duplicate in the log.
//
// The index holds each pending timer's id and due time only. Its community, key, payload, rule
// and time zone are read from the store when it fires (TimerStore::GetTimers, one read per batch of
// due timers), so an event carries what the store holds then. A timer the store no longer has
// pending (finished or cancelled: due 0; or an unknown id) is not fired and leaves the index.
// One the store holds at another due (a replacement whose Add has not come yet) still fires
// the occurrence that was taken, once; its compare-and-set then fails and the store's due stands.
//
// Thread-safety: Add from any thread; RunDue for one caller at a time.
class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> Open(TimerStore& timers, Ingest& ingest,
                                                 const Clock& clock, SchedulerOptions options = {});
  virtual ~Scheduler() = default;

  // Timers written by the writer (schedule_timer actions, playbook schedules), after their
  // commit: a timer that is not in the store is dropped when it comes due. Only id, due, rule
  // and time zone are used (the rule is checked here: an unreadable one is logged and the timer
  // not scheduled); a record with due 0 removes the pending timer.
  virtual void Add(std::span<const TimerRecord> timers) = 0;

  struct RunResult {
    int64_t fired = 0;
    TimeMs next_due = 0;  // 0 = no pending timer
  };
  // Fires every timer due at clock.Now() (in due order), waits until their events are durable,
  // advances recurring ones (compare-and-set in the store) and returns.
  virtual RunResult RunDue() = 0;

  virtual void Start() = 0;  // a background thread: RunDue, then sleep until the next due time
  virtual void Stop() = 0;

  virtual const SchedulerMetrics& metrics() const = 0;
};

}  // namespace qz
