// qunzhu core: lock-free counters and a fixed-bucket histogram, rendered by the server's
// /metrics in Prometheus text format. Any thread may update or read them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace qz
