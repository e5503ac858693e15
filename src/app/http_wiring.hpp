// qunzhu app: the one place where HTTP routes from outside src/server (platform adapters,
// modules) and the engine's /metrics collectors are registered. Add a contributor here.
#pragma once

#include <memory>
#include <vector>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

class ConsoleFiles;
class Node;
class PlatformAdapter;
class SandboxPlatform;

// What contributes routes; a null pointer contributes nothing. Borrowed: each must outlive the
// server.
struct RouteContributors {
  SandboxPlatform* sandbox = nullptr;  // /api/v1/sandbox/...
  // Every adapter's webhooks: POST /webhooks/<platform>[/<name>], public (the adapter checks
  // the platform's signature), answered by PlatformAdapter::HandleWebhook.
  std::vector<PlatformAdapter*> adapters;
  // The operator console served at / (server/console.hpp: GET /, /assets/…, the app's pages).
  std::shared_ptr<const ConsoleFiles> console;
};

// The routes every contributor adds, in one table for HttpServer::Start.
Result<RouteTable> ContributedRoutes(const RouteContributors& contributors);

// The outbox (delivery), timers (scheduler), module failures and outbox-by-status collectors
// of `node`. Call it
// after HttpServer::Start, which registers the ingest and HTTP metrics first (so /metrics keeps
// its order). `node` must outlive the registry's use.
Status AddNodeMetrics(MetricsRegistry& metrics, Node& node);
// qunzhu_platform_connection_up / _events_total / _errors_total{platform, connection}: each
// adapter's connections (PlatformAdapter::health).
Status AddPlatformMetrics(MetricsRegistry& metrics, const Node& node);
// qunzhu_module_failures_total{module="…"}: one series per module, in module order.
Status AddModuleMetrics(MetricsRegistry& metrics, const Node& node);

}  // namespace qz
