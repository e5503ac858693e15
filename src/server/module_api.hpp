// qunzhu server/module_api: what modules' HTTP routes share: the community a call is about, the
// caller's role inside it, and a change made the module way, as a `command` event through ingest
// (durable, replayed).
#pragma once

#include <string>
#include <string_view>

#include "core/status.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "server/route.hpp"

namespace qz {

// The community named by the call's `community` query parameter (default "default"); kNotFound
// when the store has none by that slug. Blocking (reads the store).
Result<Community> CommunityOfCall(const Call& c);

// Call::RequireRole for the community with id `community_id` (kNoId: outside any community),
// naming it by its slug in a refusal. For routes of Scope::kCommunity that know the community by
// its id (a task's, an action's, a group's). Blocking (reads the store's communities).
Status RequireRoleIn(Call& c, CommunityId community_id, AccountRole need);

// Submits one event qunzhu makes itself (an operator's change through the API) and waits until
// it is durable and applied. The event's own rejection is returned as the error. Blocking.
Status SubmitOwnEvent(const Call& c, Event event);

// Submits one `command` event (`command` such as "invites.create", `payload` a JSON object)
// for `community` and waits until it is durable and applied. The event's own rejection (a bad
// payload) is returned as the error. Blocking.
Status SubmitCommand(const Call& c, std::string_view community, std::string command, std::string payload);

}  // namespace qz
