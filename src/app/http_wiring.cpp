#include "app/http_wiring.hpp"

#include <fmt/format.h>

#include "core/time.hpp"

#include "app/node.hpp"
#include "modules/activity/routes.hpp"
#include "modules/broadcasts/routes.hpp"
#include "modules/invites/routes.hpp"
#include "modules/moderation/routes.hpp"
#include "platform/adapter.hpp"
#include "platform/sandbox/sandbox_live.hpp"
#include "platform/sandbox/sandbox_routes.hpp"
#include "server/console.hpp"
#include "server/engine_metrics.hpp"

namespace qz {

namespace {

// GET /api/v1/platforms: each adapter, what it can do, and its connections' health.
ApiJson PlatformsJson(const std::vector<PlatformAdapter*>& adapters) {
  ApiJson list = ApiJson::array();
  for (const PlatformAdapter* a : adapters) {
    ApiJson capabilities = ApiJson::array();
    const Capabilities caps = a->capabilities();
    for (int t = 1; t <= kActionTypeCount; ++t) {
      const auto type = static_cast<ActionType>(t);
      if (IsPlatformAction(type) && caps.Has(type)) capabilities.push_back(ActionTypeName(type));
    }
    const RateLimits limits = a->rate_limits();
    ApiJson connections = ApiJson::array();
    for (const ConnectionHealth& h : a->health()) {
      connections.push_back({{"name", h.name},
                             {"state", h.state},
                             {"last_event", h.last_event == 0 ? ApiJson() : ApiJson(FormatRfc3339(h.last_event, 0))},
                             {"events", h.events},
                             {"errors", h.errors},
                             {"last_error", h.last_error}});
    }
    list.push_back({{"platform", a->platform()},
                    {"capabilities", std::move(capabilities)},
                    {"dedupes_sends", caps.dedupes_sends},
                    {"rate_limits",
                     {{"per_second", limits.per_second},
                      {"per_chat_per_second", limits.per_chat_per_second},
                      {"per_chat_per_minute", limits.per_chat_per_minute}}},
                    {"connections", std::move(connections)}});
  }
  return {{"platforms", std::move(list)}};
}

// POST /webhooks/<platform>[/<name>] (and GET, for its WebSocket).
std::string WebhookPath(const PlatformAdapter& adapter, const std::string& name) {
  return name.empty() ? fmt::format("/webhooks/{}", adapter.platform())
                      : fmt::format("/webhooks/{}/{}", adapter.platform(), name);
}

}  // namespace

Result<RouteTable> ContributedRoutes(const RouteContributors& contributors) {
  RouteTable table;
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/api/v1/platforms", [adapters = contributors.adapters](Call& call) {
                                  call.RespondJson(PlatformsJson(adapters));
                                  return Status::Ok();
                                }}));
  QZ_RETURN_IF_ERROR(AddModerationRoutes(table));
  QZ_RETURN_IF_ERROR(AddActivityRoutes(table));
  QZ_RETURN_IF_ERROR(AddInviteRoutes(table));
  QZ_RETURN_IF_ERROR(AddBroadcastRoutes(table));
  if (contributors.console != nullptr) QZ_RETURN_IF_ERROR(AddConsoleRoutes(table, contributors.console));
  if (contributors.sandbox != nullptr) {
    QZ_RETURN_IF_ERROR(AddSandboxRoutes(table, *contributors.sandbox));
    QZ_RETURN_IF_ERROR(AddSandboxLiveRoute(table, *contributors.sandbox));
  }
  for (PlatformAdapter* adapter : contributors.adapters) {
    for (const std::string& name : adapter->webhook_names()) {
      const std::string path = WebhookPath(*adapter, name);
      auto handler = [adapter, name](Call& call) {
        WebhookRequest request{.name = name, .headers = call.request().headers, .body = std::move(call.body())};
        adapter->HandleWebhook(std::move(request), [self = call.shared_from_this()](WebhookResponse r) {
          self->Respond({.status = r.status, .body = std::move(r.body)});
        });
        return Status::Ok();
      };
      QZ_RETURN_IF_ERROR(table.Add({"POST", path, std::move(handler), RunOn::kIoThread, Access::kPublic}));
    }
    for (const std::string& name : adapter->socket_names()) {
      auto handler = [adapter, name](Call& call) {
        WebhookRequest handshake{.name = name, .headers = call.request().headers};
        Result<MessageSocketAccept> accept = adapter->AcceptSocket(handshake);
        if (!accept.ok()) return accept.status();
        call.Respond({.status = 101, .accept_socket = std::move(*accept)});
        return Status::Ok();
      };
      QZ_RETURN_IF_ERROR(table.Add({"GET", WebhookPath(*adapter, name), std::move(handler), RunOn::kIoThread,
                                    Access::kPublic}));
    }
  }
  return table;
}

Status AddModuleMetrics(MetricsRegistry& metrics, const Node& node) {
  // One labelled series per module, in module order, so a module that starts failing shows up
  // next to those that do not.
  return metrics.Add("qunzhu_module_failures_total", [&node](std::string& out) {
    out += "# HELP qunzhu_module_failures_total Events a module failed on (its effects on them "
           "were dropped).\n# TYPE qunzhu_module_failures_total counter\n";
    const auto modules = node.modules().modules();
    for (size_t i = 0; i < modules.size(); ++i) {
      out += fmt::format("qunzhu_module_failures_total{{module=\"{}\"}} {}\n", modules[i]->name(),
                         node.module_metrics().failures(i));
    }
  });
}

Status AddPlatformMetrics(MetricsRegistry& metrics, const Node& node) {
  return metrics.Add("qunzhu_platform_connection_up", [&node](std::string& out) {
    std::string up, events, errors;
    for (const PlatformAdapter* a : node.adapters()) {
      for (const ConnectionHealth& h : a->health()) {
        const std::string labels = fmt::format("{{platform=\"{}\",connection=\"{}\"}}", a->platform(), h.name);
        up += fmt::format("qunzhu_platform_connection_up{} {}\n", labels, h.state == "connected" ? 1 : 0);
        events += fmt::format("qunzhu_platform_events_total{} {}\n", labels, h.events);
        errors += fmt::format("qunzhu_platform_errors_total{} {}\n", labels, h.errors);
      }
    }
    out += "# HELP qunzhu_platform_connection_up 1 when the connection works (a bot polling or its webhook "
           "set, an account connected).\n# TYPE qunzhu_platform_connection_up gauge\n" + up;
    out += "# HELP qunzhu_platform_events_total Events a connection brought in.\n"
           "# TYPE qunzhu_platform_events_total counter\n" + events;
    out += "# HELP qunzhu_platform_errors_total Failed polls, calls and refused webhook posts of a connection.\n"
           "# TYPE qunzhu_platform_errors_total counter\n" + errors;
  });
}

Status AddNodeMetrics(MetricsRegistry& metrics, Node& node) {
  QZ_RETURN_IF_ERROR(AddPlatformMetrics(metrics, node));
  QZ_RETURN_IF_ERROR(AddDeliveryMetrics(metrics, node.delivery().metrics()));
  QZ_RETURN_IF_ERROR(AddSchedulerMetrics(metrics, node.scheduler().metrics()));
  QZ_RETURN_IF_ERROR(AddModuleMetrics(metrics, node));
  return AddOutboxStatusMetrics(metrics, node.store());
}

}  // namespace qz
