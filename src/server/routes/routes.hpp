// qunzhu server/routes: the built-in routes of the API, one file per resource. Internal to the
// server: Api (api.cpp) adds them to its table; code elsewhere contributes routes through the
// RouteTable src/app passes to HttpServer::Start.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "server/auth.hpp"
#include "server/route.hpp"

namespace qz {

// GET /healthz (public), GET /metrics (renders `metrics`).
Status AddOpsRoutes(RouteTable& table, const MetricsRegistry& metrics);
// POST /api/v1/events. Events rejected before reaching ingest are counted in
// `rejected_without_ingest` (part of qunzhu_events_rejected_total).
Status AddEventRoutes(RouteTable& table, std::atomic<int64_t>& rejected_without_ingest);
// GET /api/v1/members, /api/v1/members/{id:int}, /api/v1/members/{id:int}/events,
// /api/v1/tags.
Status AddMemberRoutes(RouteTable& table);
// GET /api/v1/stats, /api/v1/communities, /api/v1/groups, /api/v1/groups/{id:int} and its
// /events; PUT /api/v1/groups/{platform}/{id}.
Status AddCommunityRoutes(RouteTable& table);
// GET and PUT /api/v1/communities/{slug}/playbook.
Status AddPlaybookRoutes(RouteTable& table);
// GET /api/v1/actions, /api/v1/tasks; POST /api/v1/actions/{id:int}/retry,
// /api/v1/tasks/{id:int}/assign and /close.
Status AddOutboxRoutes(RouteTable& table);
// GET /api/v1/modules, /api/v1/communities/{slug}/state/{module}/{table}.
Status AddModuleRoutes(RouteTable& table);
// POST (sign in, public), GET (who), DELETE (sign out) /api/v1/session, and the accounts and
// tokens (AddAccountRoutes). `options` and `limiter` outlive the table.
Status AddSessionRoutes(RouteTable& table, const AuthOptions& options, SignInLimiter& limiter);
// The settings, for admins: GET, POST /api/v1/accounts; PATCH /api/v1/accounts/{name};
// POST /api/v1/accounts/{name}/password; GET, POST /api/v1/tokens; DELETE /api/v1/tokens/{name}.
Status AddAccountRoutes(RouteTable& table);

}  // namespace qz
