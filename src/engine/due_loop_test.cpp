#include "engine/due_loop.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace qz {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// Counts runs and lets the test wait for a count. The loop's maximum sleep is an hour, so any
// run after the first can only come from Wake(): a lost wake-up makes the wait time out.
class Runs {
 public:
  DueLoop::Next Run() {
    std::lock_guard lock(mu_);
    ++count_;
    if (during_run) during_run(count_);
    cv_.notify_all();
    return next;
  }
  bool WaitFor(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, seconds(30), [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mu_);
    return count_;
  }
  std::function<void(int)> during_run;
  DueLoop::Next next;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

TEST(DueLoop, WakeForDueWorkRunsAgain) {
  ManualClock clock(1000);
  Runs runs;
  DueLoop loop(clock, [&] { return runs.Run(); }, hours(1));
  loop.Start();
  ASSERT_TRUE(runs.WaitFor(1));
  loop.Wake(1000);  // due now
  EXPECT_TRUE(runs.WaitFor(2));
  loop.Stop();
}

TEST(DueLoop, AWakeDuringARunIsNotLost) {
  ManualClock clock(1000);
  Runs runs;
  DueLoop* loop_ptr = nullptr;
  // The first run reports "nothing pending", but work arrives while it runs (after it looked).
  runs.during_run = [&](int n) {
    if (n == 1) loop_ptr->Wake(1000);
  };
  DueLoop loop(clock, [&] { return runs.Run(); }, hours(1));
  loop_ptr = &loop;
  loop.Start();
  EXPECT_TRUE(runs.WaitFor(2)) << "the wake that came during the first run was lost";
  loop.Stop();
}

TEST(DueLoop, StopIsIdempotentAndStartAfterStopRunsAgain) {
  ManualClock clock(0);
  Runs runs;
  DueLoop loop(clock, [&] { return runs.Run(); }, hours(1));
  loop.Stop();  // never started
  loop.Start();
  ASSERT_TRUE(runs.WaitFor(1));
  loop.Stop();
  loop.Stop();
  loop.Start();
  EXPECT_TRUE(runs.WaitFor(2));
}

}  // namespace
}  // namespace qz
