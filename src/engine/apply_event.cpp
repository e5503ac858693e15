#include "engine/apply_event.hpp"

#include <algorithm>

namespace qz {
namespace {

// The member of `external_id` on `platform` in `community`, created (named by the id) when new.
MemberId EnsureMember(State& state, CommunityId community, const std::string& platform,
                      const std::string& external_id, TimeMs seen) {
  if (const Identity* i = state.FindIdentity(community, platform, external_id)) return i->member_id;
  Member m;
  m.community_id = community;
  m.display_name = external_id;
  m.first_seen = seen;
  m.last_seen = seen;
  const MemberId id = state.AddMember(std::move(m)).id;
  state.PutIdentity(Identity{community, platform, external_id, id, {}});
  return id;
}

// Moves a group to another community (group_bound). Each active member of the group becomes a
// member of the new community (found or created by their identity on the group's platform);
// the old membership ends as "moved" and the new one starts with its role, join time and
// message count. What happened before stays in the old community: the events in the log, the
// members' counters and tags, the modules' rows.
void MoveGroup(State& state, GroupId group_id, const Community& to, TimeMs time) {
  const Group before = *state.FindGroup(group_id);
  const auto externals = state.IdentitiesOn(before.community_id, before.platform);
  for (const Membership& old : state.MembershipsOf(group_id)) {
    if (!old.active) continue;
    auto external = externals.find(old.member_id);
    if (external == externals.end()) continue;  // no identity on this platform: cannot follow
    const std::string name = state.FindMember(old.member_id)->display_name;
    const bool known = state.FindIdentity(to.id, before.platform, external->second) != nullptr;
    const MemberId moved = EnsureMember(state, to.id, before.platform, external->second, time);
    if (!known) {
      Member& m = state.MutableMember(moved);
      m.display_name = name;
      state.AddName(moved, name, time);
    }
    Membership& from = state.MutableMembership(group_id, old.member_id, nullptr);
    from.active = false;
    from.left_at = std::max(from.left_at, time);
    from.left_reason = LeaveReason::kMoved;
    Membership& into = state.MutableMembership(group_id, moved, nullptr);
    into.active = true;  // the group's member_count stays: one membership ends, one starts
    into.role = old.role;
    into.joined_at = into.joined_at == 0 ? old.joined_at : std::min(into.joined_at, old.joined_at);
    into.via_code = old.via_code;
    into.messages += old.messages;
    into.last_message = std::max(into.last_message, old.last_message);
  }
  Group& g = state.MutableGroup(group_id);
  g.community_id = to.id;
  g.time_zone = to.time_zone;
}

// The effects of the events about a group rather than a member; true when `e` is one of them
// (its member, if named, is only known, not seen in the group).
bool ApplyToGroup(State& state, const Event& e, const ResolvedRefs& r) {
  switch (e.type) {
    case EventType::kGroupBound: {
      const Community* to = state.FindCommunityBySlug(e.to);  // Resolve made sure it exists
      if (to->id != state.FindGroup(r.group)->community_id) MoveGroup(state, r.group, *to, e.time);
      return true;
    }
    case EventType::kGroupMigrated:
      // Also when told twice: the second time the group already has its new id.
      if (state.FindGroup(r.group)->external_id == e.group) state.RekeyGroup(r.group, e.to);
      return true;
    case EventType::kBotRemoved:
      state.MutableGroup(r.group).bot_left_at = e.time;
      return true;
    case EventType::kBotAdded:
      state.MutableGroup(r.group).bot_left_at = 0;
      return true;
    case EventType::kMessage:
    case EventType::kMemberJoined:
    case EventType::kMemberLeft:
      // The platform brought an event from the group: the bot is evidently in it (again).
      if (const Group* g = state.FindGroup(r.group); g->bot_left_at != 0 && e.time > g->bot_left_at) {
        state.MutableGroup(r.group).bot_left_at = 0;
      }
      return false;
    default:
      return false;
  }
}

}  // namespace

void Materialize(State& state, const Event& e, const ResolvedRefs& r) {
  if (r.new_community) {
    Community c;
    c.slug = e.community.empty() ? std::string(kDefaultCommunity) : e.community;
    c.name = c.slug;
    c.created_at = e.time;
    state.AddCommunity(std::move(c));
  }
  if (r.new_group) {
    Group g;
    g.community_id = r.community;
    g.platform = e.platform;
    g.external_id = e.group;
    g.name = e.group_name.empty() ? e.group : e.group_name;
    g.time_zone = state.FindCommunity(r.community)->time_zone;
    g.first_seen = e.time;
    g.last_activity = e.time;
    state.AddGroup(std::move(g));
  }
  if (r.new_member) {
    Member m;
    m.community_id = r.community;
    m.display_name = e.name.empty() ? e.member : e.name;
    m.first_seen = e.time;
    m.last_seen = e.time;
    state.AddMember(std::move(m));
    state.PutIdentity(Identity{r.community, e.platform, e.member, r.member, e.name});
  }
}

// The effect of one new (non-duplicate) event on the materialised state. Events may arrive out
// of time order, so first/last times are min/max rather than "latest wins".
void ApplyEvent(State& state, const Event& e, const ResolvedRefs& r) {
  if (r.group != kNoId && ApplyToGroup(state, e, r)) return;
  if (r.member == kNoId) {
    if (r.group != kNoId) {
      Group& g = state.MutableGroup(r.group);
      g.last_activity = std::max(g.last_activity, e.time);
    }
    return;
  }
  {
    Member& m = state.MutableMember(r.member);
    m.first_seen = std::min(m.first_seen, e.time);
    m.last_seen = std::max(m.last_seen, e.time);
    if (!e.name.empty() && m.display_name != e.name) m.display_name = e.name;
  }
  if (!e.name.empty()) {
    // A new member's identity was created with this name.
    if (r.identity != nullptr && r.identity->name != e.name) {
      state.MutableIdentity(*r.identity).name = e.name;
    }
    state.AddName(r.member, e.name, e.time);
  }

  Membership* ms = nullptr;
  if (r.group != kNoId && e.type != EventType::kJoinRequest) {  // asking is not being in it
    Group& g = state.MutableGroup(r.group);
    g.last_activity = std::max(g.last_activity, e.time);
    if (!e.group_name.empty() && g.name != e.group_name) g.name = e.group_name;
    bool created = false;
    ms = &state.MutableMembership(r.group, r.member, &created);
    if (created) {
      // Seen in the group before (or without) a join event: evidently a member.
      ms->joined_at = e.time;
      ms->active = e.type != EventType::kMemberLeft;
      if (ms->active) ++state.MutableGroup(r.group).member_count;
    } else if (e.type != EventType::kMemberLeft && e.type != EventType::kMemberJoined &&
               !ms->active && e.time > ms->left_at) {
      // Active after leaving: they came back without a join event reaching us.
      ms->active = true;
      ++state.MutableGroup(r.group).member_count;
    }
    if (e.role) ms->role = *e.role;
  }

  switch (e.type) {
    case EventType::kMessage: {
      if (ms == nullptr) break;  // a direct message to the bot: not a message in the community
      Member& m = state.MutableMember(r.member);
      ++m.messages;
      m.last_message = std::max(m.last_message, e.time);
      ms->messages++;
      ms->last_message = std::max(ms->last_message, e.time);
      ++state.MutableGroup(r.group).messages;
      break;
    }
    case EventType::kMemberJoined: {
      Group& g = state.MutableGroup(r.group);
      ++g.joins;
      if (!ms->active) {
        ms->active = true;
        ++g.member_count;
      }
      ms->joined_at = std::min(ms->joined_at, e.time);
      MemberId inviter = kNoId;
      if (!e.via_inviter.empty() && e.via_inviter != e.member) {
        inviter = EnsureMember(state, r.community, e.platform, e.via_inviter, e.time);
      }
      // AddMember above may have moved members_: take references only after it.
      if (ms->via_code.empty() && ms->inviter_id == kNoId) {
        ms->via_code = e.via_code;
        ms->inviter_id = inviter;
      }
      Member& m = state.MutableMember(r.member);
      if (m.referrer_id == kNoId && m.channel.empty() && (inviter != kNoId || !e.via_code.empty())) {
        m.referrer_id = inviter;
        m.channel = e.via_code;
        if (inviter != kNoId) ++state.MutableMember(inviter).invited;
      }
      break;
    }
    case EventType::kMemberLeft: {
      if (ms->active) {
        ms->active = false;
        Group& g = state.MutableGroup(r.group);
        --g.member_count;
        ++g.leaves;
      }
      ms->left_at = std::max(ms->left_at, e.time);
      ms->left_reason = e.reason;
      break;
    }
    case EventType::kCheckin: {
      Member& m = state.MutableMember(r.member);
      ++m.checkins;
      m.last_checkin = std::max(m.last_checkin, e.time);
      break;
    }
    case EventType::kLinkClick:
      ++state.MutableMember(r.member).link_clicks;
      break;
    case EventType::kOrder: {
      Member& m = state.MutableMember(r.member);
      ++m.orders;
      m.order_amount_e4 += e.amount_e4;
      break;
    }
    case EventType::kTagChanged:
      if (e.tag_op == TagOp::kAdd) {
        if (!state.HasTag(r.member, e.tag)) state.AddTag(MemberTag{r.member, e.tag, e.time});
      } else if (state.HasTag(r.member, e.tag)) {
        state.RemoveTag(r.member, e.tag);
      }
      break;
    case EventType::kPointsChanged:
      state.MutableMember(r.member).points += e.points;
      break;
    case EventType::kTimer:
    case EventType::kActionDone:
    case EventType::kActionFailed:
    case EventType::kPlaybookApplied:
    case EventType::kCommand:
    case EventType::kJoinRequest:   // the member is known now; the group is not theirs yet
    case EventType::kMemberSynced:  // the membership above is all it says
      break;  // about the engine, not the member: their presence is all they change
    case EventType::kGroupBound:
    case EventType::kGroupMigrated:
    case EventType::kBotRemoved:
    case EventType::kBotAdded:
      break;  // ApplyToGroup
  }
}

bool SyncChangesNothing(const State& state, const Event& e, const ResolvedRefs& r) {
  if (r.new_member || r.group == kNoId || r.new_group) return false;
  const Membership* m = state.FindMembership(r.group, r.member);
  if (m == nullptr || !m->active || (e.role && m->role != *e.role)) return false;
  return e.name.empty() || (r.identity != nullptr && r.identity->name == e.name);
}

}  // namespace qz
