// qunzhu moderation: the policy. Which signal fired, what the group type says to do about it,
// the strike ladder, exemptions, dry run, the blacklist, appeals, and operators' undo/confirm.
// Writer thread only (through the module context); pure over the context.
#pragma once

#include "core/status.hpp"
#include "engine/module.hpp"

namespace qz::moderation {

Status HandleMessage(ModuleContext& ctx);
Status HandleJoin(ModuleContext& ctx);
// "moderation.undo" / "moderation.confirm" with payload {"decision": id, "operator": "…"}.
Status HandleCommand(ModuleContext& ctx);

}  // namespace qz::moderation
