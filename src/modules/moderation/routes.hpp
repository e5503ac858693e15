// qunzhu moderation: the HTTP face of the decision log, contributed to the server's route table
// by src/app. Decisions are per community (`community`, default "default"):
//   GET  /api/v1/moderation/decisions?community=&group=&member=&since=&limit=&cursor=
//        newest first; group and member as "<platform>:<id>"; since an RFC 3339 time; cursor the
//        previous page's next_cursor (the last id returned).
//   GET  /api/v1/moderation/decisions/{id}?community=
//   POST /api/v1/moderation/decisions/{id}/undo     {"operator": "…"} (body optional)
//   POST /api/v1/moderation/decisions/{id}/confirm  {"operator": "…"} (body optional)
// Undo and confirm go through the event log as `command` events, so replay repeats them; both
// answer with the decision as it stands afterwards (undoing twice is a no-op, not an error).
#pragma once

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

Status AddModerationRoutes(RouteTable& table);

}  // namespace qz
