// The SQLite store's ReadModel: the API's reads of entities, member events and module state.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {

Result<StoreStats> SqliteStore::Stats() {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kStats));
  ResetOnExit reset(stmt);
  auto row = sqlite::Step(conn.db.get(), stmt, "read stats");
  if (!row.ok()) return row.status();
  RowReader r(stmt);
  return StoreStats{
      .events = r.Int(), .members = r.Int(), .groups = r.Int(), .communities = r.Int()};
}

Result<std::vector<Community>> SqliteStore::ListCommunities() {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kListCommunities));
  std::vector<Community> out;
  QZ_RETURN_IF_ERROR(
      ReadAll(conn.db.get(), stmt, SQLITE_OK, "list communities", ReadCommunity, out));
  return out;
}

Result<std::vector<Group>> SqliteStore::ListGroups(std::optional<CommunityId> community_id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      conn.Get(community_id ? kListGroupsInCommunity : kListGroups));
  Binder b(stmt);
  if (community_id) b.Int(*community_id);
  std::vector<Group> out;
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, b.rc(), "list groups", ReadGroup, out));
  return out;
}

Result<std::vector<Member>> SqliteStore::ListMembers(const MemberQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListMembers);
  // A text over the whole store (or a community) goes through the grams index; within a group
  // the scan below reads only that group's memberships, which is cheaper than any index walk.
  if (query.sorted() || query.filtered()) return ListMembersSorted(query, limit);
  if (!query.q.empty() && !query.group_id) return SearchMembers(query, limit);
  size_t variant = 0;
  if (query.community_id) variant |= kByCommunity;
  if (query.group_id) variant |= kByGroup;
  std::string pattern;
  if (!query.q.empty()) {
    variant |= kByText;
    pattern = LikeContains(query.q);
  }
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(static_cast<ReadStmt>(kListMembers + variant)));
  // Parameters a variant does not use are bound anyway (numbered parameters up to ?5 exist).
  Binder b(stmt);
  b.Int(query.after_id);
  b.Int(query.community_id.value_or(kNoId));
  b.Int(query.group_id.value_or(kNoId));
  b.Text(pattern);
  b.Int(limit);
  std::vector<Member> out;
  out.reserve(static_cast<size_t>(limit));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, b.rc(), "list members", ReadMember, out));
  return out;
}

Result<std::vector<TagCount>> SqliteStore::ListTags(std::optional<CommunityId> community_id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt,
                      lease->Get(community_id ? kListTagsInCommunity : kListTags));
  Binder b(stmt);
  if (community_id) b.Int(*community_id);
  std::vector<TagCount> out;
  QZ_RETURN_IF_ERROR(ReadAll(lease->db.get(), stmt, b.rc(), "list tags", [](RowReader& r) {
    return TagCount{.tag = r.Text(), .members = r.Int()};
  }, out));
  return out;
}

Result<MemberProfile> SqliteStore::GetMember(MemberId id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);
  QZ_RETURN_IF_ERROR(snapshot.Begin());

  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kGetMember));
  auto member = ReadOne<Member>(db, stmt, Binder(stmt).Int(id).rc(), "get member", ReadMember);
  if (!member.ok()) return member.status();
  if (!member->has_value()) return Status::NotFound(fmt::format("member {} not found", id));

  MemberProfile profile;
  profile.member = std::move(**member);
  auto load = [&](ReadStmt which, std::string_view what, auto read, auto& out) -> Status {
    auto part = conn.Get(which);
    if (!part.ok()) return part.status();
    return ReadAll(db, *part, Binder(*part).Int(id).rc(), what, read, out);
  };
  QZ_RETURN_IF_ERROR(
      load(kMemberIdentities, "get member identities", ReadIdentity, profile.identities));
  QZ_RETURN_IF_ERROR(
      load(kMemberMemberships, "get member memberships", ReadMembership, profile.memberships));
  QZ_RETURN_IF_ERROR(load(kMemberNames, "get member names", ReadName, profile.names));
  QZ_RETURN_IF_ERROR(load(kMemberTags, "get member tags", ReadTag, profile.tags));
  return profile;
}

namespace {

// A chain of events through the log: a member's or a group's (StoredEvent's prev links, from the
// head the owner's row keeps).
struct EventChain {
  ReadStmt head;                  // the owner's newest seq, by id
  int64_t StoredEvent::*owner;    // member_id or group_id
  int64_t StoredEvent::*prev;     // member_prev_seq or group_prev_seq
  std::string_view what;          // "member" or "group", for messages
};

constexpr EventChain kMemberChain{kMemberHead, &StoredEvent::member_id,
                                  &StoredEvent::member_prev_seq, "member"};
constexpr EventChain kGroupChain{kGroupHead, &StoredEvent::group_id, &StoredEvent::group_prev_seq,
                                 "group"};

// The owner's events, newest first, with seq < before_seq (0: from the newest), at most limit.
Result<std::vector<StoredEvent>> WalkChain(ReadConn& conn, const EventChain& chain, int64_t id,
                                           int64_t before_seq, int limit) {
  std::vector<StoredEvent> out;
  if (limit <= 0) return out;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);  // the head and the links from one commit
  QZ_RETURN_IF_ERROR(snapshot.Begin());
  const std::string what = fmt::format("{} events", chain.what);
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * head_stmt, conn.Get(chain.head));
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * event_stmt, conn.Get(kEventAt));
  auto event_at = [&](int64_t seq) {
    return ReadOne<StoredEvent>(db, event_stmt, Binder(event_stmt).Int(seq).rc(), what,
                                ReadEvent);
  };
  int64_t next = 0;  // the newest seq still to return (0: none)
  std::optional<StoredEvent> cursor;
  if (before_seq > 0) {
    QZ_ASSIGN_OR_RETURN(cursor, event_at(before_seq));
  }
  if (cursor && (*cursor).*chain.owner == id) {
    next = (*cursor).*chain.prev;  // a page cursor: continue below it
  } else {
    QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> head,
                        ReadOne<int64_t>(db, head_stmt, Binder(head_stmt).Int(id).rc(), what,
                                         [](RowReader& r) { return r.Int(); }));
    next = head.value_or(0);
  }
  out.reserve(static_cast<size_t>(std::min(limit, 1024)));
  while (next != 0 && static_cast<int>(out.size()) < limit) {
    QZ_ASSIGN_OR_RETURN(std::optional<StoredEvent> event, event_at(next));
    if (!event || (*event).*chain.owner != id || (*event).*chain.prev >= next) {
      // Links only point back to the same owner's events; anything else is damage.
      return Status::Unavailable(fmt::format("sqlite: {}: the chain of {} {} is broken at seq {}",
                                             what, chain.what, id, next));
    }
    next = (*event).*chain.prev;
    if (before_seq > 0 && event->seq >= before_seq) continue;  // walking down to the cursor
    out.push_back(std::move(*event));
  }
  return out;
}

}  // namespace

Result<std::vector<StoredEvent>> SqliteStore::MemberEvents(MemberId id, int64_t before_seq,
                                                           int limit) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  return WalkChain(*lease, kMemberChain, id, before_seq, limit);
}

Result<std::vector<StoredEvent>> SqliteStore::GroupEvents(GroupId id, int64_t before_seq,
                                                          int limit) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  return WalkChain(*lease, kGroupChain, id, before_seq, limit);
}

Result<std::optional<Group>> SqliteStore::GetGroup(GroupId id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, lease->Get(kGetGroup));
  return ReadOne<Group>(lease->db.get(), stmt, Binder(stmt).Int(id).rc(), "get group", ReadGroup);
}

Result<std::optional<Group>> SqliteStore::FindGroup(std::string_view platform,
                                                    std::string_view external_id) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, lease->Get(kFindGroup));
  const int rc = Binder(stmt).Text(platform).Text(external_id).rc();
  return ReadOne<Group>(lease->db.get(), stmt, rc, "find group", ReadGroup);
}

Result<std::vector<ModuleStateEntry>> SqliteStore::ListModuleState(CommunityId community_id,
                                                                   std::string_view table,
                                                                   std::string_view after_key,
                                                                   int limit) {
  const int clamped = std::clamp(limit, 1, kMaxListModuleState);
  return ReadRows(
      kListModuleState, "list module state", ReadModuleState,
      [&](Binder& b) { b.Int(community_id).Text(table).Text(after_key).Int(clamped); },
      static_cast<size_t>(std::min(clamped, 64)));
}

Result<std::optional<ModuleStateEntry>> SqliteStore::GetModuleState(CommunityId community_id,
                                                                    std::string_view table,
                                                                    std::string_view key) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, lease->Get(kGetModuleState));
  const int rc = Binder(stmt).Int(community_id).Text(table).Text(key).rc();
  return ReadOne<ModuleStateEntry>(lease->db.get(), stmt, rc, "get module state",
                                   ReadModuleState);
}

}  // namespace qz::sqlite
