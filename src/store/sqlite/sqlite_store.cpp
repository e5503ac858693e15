#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/sqlite/sqlite_checkpointer.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_schema.hpp"

namespace qz {
namespace {

using sqlite::Binder;
using sqlite::DbPtr;
using sqlite::ResetOnExit;
using sqlite::RowReader;
using sqlite::Statement;

constexpr size_t kMaxIdleReaders = 8;  // more concurrent readers get a connection of their own
constexpr int kMaxReaderCacheMib = 64;
constexpr int kMaxListMembers = 1000;
constexpr int kMaxListActions = 1000;
constexpr int kMaxListTasks = 1000;

// Column lists in struct order, shared by the upserts, the selects and the Bind*/Read*
// functions below so they cannot drift apart. The primary key comes first.
using Columns = std::span<const std::string_view>;
constexpr std::string_view kCommunityColumns[] = {"id", "slug", "name", "time_zone", "created_at"};
constexpr std::string_view kGroupColumns[] = {
    "id",        "community_id", "platform",      "external_id",  "name",  "type",   "capacity",
    "time_zone", "first_seen",   "last_activity", "member_count", "joins", "leaves", "messages"};
constexpr std::string_view kMemberColumns[] = {
    "id",          "community_id",    "display_name", "first_seen",   "last_seen",
    "referrer_id", "channel",         "messages",     "checkins",     "link_clicks",
    "orders",      "order_amount_e4", "invited",      "points",       "last_message",
    "last_checkin", "last_event_seq"};
constexpr std::string_view kIdentityColumns[] = {"community_id", "platform", "external_id",
                                                 "member_id", "name"};
constexpr std::string_view kMembershipColumns[] = {
    "group_id",    "member_id", "role",       "active",   "joined_at",   "left_at",
    "left_reason", "via_code",  "inviter_id", "messages", "last_message"};
constexpr std::string_view kNameColumns[] = {"member_id", "name", "first_seen"};
constexpr std::string_view kTagColumns[] = {"member_id", "tag", "added_at"};
constexpr std::string_view kEventColumns[] = {
    "seq", "platform", "source_id", "community_id", "group_id", "member_id", "type", "time",
    "json", "member_prev"};
constexpr std::string_view kModuleStateColumns[] = {"community_id", "module", "key", "value"};
// Written in this order (AddAction); community_id, group_id, platform and type repeat parts of
// the payload (the whole action, as ActionToJson) for filtering.
constexpr std::string_view kOutboxColumns[] = {
    "id",           "community_id",    "group_id", "platform",   "type",
    "status",       "attempts",        "next_attempt_at", "last_error", "platform_ref",
    "idempotency_key", "payload",      "created_at", "updated_at"};
// Read back in OutboxRecord's order (ReadOutbox).
constexpr std::string_view kOutboxReadColumns[] = {
    "id",         "payload",      "idempotency_key", "status",     "attempts",
    "next_attempt_at", "last_error", "platform_ref",  "created_at", "updated_at"};
constexpr std::string_view kTaskColumns[] = {"id",       "community_id", "group_id", "member_id",
                                             "kind",     "reason",       "evidence", "cause_event",
                                             "rule",     "open",         "created_at"};
constexpr std::string_view kTimerColumns[] = {"id",        "community_id", "community",
                                              "key",       "rule",         "time_zone",
                                              "due",       "payload",      "cause_event"};
constexpr std::string_view kTimerKeyColumns[] = {"community_id", "key"};
constexpr std::string_view kPlaybookColumns[] = {"community", "toml", "updated_at"};

std::string List(Columns columns, std::string_view prefix = {}) {
  std::string out;
  for (std::string_view column : columns) {
    if (!out.empty()) out += ", ";
    out += prefix;
    out += column;
  }
  return out;
}

std::string InsertSql(std::string_view table, Columns columns) {
  std::string placeholders;
  for (size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  return fmt::format("INSERT INTO {} ({}) VALUES ({})", table, List(columns), placeholders);
}

// INSERT ... ON CONFLICT (key) DO UPDATE: replaces the row with the same key in place, setting
// every column not in `key`. Unlike INSERT OR REPLACE it never deletes a *different* row that
// collides on another UNIQUE constraint (groups' (platform, external_id)); that is reported as
// an error instead.
std::string UpsertSql(std::string_view table, Columns columns, Columns key) {
  std::string updates;
  for (std::string_view column : columns) {
    if (std::find(key.begin(), key.end(), column) != key.end()) continue;
    if (!updates.empty()) updates += ", ";
    updates += fmt::format("{0} = excluded.{0}", column);
  }
  return fmt::format("{} ON CONFLICT ({}) DO UPDATE SET {}", InsertSql(table, columns), List(key),
                     updates);
}
// With the primary key: the first `key_count` columns.
std::string UpsertSql(std::string_view table, Columns columns, size_t key_count) {
  return UpsertSql(table, columns, columns.first(key_count));
}

void BindRow(Binder& b, const Community& c) {
  b.Int(c.id).Text(c.slug).Text(c.name).Text(c.time_zone).Int(c.created_at);
}
void BindRow(Binder& b, const Group& g) {
  b.Int(g.id).Int(g.community_id).Text(g.platform).Text(g.external_id).Text(g.name);
  b.Int(static_cast<int64_t>(g.type)).Int(g.capacity).Text(g.time_zone).Int(g.first_seen);
  b.Int(g.last_activity).Int(g.member_count).Int(g.joins).Int(g.leaves).Int(g.messages);
}
void BindRow(Binder& b, const Member& m) {
  b.Int(m.id).Int(m.community_id).Text(m.display_name).Int(m.first_seen).Int(m.last_seen);
  b.Int(m.referrer_id).Text(m.channel).Int(m.messages).Int(m.checkins).Int(m.link_clicks);
  b.Int(m.orders).Int(m.order_amount_e4).Int(m.invited).Int(m.points).Int(m.last_message);
  b.Int(m.last_checkin).Int(m.last_event_seq);
}
void BindRow(Binder& b, const Identity& i) {
  b.Int(i.community_id).Text(i.platform).Text(i.external_id).Int(i.member_id).Text(i.name);
}
void BindRow(Binder& b, const Membership& m) {
  b.Int(m.group_id).Int(m.member_id).Int(static_cast<int64_t>(m.role)).Int(m.active ? 1 : 0);
  b.Int(m.joined_at).Int(m.left_at).Int(static_cast<int64_t>(m.left_reason)).Text(m.via_code);
  b.Int(m.inviter_id).Int(m.messages).Int(m.last_message);
}
void BindRow(Binder& b, const MemberName& n) { b.Int(n.member_id).Text(n.name).Int(n.first_seen); }
void BindRow(Binder& b, const MemberTag& t) { b.Int(t.member_id).Text(t.tag).Int(t.added_at); }
void BindRow(Binder& b, const StoredPlaybook& p) {
  b.Text(p.community).Text(p.toml).Int(p.updated_at);
}
void BindRow(Binder& b, const ModuleStateEntry& e) {
  b.Int(e.community_id).Text(e.module).Text(e.key).Text(e.value);
}
// The columns after the id (which the store assigns).
void BindRow(Binder& b, const OperatorTask& t) {
  b.Int(t.community_id).Int(t.group_id).Int(t.member_id).Text(t.kind).Text(t.reason);
  b.Text(t.evidence).Text(t.cause_event).Text(t.rule).Int(t.open ? 1 : 0).Int(t.created_at);
}
void BindRow(Binder& b, const TimerRecord& t) {
  b.Int(t.community_id).Text(t.community).Text(t.key).Text(t.rule).Text(t.time_zone).Int(t.due);
  b.Text(t.payload).Text(t.cause_event);
}

// Designated initialisers are evaluated in order, so the columns are read left to right.
Community ReadCommunity(RowReader& r) {
  return {.id = r.Int(),
          .slug = r.Text(),
          .name = r.Text(),
          .time_zone = r.Text(),
          .created_at = r.Int()};
}
Group ReadGroup(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .platform = r.Text(),
          .external_id = r.Text(),
          .name = r.Text(),
          .type = r.Enum<GroupType>(0, static_cast<int64_t>(GroupType::kIndustry)),
          .capacity = r.Int32(),
          .time_zone = r.Text(),
          .first_seen = r.Int(),
          .last_activity = r.Int(),
          .member_count = r.Int(),
          .joins = r.Int(),
          .leaves = r.Int(),
          .messages = r.Int()};
}
Member ReadMember(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .display_name = r.Text(),
          .first_seen = r.Int(),
          .last_seen = r.Int(),
          .referrer_id = r.Int(),
          .channel = r.Text(),
          .messages = r.Int(),
          .checkins = r.Int(),
          .link_clicks = r.Int(),
          .orders = r.Int(),
          .order_amount_e4 = r.Int(),
          .invited = r.Int(),
          .points = r.Int(),
          .last_message = r.Int(),
          .last_checkin = r.Int(),
          .last_event_seq = r.Int()};
}
Identity ReadIdentity(RowReader& r) {
  return {.community_id = r.Int(),
          .platform = r.Text(),
          .external_id = r.Text(),
          .member_id = r.Int(),
          .name = r.Text()};
}
Membership ReadMembership(RowReader& r) {
  return {.group_id = r.Int(),
          .member_id = r.Int(),
          .role = r.Enum<Role>(0, static_cast<int64_t>(Role::kOwner)),
          .active = r.Bool(),
          .joined_at = r.Int(),
          .left_at = r.Int(),
          .left_reason = r.Enum<LeaveReason>(0, static_cast<int64_t>(LeaveReason::kRemoved)),
          .via_code = r.Text(),
          .inviter_id = r.Int(),
          .messages = r.Int(),
          .last_message = r.Int()};
}
MemberName ReadName(RowReader& r) {
  return {.member_id = r.Int(), .name = r.Text(), .first_seen = r.Int()};
}
MemberTag ReadTag(RowReader& r) {
  return {.member_id = r.Int(), .tag = r.Text(), .added_at = r.Int()};
}
ModuleStateEntry ReadModuleState(RowReader& r) {
  return {.community_id = r.Int(), .module = r.Text(), .key = r.Text(), .value = r.Text()};
}
// A payload that ActionFromJson refuses marks the row corrupt.
OutboxRecord ReadOutbox(RowReader& r) {
  OutboxRecord record;
  record.id = r.Int();
  auto action = ActionFromJson(r.Text());
  if (action.ok()) {
    record.action = std::move(action).value();
  } else {
    r.MarkCorrupt();
  }
  record.idempotency_key = r.Text();
  record.status = r.Enum<ActionStatus>(0, static_cast<int64_t>(ActionStatus::kPossiblySent));
  record.attempts = r.Int32();
  record.next_attempt_at = r.Int();
  record.last_error = r.Text();
  record.platform_ref = r.Text();
  record.created_at = r.Int();
  record.updated_at = r.Int();
  return record;
}
OperatorTask ReadTask(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .group_id = r.Int(),
          .member_id = r.Int(),
          .kind = r.Text(),
          .reason = r.Text(),
          .evidence = r.Text(),
          .cause_event = r.Text(),
          .rule = r.Text(),
          .open = r.Bool(),
          .created_at = r.Int()};
}
TimerRecord ReadTimer(RowReader& r) {
  return {.id = r.Int(),
          .community_id = r.Int(),
          .community = r.Text(),
          .key = r.Text(),
          .rule = r.Text(),
          .time_zone = r.Text(),
          .due = r.Int(),
          .payload = r.Text(),
          .cause_event = r.Text()};
}
StoredPlaybook ReadPlaybook(RowReader& r) {
  return {.community = r.Text(), .toml = r.Text(), .updated_at = r.Int()};
}
TimerDue ReadTimerDue(RowReader& r) { return {.id = r.Int(), .due = r.Int()}; }
StoredEvent ReadEvent(RowReader& r) {
  return {.seq = r.Int(),
          .platform = r.Text(),
          .source_id = r.Text(),
          .community_id = r.Int(),
          .group_id = r.Int(),
          .member_id = r.Int(),
          .type = r.Enum<EventType>(1, kEventTypeCount),
          .time = r.Int(),
          .json = r.Text(),
          .member_prev_seq = r.Int()};
}

// ---- Statements of the write connection (prepared at open) ----

enum WriteStmt : size_t {
  kBeginWrite,
  kCommitWrite,
  kRollbackWrite,
  kAppendEvent,
  kPutCommunity,
  kPutGroup,
  kPutMember,
  kPutIdentity,
  kPutMembership,
  kPutName,
  kPutTag,
  kDeleteTag,
  kAddAction,
  kUpdateAction,
  kAddTask,
  kTxnPutPlaybook,
  kPutTimer,
  kPutModuleState,
  kDeleteModuleState,
  kWriteStmtCount
};

std::array<std::string, kWriteStmtCount> BuildWriteSql() {
  std::array<std::string, kWriteStmtCount> sql;
  sql[kBeginWrite] = "BEGIN IMMEDIATE";
  sql[kCommitWrite] = "COMMIT";
  sql[kRollbackWrite] = "ROLLBACK";
  sql[kAppendEvent] =
      "INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, "
      "json, member_prev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
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
  sql[kUpdateAction] =
      "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
      "platform_ref = ?, updated_at = ? WHERE id = ?";
  sql[kAddTask] = InsertSql("tasks", Columns(kTaskColumns).subspan(1));
  // RETURNING: the id of the inserted or of the replaced row.
  sql[kPutTimer] =
      UpsertSql("timers", Columns(kTimerColumns).subspan(1), kTimerKeyColumns) + " RETURNING id";
  sql[kPutModuleState] = UpsertSql("module_state", kModuleStateColumns, 3);
  sql[kTxnPutPlaybook] = UpsertSql("playbooks", kPlaybookColumns, 1);
  sql[kDeleteModuleState] =
      "DELETE FROM module_state WHERE community_id = ? AND module = ? AND key = ?";
  return sql;
}

struct WriteConn {
  DbPtr db;  // declared first: destroyed after its statements
  std::array<Statement, kWriteStmtCount> stmts;
};

// ---- Statements of the side connection: the Store's own writes from any thread ----

enum SideStmt : size_t {
  kSideBegin,
  kSideCommit,
  kSideRollback,
  kPutToken,
  kUpdateTimerDue,
  kPutPlaybook,
  kSideStmtCount
};

std::array<std::string, kSideStmtCount> BuildSideSql() {
  std::array<std::string, kSideStmtCount> sql;
  // IMMEDIATE takes the write lock at once, waiting for it up to the busy timeout (a deferred
  // transaction could instead fail later on a snapshot the writer has moved past).
  sql[kSideBegin] = "BEGIN IMMEDIATE";
  sql[kSideCommit] = "COMMIT";
  sql[kSideRollback] = "ROLLBACK";
  sql[kPutToken] =
      "INSERT INTO api_tokens (hash, name, created_at) VALUES (?, ?, ?) "
      "ON CONFLICT (hash) DO UPDATE SET name = excluded.name, created_at = excluded.created_at";
  sql[kUpdateTimerDue] = "UPDATE timers SET due = ?3 WHERE id = ?1 AND due = ?2";
  sql[kPutPlaybook] = UpsertSql("playbooks", kPlaybookColumns, 1);
  return sql;
}

struct SideConn {
  DbPtr db;  // declared first: destroyed after its statements
  std::array<Statement, kSideStmtCount> stmts;
};

// ---- Statements of the read connections (prepared on first use per connection) ----

enum ReadStmt : size_t {
  kBeginRead,
  kEndRead,
  kStats,
  kMaxSeq,
  kMaxMemberId,
  kCountMembers,
  kCountIdentities,
  kCountMemberships,
  kCountNames,
  kCountTags,
  kCountModuleState,
  kListCommunities,
  kListGroups,
  kListGroupsInCommunity,
  kAllMembers,
  kAllIdentities,
  kAllMemberships,
  kAllNames,
  kAllTags,
  kAllModuleState,
  kGetMember,
  kMemberIdentities,
  kMemberMemberships,
  kMemberNames,
  kMemberTags,
  kMemberHead,
  kEventAt,
  kScanEvents,
  kFindEvent,
  kHasToken,
  kOpenActions,
  kActionCounts,
  kListTasks,
  kListOpenTasks,
  kScanTimerDues,
  kScanTimerDuesAfter,
  kTimersByKeyRange,
  kGetTimers,
  kLoadPlaybooks,
  kListMembers,                     // + variant bits (kByCommunity | kByGroup | kByText)
  kListActions = kListMembers + 8,  // + variant bits (kByStatus | kByGroup)
  kReadStmtCount = kListActions + 4
};

constexpr size_t kByCommunity = 1;
constexpr size_t kByGroup = 2;
constexpr size_t kByText = 4;
constexpr size_t kByStatus = 1;

// GetTimers binds this many ids per statement (a shorter chunk repeats its last id): large
// enough that a firing batch of 4,096 timers takes 16 statements, far below SQLite's limit on
// parameters (32,766).
constexpr size_t kGetTimersChunk = 256;

// "SELECT <timer columns> FROM timers WHERE id IN (?1, ..., ?kGetTimersChunk) ORDER BY id".
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

// ListActions parameters: ?1 after_id, ?2 status, ?3 group_id, ?4 limit. Each variant walks an
// index in id order from the cursor: outbox_status, outbox_group or the table itself.
std::string ListActionsSql(size_t variant) {
  std::string sql = fmt::format("SELECT {} FROM outbox WHERE id > ?1", List(kOutboxReadColumns));
  if (variant & kByStatus) sql += " AND status = ?2";
  if (variant & kByGroup) sql += " AND group_id = ?3";
  sql += " ORDER BY id LIMIT ?4";
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
  sql[kEventAt] = fmt::format("SELECT {} FROM events WHERE seq = ?", events);
  sql[kScanEvents] =
      fmt::format("SELECT {} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", events);
  sql[kFindEvent] =
      fmt::format("SELECT {} FROM events WHERE platform = ? AND source_id = ?", events);
  sql[kHasToken] = "SELECT 1 FROM api_tokens WHERE hash = ?";
  sql[kAllModuleState] =
      fmt::format("SELECT {} FROM module_state ORDER BY community_id, module, key",
                  List(kModuleStateColumns));
  // The values are ActionStatus::kPending and kSending.
  sql[kOpenActions] = fmt::format("SELECT {} FROM outbox WHERE status IN (0, 1) ORDER BY id",
                                  List(kOutboxReadColumns));
  sql[kActionCounts] = "SELECT status, n FROM outbox_counts";
  sql[kListTasks] =
      fmt::format("SELECT {} FROM tasks WHERE id > ? ORDER BY id LIMIT ?", List(kTaskColumns));
  sql[kListOpenTasks] = fmt::format(
      "SELECT {} FROM tasks WHERE open = 1 AND id > ? ORDER BY id LIMIT ?", List(kTaskColumns));
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
  for (size_t variant = 0; variant < 8; ++variant) {
    sql[kListMembers + variant] = ListMembersSql(variant);
  }
  for (size_t variant = 0; variant < 4; ++variant) {
    sql[kListActions + variant] = ListActionsSql(variant);
  }
  return sql;
}

const std::array<std::string, kReadStmtCount>& ReadSql() {
  static const std::array<std::string, kReadStmtCount> sql = BuildReadSql();
  return sql;
}

struct ReadConn {
  DbPtr db;  // declared first: destroyed after its statements
  std::array<Statement, kReadStmtCount> stmts;
  bool broken = false;  // left in an unknown state; closed instead of returned to the pool

  Result<sqlite3_stmt*> Get(ReadStmt which) {
    Statement& statement = stmts[which];
    if (!statement) {
      auto prepared = Statement::Prepare(db.get(), ReadSql()[which]);
      if (!prepared.ok()) return prepared.status();
      statement = std::move(prepared).value();
    }
    return statement.get();
  }
};

// Escapes LIKE's wildcards so `text` matches literally (with ESCAPE '\').
std::string LikeContains(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

bool ValidStatus(ActionStatus status) {
  return static_cast<int>(status) <= static_cast<int>(ActionStatus::kPossiblySent);
}

Status CorruptRow(std::string_view what) {
  return Status::Unavailable(
      fmt::format("sqlite: {}: corrupt row (a stored value is out of range)", what));
}

// Steps `stmt` (already bound; `bind_rc` the binding outcome) to the end, appending
// read(row) to `out` for each row, and resets it.
template <typename T, typename ReadFn>
Status ReadAll(sqlite3* db, sqlite3_stmt* stmt, int bind_rc, std::string_view what, ReadFn read,
               std::vector<T>& out) {
  ResetOnExit reset(stmt);
  if (bind_rc != SQLITE_OK) return sqlite::Error(db, bind_rc, what);
  while (true) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) return Status::Ok();
    if (rc != SQLITE_ROW) return sqlite::Error(db, rc, what);
    RowReader row(stmt);
    out.push_back(read(row));
    if (row.corrupt()) return CorruptRow(what);
  }
}

// Steps `stmt` for at most one row; nullopt when there is none.
template <typename T, typename ReadFn>
Result<std::optional<T>> ReadOne(sqlite3* db, sqlite3_stmt* stmt, int bind_rc,
                                 std::string_view what, ReadFn read) {
  ResetOnExit reset(stmt);
  auto has_row = sqlite::Step(db, stmt, what, bind_rc);
  if (!has_row.ok()) return has_row.status();
  if (!*has_row) return std::optional<T>();
  RowReader row(stmt);
  std::optional<T> value(read(row));
  if (row.corrupt()) return CorruptRow(what);
  return value;
}

class SqliteStore;

// Returns a read connection to its store's pool when the lease ends.
struct ReaderReturn {
  SqliteStore* store;
  void operator()(ReadConn* conn) const;
};
using ReadLease = std::unique_ptr<ReadConn, ReaderReturn>;

// A read transaction on a leased connection: every query between construction and destruction
// sees the same committed snapshot. Ends the transaction on destruction; a connection whose
// transaction cannot be ended is marked broken.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(ReadConn& conn) : conn_(conn) {}
  ~ReadSnapshot() {
    if (!begun_) return;
    auto end = conn_.Get(kEndRead);
    if (end.ok()) {
      sqlite3_step(*end);
      sqlite3_reset(*end);
    }
    if (sqlite3_get_autocommit(conn_.db.get()) == 0 &&
        sqlite3_exec(conn_.db.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
      conn_.broken = true;
    }
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

  Status Begin() {
    auto begin = conn_.Get(kBeginRead);
    if (!begin.ok()) return begin.status();
    ResetOnExit reset(*begin);
    auto step = sqlite::Step(conn_.db.get(), *begin, "begin read transaction");
    if (!step.ok()) return step.status();
    begun_ = true;
    return Status::Ok();
  }

 private:
  ReadConn& conn_;
  bool begun_ = false;
};

class SqliteTxn final : public StoreTxn {
 public:
  SqliteTxn(WriteConn& writer, std::atomic<bool>& open) : writer_(writer), open_(open) {}
  ~SqliteTxn() override {
    sqlite3* db = writer_.db.get();
    if (sqlite3_get_autocommit(db) == 0) {
      // Uncommitted (or a failed commit): undo everything. Should this fail, the connection
      // stays inside the transaction and the next Begin() retries the rollback.
      sqlite3_stmt* rollback = writer_.stmts[kRollbackWrite].get();
      sqlite3_step(rollback);
      sqlite3_reset(rollback);
    }
    open_.store(false, std::memory_order_release);
  }
  SqliteTxn(const SqliteTxn&) = delete;
  SqliteTxn& operator=(const SqliteTxn&) = delete;

  Result<bool> AppendEvent(StoredEvent& event) override {
    if (!failure_.ok() || committed_) [[unlikely]]
      return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAppendEvent].get();
    Binder b(stmt);
    b.Text(event.platform).Text(event.source_id).Int(event.community_id).Int(event.group_id);
    b.Int(event.member_id).Int(static_cast<int64_t>(event.type)).Int(event.time).Text(event.json);
    b.Int(event.member_prev_seq);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "append event", b.rc());
    if (!step.ok()) [[unlikely]]
      return Poison(step.status());
    if (sqlite3_changes(db) == 0) return false;  // ON CONFLICT DO NOTHING: a duplicate
    event.seq = sqlite3_last_insert_rowid(db);
    return true;
  }

  Status PutCommunity(const Community& c) override {
    return Put(kPutCommunity, c, "put community");
  }
  Status PutGroup(const Group& g) override { return Put(kPutGroup, g, "put group"); }
  Status PutMember(const Member& m) override { return Put(kPutMember, m, "put member"); }
  Status PutIdentity(const Identity& i) override { return Put(kPutIdentity, i, "put identity"); }
  Status PutMembership(const Membership& m) override {
    return Put(kPutMembership, m, "put membership");
  }
  Status PutMemberName(const MemberName& n) override { return Put(kPutName, n, "put member name"); }
  Status PutTag(const MemberTag& t) override { return Put(kPutTag, t, "put tag"); }

  Status DeleteTag(MemberId member_id, const std::string& tag) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[kDeleteTag].get();
    Binder b(stmt);
    b.Int(member_id).Text(tag);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "delete tag", b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status AddAction(OutboxRecord& record) override {
    if (!failure_.ok() || committed_) return Unusable();
    const Action& a = record.action;
    // Checked here because a row with an out-of-range value could not be read back, and would
    // fail every LoadOpenActions after it.
    if (static_cast<int>(a.type) < 1 || static_cast<int>(a.type) > kActionTypeCount) {
      return Poison(Status::Invalid("sqlite: add action: unknown action type", "type"));
    }
    if (!ValidStatus(record.status)) {
      return Poison(Status::Invalid("sqlite: add action: unknown action status", "status"));
    }
    const std::string payload = ActionToJson(a);
    if (!a.payload.empty()) {
      // Only the timer payload (embedded as JSON) can make the document unreadable.
      if (auto back = ActionFromJson(payload); !back.ok()) {
        return Poison(Status::Invalid(
            fmt::format("sqlite: add action: the payload must be a JSON object ({})",
                        back.status().ToString()),
            "payload"));
      }
    }
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAddAction].get();
    Binder b(stmt);
    b.Int(a.community_id).Int(a.group_id).Text(a.platform).Int(static_cast<int64_t>(a.type));
    b.Int(static_cast<int64_t>(record.status)).Int(record.attempts).Int(record.next_attempt_at);
    b.Text(record.last_error).Text(record.platform_ref).Text(record.idempotency_key).Text(payload);
    b.Int(record.created_at).Int(record.updated_at);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "add action", b.rc());
    if (!step.ok()) {
      // The only UNIQUE constraint of the outbox besides the (assigned) id.
      if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE) {
        return Poison(Status(Code::kAlreadyExists,
                             fmt::format("sqlite: add action: idempotency key \"{}\" is already "
                                         "in the outbox",
                                         record.idempotency_key)));
      }
      return Poison(step.status());
    }
    record.id = sqlite3_last_insert_rowid(db);
    return Status::Ok();
  }

  Status UpdateActions(std::span<const OutboxUpdate> updates,
                       std::vector<int64_t>& missing) override {
    if (!failure_.ok() || committed_) return Unusable();
    for (const OutboxUpdate& u : updates) {
      if (!ValidStatus(u.status)) {
        return Status::Invalid(
            fmt::format("sqlite: update actions: unknown status for outbox record {}", u.id),
            "status");
      }
    }
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kUpdateAction].get();
    for (const OutboxUpdate& u : updates) {
      Binder b(stmt);
      b.Int(static_cast<int64_t>(u.status)).Int(u.attempts).Int(u.next_attempt_at);
      b.Text(u.last_error).Text(u.platform_ref).Int(u.updated_at).Int(u.id);
      ResetOnExit reset(stmt);
      auto step = sqlite::Step(db, stmt, "update action", b.rc());
      if (!step.ok()) return Poison(step.status());
      if (sqlite3_changes(db) == 0) missing.push_back(u.id);
    }
    return Status::Ok();
  }

  Status AddTask(OperatorTask& task) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAddTask].get();
    Binder b(stmt);
    BindRow(b, task);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "add task", b.rc());
    if (!step.ok()) return Poison(step.status());
    task.id = sqlite3_last_insert_rowid(db);
    return Status::Ok();
  }

  Status PutTimer(TimerRecord& timer) override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kPutTimer].get();
    Binder b(stmt);
    BindRow(b, timer);
    ResetOnExit reset(stmt);
    auto row = sqlite::Step(db, stmt, "put timer", b.rc());
    if (!row.ok()) return Poison(row.status());
    if (!*row) return Poison(Status::Internal("sqlite: put timer: no id returned"));
    const int64_t id = RowReader(stmt).Int();
    // The upsert is done by the first step; this one ends the statement.
    auto done = sqlite::Step(db, stmt, "put timer");
    if (!done.ok()) return Poison(done.status());
    timer.id = id;
    return Status::Ok();
  }

  Status PutPlaybook(const StoredPlaybook& playbook) override {
    return Put(kTxnPutPlaybook, playbook, "put playbook");
  }
  Status PutModuleState(const ModuleStateEntry& entry) override {
    if (!entry.value.empty()) return Put(kPutModuleState, entry, "put module state");
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[kDeleteModuleState].get();
    Binder b(stmt);
    b.Int(entry.community_id).Text(entry.module).Text(entry.key);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "delete module state", b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status Commit() override {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[kCommitWrite].get();
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, "commit");
    if (!step.ok()) return Poison(step.status());
    committed_ = true;
    return Status::Ok();
  }

 private:
  template <typename T>
  Status Put(WriteStmt which, const T& value, std::string_view what) {
    if (!failure_.ok() || committed_) return Unusable();
    sqlite3_stmt* stmt = writer_.stmts[which].get();
    Binder b(stmt);
    BindRow(b, value);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(writer_.db.get(), stmt, what, b.rc());
    if (!step.ok()) return Poison(step.status());
    return Status::Ok();
  }

  Status Unusable() const {
    if (!failure_.ok()) return failure_;
    return Status::Internal("sqlite: the transaction was already committed");
  }
  Status Poison(Status failure) {
    failure_ = failure;
    return failure;
  }

  WriteConn& writer_;
  std::atomic<bool>& open_;
  Status failure_;  // the first failure; once set, every call returns it
  bool committed_ = false;
};

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);

  Result<std::unique_ptr<StoreTxn>> Begin() override;
  Result<StateSnapshot> LoadState() override;
  Result<StoreStats> Stats() override;
  Result<std::vector<Community>> ListCommunities() override;
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) override;
  Result<std::vector<Member>> ListMembers(const MemberQuery& query) override;
  Result<MemberProfile> GetMember(MemberId id) override;
  Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                int limit) override;
  Result<std::vector<StoredEvent>> ScanEvents(int64_t after_seq, int limit) override;
  Result<std::optional<StoredEvent>> FindEvent(const std::string& platform,
                                               const std::string& source_id) override;
  Result<std::vector<OutboxRecord>> LoadOpenActions() override;
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) override;
  Result<ActionCounts> CountActions() override;
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) override;
  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) override;
  Result<std::vector<TimerRecord>> FindTimers(CommunityId community_id,
                                              std::string_view prefix) override;
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) override;
  Result<bool> UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due) override;
  Status PutPlaybook(const StoredPlaybook& playbook) override;
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override;
  Status PutToken(const ApiToken& token) override;
  Result<bool> HasToken(const std::string& hash) override;

  // Takes back a leased read connection (any thread).
  void Release(ReadConn* conn);

 private:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}

  Result<ReadLease> AcquireReader();
  Result<std::unique_ptr<ReadConn>> OpenReader() const;
  // The side connection, opened on first use, outside any transaction. Requires side_mu_.
  Result<SideConn*> Side();
  // Runs one autocommitted write on the side connection; `bind` binds its parameters and
  // returns the binding outcome. Returns sqlite3_changes. Requires side_mu_.
  template <typename BindFn>
  Result<int> SideWrite(SideStmt which, std::string_view what, BindFn bind);
  // Reads every row of `which` (bound by `bind`) on a pooled read connection.
  template <typename T, typename BindFn>
  Result<std::vector<T>> ReadRows(ReadStmt which, std::string_view what, T (*read)(RowReader&),
                                  BindFn bind, size_t reserve = 0);

  const SqliteOptions options_;
  WriteConn writer_;  // writer thread only; declared first so it closes last (WAL cleanup)
  std::atomic<bool> txn_open_{false};
  std::unique_ptr<sqlite::Checkpointer> checkpointer_;  // stopped before writer_ closes

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<ReadConn>> idle_readers_;  // guarded by readers_mu_

  // The Store's own writes (tokens, playbooks, outbox delivery state, timer dues) from any
  // thread, serialised here; SQLite serialises them with the writer's transactions.
  std::mutex side_mu_;
  SideConn side_;  // guarded by side_mu_; opened by the first such write
};

void ReaderReturn::operator()(ReadConn* conn) const { store->Release(conn); }

const char* SyncPragma(SyncMode mode) {
  return mode == SyncMode::kNormal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::Invalid("sqlite: no database path given", "path");
  if (options.path == ":memory:" || options.path.starts_with("file:")) {
    return Status::Invalid("sqlite: the database must be a file path", "path");
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(options));
  auto db = sqlite::Open(options.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                         options.busy_timeout_ms);
  if (!db.ok()) return db.status();
  store->writer_.db = std::move(db).value();
  sqlite3* raw = store->writer_.db.get();
  if (sqlite3_db_readonly(raw, "main") == 1) {
    return Status::Unavailable(fmt::format(
        "sqlite: \"{}\" can only be opened read-only (file permissions?)", options.path));
  }
  // WAL lets the read connections see the last commit while the writer works on the next.
  auto mode = sqlite::QueryText(raw, "PRAGMA journal_mode = WAL", "enable WAL journal mode");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return Status::Unavailable(
        fmt::format("sqlite: could not switch \"{}\" to WAL journal mode (it is in \"{}\" mode)",
                    options.path, *mode));
  }
  QZ_RETURN_IF_ERROR(sqlite::Exec(raw, SyncPragma(options.sync), "set synchronous"));
  QZ_RETURN_IF_ERROR(sqlite::Exec(
      raw, fmt::format("PRAGMA cache_size = {}", -1024 * int64_t{std::max(options.cache_mib, 1)}),
      "set cache_size"));
  // The WAL file is never cut back when it starts over: truncating it (with the disk mounted
  // with `discard`) stalled commits for ~100 ms and put single-event p99 at 54 ms; without it
  // p99 is 1.1 ms (docs/benchmarks.md). Its size stays bounded by the inline checkpoint the
  // writer forces at 256 MiB (sqlite_checkpointer).
  QZ_RETURN_IF_ERROR(
      sqlite::Exec(raw, "PRAGMA journal_size_limit = -1", "set journal_size_limit"));
  QZ_RETURN_IF_ERROR(sqlite::Migrate(raw));

  static const std::array<std::string, kWriteStmtCount> kWriteSql = BuildWriteSql();
  for (size_t i = 0; i < kWriteStmtCount; ++i) {
    auto statement = Statement::Prepare(raw, kWriteSql[i]);
    if (!statement.ok()) return statement.status();
    store->writer_.stmts[i] = std::move(statement).value();
  }
  // Checkpoints run on their own thread, so commits do not wait for the database file writes.
  auto checkpointer = sqlite::Checkpointer::Start(options.path, raw, SyncPragma(options.sync),
                                                  options.busy_timeout_ms);
  if (!checkpointer.ok()) return checkpointer.status();
  store->checkpointer_ = std::move(checkpointer).value();
  return store;
}

Result<std::unique_ptr<ReadConn>> SqliteStore::OpenReader() const {
  auto db = sqlite::Open(options_.path, SQLITE_OPEN_READONLY, options_.busy_timeout_ms);
  if (!db.ok()) return db.status();
  const int cache_mib = std::clamp(options_.cache_mib, 1, kMaxReaderCacheMib);
  QZ_RETURN_IF_ERROR(sqlite::Exec(db->get(),
                                  fmt::format("PRAGMA cache_size = {}", -1024 * cache_mib),
                                  "set cache_size of a read connection"));
  auto conn = std::make_unique<ReadConn>();
  conn->db = std::move(db).value();
  return conn;
}

Result<ReadLease> SqliteStore::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      ReadLease lease(idle_readers_.back().release(), ReaderReturn{this});
      idle_readers_.pop_back();
      return lease;
    }
  }
  // Opened outside the lock: opening touches the file system.
  auto conn = OpenReader();
  if (!conn.ok()) return conn.status();
  return ReadLease(conn->release(), ReaderReturn{this});
}

void SqliteStore::Release(ReadConn* raw) {
  std::unique_ptr<ReadConn> conn(raw);
  if (conn->broken) return;
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(conn));
}

Result<std::unique_ptr<StoreTxn>> SqliteStore::Begin() {
  bool expected = false;
  if (!txn_open_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
    return Status::Internal(
        "sqlite: Begin: a write transaction is already open (only one at a time)");
  }
  sqlite3* db = writer_.db.get();
  if (sqlite3_get_autocommit(db) == 0) {
    // A previous transaction's rollback failed; it must be undone before anything else.
    Status status = sqlite::Exec(db, "ROLLBACK", "roll back the previous transaction");
    if (!status.ok()) {
      txn_open_.store(false, std::memory_order_release);
      return status;
    }
  }
  sqlite3_stmt* begin = writer_.stmts[kBeginWrite].get();
  ResetOnExit reset(begin);
  auto step = sqlite::Step(db, begin, "begin write transaction");
  if (!step.ok()) {
    txn_open_.store(false, std::memory_order_release);
    return step.status();
  }
  return std::unique_ptr<StoreTxn>(std::make_unique<SqliteTxn>(writer_, txn_open_));
}

// ---- LoadState ----

// Reads the single integer `which` yields (NULL reads as 0).
Result<int64_t> ReadInt(ReadConn& conn, ReadStmt which, std::string_view what) {
  auto stmt = conn.Get(which);
  if (!stmt.ok()) return stmt.status();
  ResetOnExit reset(*stmt);
  auto row = sqlite::Step(conn.db.get(), *stmt, what);
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal(fmt::format("sqlite: {}: no row", what));
  return RowReader(*stmt).Int();
}

// Loads a whole table in primary-key order; `count` (if any) sizes the vector exactly first.
template <typename T>
Status LoadTable(ReadConn& conn, std::optional<ReadStmt> count, ReadStmt all, std::string_view what,
                 T (*read)(RowReader&), std::vector<T>& out) {
  if (count) {
    auto rows = ReadInt(conn, *count, what);
    if (!rows.ok()) return rows.status();
    out.reserve(static_cast<size_t>(*rows));
  }
  auto stmt = conn.Get(all);
  if (!stmt.ok()) return stmt.status();
  return ReadAll(conn.db.get(), *stmt, SQLITE_OK, what, read, out);
}

// LoadState reads its tables in up to kLoadParts parts, on as many connections and threads.
constexpr size_t kLoadParts = 4;
// Below this many members the tables are read one after another on one connection.
constexpr int64_t kParallelLoadMembers = 20000;

Status LoadPart(size_t part, ReadConn& conn, StateSnapshot& state) {
  switch (part) {
    case 0:
      return LoadTable(conn, kCountMembers, kAllMembers, "load members", ReadMember, state.members);
    case 1:
      return LoadTable(conn, kCountIdentities, kAllIdentities, "load identities", ReadIdentity,
                       state.identities);
    case 2:
      return LoadTable(conn, kCountMemberships, kAllMemberships, "load memberships", ReadMembership,
                       state.memberships);
    default:
      QZ_RETURN_IF_ERROR(LoadTable(conn, std::nullopt, kListCommunities, "load communities",
                                   ReadCommunity, state.communities));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, std::nullopt, kListGroups, "load groups", ReadGroup, state.groups));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, kCountNames, kAllNames, "load member names", ReadName, state.names));
      QZ_RETURN_IF_ERROR(
          LoadTable(conn, kCountTags, kAllTags, "load member tags", ReadTag, state.tags));
      return LoadTable(conn, kCountModuleState, kAllModuleState, "load module state",
                       ReadModuleState, state.module_state);
  }
}

Result<StateSnapshot> SqliteStore::LoadState() {
  // Part 0's connection decides the snapshot: its read transaction starts with max(seq).
  std::array<std::optional<ReadLease>, kLoadParts> leases;
  std::array<std::optional<ReadSnapshot>, kLoadParts> snapshots;  // ended before the leases
  auto begin_part = [&](size_t part) -> Result<int64_t> {
    auto lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    leases[part].emplace(std::move(lease).value());
    snapshots[part].emplace(**leases[part]);
    QZ_RETURN_IF_ERROR(snapshots[part]->Begin());
    return ReadInt(**leases[part], kMaxSeq, "read last seq");
  };
  auto last_seq = begin_part(0);
  if (!last_seq.ok()) return last_seq.status();
  auto members = ReadInt(**leases[0], kMaxMemberId, "read member ids");
  if (!members.ok()) return members.status();

  // Large states load in parallel, each part in its own read transaction. The parts see the
  // same data because nothing they read commits meanwhile: LoadState runs on the writer thread,
  // the only one that writes state (the side connection writes only tokens, playbooks, outbox
  // delivery state and timer dues, none of which LoadState reads). The equal max(seq) of every
  // part double-checks that; should it differ, everything is read on part 0's connection.
  size_t parts = 1;
  if (*members >= kParallelLoadMembers && std::thread::hardware_concurrency() > 1) {
    parts = kLoadParts;
    for (size_t part = 1; part < kLoadParts && parts > 1; ++part) {
      auto seq = begin_part(part);
      if (!seq.ok() || *seq != *last_seq) parts = 1;
    }
  }

  StateSnapshot state;
  state.last_seq = *last_seq;
  std::array<Status, kLoadParts> results;
  if (parts == 1) {
    for (size_t part = 0; part < kLoadParts; ++part) {
      results[part] = LoadPart(part, **leases[0], state);
      if (!results[part].ok()) return results[part];
    }
    return state;
  }
  std::vector<std::thread> threads;
  for (size_t part = 1; part < parts; ++part) {
    auto run = [&, part] { results[part] = LoadPart(part, **leases[part], state); };
    try {
      threads.emplace_back(run);
    } catch (const std::system_error&) {
      run();  // no thread to be had: this part runs here instead
    }
  }
  results[0] = LoadPart(0, **leases[0], state);
  for (std::thread& thread : threads) thread.join();
  for (const Status& result : results) {
    if (!result.ok()) return result;
  }
  return state;
}

Result<StoreStats> SqliteStore::Stats() {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(kStats);
  if (!stmt.ok()) return stmt.status();
  ResetOnExit reset(*stmt);
  auto row = sqlite::Step(conn.db.get(), *stmt, "read stats");
  if (!row.ok()) return row.status();
  RowReader r(*stmt);
  return StoreStats{
      .events = r.Int(), .members = r.Int(), .groups = r.Int(), .communities = r.Int()};
}

Result<std::vector<Community>> SqliteStore::ListCommunities() {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(kListCommunities);
  if (!stmt.ok()) return stmt.status();
  std::vector<Community> out;
  QZ_RETURN_IF_ERROR(
      ReadAll(conn.db.get(), *stmt, SQLITE_OK, "list communities", ReadCommunity, out));
  return out;
}

Result<std::vector<Group>> SqliteStore::ListGroups(std::optional<CommunityId> community_id) {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(community_id ? kListGroupsInCommunity : kListGroups);
  if (!stmt.ok()) return stmt.status();
  Binder b(*stmt);
  if (community_id) b.Int(*community_id);
  std::vector<Group> out;
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, b.rc(), "list groups", ReadGroup, out));
  return out;
}

Result<std::vector<Member>> SqliteStore::ListMembers(const MemberQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListMembers);
  size_t variant = 0;
  if (query.community_id) variant |= kByCommunity;
  if (query.group_id) variant |= kByGroup;
  std::string pattern;
  if (!query.q.empty()) {
    variant |= kByText;
    pattern = LikeContains(query.q);
  }
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(static_cast<ReadStmt>(kListMembers + variant));
  if (!stmt.ok()) return stmt.status();
  // Parameters a variant does not use are bound anyway (numbered parameters up to ?5 exist).
  Binder b(*stmt);
  b.Int(query.after_id);
  b.Int(query.community_id.value_or(kNoId));
  b.Int(query.group_id.value_or(kNoId));
  b.Text(pattern);
  b.Int(limit);
  std::vector<Member> out;
  out.reserve(static_cast<size_t>(limit));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, b.rc(), "list members", ReadMember, out));
  return out;
}

Result<MemberProfile> SqliteStore::GetMember(MemberId id) {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);
  QZ_RETURN_IF_ERROR(snapshot.Begin());

  auto stmt = conn.Get(kGetMember);
  if (!stmt.ok()) return stmt.status();
  auto member = ReadOne<Member>(db, *stmt, Binder(*stmt).Int(id).rc(), "get member", ReadMember);
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

Result<std::vector<StoredEvent>> SqliteStore::MemberEvents(MemberId id, int64_t before_seq,
                                                           int limit) {
  std::vector<StoredEvent> out;
  if (limit <= 0) return out;
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);  // the head and the links from one commit
  QZ_RETURN_IF_ERROR(snapshot.Begin());
  auto head_stmt = conn.Get(kMemberHead);
  if (!head_stmt.ok()) return head_stmt.status();
  auto event_stmt = conn.Get(kEventAt);
  if (!event_stmt.ok()) return event_stmt.status();
  auto event_at = [&](int64_t seq) {
    return ReadOne<StoredEvent>(db, *event_stmt, Binder(*event_stmt).Int(seq).rc(),
                                "member events", ReadEvent);
  };
  int64_t next = 0;  // the newest seq still to return (0: none)
  std::optional<StoredEvent> cursor;
  if (before_seq > 0) {
    auto at = event_at(before_seq);
    if (!at.ok()) return at.status();
    cursor = std::move(*at);
  }
  if (cursor && cursor->member_id == id) {
    next = cursor->member_prev_seq;  // a page cursor: continue below it
  } else {
    auto head = ReadOne<int64_t>(db, *head_stmt, Binder(*head_stmt).Int(id).rc(), "member events",
                                 [](RowReader& r) { return r.Int(); });
    if (!head.ok()) return head.status();
    next = head->value_or(0);
  }
  out.reserve(static_cast<size_t>(std::min(limit, 1024)));
  while (next != 0 && static_cast<int>(out.size()) < limit) {
    auto event = event_at(next);
    if (!event.ok()) return event.status();
    if (!event->has_value() || (*event)->member_id != id || (*event)->member_prev_seq >= next) {
      // Links only point back to the same member's events; anything else is damage.
      return Status::Unavailable(
          fmt::format("sqlite: member events: the chain of member {} is broken at seq {}", id, next));
    }
    next = (*event)->member_prev_seq;
    if (before_seq > 0 && (*event)->seq >= before_seq) continue;  // walking down to the cursor
    out.push_back(std::move(**event));
  }
  return out;
}

Result<std::vector<StoredEvent>> SqliteStore::ScanEvents(int64_t after_seq, int limit) {
  std::vector<StoredEvent> out;
  if (limit <= 0) return out;
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(kScanEvents);
  if (!stmt.ok()) return stmt.status();
  const int rc = Binder(*stmt).Int(after_seq).Int(limit).rc();
  out.reserve(static_cast<size_t>(std::min(limit, 1 << 16)));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, rc, "scan events", ReadEvent, out));
  return out;
}

Result<std::optional<StoredEvent>> SqliteStore::FindEvent(const std::string& platform,
                                                          const std::string& source_id) {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(kFindEvent);
  if (!stmt.ok()) return stmt.status();
  const int rc = Binder(*stmt).Text(platform).Text(source_id).rc();
  return ReadOne<StoredEvent>(conn.db.get(), *stmt, rc, "find event", ReadEvent);
}

// ---- The side connection ----

Result<SideConn*> SqliteStore::Side() {
  if (side_.db && sqlite3_get_autocommit(side_.db.get()) == 0) {
    // A transaction whose rollback failed: undo it now, or start over on a new connection.
    if (sqlite3_exec(side_.db.get(), "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
      side_ = SideConn{};
    }
  }
  if (side_.db) return &side_;
  auto db = sqlite::Open(options_.path, SQLITE_OPEN_READWRITE, options_.busy_timeout_ms);
  if (!db.ok()) return db.status();
  SideConn conn;
  conn.db = std::move(db).value();
  QZ_RETURN_IF_ERROR(sqlite::Exec(conn.db.get(), SyncPragma(options_.sync),
                                  "set synchronous of the side connection"));
  // Checkpoints are the checkpointer's (the writer's commits report the whole WAL, these
  // writes included): a delivery worker or an API request should not copy a large WAL inline.
  QZ_RETURN_IF_ERROR(sqlite::Exec(conn.db.get(), "PRAGMA wal_autocheckpoint = 0",
                                  "disable auto-checkpoints of the side connection"));
  static const std::array<std::string, kSideStmtCount> kSideSql = BuildSideSql();
  for (size_t i = 0; i < kSideStmtCount; ++i) {
    auto statement = Statement::Prepare(conn.db.get(), kSideSql[i]);
    if (!statement.ok()) return statement.status();
    conn.stmts[i] = std::move(statement).value();
  }
  side_ = std::move(conn);
  return &side_;
}

template <typename BindFn>
Result<int> SqliteStore::SideWrite(SideStmt which, std::string_view what, BindFn bind) {
  auto side = Side();
  if (!side.ok()) return side.status();
  sqlite3* db = (*side)->db.get();
  sqlite3_stmt* stmt = (*side)->stmts[which].get();
  Binder b(stmt);
  bind(b);
  ResetOnExit reset(stmt);
  auto step = sqlite::Step(db, stmt, what, b.rc());
  if (!step.ok()) return step.status();
  return sqlite3_changes(db);
}

Status SqliteStore::PutToken(const ApiToken& token) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutToken, "put token", [&](Binder& b) {
    b.Text(token.hash).Text(token.name).Int(token.created_at);
  });
  return changes.status();
}

Status SqliteStore::PutPlaybook(const StoredPlaybook& playbook) {
  std::lock_guard lock(side_mu_);
  auto changes = SideWrite(kPutPlaybook, "put playbook", [&](Binder& b) {
    b.Text(playbook.community).Text(playbook.toml).Int(playbook.updated_at);
  });
  return changes.status();
}

Result<bool> SqliteStore::UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due) {
  std::lock_guard lock(side_mu_);
  // sqlite3_changes counts the rows the WHERE clause matched, also when due == expected.
  auto changes = SideWrite(kUpdateTimerDue, "update timer due",
                           [&](Binder& b) { b.Int(id).Int(expected).Int(due); });
  if (!changes.ok()) return changes.status();
  return *changes > 0;
}

// ---- Outbox, tasks, timers and playbooks: reads ----

template <typename T, typename BindFn>
Result<std::vector<T>> SqliteStore::ReadRows(ReadStmt which, std::string_view what,
                                             T (*read)(RowReader&), BindFn bind, size_t reserve) {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(which);
  if (!stmt.ok()) return stmt.status();
  Binder b(*stmt);
  bind(b);
  std::vector<T> out;
  out.reserve(reserve);
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, b.rc(), what, read, out));
  return out;
}

void BindNothing(Binder&) {}

Result<std::vector<OutboxRecord>> SqliteStore::LoadOpenActions() {
  return ReadRows(kOpenActions, "load open actions", ReadOutbox, BindNothing);
}

Result<std::vector<OutboxRecord>> SqliteStore::ListActions(const ActionQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListActions);
  size_t variant = 0;
  if (query.status) variant |= kByStatus;
  if (query.group_id) variant |= kByGroup;
  // Parameters a variant does not use are bound anyway (numbered parameters up to ?4 exist).
  return ReadRows(
      static_cast<ReadStmt>(kListActions + variant), "list actions", ReadOutbox,
      [&](Binder& b) {
        b.Int(query.after_id);
        b.Int(static_cast<int64_t>(query.status.value_or(ActionStatus::kPending)));
        b.Int(query.group_id.value_or(kNoId));
        b.Int(limit);
      },
      static_cast<size_t>(limit));
}

struct StatusCount {
  int64_t status = 0;
  int64_t n = 0;
};
StatusCount ReadStatusCount(RowReader& r) { return {.status = r.Int(), .n = r.Int()}; }

Result<ActionCounts> SqliteStore::CountActions() {
  auto rows = ReadRows(kActionCounts, "count actions", ReadStatusCount, BindNothing);
  if (!rows.ok()) return rows.status();
  ActionCounts counts;
  for (const StatusCount& row : *rows) {
    switch (static_cast<ActionStatus>(row.status)) {
      case ActionStatus::kPending:
        counts.pending = row.n;
        break;
      case ActionStatus::kSending:
        counts.sending = row.n;
        break;
      case ActionStatus::kDone:
        counts.done = row.n;
        break;
      case ActionStatus::kFailed:
        counts.failed = row.n;
        break;
      case ActionStatus::kPossiblySent:
        counts.possibly_sent = row.n;
        break;
    }
  }
  return counts;
}

Result<std::vector<OperatorTask>> SqliteStore::ListTasks(const TaskQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListTasks);
  return ReadRows(
      query.open_only ? kListOpenTasks : kListTasks, "list tasks", ReadTask,
      [&](Binder& b) { b.Int(query.after_id).Int(limit); }, static_cast<size_t>(limit));
}

Result<std::vector<TimerDue>> SqliteStore::ScanTimerDues(std::optional<TimerDue> after,
                                                          int limit) {
  if (limit <= 0) return std::vector<TimerDue>{};
  const auto reserve = static_cast<size_t>(std::min(limit, 1 << 16));
  if (!after) {
    return ReadRows(kScanTimerDues, "scan timer dues", ReadTimerDue,
                    [&](Binder& b) { b.Int(limit); }, reserve);
  }
  return ReadRows(kScanTimerDuesAfter, "scan timer dues", ReadTimerDue,
                  [&](Binder& b) { b.Int(after->due).Int(after->id).Int(limit); }, reserve);
}

Result<std::vector<TimerRecord>> SqliteStore::FindTimers(CommunityId community_id,
                                                         std::string_view prefix) {
  // Keys from `prefix` up to its successor: the prefix with its last byte below 0xff raised by
  // one (an empty or all-0xff prefix has no successor: every key from it on).
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) end.assign(1, '\xff');  // beyond every UTF-8 text
  else end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return ReadRows(kTimersByKeyRange, "find timers", ReadTimer,
                  [&](Binder& b) { b.Int(community_id).Text(prefix).Text(end); });
}

Result<std::vector<TimerRecord>> SqliteStore::GetTimers(std::span<const int64_t> ids) {
  std::vector<TimerRecord> out;
  if (ids.empty()) return out;
  // Sorted and distinct, the chunks' results follow one another in id order.
  std::vector<int64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  // One statement is a snapshot of its own; several need a read transaction around them.
  ReadSnapshot snapshot(conn);
  if (sorted.size() > kGetTimersChunk) QZ_RETURN_IF_ERROR(snapshot.Begin());
  auto stmt = conn.Get(kGetTimers);
  if (!stmt.ok()) return stmt.status();
  out.reserve(sorted.size());
  for (size_t at = 0; at < sorted.size(); at += kGetTimersChunk) {
    const size_t last = std::min(sorted.size(), at + kGetTimersChunk) - 1;
    Binder b(*stmt);
    for (size_t i = 0; i < kGetTimersChunk; ++i) b.Int(sorted[std::min(at + i, last)]);
    QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, b.rc(), "get timers", ReadTimer, out));
  }
  return out;
}

Result<std::vector<StoredPlaybook>> SqliteStore::LoadPlaybooks() {
  return ReadRows(kLoadPlaybooks, "load playbooks", ReadPlaybook, BindNothing);
}

Result<bool> SqliteStore::HasToken(const std::string& hash) {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  auto stmt = conn.Get(kHasToken);
  if (!stmt.ok()) return stmt.status();
  const int rc = Binder(*stmt).Text(hash).rc();
  ResetOnExit reset(*stmt);
  return sqlite::Step(conn.db.get(), *stmt, "check token", rc);
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  auto store = SqliteStore::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

int SqliteSchemaVersion() { return sqlite::LatestSchemaVersion(); }

}  // namespace qz
