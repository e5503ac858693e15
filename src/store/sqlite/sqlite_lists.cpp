// The SQLite store's sorted lists for the console: a page of groups in any of their orders with
// the total, and members in another order than by id. Keyset pages: each continues after the
// previous page's last (sort value, id), so a page costs the same wherever it is, and a row
// added meanwhile shifts nothing (a row whose sort value changes meanwhile may be seen twice or
// not at all, as in any live list). The statements are built per call from the sort's column
// name (a fixed list, never input) with every value bound. Members are not indexed by these
// columns: counters and times change with nearly every event, and an index on them would cost
// the writer on every flush; a sorted page reads the members it filters (about 20 ms for
// 100,000 members, docs/benchmarks.md) and keeps the best `limit` of them.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <variant>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {
namespace {

std::string_view GroupColumn(GroupSort sort) {
  switch (sort) {
    case GroupSort::kId:
      return "id";
    case GroupSort::kName:
      return "name";
    case GroupSort::kPlatform:
      return "platform";
    case GroupSort::kMemberCount:
      return "member_count";
    case GroupSort::kMessages:
      return "messages";
    case GroupSort::kLastActivity:
      return "last_activity";
    case GroupSort::kFirstSeen:
      return "first_seen";
  }
  return "id";
}

std::string_view MemberColumn(MemberSort sort) {
  switch (sort) {
    case MemberSort::kId:
      return "id";
    case MemberSort::kDisplayName:
      return "display_name";
    case MemberSort::kFirstSeen:
      return "first_seen";
    case MemberSort::kLastSeen:
      return "last_seen";
    case MemberSort::kLastMessage:
      return "last_message";
    case MemberSort::kMessages:
      return "messages";
  }
  return "id";
}

// " AND (<t>.<column>, <t>.id) > (?, ?) ORDER BY ... LIMIT ?" for the order; the cursor part
// only when `after`.
std::string KeysetTail(std::string_view table, std::string_view column, bool descending,
                       bool after) {
  std::string sql;
  if (after) {
    sql += fmt::format(" AND ({0}.{1}, {0}.id) {2} (?, ?)", table, column, descending ? "<" : ">");
  }
  const char* dir = descending ? " DESC" : "";
  sql += fmt::format(" ORDER BY {0}.{1}{2}, {0}.id{2} LIMIT ?", table, column, dir);
  return sql;
}

void BindKey(Binder& b, const SortKey& key) {
  if (const auto* text = std::get_if<std::string>(&key.value)) {
    b.Text(*text);
  } else {
    b.Int(std::get<int64_t>(key.value));
  }
  b.Int(key.id);
}

}  // namespace

Result<GroupPage> SqliteStore::ListGroupsPage(const GroupQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListMembers);
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);  // the page and the total from one commit
  QZ_RETURN_IF_ERROR(snapshot.Begin());
  // The filters, shared by the page and its total. A text is matched with LIKE over every group
  // of the community (groups are hundreds or thousands).
  std::string where;
  if (query.community_id) where += " AND g.community_id = ?";
  if (!query.q.empty()) {
    where += " AND (g.name LIKE ? ESCAPE '\\' OR g.external_id LIKE ? ESCAPE '\\')";
  }
  const std::string pattern = query.q.empty() ? std::string() : LikeContains(query.q);
  auto bind_filters = [&](Binder& b) {
    if (query.community_id) b.Int(*query.community_id);
    if (!query.q.empty()) b.Text(pattern).Text(pattern);
  };
  std::string sql =
      fmt::format("SELECT {} FROM groups g WHERE 1{}", List(kGroupColumns, "g."), where);
  sql += KeysetTail("g", GroupColumn(query.sort), query.descending, query.after.has_value());
  QZ_ASSIGN_OR_RETURN(Statement page, Statement::Prepare(db, sql));
  Binder b(page.get());
  bind_filters(b);
  if (query.after) BindKey(b, *query.after);
  b.Int(limit);
  GroupPage out;
  out.groups.reserve(static_cast<size_t>(std::min(limit, 256)));
  QZ_RETURN_IF_ERROR(ReadAll(db, page.get(), b.rc(), "list groups", ReadGroup, out.groups));

  // The groups_community index, or the trigger-kept count of every group when nothing filters.
  QZ_ASSIGN_OR_RETURN(Statement count,
                      Statement::Prepare(db, where.empty()
                                                 ? "SELECT n FROM entity_counts WHERE name = 'groups'"
                                                 : "SELECT count(*) FROM groups g WHERE 1" + where));
  Binder cb(count.get());
  bind_filters(cb);
  QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> total,
                      ReadOne<int64_t>(db, count.get(), cb.rc(), "count groups",
                                       [](RowReader& r) { return r.Int(); }));
  out.total = total.value_or(0);
  return out;
}

Result<std::vector<Member>> SqliteStore::ListMembersSorted(const MemberQuery& query, int limit) {
  std::vector<Member> out;
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  sqlite3* db = lease->db.get();
  std::string sql;
  if (query.group_id) {
    // A group's active members (its memberships, in key order), then sorted.
    sql = fmt::format(
        "SELECT {} FROM memberships g CROSS JOIN members m ON m.id = g.member_id "
        "WHERE g.group_id = ? AND g.active = 1",
        List(kMemberColumns, "m."));
  } else {
    sql = fmt::format("SELECT {} FROM members m WHERE 1", List(kMemberColumns, "m."));
  }
  if (query.community_id) sql += " AND m.community_id = ?";
  if (!query.tag.empty()) sql += " AND m.id IN (SELECT member_id FROM member_tags WHERE tag = ?)";
  if (query.role && query.group_id) {
    sql += " AND g.role = ?";
  } else if (query.role == Role::kMember) {
    sql +=
        " AND EXISTS (SELECT 1 FROM memberships r WHERE r.member_id = m.id AND r.role = ? "
        "AND r.active = 1)";
  } else if (query.role) {
    // The `role != 0` term lets SQLite use the partial index of staff roles (memberships_staff).
    sql +=
        " AND m.id IN (SELECT member_id FROM memberships WHERE role = ? AND role != 0 "
        "AND active = 1)";
  }
  std::vector<std::string> grams;
  if (!query.q.empty()) {
    if (!query.group_id) {
      // Only the members that have the query's rarest gram are read and checked.
      QZ_ASSIGN_OR_RETURN(grams, RarestGrams(*lease, query.q, 1));
      if (grams.empty()) return out;
      sql += " AND m.id IN (SELECT member_id FROM member_grams WHERE gram = ?)";
    }
    sql +=
        " AND (m.display_name LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM identities i "
        "WHERE i.member_id = m.id AND i.external_id LIKE ? ESCAPE '\\'))";
  }
  // An unsorted but filtered query pages by id: its after_id is the (id, id) key.
  std::optional<SortKey> after = query.after;
  if (!query.sorted() && !after && query.after_id != kNoId) {
    after = SortKey{.value = query.after_id, .id = query.after_id};
  }
  sql += KeysetTail("m", MemberColumn(query.sort), query.descending, after.has_value());
  QZ_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db, sql));
  Binder b(stmt.get());
  if (query.group_id) b.Int(*query.group_id);
  if (query.community_id) b.Int(*query.community_id);
  if (!query.tag.empty()) b.Text(query.tag);
  if (query.role) b.Int(static_cast<int64_t>(*query.role));
  const std::string pattern = query.q.empty() ? std::string() : LikeContains(query.q);
  if (!grams.empty()) b.Text(grams.front());
  if (!query.q.empty()) b.Text(pattern).Text(pattern);
  if (after) BindKey(b, *after);
  b.Int(limit);
  out.reserve(static_cast<size_t>(limit));
  QZ_RETURN_IF_ERROR(ReadAll(db, stmt.get(), b.rc(), "list members sorted", ReadMember, out));
  return out;
}

}  // namespace qz::sqlite
