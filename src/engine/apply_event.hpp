// qunzhu engine: how one event changes the materialised state (docs/events.md, "How events
// change the state"): the entities it creates, the counters it moves, the groups it binds,
// re-keys or marks. Pure over State, so live ingest and replay (both through ShardWriter) apply
// an event the same way; the writer owns the transaction, the log and the modules around it.
#pragma once

#include <string>

#include "engine/state.hpp"
#include "model/event.hpp"

namespace qz {

// What an event refers to, resolved without changing the state (ShardWriter::Resolve, so a
// duplicate changes nothing); ids of entities that do not exist yet are the ones creation will
// assign.
struct ResolvedRefs {
  CommunityId community = kNoId;
  bool new_community = false;
  GroupId group = kNoId;
  bool new_group = false;
  MemberId member = kNoId;  // kNoId for a system event without a member
  bool new_member = false;
  const Identity* identity = nullptr;  // the member's identity, when not new (nodes are stable)
  // The event named no community and its new group is claimed by this community's playbook:
  // the event is logged with the community written in, so replay routes it the same way.
  std::string playbook_community;
};

// Creates the community, group and member `refs` says are new.
void Materialize(State& state, const Event& event, const ResolvedRefs& refs);
// The effect of one new (non-duplicate) event, after Materialize.
void ApplyEvent(State& state, const Event& event, const ResolvedRefs& refs);
// A member_synced event that finds the member active in the group with that role and name: it
// would change nothing, so it is not logged.
bool SyncChangesNothing(const State& state, const Event& event, const ResolvedRefs& refs);

}  // namespace qz
