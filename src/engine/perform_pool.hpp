// qunzhu engine: the helper threads delivery calls the adapters on (DeliveryOptions::threads).
// Runs fn(0..n-1) on the calling thread and `helpers` helper threads; Run returns when every
// call has returned. One Run at a time (delivery's RunDue is serialised).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace qz {

class PerformPool {
 public:
  explicit PerformPool(int helpers) {
    for (int i = 0; i < helpers; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~PerformPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  template <typename Fn>
  void Run(size_t n, Fn&& fn) {
    if (threads_.empty() || n < 2) {
      for (size_t i = 0; i < n; ++i) fn(i);
      return;
    }
    std::function<void(size_t)> job = std::forward<Fn>(fn);
    {
      std::lock_guard lock(mu_);
      job_ = &job;
      n_ = n;
      next_ = 0;
      running_ = 0;
      ++generation_;
    }
    work_.notify_all();
    Work(job, n);
    std::unique_lock lock(mu_);
    // Every index is taken once Work returns; wait for helpers still inside a call.
    idle_.wait(lock, [&] { return running_ == 0; });
    job_ = nullptr;
  }

 private:
  void Work(const std::function<void(size_t)>& job, size_t n) {
    while (true) {
      size_t i;
      {
        std::lock_guard lock(mu_);
        if (next_ >= n) return;
        i = next_++;
      }
      job(i);
    }
  }

  void Loop() {
    uint64_t seen = 0;
    std::unique_lock lock(mu_);
    while (true) {
      work_.wait(lock, [&] { return stop_ || (generation_ != seen && job_ != nullptr); });
      if (stop_) return;
      seen = generation_;
      const std::function<void(size_t)>* job = job_;
      const size_t n = n_;
      ++running_;
      lock.unlock();
      Work(*job, n);
      lock.lock();
      if (--running_ == 0) idle_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable work_;
  std::condition_variable idle_;
  const std::function<void(size_t)>* job_ = nullptr;  // the Run under way; null between runs
  size_t n_ = 0;
  size_t next_ = 0;
  int running_ = 0;  // helpers inside Work
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace qz
