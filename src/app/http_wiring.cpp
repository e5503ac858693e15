#include "app/http_wiring.hpp"

#include <fmt/format.h>

#include "app/node.hpp"
#include "modules/broadcasts/routes.hpp"
#include "modules/invites/routes.hpp"
#include "modules/moderation/routes.hpp"
#include "platform/adapter.hpp"
#include "platform/sandbox/sandbox_routes.hpp"
#include "server/engine_metrics.hpp"

namespace qz {

Result<RouteTable> ContributedRoutes(const RouteContributors& contributors) {
  RouteTable table;
  QZ_RETURN_IF_ERROR(AddModerationRoutes(table));
  QZ_RETURN_IF_ERROR(AddInviteRoutes(table));
  QZ_RETURN_IF_ERROR(AddBroadcastRoutes(table));
  if (contributors.sandbox != nullptr) {
    QZ_RETURN_IF_ERROR(AddSandboxRoutes(table, *contributors.sandbox));
  }
  for (PlatformAdapter* adapter : contributors.adapters) {
    for (const std::string& name : adapter->webhook_names()) {
      const std::string path = name.empty() ? fmt::format("/webhooks/{}", adapter->platform())
                                            : fmt::format("/webhooks/{}/{}", adapter->platform(), name);
      auto handler = [adapter, name](Call& call) {
        WebhookRequest request{.name = name, .headers = call.request().headers, .body = std::move(call.body())};
        adapter->HandleWebhook(std::move(request), [self = call.shared_from_this()](WebhookResponse r) {
          self->Respond({.status = r.status, .body = std::move(r.body)});
        });
        return Status::Ok();
      };
      QZ_RETURN_IF_ERROR(table.Add({"POST", path, std::move(handler), RunOn::kIoThread, Access::kPublic}));
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

Status AddNodeMetrics(MetricsRegistry& metrics, Node& node) {
  QZ_RETURN_IF_ERROR(AddDeliveryMetrics(metrics, node.delivery().metrics()));
  QZ_RETURN_IF_ERROR(AddSchedulerMetrics(metrics, node.scheduler().metrics()));
  QZ_RETURN_IF_ERROR(AddModuleMetrics(metrics, node));
  return AddOutboxStatusMetrics(metrics, node.store());
}

}  // namespace qz
