#include "engine/state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cassert>
#include <tuple>

namespace qz {

uint64_t State::IdentityHash(CommunityId community, std::string_view platform,
                             std::string_view external_id) {
  return HashCombine(HashCombine(MixHash(static_cast<uint64_t>(community)), platform), external_id);
}

namespace {
auto IdentityIs(CommunityId community, std::string_view platform, std::string_view external_id) {
  return [=](const Identity& i) {
    return i.community_id == community && i.external_id == external_id && i.platform == platform;
  };
}
auto MembershipIs(GroupId group, MemberId member) {
  return [=](const Membership& m) { return m.group_id == group && m.member_id == member; };
}
}  // namespace

KeyedRows<Identity>::Slot* State::FindIdentitySlot(CommunityId community,
                                                   std::string_view platform,
                                                   std::string_view external_id) {
  return identities_.Find(IdentityHash(community, platform, external_id),
                          IdentityIs(community, platform, external_id));
}

std::string State::GroupKey(std::string_view platform, std::string_view external_id) {
  std::string key(platform);
  key += '\x1f';
  key += external_id;
  return key;
}

namespace {

// Calls `use` with the key of a module row in State's map, "<community>\x1f<module>\x1f<key>",
// built on the stack when it fits: the look-ups a module makes per event then allocate nothing.
template <typename Use>
auto WithModuleStateKey(CommunityId community, std::string_view module, std::string_view key,
                        Use&& use) {
  std::array<char, 256> buffer;
  const size_t size = 21 + module.size() + key.size();
  if (size > buffer.size()) {
    const std::string k = fmt::format("{}\x1f{}\x1f{}", community, module, key);
    return use(std::string_view(k));
  }
  char* p = std::to_chars(buffer.data(), buffer.data() + 20, community).ptr;
  *p++ = '\x1f';
  p = std::copy(module.begin(), module.end(), p);
  *p++ = '\x1f';
  p = std::copy(key.begin(), key.end(), p);
  return use(std::string_view(buffer.data(), static_cast<size_t>(p - buffer.data())));
}

}  // namespace

State::State(StateSnapshot s) {
  // Ids are dense from 1 because only State allocates them; a gap would mean a foreign writer.
  communities_ = std::move(s.communities);
  groups_ = std::move(s.groups);
  members_ = std::move(s.members);
  for (const auto& c : communities_) community_by_slug_.emplace(c.slug, c.id);
  group_by_external_.reserve(groups_.size());
  for (const auto& g : groups_) group_by_external_.emplace(GroupKey(g.platform, g.external_id), g.id);
  // Keys are unique in the snapshot (primary keys), so rows go in without a look-up.
  identities_.Reserve(s.identities.size());
  for (auto& i : s.identities) {
    const uint64_t hash = IdentityHash(i.community_id, i.platform, i.external_id);
    identities_.Insert(hash, std::move(i));
  }
  memberships_.Reserve(s.memberships.size());
  for (auto& m : s.memberships) {
    const uint64_t hash = MembershipHash(m.group_id, m.member_id);
    memberships_.Insert(hash, std::move(m));
  }
  names_.resize(members_.size());
  for (auto& n : s.names) names_[static_cast<size_t>(n.member_id - 1)].push_back(std::move(n));
  tags_.resize(members_.size());
  for (auto& t : s.tags) tags_[static_cast<size_t>(t.member_id - 1)].push_back(std::move(t));
  for (auto& m : s.module_state) {
    WithModuleStateKey(m.community_id, m.module, m.key, [&](std::string_view k) {
      module_state_.emplace(std::string(k), ModuleSlot{std::move(m), false});
    });
  }
}

const std::string* State::FindModuleState(CommunityId community, std::string_view module,
                                          std::string_view key) const {
  return WithModuleStateKey(community, module, key, [&](std::string_view k) -> const std::string* {
    auto it = module_state_.find(k);
    return it == module_state_.end() || it->second.row.value.empty() ? nullptr
                                                                       : &it->second.row.value;
  });
}

const std::string* State::FindColdRow(CommunityId community, std::string_view module,
                                      std::string_view key) const {
  // The newest write of the key wins; cold rows are seldom read, so a scan of this batch's.
  for (auto it = cold_rows_.rbegin(); it != cold_rows_.rend(); ++it) {
    if (it->key == key && it->community_id == community && it->module == module) {
      return &it->value;  // empty: erased
    }
  }
  return nullptr;
}

void State::PutModuleState(CommunityId community, std::string_view module, std::string_view key,
                           std::string value, RowLife life) {
  WithModuleStateKey(community, module, key, [&](std::string_view k) {
    auto it = module_state_.find(k);
    if (life == RowLife::kCold) {
      // Not in the map, which a module reading its hot rows per message would pay for: in this
      // batch's list until flushed. A version of the row in the map (from a snapshot the writer
      // did not filter) is superseded: erased, or, if a flush still holds it, emptied so the
      // flush deletes it before it writes the cold rows.
      if (it != module_state_.end()) {
        if (it->second.dirty) {
          it->second.row.value.clear();
        } else {
          module_state_.erase(it);
        }
      }
      cold_rows_.push_back({community, std::string(module), std::string(key), std::move(value)});
      return;
    }
    if (it == module_state_.end()) {
      if (value.empty()) return;  // erasing a row that does not exist (State mirrors the store)
      it = module_state_
               .emplace(std::string(k), ModuleSlot{{community, std::string(module), std::string(key), {}},
                                                   false, life})
               .first;
    }
    it->second.row.value = std::move(value);
    if (life == RowLife::kEphemeral) {
      // Ephemeral: nothing to flush; an erased row goes at once.
      if (it->second.row.value.empty()) module_state_.erase(it);
    } else if (!it->second.dirty) {
      it->second.dirty = true;
      dirty_module_state_.push_back(&*it);
    }
  });
}

const std::vector<MemberTag>& State::TagsOf(MemberId member) const {
  return tags_[static_cast<size_t>(member - 1)];
}

const Community* State::FindCommunity(CommunityId id) const {
  return id >= 1 && static_cast<size_t>(id) <= communities_.size() ? &communities_[id - 1] : nullptr;
}
const Community* State::FindCommunityBySlug(std::string_view slug) const {
  auto it = community_by_slug_.find(std::string(slug));
  return it == community_by_slug_.end() ? nullptr : &communities_[it->second - 1];
}
const Group* State::FindGroup(GroupId id) const {
  return id >= 1 && static_cast<size_t>(id) <= groups_.size() ? &groups_[id - 1] : nullptr;
}
const Group* State::FindGroupByExternal(std::string_view platform,
                                        std::string_view external_id) const {
  auto it = group_by_external_.find(GroupKey(platform, external_id));
  return it == group_by_external_.end() ? nullptr : &groups_[it->second - 1];
}
const Member* State::FindMember(MemberId id) const {
  return id >= 1 && static_cast<size_t>(id) <= members_.size() ? &members_[id - 1] : nullptr;
}
const Identity* State::FindIdentity(CommunityId community, std::string_view platform,
                                    std::string_view external_id) const {
  const auto* slot = identities_.Find(IdentityHash(community, platform, external_id),
                                      IdentityIs(community, platform, external_id));
  return slot == nullptr ? nullptr : &slot->row;
}
const Membership* State::FindMembership(GroupId group, MemberId member) const {
  const auto* slot = memberships_.Find(MembershipHash(group, member), MembershipIs(group, member));
  return slot == nullptr ? nullptr : &slot->row;
}

Identity& State::MarkDirty(KeyedRows<Identity>::Slot& slot) {
  if (!slot.dirty) {
    slot.dirty = true;
    dirty_identities_.push_back(&slot);
  }
  return slot.row;
}
Membership& State::MarkDirty(KeyedRows<Membership>::Slot& slot) {
  if (!slot.dirty) {
    slot.dirty = true;
    dirty_memberships_.push_back(&slot);
  }
  return slot.row;
}

Community& State::AddCommunity(Community c) {
  c.id = NextCommunityId();
  community_by_slug_.emplace(c.slug, c.id);
  dirty_communities_.Mark(c.id);
  return communities_.emplace_back(std::move(c));
}

Group& State::AddGroup(Group g) {
  g.id = NextGroupId();
  group_by_external_.emplace(GroupKey(g.platform, g.external_id), g.id);
  dirty_groups_.Mark(g.id);
  return groups_.emplace_back(std::move(g));
}

Member& State::AddMember(Member m) {
  m.id = NextMemberId();
  assert(m.id < (int64_t{1} << 40));
  dirty_members_.Mark(m.id);
  names_.emplace_back();
  tags_.emplace_back();
  return members_.emplace_back(std::move(m));
}

Identity& State::PutIdentity(Identity i) {
  auto* slot = FindIdentitySlot(i.community_id, i.platform, i.external_id);
  if (slot != nullptr) {
    slot->row = std::move(i);
    return MarkDirty(*slot);
  }
  const uint64_t hash = IdentityHash(i.community_id, i.platform, i.external_id);
  return MarkDirty(identities_.Insert(hash, std::move(i)));
}

Community& State::MutableCommunity(CommunityId id) {
  dirty_communities_.Mark(id);
  return communities_[static_cast<size_t>(id - 1)];
}
Group& State::MutableGroup(GroupId id) {
  dirty_groups_.Mark(id);
  return groups_[static_cast<size_t>(id - 1)];
}
Member& State::MutableMember(MemberId id) {
  dirty_members_.Mark(id);
  return members_[static_cast<size_t>(id - 1)];
}
Identity& State::MutableIdentity(const Identity& key) {
  auto* slot = FindIdentitySlot(key.community_id, key.platform, key.external_id);
  assert(slot != nullptr);
  return MarkDirty(*slot);
}

Membership& State::MutableMembership(GroupId group, MemberId member, bool* created) {
  const uint64_t hash = MembershipHash(group, member);
  auto* slot = memberships_.Find(hash, MembershipIs(group, member));
  if (created) *created = slot == nullptr;
  if (slot == nullptr) {
    Membership m;
    m.group_id = group;
    m.member_id = member;
    slot = &memberships_.Insert(hash, std::move(m));
  }
  return MarkDirty(*slot);
}

void State::RekeyGroup(GroupId id, std::string external_id) {
  Group& g = MutableGroup(id);
  group_by_external_.erase(GroupKey(g.platform, g.external_id));
  g.external_id = std::move(external_id);
  group_by_external_.emplace(GroupKey(g.platform, g.external_id), id);
}

std::vector<Membership> State::MembershipsOf(GroupId group) const {
  std::vector<Membership> out;
  for (const auto& slot : memberships_) {
    if (slot.row.group_id == group) out.push_back(slot.row);
  }
  return out;
}

std::unordered_map<MemberId, std::string> State::IdentitiesOn(CommunityId community,
                                                              std::string_view platform) const {
  std::unordered_map<MemberId, std::string> out;
  for (const auto& slot : identities_) {
    if (slot.row.community_id == community && slot.row.platform == platform) {
      out.emplace(slot.row.member_id, slot.row.external_id);
    }
  }
  return out;
}

bool State::AddName(MemberId member, std::string_view name, TimeMs seen) {
  auto& list = names_[static_cast<size_t>(member - 1)];
  for (const auto& n : list) {
    if (n.name == name) return false;
  }
  MemberName n{member, std::string(name), seen};
  new_names_.push_back(n);
  list.push_back(std::move(n));
  return true;
}

bool State::HasTag(MemberId member, std::string_view tag) const {
  const auto& list = tags_[static_cast<size_t>(member - 1)];
  return std::any_of(list.begin(), list.end(), [&](const MemberTag& t) { return t.tag == tag; });
}

void State::AddTag(MemberTag tag) {
  tag_ops_.push_back({true, tag});
  tags_[static_cast<size_t>(tag.member_id - 1)].push_back(std::move(tag));
}

void State::RemoveTag(MemberId member, std::string_view tag) {
  auto& list = tags_[static_cast<size_t>(member - 1)];
  std::erase_if(list, [&](const MemberTag& t) { return t.tag == tag; });
  tag_ops_.push_back({false, MemberTag{member, std::string(tag), 0}});
}

Status State::Flush(StoreTxn& txn) {
  // Order matters only for readability of failures: parents before children.
  // Each kind in its table's key order, so that neighbouring rows are written together.
  for (CommunityId id : dirty_communities_.Sorted()) {
    QZ_RETURN_IF_ERROR(txn.PutCommunity(communities_[static_cast<size_t>(id - 1)]));
  }
  for (GroupId id : dirty_groups_.Sorted()) {
    QZ_RETURN_IF_ERROR(txn.PutGroup(groups_[static_cast<size_t>(id - 1)]));
  }
  for (MemberId id : dirty_members_.Sorted()) {
    QZ_RETURN_IF_ERROR(txn.PutMember(members_[static_cast<size_t>(id - 1)]));
  }
  std::sort(dirty_identities_.begin(), dirty_identities_.end(),
            [](const KeyedRows<Identity>::Slot* a, const KeyedRows<Identity>::Slot* b) {
              return std::tie(a->row.community_id, a->row.platform, a->row.external_id) <
                     std::tie(b->row.community_id, b->row.platform, b->row.external_id);
            });
  for (const auto* slot : dirty_identities_) QZ_RETURN_IF_ERROR(txn.PutIdentity(slot->row));
  std::sort(dirty_memberships_.begin(), dirty_memberships_.end(),
            [](const KeyedRows<Membership>::Slot* a, const KeyedRows<Membership>::Slot* b) {
              return std::tie(a->row.group_id, a->row.member_id) <
                     std::tie(b->row.group_id, b->row.member_id);
            });
  for (const auto* slot : dirty_memberships_) {
    QZ_RETURN_IF_ERROR(txn.PutMembership(slot->row));
  }
  for (const auto& n : new_names_) QZ_RETURN_IF_ERROR(txn.PutMemberName(n));
  for (const auto& op : tag_ops_) {
    QZ_RETURN_IF_ERROR(op.add ? txn.PutTag(op.tag) : txn.DeleteTag(op.tag.member_id, op.tag.tag));
  }
  // In key order, like the other kinds, so a batch writes the same way every time.
  std::sort(dirty_module_state_.begin(), dirty_module_state_.end(),
            [](const ModuleRows::value_type* a, const ModuleRows::value_type* b) {
              return a->first < b->first;
            });
  for (ModuleRows::value_type* slot : dirty_module_state_) {
    QZ_RETURN_IF_ERROR(txn.PutModuleState(slot->second.row));
  }
  for (ModuleRows::value_type* slot : dirty_module_state_) {
    slot->second.dirty = false;
    // Deleted in the store too.
    if (slot->second.row.value.empty()) module_state_.erase(module_state_.find(std::string_view(slot->first)));
  }
  // In the order written, so the last write of a key is the one stored; the store keeps them
  // from now on.
  for (const ModuleStateEntry& row : cold_rows_) QZ_RETURN_IF_ERROR(txn.PutModuleState(row));
  dirty_communities_.Clear();
  dirty_groups_.Clear();
  dirty_members_.Clear();
  for (auto* slot : dirty_identities_) slot->dirty = false;
  dirty_identities_.clear();
  for (auto* slot : dirty_memberships_) slot->dirty = false;
  dirty_memberships_.clear();
  new_names_.clear();
  tag_ops_.clear();
  dirty_module_state_.clear();
  cold_rows_.clear();
  return Status::Ok();
}

StateSnapshot State::ToSnapshot() const {
  StateSnapshot s;
  s.communities = communities_;
  s.groups = groups_;
  s.members = members_;
  s.identities.reserve(identities_.size());
  for (const auto& slot : identities_) s.identities.push_back(slot.row);
  std::sort(s.identities.begin(), s.identities.end(), [](const Identity& a, const Identity& b) {
    return std::tie(a.community_id, a.platform, a.external_id) <
           std::tie(b.community_id, b.platform, b.external_id);
  });
  s.memberships.reserve(memberships_.size());
  for (const auto& slot : memberships_) s.memberships.push_back(slot.row);
  std::sort(s.memberships.begin(), s.memberships.end(), [](const Membership& a, const Membership& b) {
    return std::tie(a.group_id, a.member_id) < std::tie(b.group_id, b.member_id);
  });
  for (const auto& list : names_) s.names.insert(s.names.end(), list.begin(), list.end());
  std::sort(s.names.begin(), s.names.end(), [](const MemberName& a, const MemberName& b) {
    return std::tie(a.member_id, a.name) < std::tie(b.member_id, b.name);
  });
  for (const auto& list : tags_) s.tags.insert(s.tags.end(), list.begin(), list.end());
  std::sort(s.tags.begin(), s.tags.end(), [](const MemberTag& a, const MemberTag& b) {
    return std::tie(a.member_id, a.tag) < std::tie(b.member_id, b.tag);
  });
  for (const auto& [key, m] : module_state_) {
    if (!m.row.value.empty() && m.life != RowLife::kEphemeral) s.module_state.push_back(m.row);
  }
  std::sort(s.module_state.begin(), s.module_state.end(),
            [](const ModuleStateEntry& a, const ModuleStateEntry& b) {
              return std::tie(a.community_id, a.module, a.key) <
                     std::tie(b.community_id, b.module, b.key);
            });
  return s;
}

}  // namespace qz
