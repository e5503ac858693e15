// qunzhu module `schedule` (定时内容: 早安/晚安, course reminders): posts the playbook's
// scheduled texts to their groups. Owns the playbook section [[schedules]] and keeps one standing
// timer per schedule; keeps no state.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// One [[schedules]] entry: `text` sent to `group` ("platform:id") by `rule` (a recurrence, see
// engine/recurrence.hpp, checked in the community's time zone) .
struct ScheduleSettings {
  std::string name;  // unique, [A-Za-z0-9_.-]{1,64}; the standing timer's name
  std::string rule;
  std::string group;
  LocalizedText text;  // TEXT template without {member.name}
};

struct ScheduleConfig : SectionConfig {
  std::vector<ScheduleSettings> schedules;
};

// On its standing timer's event: sends that schedule's text. A schedule removed meanwhile sends
// nothing (its timer is finished when the playbook changes).
std::unique_ptr<Module> MakeScheduleModule();

}  // namespace qz
