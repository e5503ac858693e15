// qunzhu module `roster` (群成员同步): keeps each group's member list and roles in step with the
// platform. Platforms do not report everything (an admin appointed in the app, members who were
// there before the bot), so the module asks the platform for a group's members (sync_members)
// the first time an event from that group reaches it and again once the last ask is older than
// `sync_every`; the adapter answers with member_synced events, which the engine applies to the
// memberships and their roles. Owns the playbook section [roster]; keeps the table `synced` (per
// group: when its members were last asked for).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/module.hpp"

namespace qz {

// [roster]: absent → off (a platform that cannot list members turns every sync into an
// operator task, so a community opts in). `enabled` (default true when the section is present),
// `sync_every` (duration, 1h..30d, default "24h").
struct RosterConfig : SectionConfig {
  bool enabled = false;
  int64_t sync_every_s = 86400;
};

// One row per group of the community the module has asked about: at most one per group.
struct RosterSyncedRow {
  static constexpr std::string_view kTable = "synced";
  int64_t group = 0;  // key: the group id
  std::string platform;
  std::string group_ref;  // the group's external id when it was asked for
  int64_t last_sync = 0;  // ms: the time of the event that asked (not when the answer came)
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Value("platform", platform);
    v.Value("group_ref", group_ref);
    v.Value("last_sync", last_sync);
  }
};

// On any event from a group (not a private chat, not one of the engine's own system events)
// while enabled: sync_members for that group when it has no row yet or its last sync is at least
// `sync_every` older than the event (out-of-order events never ask twice). A group the bot was
// removed from (bot_removed) is not asked about: nothing is sent there.
std::unique_ptr<Module> MakeRosterModule();

}  // namespace qz
