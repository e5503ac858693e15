#include "core/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qz {

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, std::string_view name, std::string_view help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], cumulative);
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n", name, sum_micros_.load(std::memory_order_relaxed) / 1e6);
  out += fmt::format("{}_count {}\n", name, cumulative);
}

void RenderMetric(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
}

Status MetricsRegistry::Add(std::string name, Collector collect) {
  if (name.empty()) return Status::Invalid("a collector needs a name", "name");
  std::lock_guard lock(mu_);
  for (const auto& [existing, unused] : collectors_) {
    if (existing == name) {
      return Status(Code::kAlreadyExists, "metrics collector '" + name + "' is already registered");
    }
  }
  collectors_.emplace_back(std::move(name), std::move(collect));
  return Status::Ok();
}

Status MetricsRegistry::AddLine(std::string name, std::string type, std::string help,
                                std::function<double()> read) {
  Collector collect = [name, type = std::move(type), help = std::move(help),
                       read = std::move(read)](std::string& out) {
    RenderMetric(out, name, type, help, read());
  };
  return Add(std::move(name), std::move(collect));
}

Status MetricsRegistry::AddCounter(std::string name, std::string help,
                                   std::function<double()> read) {
  return AddLine(std::move(name), "counter", std::move(help), std::move(read));
}

Status MetricsRegistry::AddGauge(std::string name, std::string help,
                                 std::function<double()> read) {
  return AddLine(std::move(name), "gauge", std::move(help), std::move(read));
}

Status MetricsRegistry::AddHistogram(std::string name, std::string help,
                                     const Histogram& histogram) {
  Collector collect = [name, help = std::move(help), &histogram](std::string& out) {
    histogram.Render(out, name, help);
  };
  return Add(std::move(name), std::move(collect));
}

void MetricsRegistry::Remove(std::string_view name) {
  std::lock_guard lock(mu_);
  std::erase_if(collectors_, [name](const auto& entry) { return entry.first == name; });
}

std::string MetricsRegistry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& [name, collect] : collectors_) collect(out);
  return out;
}

}  // namespace qz
