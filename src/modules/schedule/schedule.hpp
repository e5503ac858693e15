// qunzhu module `schedule` (定时内容: 早安/晚安, course reminders): posts the playbook's
// scheduled texts to their groups. Owns the playbook section [[schedules]] and keeps one standing
// timer per schedule; keeps no state.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// One [[schedules]] entry: `text` sent by `rule` (a recurrence, see engine/recurrence.hpp,
// checked in the community's time zone) to its groups, named by exactly one of `group`
// ("platform:id"), `groups` (a list of them, or "all": every [[groups]] entry) or `group_type`
// (every [[groups]] entry of that type).
struct ScheduleSettings {
  std::string name;  // unique, [A-Za-z0-9_.-]{1,64}; the standing timer's name
  std::string rule;
  std::vector<std::string> groups;  // "platform:id", each once, in playbook order
  std::set<std::string, std::less<>> group_set;  // the same, for lookups
  // true for `group` (one standing timer named `name`); false: one timer per group, named
  // "<name>@<platform:id>", so each group's post is an event of its own (ordered, retried and
  // rate-limited apart) and 10,000 groups are 10,000 timers fired in batches.
  bool single = true;
  LocalizedText text;  // TEXT template without {member.name}
  bool on_holidays = false;  // `on_holidays = true`: also posts on the community's holidays
};

struct ScheduleConfig : SectionConfig {
  std::vector<ScheduleSettings> schedules;
  std::map<std::string, size_t, std::less<>> by_name;  // → index in `schedules`
};

// On its standing timer's event: sends that schedule's text to the timer's group. A schedule or
// a group removed meanwhile sends nothing (its timer is finished when the playbook changes).
std::unique_ptr<Module> MakeScheduleModule();

}  // namespace qz
