#include <fmt/format.h>

#include <array>
#include <string>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {
namespace {

std::array<std::string, kWriteStmtCount> BuildWriteSql() {
  std::array<std::string, kWriteStmtCount> sql;
  sql[kBeginWrite] = "BEGIN IMMEDIATE";
  sql[kCommitWrite] = "COMMIT";
  sql[kRollbackWrite] = "ROLLBACK";
  sql[kAppendEvent] =
      "INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, "
      "json, member_prev, group_prev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (platform, source_id) DO NOTHING";
  sql[kPutCommunity] = UpsertSql("communities", kCommunityColumns, 1);
  sql[kPutGroup] = UpsertSql("groups", kGroupColumns, 1);
  sql[kPutMember] = UpsertSql("members", kMemberColumns, 1);
  sql[kPutIdentity] = UpsertSql("identities", kIdentityColumns, 3);
  sql[kPutMembership] = UpsertSql("memberships", kMembershipColumns, 2);
  sql[kPutName] = UpsertSql("member_names", kNameColumns, 2);
  sql[kPutTag] = UpsertSql("member_tags", kTagColumns, 2);
  sql[kDeleteTag] = "DELETE FROM member_tags WHERE member_id = ? AND tag = ?";
  sql[kAddAction] = InsertSql("outbox", Columns(kOutboxColumns).subspan(1));
  sql[kCountAddedActions] = "UPDATE outbox_counts SET n = n + ?1 WHERE status = ?2";
  sql[kUpdateAction] =
      "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
      "platform_ref = ?, updated_at = ? WHERE id = ?";
  sql[kAddTask] = InsertSql("tasks", Columns(kTaskColumns).subspan(1));
  // RETURNING: the id and version of the inserted or of the replaced row (a new row's version
  // is the column's default, 1).
  sql[kPutTimer] = UpsertSql("timers", Columns(kTimerColumns).subspan(1, kTimerWrittenColumns),
                             kTimerKeyColumns) +
                   ", version = timers.version + 1 RETURNING id, version";
  sql[kPutModuleState] = UpsertSql("module_state", kModuleStateColumns, 3);
  sql[kDeleteModuleState] =
      "DELETE FROM module_state WHERE community_id = ? AND module = ? AND key = ?";
  sql[kPutPlaybookInTxn] = UpsertSql("playbooks", kPlaybookColumns, 1);
  return sql;
}

std::array<std::string, kSideStmtCount> BuildSideSql() {
  std::array<std::string, kSideStmtCount> sql;
  // IMMEDIATE takes the write lock at once, waiting for it up to the busy timeout (a deferred
  // transaction could instead fail later on a snapshot the writer has moved past).
  sql[kSideBegin] = "BEGIN IMMEDIATE";
  sql[kSideCommit] = "COMMIT";
  sql[kSideRollback] = "ROLLBACK";
  sql[kPutToken] = UpsertSql("api_tokens", kTokenColumns, 1);
  // DO NOTHING: a taken name changes nothing and reports 0 changes (kAlreadyExists).
  sql[kCreateAccount] = InsertSql("accounts", kAccountColumns) + " ON CONFLICT (name) DO NOTHING";
  sql[kUpdateAccount] =
      "UPDATE accounts SET password_hash = ?2, role = ?3, disabled = ?4 WHERE name = ?1";
  sql[kPutSession] = UpsertSql("sessions", kSessionColumns, 1);
  sql[kDeleteSession] = "DELETE FROM sessions WHERE hash = ?";
  sql[kDeleteAccountSessions] = "DELETE FROM sessions WHERE account = ?";
  sql[kDeleteExpiredSessions] = "DELETE FROM sessions WHERE expires_at <= ?";
  sql[kDeleteTokens] = "DELETE FROM api_tokens WHERE name = ?";
  sql[kAccountExists] = "SELECT 1 FROM accounts WHERE name = ?";
  sql[kPutCommunityRole] = UpsertSql("account_communities", kCommunityRoleColumns, 2);
  sql[kDeleteCommunityRole] =
      "DELETE FROM account_communities WHERE account = ? AND community_id = ?";
  // Only an open task changes (a closed one stays as its closer left it); RETURNING answers the
  // row as stored (ReadTaskRecord's columns).
  const std::string task_columns = List(kTaskColumns) + ", " + List(kTaskWorkColumns);
  sql[kAssignTask] = fmt::format(
      "UPDATE tasks SET assignee = ?2 WHERE id = ?1 AND open = 1 RETURNING {}", task_columns);
  sql[kCloseTask] = fmt::format(
      "UPDATE tasks SET open = 0, closed_at = ?2, closed_by = ?3, note = ?4 "
      "WHERE id = ?1 AND open = 1 RETURNING {}",
      task_columns);
  sql[kUpdateTimerDue] =
      "UPDATE timers SET due = ?3 WHERE id = ?1 AND due = ?2 AND (?4 = 0 OR version = ?4)";
  sql[kPutPlaybook] = UpsertSql("playbooks", kPlaybookColumns, 1);
  return sql;
}

std::string GetTimersSql() {
  std::string params;
  for (size_t i = 1; i <= kGetTimersChunk; ++i) {
    if (i > 1) params += ", ";
    params += fmt::format("?{}", i);
  }
  return fmt::format("SELECT {} FROM timers WHERE id IN ({}) ORDER BY id", List(kTimerColumns),
                     params);
}

// ListMembers parameters: ?1 after_id, ?2 community_id, ?3 group_id, ?4 LIKE pattern, ?5 limit.
// One statement per combination of filters so each gets its own plan: with a group it walks
// that group's memberships (primary key order = member id order), with a community the
// members_community index, otherwise the members table from the cursor.
std::string ListMembersSql(size_t variant) {
  const std::string columns = List(kMemberColumns, "m.");
  std::string sql;
  if (variant & kByGroup) {
    // CROSS JOIN pins memberships as the outer loop.
    sql = fmt::format(
        "SELECT {} FROM memberships g CROSS JOIN members m ON m.id = g.member_id "
        "WHERE g.group_id = ?3 AND g.active = 1 AND g.member_id > ?1",
        columns);
  } else {
    sql = fmt::format("SELECT {} FROM members m WHERE m.id > ?1", columns);
  }
  if (variant & kByCommunity) sql += " AND m.community_id = ?2";
  if (variant & kByText) {
    sql +=
        " AND (m.display_name LIKE ?4 ESCAPE '\\' OR EXISTS (SELECT 1 FROM identities i "
        "WHERE i.member_id = m.id AND i.external_id LIKE ?4 ESCAPE '\\'))";
  }
  sql += " ORDER BY m.id LIMIT ?5";
  return sql;
}

// SearchMembers parameters: ?1 the gram walked, ?2 after_id, ?3 a second gram every result has,
// ?4 community_id, ?5 the LIKE pattern, ?6 limit. The gram's members come in id order from the
// primary key of member_grams (CROSS JOIN keeps it the outer loop); each is checked with the
// LIKE of the scan, so a gram only ever narrows the candidates.
std::string SearchMembersSql(size_t variant) {
  std::string sql = fmt::format(
      "SELECT {} FROM member_grams g CROSS JOIN members m ON m.id = g.member_id "
      "WHERE g.gram = ?1 AND g.member_id > ?2",
      List(kMemberColumns, "m."));
  if (variant & kSecondGram) {
    sql +=
        " AND EXISTS (SELECT 1 FROM member_grams h WHERE h.gram = ?3 AND h.member_id = "
        "g.member_id)";
  }
  if (variant & kByCommunity) sql += " AND m.community_id = ?4";
  sql +=
      " AND (m.display_name LIKE ?5 ESCAPE '\\' OR EXISTS (SELECT 1 FROM identities i "
      "WHERE i.member_id = m.id AND i.external_id LIKE ?5 ESCAPE '\\'))"
      " ORDER BY g.member_id LIMIT ?6";
  return sql;
}

// ListActions parameters: ?1 after_id, ?2 status, ?3 group_id, ?4 limit. Each variant walks an
// index in id order from the cursor: outbox_status, outbox_group or the table itself.
std::string ListActionsSql(size_t variant) {
  std::string sql = fmt::format("SELECT {} FROM outbox WHERE id > ?1", List(kOutboxReadColumns));
  if (variant & kByStatus) sql += " AND status = ?2";
  if (variant & kByGroup) sql += " AND group_id = ?3";
  if (variant & kByKeyPrefix) sql += " AND idempotency_key >= ?5 AND idempotency_key < ?6";
  sql += " ORDER BY id LIMIT ?4";
  return sql;
}

// ListTasks parameters: ?1 after_id, ?2 assignee, ?3 limit. In id order through tasks_open
// (open only), tasks_assignee (by assignee) or the table itself.
std::string ListTasksSql(size_t variant) {
  std::string sql = fmt::format("SELECT {}, {} FROM tasks WHERE id > ?1", List(kTaskColumns),
                                List(kTaskWorkColumns));
  if (variant & kOpenOnly) sql += " AND open = 1";
  if (variant & kByAssignee) sql += " AND assignee = ?2";
  sql += " ORDER BY id LIMIT ?3";
  return sql;
}

std::array<std::string, kReadStmtCount> BuildReadSql() {
  std::array<std::string, kReadStmtCount> sql;
  const std::string events = List(kEventColumns);
  sql[kBeginRead] = "BEGIN";
  sql[kEndRead] = "COMMIT";
  // Each part is a single b-tree descent: max(seq) (the min/max optimisation needs the bare
  // aggregate, hence no coalesce()) and the trigger-maintained counts (schema version 2).
  sql[kStats] =
      "SELECT (SELECT max(seq) FROM events), "
      "(SELECT n FROM entity_counts WHERE name = 'members'), "
      "(SELECT n FROM entity_counts WHERE name = 'groups'), "
      "(SELECT n FROM entity_counts WHERE name = 'communities')";
  sql[kMaxSeq] = "SELECT max(seq) FROM events";
  sql[kMaxMemberId] = "SELECT max(id) FROM members";
  // Exact sizes for LoadState's vectors; each walks the table's smallest index.
  sql[kCountMembers] = "SELECT count(*) FROM members";
  sql[kCountIdentities] = "SELECT count(*) FROM identities";
  sql[kCountMemberships] = "SELECT count(*) FROM memberships";
  sql[kCountNames] = "SELECT count(*) FROM member_names";
  sql[kCountTags] = "SELECT count(*) FROM member_tags";
  sql[kCountModuleState] = "SELECT count(*) FROM module_state";
  sql[kListCommunities] =
      fmt::format("SELECT {} FROM communities ORDER BY id", List(kCommunityColumns));
  sql[kListGroups] = fmt::format("SELECT {} FROM groups ORDER BY id", List(kGroupColumns));
  sql[kListGroupsInCommunity] =
      fmt::format("SELECT {} FROM groups WHERE community_id = ? ORDER BY id", List(kGroupColumns));
  sql[kAllMembers] = fmt::format("SELECT {} FROM members ORDER BY id", List(kMemberColumns));
  sql[kAllIdentities] =
      fmt::format("SELECT {} FROM identities ORDER BY community_id, platform, external_id",
                  List(kIdentityColumns));
  sql[kAllMemberships] = fmt::format("SELECT {} FROM memberships ORDER BY group_id, member_id",
                                     List(kMembershipColumns));
  sql[kAllNames] =
      fmt::format("SELECT {} FROM member_names ORDER BY member_id, name", List(kNameColumns));
  sql[kAllTags] =
      fmt::format("SELECT {} FROM member_tags ORDER BY member_id, tag", List(kTagColumns));
  sql[kGetMember] = fmt::format("SELECT {} FROM members WHERE id = ?", List(kMemberColumns));
  sql[kMemberIdentities] = fmt::format(
      "SELECT {} FROM identities WHERE member_id = ? ORDER BY community_id, platform, "
      "external_id",
      List(kIdentityColumns));
  sql[kMemberMemberships] = fmt::format(
      "SELECT {} FROM memberships WHERE member_id = ? ORDER BY group_id", List(kMembershipColumns));
  sql[kMemberNames] = fmt::format("SELECT {} FROM member_names WHERE member_id = ? ORDER BY name",
                                  List(kNameColumns));
  sql[kMemberTags] =
      fmt::format("SELECT {} FROM member_tags WHERE member_id = ? ORDER BY tag", List(kTagColumns));
  sql[kMemberHead] = "SELECT last_event_seq FROM members WHERE id = ?";
  sql[kListTags] =
      "SELECT tag, count(*) FROM member_tags GROUP BY tag ORDER BY tag LIMIT 1000";
  sql[kListTagsInCommunity] =
      "SELECT t.tag, count(*) FROM member_tags t JOIN members m ON m.id = t.member_id "
      "WHERE m.community_id = ? GROUP BY t.tag ORDER BY t.tag LIMIT 1000";
  sql[kGroupHead] = "SELECT last_event_seq FROM groups WHERE id = ?";
  sql[kGetGroup] = fmt::format("SELECT {} FROM groups WHERE id = ?", List(kGroupColumns));
  sql[kFindGroup] = fmt::format("SELECT {} FROM groups WHERE platform = ? AND external_id = ?",
                                List(kGroupColumns));
  sql[kEventAt] = fmt::format("SELECT {} FROM events WHERE seq = ?", events);
  sql[kScanEvents] =
      fmt::format("SELECT {} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", events);
  sql[kFindEvent] =
      fmt::format("SELECT {} FROM events WHERE platform = ? AND source_id = ?", events);
  sql[kFindToken] = fmt::format("SELECT {} FROM api_tokens WHERE hash = ?", List(kTokenColumns));
  // A handful of rows: the table itself, sorted.
  sql[kListTokens] =
      fmt::format("SELECT {} FROM api_tokens ORDER BY name, created_at", List(kTokenColumns));
  sql[kGetAccount] = fmt::format("SELECT {} FROM accounts WHERE name = ?", List(kAccountColumns));
  sql[kListAccounts] = fmt::format("SELECT {} FROM accounts ORDER BY name", List(kAccountColumns));
  sql[kGetCommunityRoles] =
      fmt::format("SELECT {} FROM account_communities WHERE account = ? ORDER BY community_id",
                  List(kCommunityRoleColumns));
  sql[kListCommunityRoles] =
      fmt::format("SELECT {} FROM account_communities ORDER BY account, community_id",
                  List(kCommunityRoleColumns));
  sql[kGetSession] = fmt::format("SELECT {} FROM sessions WHERE hash = ?", List(kSessionColumns));
  sql[kAllModuleState] =
      fmt::format("SELECT {} FROM module_state ORDER BY community_id, module, key",
                  List(kModuleStateColumns));
  // The values are ActionStatus::kPending and kSending.
  sql[kOpenActions] = fmt::format("SELECT {} FROM outbox WHERE status IN (0, 1) ORDER BY id",
                                  List(kOutboxReadColumns));
  sql[kActionCounts] = "SELECT status, n FROM outbox_counts";
  sql[kGetTask] = fmt::format("SELECT {}, {} FROM tasks WHERE id = ?", List(kTaskColumns),
                              List(kTaskWorkColumns));
  // The partial index timers_due (due) WHERE due != 0 covers (due, id): no table page is read.
  sql[kScanTimerDues] = "SELECT id, due FROM timers WHERE due != 0 ORDER BY due, id LIMIT ?";
  sql[kScanTimerDuesAfter] =
      "SELECT id, due FROM timers WHERE due != 0 AND (due, id) > (?, ?) ORDER BY due, id LIMIT ?";
  // The UNIQUE (community_id, key) index: ?2 <= key < ?3.
  sql[kTimersByKeyRange] = fmt::format(
      "SELECT {} FROM timers WHERE community_id = ? AND key >= ? AND key < ? AND due != 0 "
      "ORDER BY id",
      List(kTimerColumns));
  sql[kGetTimers] = GetTimersSql();
  sql[kLoadPlaybooks] =
      fmt::format("SELECT {} FROM playbooks ORDER BY community", List(kPlaybookColumns));
  // The primary key (community_id, module, key): a range of one community's table, in key order
  // (the BINARY collation compares bytes).
  sql[kListModuleState] = fmt::format(
      "SELECT {} FROM module_state WHERE community_id = ?1 AND module = ?2 AND key > ?3 "
      "ORDER BY key LIMIT ?4",
      List(kModuleStateColumns));
  sql[kGetModuleState] = fmt::format(
      "SELECT {} FROM module_state WHERE community_id = ? AND module = ? AND key = ?",
      List(kModuleStateColumns));
  for (size_t variant = 0; variant < 8; ++variant) {
    sql[kListMembers + variant] = ListMembersSql(variant);
  }
  for (size_t variant = 0; variant < 8; ++variant) {
    sql[kListActions + variant] = ListActionsSql(variant);
  }
  for (size_t variant = 0; variant < 4; ++variant) {
    sql[kListTasks + variant] = ListTasksSql(variant);
  }
  // How many members have a gram, counted up to ?2: enough to tell a rare gram from a common one
  // without walking a long list.
  sql[kProbeGram] = "SELECT count(*) FROM (SELECT 1 FROM member_grams WHERE gram = ?1 LIMIT ?2)";
  for (size_t variant = 0; variant < 4; ++variant) {
    sql[kSearchMembers + variant] = SearchMembersSql(variant);
  }
  return sql;
}

}  // namespace

const std::array<std::string, kWriteStmtCount>& WriteSql() {
  static const std::array<std::string, kWriteStmtCount> kSql = BuildWriteSql();
  return kSql;
}

const std::array<std::string, kSideStmtCount>& SideSql() {
  static const std::array<std::string, kSideStmtCount> kSql = BuildSideSql();
  return kSql;
}

const std::array<std::string, kReadStmtCount>& ReadSql() {
  static const std::array<std::string, kReadStmtCount> kSql = BuildReadSql();
  return kSql;
}

}  // namespace qz::sqlite
