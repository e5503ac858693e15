// qunzhu broadcasts (群发): the HTTP face, contributed to the server's route table by src/app.
// Per community (`community`, default "default"):
//   POST /api/v1/broadcasts   {"text": "…" | {"zh","en"}, one of "groups": ["platform:id", …],
//                             "group_type": "learning", "tag": "region:杭州"; "at": RFC 3339
//                             (absent: now), "operator"}; 201 with the broadcast as GET shows it
//   GET  /api/v1/broadcasts/{id}   what was asked, its status (scheduled, sent, cancelled), and
//                             once sent, each group's delivery: pending, sending, done, failed,
//                             possibly_sent, with attempts and the platform's last error
//   POST /api/v1/broadcasts/{id}/cancel   a scheduled one that has not gone out
#pragma once

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

Status AddBroadcastRoutes(RouteTable& table);

}  // namespace qz
