// qunzhu module `welcome` (入群欢迎, 社群接待SOP): greets a member who joins a group with the
// playbook's welcome text, their name and the group's rules. Owns the playbook section
// [welcome]; keeps no state.
#pragma once

#include <memory>

#include "engine/module.hpp"

namespace qz {

// [welcome]: absent → disabled. `enabled` (default true when the section is present), `text`
// (TEXT template, every variable; required when enabled).
struct WelcomeConfig : SectionConfig {
  bool enabled = false;
  LocalizedText text;
};

// On member_joined (not staff): sends the welcome text to the group.
std::unique_ptr<Module> MakeWelcomeModule();

}  // namespace qz
