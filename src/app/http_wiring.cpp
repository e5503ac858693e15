#include "app/http_wiring.hpp"

#include <fmt/format.h>

#include "app/node.hpp"
#include "modules/broadcasts/routes.hpp"
#include "modules/invites/routes.hpp"
#include "modules/moderation/routes.hpp"
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
