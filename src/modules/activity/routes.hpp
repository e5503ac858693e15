// qunzhu activity: the HTTP face of the per-day counts, contributed to the server's route table
// by src/app. Days are the calendar days of the community's time zone, the last `days` up to
// today (1..366; default 30 for the community, 14 for groups), oldest first, with zeros where
// nothing was counted:
//   GET /api/v1/activity/daily?community=&days=
//       {"time_zone","days":[{"day":"2026-12-01","joins","leaves","messages"}]}, summed over the
//       community's groups (each group's counts are on the group's own calendar days).
//   GET /api/v1/activity/groups?community=&days=&groups=1,2,3   (at most 200 group ids)
//       {"days":["2026-11-22",…],"groups":[{"group":1,"joins":[…],"leaves":[…],"messages":[…]}]}
//       one series per group asked for, in the order asked (the console's sparklines).
#pragma once

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

Status AddActivityRoutes(RouteTable& table);

}  // namespace qz
