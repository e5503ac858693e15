// qunzhu module `announce` (群公告): each group's announcement, set from the playbook where the
// platform can set it (an operator task elsewhere, by the engine's degradation of an action a
// platform cannot do). Owns the playbook section [[announcements]]; keeps the table `announced`
// (per group: the fingerprint of the announcement last set) so one is set once, not again at
// every reload or restart.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/module.hpp"

namespace qz {

// One [[announcements]] entry: the groups (`group`, `groups` or `group_type`, as schedules) and
// the `text` (TEXT, group template: {group.name}, {group.rules}, {community.name} …).
struct Announcement {
  std::vector<std::string> groups;  // "platform:id"
  LocalizedText text;
};

struct AnnounceConfig : SectionConfig {
  std::vector<Announcement> entries;  // a group is in at most one entry
};

// The fingerprint a group's announcement is compared by: its texts, the rules and name the
// playbook gives the group (they are template variables), in every language.
uint64_t AnnouncementFingerprint(const Announcement& a, const Playbook& playbook,
                                 std::string_view platform, std::string_view id);

// On applying a playbook, one standing timer per (entry, group) whose payload carries the
// fingerprint: a new or changed announcement fires at once (an empty rule) and the module sets
// it (ActionType::kSetAnnouncement) unless the group's `announced` row has that text already.
std::unique_ptr<Module> MakeAnnounceModule();

}  // namespace qz
