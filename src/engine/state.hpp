// qunzhu engine: the materialised state of the shards one writer owns (communities, groups,
// members, identities, memberships, names, tags), kept in memory so a restart loads it without
// replaying history, plus the set of rows changed since the last flush to the store.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

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
  // Records a display name the first time it is seen for the member; false if known.
  bool AddName(MemberId member, std::string_view name, TimeMs seen);
  bool HasTag(MemberId member, std::string_view tag) const;
  const std::vector<MemberTag>& TagsOf(MemberId member) const;
  void AddTag(MemberTag tag);
  void RemoveTag(MemberId member, std::string_view tag);

  // Modules' working state by (community, module, key); an empty value deletes.
  const std::string* FindModuleState(CommunityId community, std::string_view module,
                                     std::string_view key) const;
  void PutModuleState(CommunityId community, std::string_view module, std::string_view key,
                      std::string value);

  // Writes every dirty row through `txn` and forgets the dirty marks.
  Status Flush(StoreTxn& txn);
  // The whole state as the Store orders a snapshot (for replay comparison); last_seq is 0.
  StateSnapshot ToSnapshot() const;

  size_t member_count() const { return members_.size(); }

 private:
  static std::string IdentityKey(CommunityId community, std::string_view platform,
                                 std::string_view external_id);
  static std::string GroupKey(std::string_view platform, std::string_view external_id);
  static std::string ModuleStateKey(CommunityId community, std::string_view module,
                                    std::string_view key);
  static uint64_t MembershipKey(GroupId group, MemberId member) {
    return (static_cast<uint64_t>(group) << 40) ^ static_cast<uint64_t>(member);
  }

  // Entities by dense id (index = id - 1).
  std::vector<Community> communities_;
  std::vector<Group> groups_;
  std::vector<Member> members_;
  std::unordered_map<std::string, CommunityId> community_by_slug_;
  std::unordered_map<std::string, GroupId> group_by_external_;
  std::unordered_map<std::string, Identity> identities_;
  std::unordered_map<uint64_t, Membership> memberships_;
  std::vector<std::vector<MemberName>> names_;  // by member index
  std::vector<std::vector<MemberTag>> tags_;    // by member index
  std::unordered_map<std::string, ModuleStateEntry> module_state_;

  // Dirty since the last Flush.
  std::unordered_set<CommunityId> dirty_communities_;
  std::unordered_set<GroupId> dirty_groups_;
  std::unordered_set<MemberId> dirty_members_;
  std::unordered_set<std::string> dirty_identities_;
  std::unordered_set<uint64_t> dirty_memberships_;
  std::unordered_set<std::string> dirty_module_state_;
  std::vector<MemberName> new_names_;
  struct TagOpRecord {
    bool add;
    MemberTag tag;
  };
  std::vector<TagOpRecord> tag_ops_;
};

}  // namespace qz
