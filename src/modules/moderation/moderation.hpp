// qunzhu moderation (群规则, 防广告): judges every message as it arrives and acts in the same
// event batch — delete, warn quoting the rule, mute, remove and blacklist along an escalation
// ladder — explains every decision with the spans it matched, and lets an operator undo or
// confirm it. First in the module order, so a deleted message triggers nothing else.
// docs/moderation.md is the operator's reference.
#pragma once

#include <memory>

#include "engine/module.hpp"

namespace qz {

std::unique_ptr<Module> MakeModerationModule();

}  // namespace qz
