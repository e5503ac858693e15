// qunzhu engine: the materialised state of the shards one writer owns (communities, groups,
// members, identities, memberships, names, tags), kept in memory so a restart loads it without
// replaying history, plus the set of rows changed since the last flush to the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <algorithm>
#include <unordered_map>
#include <vector>

#include "engine/keyed_rows.hpp"
#include "engine/module_state.hpp"
#include "model/entities.hpp"
#include "store/store.hpp"

namespace qz {

// Thread-compatible: owned and touched only by its writer thread (or a replay).
class State {
 public:
  State() = default;
  explicit State(StateSnapshot snapshot);

  const Community* FindCommunity(CommunityId id) const;
  const Community* FindCommunityBySlug(std::string_view slug) const;
  const Group* FindGroup(GroupId id) const;
  const Group* FindGroupByExternal(std::string_view platform, std::string_view external_id) const;
  const Member* FindMember(MemberId id) const;
  const Identity* FindIdentity(CommunityId community, std::string_view platform,
                               std::string_view external_id) const;
  const Membership* FindMembership(GroupId group, MemberId member) const;

  // The id the next created entity of each kind will get (ids are dense from 1).
  CommunityId NextCommunityId() const { return static_cast<CommunityId>(communities_.size()) + 1; }
  GroupId NextGroupId() const { return static_cast<GroupId>(groups_.size()) + 1; }
  MemberId NextMemberId() const { return static_cast<MemberId>(members_.size()) + 1; }

  // Creation takes the next id; mutation hands out a pointer valid until the next creation of
  // the same kind, and marks the row dirty.
  Community& AddCommunity(Community community);
  Group& AddGroup(Group group);
  Member& AddMember(Member member);
  Identity& PutIdentity(Identity identity);
  Community& MutableCommunity(CommunityId id);
  Group& MutableGroup(GroupId id);
  Member& MutableMember(MemberId id);
  Identity& MutableIdentity(const Identity& key);
  // Creates a default membership when absent (`created` tells which).
  Membership& MutableMembership(GroupId group, MemberId member, bool* created);
  // Gives a group a new external id (the platform re-keyed it); the new id must be unknown.
  void RekeyGroup(GroupId id, std::string external_id);
  // The group's memberships (copies), and the identities on `platform` in `community` by member.
  // Both scan every row: for rare operations (moving a group to another community).
  std::vector<Membership> MembershipsOf(GroupId group) const;
  std::unordered_map<MemberId, std::string> IdentitiesOn(CommunityId community,
                                                         std::string_view platform) const;
  // Records a display name the first time it is seen for the member; false if known.
  bool AddName(MemberId member, std::string_view name, TimeMs seen);
  bool HasTag(MemberId member, std::string_view tag) const;
  const std::vector<MemberTag>& TagsOf(MemberId member) const;
  void AddTag(MemberTag tag);
  void RemoveTag(MemberId member, std::string_view tag);

  // Modules' working state by (community, module, key); an empty value deletes.
  const std::string* FindModuleState(CommunityId community, std::string_view module,
                                     std::string_view key) const;
  // `life` says whether the row is flushed, and whether it stays in memory after (RowLife).
  // A cold row is not in FindModuleState's map: FindColdRow finds it until the flush, after
  // which its reader reads it from the store.
  void PutModuleState(CommunityId community, std::string_view module, std::string_view key,
                      std::string value, RowLife life = RowLife::kStored);
  // A cold row written since the last Flush (its value; empty: erased), or null.
  const std::string* FindColdRow(CommunityId community, std::string_view module,
                                 std::string_view key) const;

  // Writes every dirty row through `txn` and forgets the dirty marks.
  Status Flush(StoreTxn& txn);
  // The whole state as the Store orders a snapshot (for replay comparison); last_seq is 0. The
  // rows of cold tables are not in it: the store has them.
  StateSnapshot ToSnapshot() const;

  size_t member_count() const { return members_.size(); }

 private:
  static uint64_t IdentityHash(CommunityId community, std::string_view platform,
                               std::string_view external_id);
  static std::string GroupKey(std::string_view platform, std::string_view external_id);
  static uint64_t MembershipHash(GroupId group, MemberId member) {
    return MixHash((static_cast<uint64_t>(group) << 40) ^ static_cast<uint64_t>(member));
  }
  KeyedRows<Identity>::Slot* FindIdentitySlot(CommunityId community, std::string_view platform,
                                              std::string_view external_id);

  // Entities with dense ids marked dirty since the last flush, each once (a flag per id and
  // the list of marked ids, so marking is two array accesses however often a row changes).
  class DirtyIds {
   public:
    void Mark(int64_t id) {
      const auto i = static_cast<size_t>(id - 1);
      if (i >= flags_.size()) flags_.resize(i + 1, 0);
      if (flags_[i] != 0) return;
      flags_[i] = 1;
      ids_.push_back(id);
    }
    // Ascending: the store's key order, so neighbouring rows are written together.
    const std::vector<int64_t>& Sorted() {
      std::sort(ids_.begin(), ids_.end());
      return ids_;
    }
    void Clear() {
      for (int64_t id : ids_) flags_[static_cast<size_t>(id - 1)] = 0;
      ids_.clear();
    }

   private:
    std::vector<uint8_t> flags_;
    std::vector<int64_t> ids_;
  };
  // Rows do not move in KeyedRows, so the dirty lists hold pointers.
  Identity& MarkDirty(KeyedRows<Identity>::Slot& slot);
  Membership& MarkDirty(KeyedRows<Membership>::Slot& slot);

  // Entities by dense id (index = id - 1).
  std::vector<Community> communities_;
  std::vector<Group> groups_;
  std::vector<Member> members_;
  std::unordered_map<std::string, CommunityId> community_by_slug_;
  std::unordered_map<std::string, GroupId> group_by_external_;
  KeyedRows<Identity> identities_;
  KeyedRows<Membership> memberships_;
  std::vector<std::vector<MemberName>> names_;  // by member index
  std::vector<std::vector<MemberTag>> tags_;    // by member index
  // Module rows by "<community>\x1f<module>\x1f<key>"; looked up by a key built on the stack (transparent hash).
  struct StringHash {
    using is_transparent = void;  // NOLINT(readability-identifier-naming): the standard library's name
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct ModuleSlot {
    ModuleStateEntry row;
    bool dirty = false;
    RowLife life = RowLife::kStored;  // kEphemeral: never flushed, not in snapshots
  };
  using ModuleRows = std::unordered_map<std::string, ModuleSlot, StringHash, std::equal_to<>>;
  ModuleRows module_state_;

  // Dirty since the last Flush.
  DirtyIds dirty_communities_;
  DirtyIds dirty_groups_;
  DirtyIds dirty_members_;
  std::vector<KeyedRows<Identity>::Slot*> dirty_identities_;
  std::vector<KeyedRows<Membership>::Slot*> dirty_memberships_;
  std::vector<ModuleRows::value_type*> dirty_module_state_;  // nodes do not move
  std::vector<ModuleStateEntry> cold_rows_;  // RowLife::kCold rows since the last Flush, in order
  std::vector<MemberName> new_names_;
  struct TagOpRecord {
    bool add;
    MemberTag tag;
  };
  std::vector<TagOpRecord> tag_ops_;
};

}  // namespace qz
