#include "engine/shard_writer.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace qz {

Result<std::unique_ptr<ShardWriter>> ShardWriter::Open(Store& store) {
  auto snapshot = store.LoadState();
  if (!snapshot.ok()) return snapshot.status();
  return std::unique_ptr<ShardWriter>(new ShardWriter(store, State(std::move(*snapshot))));
}

Status ShardWriter::Reload() {
  auto snapshot = store_.LoadState();
  if (!snapshot.ok()) return snapshot.status();
  state_ = State(std::move(*snapshot));
  return Status::Ok();
}

Result<ShardWriter::Refs> ShardWriter::Resolve(const Event& e) const {
  Refs r;
  // The shard: a known group's community wins; a group seen for the first time is registered
  // in the event's community, or the default one.
  const Group* group = e.group.empty() ? nullptr : state_.FindGroupByExternal(e.platform, e.group);
  if (group != nullptr) {
    r.community = group->community_id;
    r.group = group->id;
    if (!e.community.empty()) {
      const Community* c = state_.FindCommunity(group->community_id);
      if (c->slug != e.community) {
        return Status::Invalid(fmt::format("group '{}' on {} belongs to community '{}', not '{}'",
                                           e.group, e.platform, c->slug, e.community),
                               "community");
      }
    }
  } else {
    const std::string_view slug = e.community.empty() ? kDefaultCommunity : e.community;
    if (const Community* c = state_.FindCommunityBySlug(slug)) {
      r.community = c->id;
    } else {
      r.community = state_.NextCommunityId();
      r.new_community = true;
    }
    if (!e.group.empty()) {
      r.group = state_.NextGroupId();
      r.new_group = true;
    }
  }
  const Identity* identity =
      r.new_community ? nullptr : state_.FindIdentity(r.community, e.platform, e.member);
  if (identity != nullptr) {
    r.member = identity->member_id;
  } else {
    r.member = state_.NextMemberId();
    r.new_member = true;
  }
  return r;
}

void ShardWriter::Materialize(const Event& e, const Refs& r) {
  if (r.new_community) {
    Community c;
    c.slug = e.community.empty() ? std::string(kDefaultCommunity) : e.community;
    c.name = c.slug;
    c.created_at = e.time;
    state_.AddCommunity(std::move(c));
  }
  if (r.new_group) {
    Group g;
    g.community_id = r.community;
    g.platform = e.platform;
    g.external_id = e.group;
    g.name = e.group_name.empty() ? e.group : e.group_name;
    g.time_zone = state_.FindCommunity(r.community)->time_zone;
    g.first_seen = e.time;
    g.last_activity = e.time;
    state_.AddGroup(std::move(g));
  }
  if (r.new_member) {
    Member m;
    m.community_id = r.community;
    m.display_name = e.name.empty() ? e.member : e.name;
    m.first_seen = e.time;
    m.last_seen = e.time;
    state_.AddMember(std::move(m));
    state_.PutIdentity(Identity{r.community, e.platform, e.member, r.member, e.name});
  }
}

MemberId ShardWriter::EnsureMember(CommunityId community, const std::string& platform,
                                   const std::string& external_id, TimeMs seen) {
  if (const Identity* i = state_.FindIdentity(community, platform, external_id)) return i->member_id;
  Member m;
  m.community_id = community;
  m.display_name = external_id;
  m.first_seen = seen;
  m.last_seen = seen;
  const MemberId id = state_.AddMember(std::move(m)).id;
  state_.PutIdentity(Identity{community, platform, external_id, id, {}});
  return id;
}

// The effect of one new (non-duplicate) event on the materialised state. Events may arrive out
// of time order, so first/last times are min/max rather than "latest wins".
void ShardWriter::Apply(const Event& e, const Refs& r) {
  {
    Member& m = state_.MutableMember(r.member);
    m.first_seen = std::min(m.first_seen, e.time);
    m.last_seen = std::max(m.last_seen, e.time);
    if (!e.name.empty() && m.display_name != e.name) m.display_name = e.name;
  }
  if (!e.name.empty()) {
    const Identity* identity = state_.FindIdentity(r.community, e.platform, e.member);
    if (identity->name != e.name) state_.MutableIdentity(*identity).name = e.name;
    state_.AddName(r.member, e.name, e.time);
  }

  Membership* ms = nullptr;
  if (r.group != kNoId) {
    Group& g = state_.MutableGroup(r.group);
    g.last_activity = std::max(g.last_activity, e.time);
    if (!e.group_name.empty() && g.name != e.group_name) g.name = e.group_name;
    bool created = false;
    ms = &state_.MutableMembership(r.group, r.member, &created);
    if (created) {
      // Seen in the group before (or without) a join event: evidently a member.
      ms->joined_at = e.time;
      ms->active = e.type != EventType::kMemberLeft;
      if (ms->active) ++state_.MutableGroup(r.group).member_count;
    } else if (e.type != EventType::kMemberLeft && e.type != EventType::kMemberJoined &&
               !ms->active && e.time > ms->left_at) {
      // Active after leaving: they came back without a join event reaching us.
      ms->active = true;
      ++state_.MutableGroup(r.group).member_count;
    }
    if (e.role) ms->role = *e.role;
  }

  switch (e.type) {
    case EventType::kMessage: {
      Member& m = state_.MutableMember(r.member);
      ++m.messages;
      m.last_message = std::max(m.last_message, e.time);
      ms->messages++;
      ms->last_message = std::max(ms->last_message, e.time);
      ++state_.MutableGroup(r.group).messages;
      break;
    }
    case EventType::kMemberJoined: {
      Group& g = state_.MutableGroup(r.group);
      ++g.joins;
      if (!ms->active) {
        ms->active = true;
        ++g.member_count;
      }
      ms->joined_at = std::min(ms->joined_at, e.time);
      MemberId inviter = kNoId;
      if (!e.via_inviter.empty() && e.via_inviter != e.member) {
        inviter = EnsureMember(r.community, e.platform, e.via_inviter, e.time);
      }
      // AddMember above may have moved members_: take references only after it.
      if (ms->via_code.empty() && ms->inviter_id == kNoId) {
        ms->via_code = e.via_code;
        ms->inviter_id = inviter;
      }
      Member& m = state_.MutableMember(r.member);
      if (m.referrer_id == kNoId && m.channel.empty() && (inviter != kNoId || !e.via_code.empty())) {
        m.referrer_id = inviter;
        m.channel = e.via_code;
        if (inviter != kNoId) ++state_.MutableMember(inviter).invited;
      }
      break;
    }
    case EventType::kMemberLeft: {
      if (ms->active) {
        ms->active = false;
        Group& g = state_.MutableGroup(r.group);
        --g.member_count;
        ++g.leaves;
      }
      ms->left_at = std::max(ms->left_at, e.time);
      ms->left_reason = e.reason;
      break;
    }
    case EventType::kCheckin: {
      Member& m = state_.MutableMember(r.member);
      ++m.checkins;
      m.last_checkin = std::max(m.last_checkin, e.time);
      break;
    }
    case EventType::kLinkClick:
      ++state_.MutableMember(r.member).link_clicks;
      break;
    case EventType::kOrder: {
      Member& m = state_.MutableMember(r.member);
      ++m.orders;
      m.order_amount_e4 += e.amount_e4;
      break;
    }
    case EventType::kTagChanged:
      if (e.tag_op == TagOp::kAdd) {
        if (!state_.HasTag(r.member, e.tag)) state_.AddTag(MemberTag{r.member, e.tag, e.time});
      } else if (state_.HasTag(r.member, e.tag)) {
        state_.RemoveTag(r.member, e.tag);
      }
      break;
    default:
      break;
  }
}

Result<std::vector<ItemOutcome>> ShardWriter::ApplyBatch(std::span<const WriteItem> items) {
  std::vector<ItemOutcome> outcomes(items.size());
  auto fail = [&](Status status) -> Result<std::vector<ItemOutcome>> {
    // The transaction rolled back (or never began); the state may hold effects of the batch.
    if (Status reload = Reload(); !reload.ok()) {
      return Status::Unavailable(fmt::format("{}; reloading the state also failed: {}",
                                             status.message(), reload.message()));
    }
    return status;
  };
  auto txn = store_.Begin();
  if (!txn.ok()) return fail(txn.status());

  StoredEvent row;
  for (size_t i = 0; i < items.size(); ++i) {
    const Event& e = *items[i].event;
    auto refs = Resolve(e);
    if (!refs.ok()) {
      outcomes[i] = {Outcome::kRejected, refs.status()};
      continue;
    }
    row.platform = e.platform;
    row.source_id = e.id;
    row.community_id = refs->community;
    row.group_id = refs->group;
    row.member_id = refs->member;
    row.type = e.type;
    row.time = e.time;
    row.json = *items[i].json;
    auto appended = (*txn)->AppendEvent(row);
    if (!appended.ok()) return fail(appended.status());
    if (!*appended) {
      outcomes[i] = {Outcome::kDuplicate, Status::Ok()};
      continue;
    }
    Materialize(e, *refs);
    Apply(e, *refs);
  }
  if (Status st = state_.Flush(**txn); !st.ok()) return fail(st);
  if (Status st = (*txn)->Commit(); !st.ok()) return fail(st);
  return outcomes;
}

}  // namespace qz
