// qunzhu platform/sandbox: the live feed of a simulated group's conversation, for the console's
// sandbox chat, and the JSON of a conversation entry that the sandbox's routes share with it.
#pragma once

#include "core/status.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "server/route.hpp"

namespace qz {

// One entry of a conversation as the API shows it (GET .../messages and the live feed).
ApiJson SandboxEntryJson(const SandboxEntry& e);

// GET /api/v1/sandbox/live?group=<group>[&after=<seq>]: a WebSocket upgrade (any signed-in role
// that may read). The first frame holds the group's entries after `after` (at most 1,000; older
// ones are read with GET .../messages), then one frame per entry recorded or changed (a message
// marked deleted comes again with the same seq). A frame: {"group": g, "messages": [entry...]}.
// Nothing is read from the client. An Origin header naming another host than the request's is
// refused (403): a page of another site cannot follow the conversation with the browser's
// cookie. `sandbox` is borrowed and must outlive the server.
Status AddSandboxLiveRoute(RouteTable& table, SandboxPlatform& sandbox);

}  // namespace qz
