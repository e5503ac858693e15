// qunzhu engine: the background thread shared by delivery and the scheduler. It calls a run
// function, then sleeps until the next due time the run reported (on the injected Clock, at
// most a second, so a clock that jumps is noticed), or until Wake() brings an earlier one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/clock.hpp"

namespace qz {

// Thread-safety: Start/Stop from the owning thread; Wake from any thread, also while holding
// the owner's own lock (DueLoop never calls `run` while holding its lock, so lock order is
// owner → DueLoop only).
class DueLoop {
 public:
  struct Next {
    TimeMs due = 0;      // the earliest pending work; 0 = none
    bool retry = false;  // the run failed and left work undone: wait the retry delay, no spin
  };
  static constexpr std::chrono::milliseconds kMaxSleep{1000};
  static constexpr std::chrono::milliseconds kRetryDelay{1000};

  // `run` does one round of due work and reports what comes next. It runs only on the loop's
  // thread; `run` and `clock` must outlive the loop. `max_sleep` bounds every sleep.
  DueLoop(const Clock& clock, std::function<Next()> run,
          std::chrono::milliseconds max_sleep = kMaxSleep);
  ~DueLoop();  // Stop()s

  void Start();  // idempotent
  void Stop();   // idempotent; returns once the thread has ended
  // New work due at `due` arrived: if the loop sleeps past it (or is mid-run), it runs again in
  // time. Cheap; wakes the thread only when it matters.
  void Wake(TimeMs due);

 private:
  void Loop();

  const Clock& clock_;
  const std::function<Next()> run_;
  const std::chrono::milliseconds max_sleep_;
  std::mutex thread_mu_;  // serialises Start and Stop
  std::thread thread_;    // guarded by thread_mu_
  std::mutex mu_;         // guards everything below
  std::condition_variable wake_;
  bool stop_ = false;
  TimeMs woken_for_ = 0;   // the earliest Wake() since the last run; 0 = none
  TimeMs sleep_until_ = 0; // what the sleeping thread means to wake for; 0 = no due work
};

}  // namespace qz
