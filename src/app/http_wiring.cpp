#include "app/http_wiring.hpp"

#include "app/node.hpp"
#include "platform/sandbox/sandbox_routes.hpp"
#include "server/engine_metrics.hpp"

namespace qz {

Result<RouteTable> ContributedRoutes(const RouteContributors& contributors) {
  RouteTable table;
  if (contributors.sandbox != nullptr) {
    QZ_RETURN_IF_ERROR(AddSandboxRoutes(table, *contributors.sandbox));
  }
  return table;
}

Status AddNodeMetrics(MetricsRegistry& metrics, Node& node) {
  QZ_RETURN_IF_ERROR(AddDeliveryMetrics(metrics, node.delivery().metrics()));
  QZ_RETURN_IF_ERROR(AddSchedulerMetrics(metrics, node.scheduler().metrics()));
  return AddOutboxStatusMetrics(metrics, node.store());
}

}  // namespace qz
