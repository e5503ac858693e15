// qunzhu automation: modules that act on schedule and on member lifecycle events — the welcome
// message on join (社群接待SOP: welcome with the group rules) and the playbook's scheduled
// content (早安/晚安, course reminders). Pure over the ModuleContext.
#pragma once

#include <memory>

#include "engine/module.hpp"

namespace qz {

// On member_joined: sends the playbook's welcome template to the group, with the member's name
// and the group's rules. Nothing when the playbook's welcome is disabled.
std::unique_ptr<Module> MakeWelcomeModule();

// On a `timer` event of a playbook schedule (key "schedule:<name>"): sends the schedule's text
// to its group. A schedule removed from the playbook meanwhile sends nothing.
std::unique_ptr<Module> MakeScheduleModule();

}  // namespace qz
