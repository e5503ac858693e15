// qunzhu core: time as the engine sees it. All logic reads a Clock it is given, so tests can run
// on virtual time. Times are milliseconds since the Unix epoch (UTC).
#pragma once

#include <atomic>
#include <cstdint>

namespace qz {

using TimeMs = int64_t;

// Thread-safe: Now() may be called from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs Now() const = 0;
};

// The wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  TimeMs Now() const override;
};

// A clock that moves only when told; for tests and virtual-time scenarios.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start) : now_(start) {}
  TimeMs Now() const override { return now_.load(std::memory_order_relaxed); }
  void Set(TimeMs t) { now_.store(t, std::memory_order_relaxed); }
  void Advance(TimeMs delta) { now_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<TimeMs> now_;
};

}  // namespace qz
