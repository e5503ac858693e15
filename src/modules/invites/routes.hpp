// qunzhu invites: the HTTP face of invite and live codes, contributed to the server's route table
// by src/app. Per community (`community`, default "default"):
//   POST /api/v1/invites         {"group":"platform:id", "channel", "inviter", "code", "operator"}
//                                creates a code for a group of this community (a random one when
//                                "code" is absent); 201 with the code as GET shows it
//   GET  /api/v1/invites/{code}  the code (or a playbook's live code): its group or groups, joins
//                                so far, the landing URL, and its joins page by page
//                                (`limit`, `cursor`: the previous page's next_cursor)
//   GET  /api/v1/invites/{code}/qr?format=png|svg&scale=8   the QR code of its landing URL
//   GET  /j/{code}               public (no token: a phone scanning the QR code): a 302 to the
//                                group's invite link; for a live code, the first group with room;
//                                all full: a page saying so, and an operator task for the next
//                                overflow group (once per group number)
#pragma once

#include "core/status.hpp"
#include "server/route.hpp"

namespace qz {

Status AddInviteRoutes(RouteTable& table);

}  // namespace qz
