// qunzhu core: lock-free counters and a fixed-bucket histogram, and the registry of everything
// the server's /metrics renders in Prometheus text format. Any thread may update or read them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace qz {

// Cumulative-bucket histogram of seconds with fixed upper bounds (Prometheus `le`).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.002, 0.005, 0.01,  0.02, 0.05,
                                                     0.1,    0.2,   0.5,   1.0,   2.0,   5.0,  10.0};
  void Observe(double seconds);
  // Appends the `name_bucket`, `name_sum` and `name_count` lines with HELP and TYPE.
  void Render(std::string& out, std::string_view name, std::string_view help) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // last one is +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Appends a counter or gauge line with HELP and TYPE.
void RenderMetric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, double value);

// The one list of what /metrics shows. A subsystem adds, at wiring time, a named collector that
// appends Prometheus text (or a counter, gauge or histogram read through a callback); Render
// concatenates them in the order they were added. Thread-safe: Add/Remove and Render may race.
// Render holds the registry's lock while it calls the collectors, so a collector must not call
// back into the registry; a collector may block (one reads the store), so Render is for a thread
// that may block. Whatever a collector reads must outlive its registration (Remove it first).
class MetricsRegistry {
 public:
  using Collector = std::function<void(std::string& out)>;

  // kAlreadyExists when `name` is taken; kInvalidArgument (field "name") when it is empty.
  Status Add(std::string name, Collector collect);
  // A counter or gauge line read from `read` at each Render; `name` is also the collector's.
  Status AddCounter(std::string name, std::string help, std::function<double()> read);
  Status AddGauge(std::string name, std::string help, std::function<double()> read);
  // `histogram` is borrowed.
  Status AddHistogram(std::string name, std::string help, const Histogram& histogram);
  // Removes the collector `name`, if any; once it returns, the collector is not running.
  void Remove(std::string_view name);

  std::string Render() const;

 private:
  Status AddLine(std::string name, std::string type, std::string help,
                 std::function<double()> read);

  mutable std::mutex mu_;
  std::vector<std::pair<std::string, Collector>> collectors_;  // in the order added
};

}  // namespace qz
