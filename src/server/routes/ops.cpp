// Operations: the health check and the Prometheus metrics.
#include "server/routes/routes.hpp"

namespace qz {

Status AddOpsRoutes(RouteTable& table, const MetricsRegistry& metrics) {
  QZ_RETURN_IF_ERROR(table.Add({"GET", "/healthz",
                                [](Call& c) {
                                  c.RespondJson({{"status", "ok"}});
                                  return Status::Ok();
                                },
                                RunOn::kIoThread, Access::kPublic}));
  // On the blocking pool: a collector may read the store (the outbox counts by status).
  return table.Add({"GET", "/metrics",
                    [&metrics](Call& c) {
                      ApiResponse res;
                      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      res.body = metrics.Render();
                      c.Respond(std::move(res));
                      return Status::Ok();
                    },
                    RunOn::kBlockingPool});
}

}  // namespace qz
