// qunzhu engine: the scheduler of durable timers. Owns the in-memory index of pending timers
// (a compact min-heap by due time; 1M timers well under 100 MB), fires each due timer as a
// `timer` event through Ingest, and advances recurring timers.
#pragma once

#include <atomic>
#include <memory>
#include <span>
#include <string>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/action.hpp"

namespace qz {

class Store;
class Ingest;

struct SchedulerOptions {
  // On start, a timer that came due while the process was down fires once if its due time is
  // within this window before now; older ones are skipped to their next occurrence (logged).
  // Never fires N times for N missed occurrences.
  TimeMs catch_up_window_ms = 60 * 60 * 1000;
};

struct SchedulerMetrics {
  std::atomic<int64_t> pending{0};
  std::atomic<int64_t> fired{0};
  std::atomic<int64_t> skipped{0};  // missed beyond the catch-up window
};

// Firing is idempotent: the timer event's id is "timer:<timer id>:<due ms>", so a firing that
// is repeated after a crash (event ingested, due not yet advanced) is a duplicate in the log.
// Thread-safety: Add from any thread; RunDue for one caller at a time.
class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> Open(Store& store, Ingest& ingest, const Clock& clock,
                                                 SchedulerOptions options = {});
  virtual ~Scheduler() = default;

  // Timers written by the writer (schedule_timer actions, playbook schedules) after commit.
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
