// qunzhu store: the seam between the engine and durable storage. Owns the event log, the
// materialised entities and API tokens. Back ends (sqlite/, later postgres/) implement Store and
// must pass the conformance suite in store_conformance.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"

namespace qz {

// One row of the event log. `json` is the canonical form (EventToJson).
struct StoredEvent {
  int64_t seq = 0;  // assigned by AppendEvent, strictly increasing in commit order
  std::string platform;
  std::string source_id;  // Event::id
  CommunityId community_id = kNoId;
  GroupId group_id = kNoId;  // kNoId when the event names no group
  MemberId member_id = kNoId;
  EventType type = EventType::kMessage;
  TimeMs time = 0;
  std::string json;
};

// Everything the engine needs in memory to continue after a restart, without replaying history.
// Vectors are ordered by primary key (id; identities by (community, platform, external_id);
// memberships by (group, member); names and tags by (member, name/tag)).
struct StateSnapshot {
  std::vector<Community> communities;
  std::vector<Group> groups;
  std::vector<Member> members;
  std::vector<Identity> identities;
  std::vector<Membership> memberships;
  std::vector<MemberName> names;
  std::vector<MemberTag> tags;
  int64_t last_seq = 0;
  friend bool operator==(const StateSnapshot&, const StateSnapshot&) = default;
};

// A write transaction. Owned by the single writer thread that began it; not thread-safe.
// Everything put through it becomes durable together at Commit(), or not at all: destroying an
// uncommitted transaction rolls it back.
class StoreTxn {
 public:
  virtual ~StoreTxn() = default;

  // Appends `event` unless (platform, source_id) is already in the log. Returns true and sets
  // event.seq when appended; false for a duplicate (nothing written).
  virtual Result<bool> AppendEvent(StoredEvent& event) = 0;

  // Insert-or-replace by primary key (Identity: (community_id, platform, external_id);
  // Membership: (group_id, member_id); MemberName: (member_id, name); MemberTag: (member_id, tag)).
  virtual Status PutCommunity(const Community& community) = 0;
  virtual Status PutGroup(const Group& group) = 0;
  virtual Status PutMember(const Member& member) = 0;
  virtual Status PutIdentity(const Identity& identity) = 0;
  virtual Status PutMembership(const Membership& membership) = 0;
  virtual Status PutMemberName(const MemberName& name) = 0;
  virtual Status PutTag(const MemberTag& tag) = 0;
  virtual Status DeleteTag(MemberId member_id, const std::string& tag) = 0;

  // Makes the transaction durable (per the store's configured sync mode) before returning.
  virtual Status Commit() = 0;
};

struct MemberQuery {
  std::optional<CommunityId> community_id;
  std::optional<GroupId> group_id;  // only members with an active membership in this group
  std::string q;                    // substring of display name or of an identity's external id
  int limit = 50;                   // 1..1000
  MemberId after_id = kNoId;        // cursor: members with id > after_id, ascending
};

struct MemberProfile {
  Member member;
  std::vector<Identity> identities;
  std::vector<Membership> memberships;
  std::vector<MemberName> names;
  std::vector<MemberTag> tags;
};

struct StoreStats {
  int64_t events = 0;
  int64_t members = 0;
  int64_t groups = 0;
  int64_t communities = 0;
};

struct ApiToken {
  std::string hash;  // SHA-256 hex of the secret; the secret itself is never stored
  std::string name;
  TimeMs created_at = 0;
};

// Thread-safety: Begin() and LoadState() are called by the writer thread only (one writer per
// store). The read methods may be called concurrently from any thread, also while a write
// transaction is open, and see only committed data.
class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::unique_ptr<StoreTxn>> Begin() = 0;
  virtual Result<StateSnapshot> LoadState() = 0;

  virtual Result<StoreStats> Stats() = 0;
  virtual Result<std::vector<Community>> ListCommunities() = 0;
  virtual Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) = 0;
  // Ascending by id from the cursor.
  virtual Result<std::vector<Member>> ListMembers(const MemberQuery& query) = 0;
  virtual Result<MemberProfile> GetMember(MemberId id) = 0;  // kNotFound if absent
  // A member's events, newest first, with seq < before_seq (0 = from the newest).
  virtual Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                        int limit) = 0;
  // Events with seq > after_seq in ascending order, at most `limit`; for replay and export.
  virtual Result<std::vector<StoredEvent>> ScanEvents(int64_t after_seq, int limit) = 0;
  virtual Result<std::optional<StoredEvent>> FindEvent(const std::string& platform,
                                                       const std::string& source_id) = 0;

  // API tokens (their own small autocommitted writes; any thread).
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<bool> HasToken(const std::string& hash) = 0;
};

}  // namespace qz
