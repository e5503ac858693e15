// qunzhu server: the engine's background subsystems as /metrics collectors, registered by
// src/app at wiring time (the ingest and HTTP metrics are registered by the Api itself).
#pragma once

#include "core/metrics.hpp"
#include "core/status.hpp"

namespace qz {

class Store;
struct DeliveryMetrics;
struct SchedulerMetrics;

// qunzhu_outbox_queue, _done_total, _failures_total, _retries_total, _possibly_sent_total,
// _rate_limited_total. `metrics` is borrowed.
Status AddDeliveryMetrics(MetricsRegistry& registry, const DeliveryMetrics& metrics);
// qunzhu_timers_pending, _fired_total, _skipped_total. `metrics` is borrowed.
Status AddSchedulerMetrics(MetricsRegistry& registry, const SchedulerMetrics& metrics);
// qunzhu_outbox_actions{status="..."}: counted in the store at each render, so rendering blocks
// on a store read. A failed count leaves the series out (and is logged); the rest renders.
Status AddOutboxStatusMetrics(MetricsRegistry& registry, Store& store);

}  // namespace qz
