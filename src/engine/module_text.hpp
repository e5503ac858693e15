// qunzhu engine: what modules' message templates are filled with, taken from a module's context
// (member, group settings and rules, community name, date and time in the community's zone).
#pragma once

#include <string_view>

#include "engine/module.hpp"

namespace qz {

// The template variables for a message to `group` on `platform` caused by ctx's event.
TemplateVars TemplateVarsFor(const ModuleContext& ctx, std::string_view platform,
                             std::string_view group);

}  // namespace qz
