#include "engine/due_loop.hpp"

#include <algorithm>

namespace qz {

DueLoop::DueLoop(const Clock& clock, std::function<Next()> run,
                 std::chrono::milliseconds max_sleep)
    : clock_(clock), run_(std::move(run)), max_sleep_(max_sleep) {}

DueLoop::~DueLoop() { Stop(); }

void DueLoop::Start() {
  std::lock_guard thread_lock(thread_mu_);
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { Loop(); });
}

void DueLoop::Stop() {
  std::lock_guard thread_lock(thread_mu_);
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void DueLoop::Wake(TimeMs due) {
  std::lock_guard lock(mu_);
  // Remembered even when nobody sleeps yet: a wake that lands while `run` is working (after it
  // computed its next due time) must not be lost.
  if (woken_for_ == 0 || due < woken_for_) woken_for_ = due;
  if (sleep_until_ == 0 || due < sleep_until_) wake_.notify_one();
}

void DueLoop::Loop() {
  while (true) {
    const Next n = run_();
    std::unique_lock lock(mu_);
    if (stop_) return;
    TimeMs next = n.due;
    if (woken_for_ != 0 && (next == 0 || woken_for_ < next)) next = woken_for_;
    woken_for_ = 0;
    const TimeMs now = clock_.Now();
    std::chrono::milliseconds wait = max_sleep_;
    if (n.retry) {
      wait = std::min(max_sleep_, kRetryDelay);  // a store write or an ingest failed: do not spin on it
    } else if (next != 0 && next <= now) {
      continue;  // already due (work arrived during the run)
    } else if (next != 0) {
      wait = std::min(wait, std::chrono::milliseconds(next - now));
    }
    sleep_until_ = next;
    wake_.wait_for(lock, wait, [&] {
      return stop_ || (woken_for_ != 0 && (sleep_until_ == 0 || woken_for_ < sleep_until_));
    });
    sleep_until_ = 0;
    if (stop_) return;
  }
}

}  // namespace qz
