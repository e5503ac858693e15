// qunzhu store: the read-model sub-seam, what the API reads: the materialised entities
// (communities, groups, members and their profiles), a member's events, the counts, and the
// modules' state tables. Everything here is written through StoreTxn.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "store/event_log.hpp"

namespace qz {

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

// Thread-safety: any thread, also while a write transaction is open; committed data only.
class ReadModel {
 public:
  virtual ~ReadModel() = default;

  virtual Result<StoreStats> Stats() = 0;
  virtual Result<std::vector<Community>> ListCommunities() = 0;
  virtual Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) = 0;
  // Ascending by id from the cursor.
  virtual Result<std::vector<Member>> ListMembers(const MemberQuery& query) = 0;
  virtual Result<MemberProfile> GetMember(MemberId id) = 0;  // kNotFound if absent
  // A member's events, newest first, with seq < before_seq (0 = from the newest), following
  // the chain from Member::last_event_seq through StoredEvent::member_prev_seq. Cheapest when
  // before_seq is the seq of one of the member's events (the cursor of a previous page); any
  // other value walks the chain from the newest event down to it.
  virtual Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                        int limit) = 0;

  // Module state tables. A row is a ModuleStateEntry whose `module` is the qualified table name
  // "<module>.<table>", `key` the row's key as JSON array text (`[42]`, `["u1",3]`) and `value`
  // a JSON object text; the store compares keys as bytes and does not parse them.
  //
  // Community `community_id`'s rows of `table` with key > after_key (bytewise; "" = from the
  // first), ascending by key, at most `limit` (clamped to 1..1000). Pass the last row's key as
  // the next after_key. Reads the (community_id, module, key) key range, not the table.
  virtual Result<std::vector<ModuleStateEntry>> ListModuleState(CommunityId community_id,
                                                                std::string_view table,
                                                                std::string_view after_key,
                                                                int limit) = 0;
  // The row of `table` with exactly this key in that community; nullopt when there is none.
  virtual Result<std::optional<ModuleStateEntry>> GetModuleState(CommunityId community_id,
                                                                 std::string_view table,
                                                                 std::string_view key) = 0;
};

}  // namespace qz
