// qunzhu store: the read-model sub-seam, what the API reads: the materialised entities
// (communities, groups, members and their profiles), a member's events, the counts, and the
// modules' state tables. Everything here is written through StoreTxn.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "core/status.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "store/event_log.hpp"

namespace qz {

// Where a sorted page continues: the sort value and the id of the previous page's last row
// (rows come in (value, id) order, ascending or descending, so ties are broken by id).
struct SortKey {
  std::variant<int64_t, std::string> value;
  int64_t id = 0;
  friend bool operator==(const SortKey&, const SortKey&) = default;
};

// The orders a member list may be read in. Texts sort bytewise (UTF-8), not by pinyin.
enum class MemberSort : uint8_t {
  kId,  // the default: ascending by id with the after_id cursor
  kDisplayName,
  kFirstSeen,
  kLastSeen,
  kLastMessage,
  kMessages,
};

struct MemberQuery {
  std::optional<CommunityId> community_id;
  std::optional<GroupId> group_id;  // only members with an active membership in this group
  std::string q;                    // substring of display name or of an identity's external id
  std::string tag;                  // only members with this tag (exact; "" = any)
  // Only members with an active membership of this role (in group_id when set, else in any
  // group): the platform's owners, admins and assistants (群主, 管理员, 助理).
  std::optional<Role> role;
  int limit = 50;                   // 1..1000
  MemberId after_id = kNoId;        // cursor: members with id > after_id, ascending
  // Another order than ascending id: rows in (sort value, id) order, descending when
  // `descending`, after `after` (nullopt: from the first); after_id is then not used.
  MemberSort sort = MemberSort::kId;
  bool descending = false;
  std::optional<SortKey> after;
  bool sorted() const { return sort != MemberSort::kId || descending; }
  bool filtered() const { return !tag.empty() || role.has_value(); }
};

// The orders a group list may be read in (the group JSON's names).
enum class GroupSort : uint8_t {
  kId,
  kName,
  kPlatform,
  kMemberCount,
  kMessages,
  kLastActivity,
  kFirstSeen,
};

struct GroupQuery {
  std::optional<CommunityId> community_id;
  // A substring of the name or of the platform's group id, ASCII letters in any case (as LIKE).
  std::string q;
  GroupSort sort = GroupSort::kId;
  bool descending = false;
  int limit = 50;                // 1..1000
  std::optional<SortKey> after;  // continue after this (value, id); nullopt: from the first
};

struct GroupPage {
  std::vector<Group> groups;
  int64_t total = 0;  // groups matching the query's filters, on every page
};

// Whether `text` holds `part`, ASCII letters in any case (what SQL's LIKE '%part%' answers).
inline bool ContainsAsciiFolded(std::string_view text, std::string_view part) {
  auto fold = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  return std::search(text.begin(), text.end(), part.begin(), part.end(),
                     [&](char a, char b) { return fold(a) == fold(b); }) != text.end();
}

// The value `sort` orders a group or a member by.
SortKey GroupSortKey(const Group& g, GroupSort sort);
SortKey MemberSortKey(const Member& m, MemberSort sort);

struct MemberProfile {
  Member member;
  std::vector<Identity> identities;
  std::vector<Membership> memberships;
  std::vector<MemberName> names;
  std::vector<MemberTag> tags;
};

// A member tag in use and how many members have it.
struct TagCount {
  std::string tag;
  int64_t members = 0;
  friend bool operator==(const TagCount&, const TagCount&) = default;
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
  // One page of groups in the query's order. The default sorts ListGroups' answer in memory (a
  // node has hundreds or thousands of groups); a back end may answer it directly.
  virtual Result<GroupPage> ListGroupsPage(const GroupQuery& query);
  // Ascending by id from the cursor, or in the query's sort order (MemberQuery::sorted()).
  virtual Result<std::vector<Member>> ListMembers(const MemberQuery& query) = 0;
  virtual Result<MemberProfile> GetMember(MemberId id) = 0;  // kNotFound if absent
  // The tags members have (of this community's members when given), ascending by tag, each
  // with its number of members; at most 1000.
  virtual Result<std::vector<TagCount>> ListTags(std::optional<CommunityId> community_id) = 0;
  // A member's events, newest first, with seq < before_seq (0 = from the newest), following
  // the chain from Member::last_event_seq through StoredEvent::member_prev_seq. Cheapest when
  // before_seq is the seq of one of the member's events (the cursor of a previous page); any
  // other value walks the chain from the newest event down to it.
  virtual Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                        int limit) = 0;
  // A group's events, newest first, as MemberEvents (the chain from Group::last_event_seq
  // through StoredEvent::group_prev_seq): its recent conversation, joins and leaves.
  virtual Result<std::vector<StoredEvent>> GroupEvents(GroupId id, int64_t before_seq,
                                                       int limit) = 0;
  // One group by id, or by (platform, external id); nullopt when there is none. The defaults
  // search ListGroups' answer; a back end answers from its keys.
  virtual Result<std::optional<Group>> GetGroup(GroupId id);
  virtual Result<std::optional<Group>> FindGroup(std::string_view platform,
                                                 std::string_view external_id);

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

inline SortKey GroupSortKey(const Group& g, GroupSort sort) {
  switch (sort) {
    case GroupSort::kId: return {g.id, g.id};
    case GroupSort::kName: return {g.name, g.id};
    case GroupSort::kPlatform: return {g.platform, g.id};
    case GroupSort::kMemberCount: return {g.member_count, g.id};
    case GroupSort::kMessages: return {g.messages, g.id};
    case GroupSort::kLastActivity: return {g.last_activity, g.id};
    case GroupSort::kFirstSeen: return {g.first_seen, g.id};
  }
  return {g.id, g.id};
}

inline SortKey MemberSortKey(const Member& m, MemberSort sort) {
  switch (sort) {
    case MemberSort::kId: return {m.id, m.id};
    case MemberSort::kDisplayName: return {m.display_name, m.id};
    case MemberSort::kFirstSeen: return {m.first_seen, m.id};
    case MemberSort::kLastSeen: return {m.last_seen, m.id};
    case MemberSort::kLastMessage: return {m.last_message, m.id};
    case MemberSort::kMessages: return {m.messages, m.id};
  }
  return {m.id, m.id};
}

inline Result<std::optional<Group>> ReadModel::GetGroup(GroupId id) {
  QZ_ASSIGN_OR_RETURN(std::vector<Group> all, ListGroups(std::nullopt));
  for (Group& g : all) {
    if (g.id == id) return std::optional<Group>(std::move(g));
  }
  return std::optional<Group>();
}

inline Result<std::optional<Group>> ReadModel::FindGroup(std::string_view platform,
                                                         std::string_view external_id) {
  QZ_ASSIGN_OR_RETURN(std::vector<Group> all, ListGroups(std::nullopt));
  for (Group& g : all) {
    if (g.platform == platform && g.external_id == external_id) {
      return std::optional<Group>(std::move(g));
    }
  }
  return std::optional<Group>();
}

inline Result<GroupPage> ReadModel::ListGroupsPage(const GroupQuery& query) {
  QZ_ASSIGN_OR_RETURN(std::vector<Group> all, ListGroups(query.community_id));
  if (!query.q.empty()) {
    std::erase_if(all, [&](const Group& g) {
      return !ContainsAsciiFolded(g.name, query.q) && !ContainsAsciiFolded(g.external_id, query.q);
    });
  }
  auto before = [&](const SortKey& a, const SortKey& b) {
    return query.descending ? std::tie(b.value, b.id) < std::tie(a.value, a.id)
                            : std::tie(a.value, a.id) < std::tie(b.value, b.id);
  };
  std::sort(all.begin(), all.end(), [&](const Group& a, const Group& b) {
    return before(GroupSortKey(a, query.sort), GroupSortKey(b, query.sort));
  });
  GroupPage page;
  page.total = static_cast<int64_t>(all.size());
  const size_t limit = static_cast<size_t>(std::clamp(query.limit, 1, 1000));
  for (Group& g : all) {
    if (page.groups.size() == limit) break;
    if (query.after && !before(*query.after, GroupSortKey(g, query.sort))) continue;
    page.groups.push_back(std::move(g));
  }
  return page;
}

}  // namespace qz
