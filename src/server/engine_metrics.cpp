#include "server/engine_metrics.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "engine/delivery.hpp"
#include "engine/scheduler.hpp"
#include "model/action.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

double Load(const std::atomic<int64_t>& a) {
  return static_cast<double>(a.load(std::memory_order_relaxed));
}

}  // namespace

Status AddDeliveryMetrics(MetricsRegistry& registry, const DeliveryMetrics& metrics) {
  return registry.Add("delivery", [&d = metrics](std::string& out) {
    RenderMetric(out, "qunzhu_outbox_queue", "gauge", "Open outbox actions queued for delivery.",
                 Load(d.queued));
    RenderMetric(out, "qunzhu_outbox_done_total", "counter",
                 "Outbox actions the platform confirmed.", Load(d.done));
    RenderMetric(out, "qunzhu_outbox_failures_total", "counter",
                 "Outbox actions that failed for good.", Load(d.failed));
    RenderMetric(out, "qunzhu_outbox_retries_total", "counter",
                 "Delivery attempts that failed transiently and were rescheduled.",
                 Load(d.retries));
    RenderMetric(out, "qunzhu_outbox_possibly_sent_total", "counter",
                 "Outbox actions whose outcome is unknown (not resent).", Load(d.possibly_sent));
    RenderMetric(out, "qunzhu_outbox_rate_limited_total", "counter",
                 "Times an action waited for a rate limit.", Load(d.rate_limited));
    RenderMetric(out, "qunzhu_outbox_outages_total", "counter",
                 "Times a platform was found down (its actions then wait, probed).", Load(d.outages));
    RenderMetric(out, "qunzhu_outbox_platforms_down", "gauge", "Platforms down now.", Load(d.platforms_down));
  });
}

Status AddSchedulerMetrics(MetricsRegistry& registry, const SchedulerMetrics& metrics) {
  return registry.Add("scheduler", [&s = metrics](std::string& out) {
    RenderMetric(out, "qunzhu_timers_pending", "gauge", "Timers waiting to fire.",
                 Load(s.pending));
    RenderMetric(out, "qunzhu_timers_fired_total", "counter", "Timers fired.", Load(s.fired));
    RenderMetric(out, "qunzhu_timers_skipped_total", "counter",
                 "Timer occurrences skipped (missed beyond the catch-up window).",
                 Load(s.skipped));
  });
}

Status AddOutboxStatusMetrics(MetricsRegistry& registry, Store& store) {
  return registry.Add("outbox_status", [&store](std::string& out) {
    auto counts = store.CountActions();
    if (!counts.ok()) {
      // A scrape still gets every other metric; the gap shows in the series.
      spdlog::warn("/metrics: cannot count outbox actions: {}", counts.status().ToString());
      return;
    }
    out += "# HELP qunzhu_outbox_actions Outbox actions, by delivery status.\n";
    out += "# TYPE qunzhu_outbox_actions gauge\n";
    const std::pair<ActionStatus, int64_t> by_status[] = {
        {ActionStatus::kPending, counts->pending},
        {ActionStatus::kSending, counts->sending},
        {ActionStatus::kDone, counts->done},
        {ActionStatus::kFailed, counts->failed},
        {ActionStatus::kPossiblySent, counts->possibly_sent}};
    for (const auto& [status, n] : by_status) {
      out += "qunzhu_outbox_actions{status=\"" + std::string(ActionStatusName(status)) + "\"} " +
             std::to_string(n) + "\n";
    }
  });
}

}  // namespace qz
