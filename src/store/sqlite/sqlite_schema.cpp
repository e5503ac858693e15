#include "store/sqlite/sqlite_schema.hpp"

#include <fmt/format.h>

#include <array>
#include <functional>
#include <string>

#include "store/sqlite/sqlite_db.hpp"

namespace qz::sqlite {
namespace {

// Columns are NOT NULL: every entity field has a value (kNoId = 0 for "none"), and '' is a
// real empty string. Enums are stored as their integer values. Composite primary keys use
// WITHOUT ROWID so rows live in the key's b-tree and are read back in key order.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  platform TEXT NOT NULL,
  source_id TEXT NOT NULL,
  community_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  member_id INTEGER NOT NULL,
  type INTEGER NOT NULL,
  time INTEGER NOT NULL,
  json TEXT NOT NULL,
  UNIQUE (platform, source_id)
);
CREATE INDEX events_member_seq ON events (member_id, seq);

CREATE TABLE communities (
  id INTEGER PRIMARY KEY,
  slug TEXT NOT NULL,
  name TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE groups (
  id INTEGER PRIMARY KEY,
  community_id INTEGER NOT NULL,
  platform TEXT NOT NULL,
  external_id TEXT NOT NULL,
  name TEXT NOT NULL,
  type INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  time_zone TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_activity INTEGER NOT NULL,
  member_count INTEGER NOT NULL,
  joins INTEGER NOT NULL,
  leaves INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  UNIQUE (platform, external_id)
);
CREATE INDEX groups_community ON groups (community_id);

CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  community_id INTEGER NOT NULL,
  display_name TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  referrer_id INTEGER NOT NULL,
  channel TEXT NOT NULL,
  messages INTEGER NOT NULL,
  checkins INTEGER NOT NULL,
  link_clicks INTEGER NOT NULL,
  orders INTEGER NOT NULL,
  order_amount_e4 INTEGER NOT NULL,
  invited INTEGER NOT NULL,
  last_message INTEGER NOT NULL,
  last_checkin INTEGER NOT NULL
);
-- ListMembers by community in id order; also the small index COUNT(*) walks for Stats.
CREATE INDEX members_community ON members (community_id);

CREATE TABLE identities (
  community_id INTEGER NOT NULL,
  platform TEXT NOT NULL,
  external_id TEXT NOT NULL,
  member_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (community_id, platform, external_id)
) WITHOUT ROWID;
CREATE INDEX identities_member ON identities (member_id);

CREATE TABLE memberships (
  group_id INTEGER NOT NULL,
  member_id INTEGER NOT NULL,
  role INTEGER NOT NULL,
  active INTEGER NOT NULL,
  joined_at INTEGER NOT NULL,
  left_at INTEGER NOT NULL,
  left_reason INTEGER NOT NULL,
  via_code TEXT NOT NULL,
  inviter_id INTEGER NOT NULL,
  messages INTEGER NOT NULL,
  last_message INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id)
) WITHOUT ROWID;
CREATE INDEX memberships_member ON memberships (member_id);

CREATE TABLE member_names (
  member_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  PRIMARY KEY (member_id, name)
) WITHOUT ROWID;

CREATE TABLE member_tags (
  member_id INTEGER NOT NULL,
  tag TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  PRIMARY KEY (member_id, tag)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
  hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Row counts for Stats() without COUNT(*) scans: kept by triggers, seeded from the tables.
// An upsert that updates an existing row fires no INSERT trigger, so the counts stay exact.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE entity_counts (
  name TEXT PRIMARY KEY,
  n INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO entity_counts (name, n) VALUES
  ('communities', (SELECT count(*) FROM communities)),
  ('groups', (SELECT count(*) FROM groups)),
  ('members', (SELECT count(*) FROM members));
CREATE TRIGGER communities_counted AFTER INSERT ON communities
  BEGIN UPDATE entity_counts SET n = n + 1 WHERE name = 'communities'; END;
CREATE TRIGGER communities_uncounted AFTER DELETE ON communities
  BEGIN UPDATE entity_counts SET n = n - 1 WHERE name = 'communities'; END;
CREATE TRIGGER groups_counted AFTER INSERT ON groups
  BEGIN UPDATE entity_counts SET n = n + 1 WHERE name = 'groups'; END;
CREATE TRIGGER groups_uncounted AFTER DELETE ON groups
  BEGIN UPDATE entity_counts SET n = n - 1 WHERE name = 'groups'; END;
CREATE TRIGGER members_counted AFTER INSERT ON members
  BEGIN UPDATE entity_counts SET n = n + 1 WHERE name = 'members'; END;
CREATE TRIGGER members_uncounted AFTER DELETE ON members
  BEGIN UPDATE entity_counts SET n = n - 1 WHERE name = 'members'; END;
)sql";

// What modules cause and remember (issue 3): the outbox of platform actions, operator tasks,
// durable timers, modules' working state, playbooks, and members' points.
constexpr std::string_view kSchemaV3 = R"sql(
ALTER TABLE members ADD COLUMN points INTEGER NOT NULL DEFAULT 0;

-- payload is ActionToJson(action), the whole action; community_id, group_id, platform and type
-- repeat parts of it as columns for filtering. status is an ActionStatus, type an ActionType.
CREATE TABLE outbox (
  id INTEGER PRIMARY KEY,
  community_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  platform TEXT NOT NULL,
  type INTEGER NOT NULL,
  status INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  platform_ref TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- The open (pending, sending) actions, and ListActions by status or by group, in id order.
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_group ON outbox (group_id, id);

-- CountActions without scanning the outbox (done actions accumulate): one row per status,
-- kept by triggers as entity_counts is.
CREATE TABLE outbox_counts (
  status INTEGER PRIMARY KEY,
  n INTEGER NOT NULL
);
INSERT INTO outbox_counts (status, n) VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0);
CREATE TRIGGER outbox_counted AFTER INSERT ON outbox
  BEGIN UPDATE outbox_counts SET n = n + 1 WHERE status = new.status; END;
CREATE TRIGGER outbox_uncounted AFTER DELETE ON outbox
  BEGIN UPDATE outbox_counts SET n = n - 1 WHERE status = old.status; END;
CREATE TRIGGER outbox_recounted AFTER UPDATE OF status ON outbox
  WHEN new.status != old.status
  BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE status = old.status;
    UPDATE outbox_counts SET n = n + 1 WHERE status = new.status;
  END;

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY,
  community_id INTEGER NOT NULL,
  group_id INTEGER NOT NULL,
  member_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  evidence TEXT NOT NULL,
  cause_event TEXT NOT NULL,
  rule TEXT NOT NULL,
  open INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
-- ListTasks of the open tasks in id order.
CREATE INDEX tasks_open ON tasks (open, id);

-- due = 0: finished (kept, so a replaced key keeps its id).
CREATE TABLE timers (
  id INTEGER PRIMARY KEY,
  community_id INTEGER NOT NULL,
  community TEXT NOT NULL,
  key TEXT NOT NULL,
  rule TEXT NOT NULL,
  time_zone TEXT NOT NULL,
  due INTEGER NOT NULL,
  payload TEXT NOT NULL,
  cause_event TEXT NOT NULL,
  UNIQUE (community_id, key)
);
CREATE INDEX timers_due ON timers (due) WHERE due != 0;

CREATE TABLE module_state (
  community_id INTEGER NOT NULL,
  module TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (community_id, module, key)
) WITHOUT ROWID;

CREATE TABLE playbooks (
  community TEXT PRIMARY KEY,
  toml TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// A member's events as a chain (events.member_prev, from members.last_event_seq) instead of the
// events_member_seq index, which cost an insert at a random place in a large b-tree per event.
// Existing logs get their chains from the index before it goes.
constexpr std::string_view kSchemaV4 = R"sql(
ALTER TABLE events ADD COLUMN member_prev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN last_event_seq INTEGER NOT NULL DEFAULT 0;
UPDATE events SET member_prev = chain.prev
  FROM (SELECT seq, lag(seq, 1, 0) OVER (PARTITION BY member_id ORDER BY seq) AS prev
        FROM events WHERE member_id != 0) AS chain
  WHERE events.seq = chain.seq AND chain.prev != 0;
UPDATE members SET last_event_seq = coalesce(
  (SELECT max(seq) FROM events WHERE events.member_id = members.id), 0);
DROP INDEX events_member_seq;
)sql";

// Timers are namespaced by the module that owns them: the timers of playbook schedules are the
// schedule module's standing timers, key "schedule:playbook:<name>" instead of "playbook:<name>".
// Their ids and dues stay, so the scheduler's index and a firing in flight still match.
constexpr std::string_view kSchemaV5 = R"sql(
UPDATE timers SET key = 'schedule:' || key WHERE substr(key, 1, 9) = 'playbook:';
)sql";

// Timers carry the version of their content (TimerRecord::version): a firing that raced with a
// replacement at the same due is told apart from it. Existing timers start at 1.
constexpr std::string_view kSchemaV6 = R"sql(
ALTER TABLE timers ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
)sql";

// Groups remember when the bot was removed from them (Group::bot_left_at; 0: the bot is in).
constexpr std::string_view kSchemaV7 = R"sql(
ALTER TABLE groups ADD COLUMN bot_left_at INTEGER NOT NULL DEFAULT 0;
)sql";

// The console's accounts and their sessions (issue 11), and a role for every API token: the
// tokens made before roles existed keep the power they had (5 = AccountRole::kOwner). A session
// is stored by the SHA-256 of its secret, as a token is. Names compare bytewise (BINARY).
constexpr std::string_view kSchemaV8 = R"sql(
ALTER TABLE api_tokens ADD COLUMN role INTEGER NOT NULL DEFAULT 5;

CREATE TABLE accounts (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  role INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
  hash TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
-- DeleteAccountSessions and DeleteExpiredSessions.
CREATE INDEX sessions_account ON sessions (account);
CREATE INDEX sessions_expires ON sessions (expires_at);
)sql";

// What operators did with a task (issue 11's console): its assignee (an account name), who closed
// it, when, and their note. Operators' own state, written outside the log (OutboxStore's task
// workflow); the engine's rows start unassigned and open. The index serves the `assignee`
// filter of ListTasks in id order.
constexpr std::string_view kSchemaV9 = R"sql(
ALTER TABLE tasks ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN closed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tasks ADD COLUMN note TEXT NOT NULL DEFAULT '';
CREATE INDEX tasks_assignee ON tasks (assignee, id);
)sql";

// Member search (ListMembers' `q`: a substring of the display name or of an identity's
// external id, ASCII letters in any case, as LIKE '%q%' compares) through an index instead of a
// LIKE scan of every member: member_grams holds each member's distinct 1-, 2- and 3-character
// pieces ("grams") of those texts, lower-cased as SQLite's lower() does (ASCII only, as LIKE
// folds). A query of 1 or 2 characters is one gram's members; a longer one walks its rarest
// trigram's members and requires the next rarest; every candidate is checked with the LIKE of
// the scan it replaces, so the results are the same (sqlite_member_search.cpp). Kept by
// triggers, so the index commits with the rows it describes whoever writes them (the writer,
// replay). A renamed member's old grams go and the ones still true come back (its identities');
// likewise a moved or removed identity. gram_positions numbers the characters of a text (names
// are at most 512 bytes, ids 256) and gram_lengths holds 1, 2, 3. The triggers' inserts say ON
// CONFLICT DO NOTHING: an INSERT OR IGNORE would be overridden by the upsert that fires them.
// Its cost is the writer's, per new member (about 30 index rows; docs/benchmarks.md); an FTS5
// trigram table with padded 1- and 2-character pieces was measured, and cost the writer more.
// The existing members are indexed here, sorted before the insert.
constexpr std::string_view kSchemaV10 = R"sql(
CREATE TABLE gram_positions (n INTEGER PRIMARY KEY);
WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 512)
  INSERT INTO gram_positions (n) SELECT n FROM c;
CREATE TABLE gram_lengths (len INTEGER PRIMARY KEY);
INSERT INTO gram_lengths (len) VALUES (1), (2), (3);

CREATE TABLE member_grams (
  gram TEXT NOT NULL,
  member_id INTEGER NOT NULL,
  PRIMARY KEY (gram, member_id)
) WITHOUT ROWID;

INSERT INTO member_grams (gram, member_id)
  SELECT gram, member_id FROM (
    SELECT substr(lower(m.display_name), p.n, k.len) AS gram, m.id AS member_id
      FROM members m, gram_lengths k, gram_positions p
      WHERE p.n <= length(m.display_name) - k.len + 1
    UNION
    SELECT substr(lower(i.external_id), p.n, k.len), i.member_id
      FROM identities i, gram_lengths k, gram_positions p
      WHERE p.n <= length(i.external_id) - k.len + 1)
  ORDER BY gram, member_id;

CREATE TRIGGER member_grams_added AFTER INSERT ON members BEGIN
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(new.display_name), p.n, k.len), new.id
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(new.display_name) - k.len + 1
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER member_grams_renamed AFTER UPDATE OF display_name ON members
  WHEN old.display_name IS NOT new.display_name BEGIN
  DELETE FROM member_grams WHERE member_id = old.id AND gram IN (
        SELECT substr(lower(old.display_name), p.n, k.len)
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(old.display_name) - k.len + 1);
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(new.display_name), p.n, k.len), new.id
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(new.display_name) - k.len + 1
        ON CONFLICT DO NOTHING;
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(i.external_id), p.n, k.len), new.id
          FROM identities i, gram_lengths k, gram_positions p
          WHERE i.member_id = new.id AND p.n <= length(i.external_id) - k.len + 1
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER member_grams_removed AFTER DELETE ON members BEGIN
  DELETE FROM member_grams WHERE member_id = old.id AND gram IN (
        SELECT substr(lower(old.display_name), p.n, k.len)
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(old.display_name) - k.len + 1);
  DELETE FROM member_grams WHERE member_id = old.id AND gram IN (
        SELECT substr(lower(i.external_id), p.n, k.len)
          FROM identities i, gram_lengths k, gram_positions p
          WHERE i.member_id = old.id AND p.n <= length(i.external_id) - k.len + 1);
END;
CREATE TRIGGER identity_grams_added AFTER INSERT ON identities BEGIN
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(new.external_id), p.n, k.len), new.member_id
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(new.external_id) - k.len + 1
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER identity_grams_moved AFTER UPDATE OF member_id, external_id ON identities
  WHEN old.member_id != new.member_id OR old.external_id IS NOT new.external_id BEGIN
  DELETE FROM member_grams WHERE member_id = old.member_id AND gram IN (
        SELECT substr(lower(old.external_id), p.n, k.len)
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(old.external_id) - k.len + 1);
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(m.display_name), p.n, k.len), m.id
          FROM members m, gram_lengths k, gram_positions p
          WHERE m.id = old.member_id AND p.n <= length(m.display_name) - k.len + 1
        ON CONFLICT DO NOTHING;
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(i.external_id), p.n, k.len), i.member_id
          FROM identities i, gram_lengths k, gram_positions p
          WHERE i.member_id = old.member_id AND p.n <= length(i.external_id) - k.len + 1
        ON CONFLICT DO NOTHING;
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(new.external_id), p.n, k.len), new.member_id
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(new.external_id) - k.len + 1
        ON CONFLICT DO NOTHING;
END;
CREATE TRIGGER identity_grams_removed AFTER DELETE ON identities BEGIN
  DELETE FROM member_grams WHERE member_id = old.member_id AND gram IN (
        SELECT substr(lower(old.external_id), p.n, k.len)
          FROM gram_lengths k, gram_positions p
          WHERE p.n <= length(old.external_id) - k.len + 1);
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(m.display_name), p.n, k.len), m.id
          FROM members m, gram_lengths k, gram_positions p
          WHERE m.id = old.member_id AND p.n <= length(m.display_name) - k.len + 1
        ON CONFLICT DO NOTHING;
  INSERT INTO member_grams (gram, member_id)
        SELECT substr(lower(i.external_id), p.n, k.len), i.member_id
          FROM identities i, gram_lengths k, gram_positions p
          WHERE i.member_id = old.member_id AND p.n <= length(i.external_id) - k.len + 1
        ON CONFLICT DO NOTHING;
END;
)sql";

// The console accounts' roles per community (issue 11): each replaces the account's base role
// inside that community. Written outside the log like the accounts themselves (AdminStore), so
// replay neither rebuilds nor compares them. Keyed by account, so an account's roles are one
// range (read on every signed-in request). Neither accounts nor communities are deleted today;
// the triggers make sure that a deleted one leaves no row behind that would name nobody, or
// apply to a later account of the same name. The index serves the community's trigger.
constexpr std::string_view kSchemaV11 = R"sql(
CREATE TABLE account_communities (
  account TEXT NOT NULL,
  community_id INTEGER NOT NULL,
  role INTEGER NOT NULL,
  PRIMARY KEY (account, community_id)
) WITHOUT ROWID;
CREATE INDEX account_communities_community ON account_communities (community_id);
CREATE TRIGGER account_communities_account_deleted AFTER DELETE ON accounts BEGIN
  DELETE FROM account_communities WHERE account = old.name;
END;
CREATE TRIGGER account_communities_community_deleted AFTER DELETE ON communities BEGIN
  DELETE FROM account_communities WHERE community_id = old.id;
END;
)sql";

// A group's events as a chain (events.group_prev, from groups.last_event_seq), as schema 4 did
// for members: the console's group page reads a group's recent conversation without an index on
// events that every append would pay for. Existing logs get their chains in one sorted pass.
// member_tags_tag and memberships_staff serve the member list's filters by tag and by role (a
// tag's members, the owners, admins and assistants, without reading every member's rows); most
// memberships are plain members, which the partial index leaves out.
constexpr std::string_view kSchemaV12 = R"sql(
ALTER TABLE events ADD COLUMN group_prev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE groups ADD COLUMN last_event_seq INTEGER NOT NULL DEFAULT 0;
UPDATE events SET group_prev = chain.prev
  FROM (SELECT seq, lag(seq, 1, 0) OVER (PARTITION BY group_id ORDER BY seq) AS prev
        FROM events WHERE group_id != 0) AS chain
  WHERE events.seq = chain.seq AND chain.prev != 0;
UPDATE groups SET last_event_seq = newest.seq
  FROM (SELECT group_id, max(seq) AS seq FROM events WHERE group_id != 0 GROUP BY group_id)
       AS newest
  WHERE groups.id = newest.group_id;
CREATE INDEX member_tags_tag ON member_tags (tag);
CREATE INDEX memberships_staff ON memberships (role, member_id) WHERE role != 0;
)sql";

// Actions added to the outbox are counted by the writer's transaction (SqliteTxn::Commit adds
// one UPDATE per status it inserted, instead of this trigger's UPDATE per row: the trigger was a
// fifth of an outbox insert's cost, paid on the single writer for every action).
// outbox_uncounted and outbox_recounted stay: deletes and status changes are rarer.
constexpr std::string_view kSchemaV13 = R"sql(
DROP TRIGGER outbox_counted;
)sql";

constexpr std::array<Migration, 13> kMigrations = {{
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3},
    {4, kSchemaV4},
    {5, kSchemaV5},
    {6, kSchemaV6},
    {7, kSchemaV7},
    {8, kSchemaV8},
    {9, kSchemaV9},
    {10, kSchemaV10},
    {11, kSchemaV11},
    {12, kSchemaV12},
    {13, kSchemaV13},
}};

Status Rollback(sqlite3* db, Status cause) {
  if (sqlite3_get_autocommit(db) == 0) {
    // The cause is what matters; a failed rollback leaves the connection unusable anyway and
    // the caller closes it.
    (void)Exec(db, "ROLLBACK", "roll back migration");
  }
  return cause;
}

Status ApplyStep(sqlite3* db, const Migration& step) {
  QZ_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin migration"));
  // Re-read inside the write lock: another process may have migrated meanwhile.
  auto current = QueryInt(db, "PRAGMA user_version", "read user_version");
  if (!current.ok()) return Rollback(db, current.status());
  if (*current >= step.version) return Exec(db, "COMMIT", "end migration");
  if (*current != step.version - 1) {
    return Rollback(
        db, Status::Internal(fmt::format("sqlite: schema version {} cannot be migrated by step {}",
                                         *current, step.version)));
  }
  Status status = Exec(db, step.sql, fmt::format("migrate schema to version {}", step.version));
  if (!status.ok()) return Rollback(db, std::move(status));
  // PRAGMA takes no parameters; the version is our own constant, not input.
  status = Exec(db, fmt::format("PRAGMA user_version = {}", step.version), "set user_version");
  if (!status.ok()) return Rollback(db, std::move(status));
  status = Exec(db, "COMMIT", fmt::format("commit schema version {}", step.version));
  if (!status.ok()) return Rollback(db, std::move(status));
  return Status::Ok();
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

int LatestSchemaVersion() { return kMigrations.back().version; }

namespace {

constexpr std::array<std::string_view, 6> kMemberIndexTriggers = {
    "member_grams_added",  "member_grams_renamed",  "member_grams_removed",
    "identity_grams_added", "identity_grams_moved", "identity_grams_removed"};

// Schema 10's fill of the index and its triggers, as that step wrote them (one text: the step
// is released and must not change, and the rebuild must be what it did).
std::string_view MemberIndexFill() {
  const size_t from = kSchemaV10.find("INSERT INTO member_grams (gram, member_id)\n  SELECT gram");
  const size_t to = kSchemaV10.find("CREATE TRIGGER member_grams_added");
  return from == std::string_view::npos || to == std::string_view::npos || to < from
             ? std::string_view()
             : kSchemaV10.substr(from, to - from);
}
std::string_view MemberIndexTriggerSql() {
  const size_t from = kSchemaV10.find("CREATE TRIGGER member_grams_added");
  return from == std::string_view::npos ? std::string_view() : kSchemaV10.substr(from);
}

Status InTransaction(sqlite3* db, std::string_view what, const std::function<Status()>& body) {
  QZ_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", fmt::format("begin {}", what)));
  Status status = body();
  if (!status.ok()) return Rollback(db, std::move(status));
  status = Exec(db, "COMMIT", fmt::format("commit {}", what));
  if (!status.ok()) return Rollback(db, std::move(status));
  return Status::Ok();
}

Status DropMemberIndexTriggers(sqlite3* db) {
  for (std::string_view name : kMemberIndexTriggers) {
    // Our own constant names, not input.
    QZ_RETURN_IF_ERROR(
        Exec(db, fmt::format("DROP TRIGGER IF EXISTS {}", name), "drop a member index trigger"));
  }
  return Status::Ok();
}

// Whether every trigger of the member index exists.
Result<bool> MemberIndexTriggersPresent(sqlite3* db) {
  std::string names;  // our own constant names, not input
  for (std::string_view name : kMemberIndexTriggers) {
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", name);
  }
  QZ_ASSIGN_OR_RETURN(
      const int64_t present,
      QueryInt(db,
               fmt::format("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name "
                           "IN ({})",
                           names),
               "count the member index triggers"));
  return present == static_cast<int64_t>(kMemberIndexTriggers.size());
}

}  // namespace

Status SuspendMemberIndex(sqlite3* db) {
  return InTransaction(db, "suspending the member index",
                       [&] { return DropMemberIndexTriggers(db); });
}

Status RestoreMemberIndex(sqlite3* db) {
  if (MemberIndexFill().empty() || MemberIndexTriggerSql().empty()) {
    return Status::Internal("sqlite: the member index's statements are missing from schema 10");
  }
  // The common case reads only: no write lock for a process that opens a store in use.
  QZ_ASSIGN_OR_RETURN(const bool present, MemberIndexTriggersPresent(db));
  if (present) return Status::Ok();
  return InTransaction(db, "restoring the member index", [&]() -> Status {
    QZ_ASSIGN_OR_RETURN(const bool now_present, MemberIndexTriggersPresent(db));
    if (now_present) return Status::Ok();  // another process restored it meanwhile
    QZ_RETURN_IF_ERROR(DropMemberIndexTriggers(db));
    QZ_RETURN_IF_ERROR(Exec(db, "DELETE FROM member_grams", "empty the member index"));
    QZ_RETURN_IF_ERROR(Exec(db, MemberIndexFill(), "refill the member index"));
    return Exec(db, MemberIndexTriggerSql(), "recreate the member index triggers");
  });
}

Status Migrate(sqlite3* db) {
  auto version = QueryInt(db, "PRAGMA user_version", "read user_version");
  if (!version.ok()) return version.status();
  if (*version > LatestSchemaVersion()) {
    return Status::Unavailable(fmt::format(
        "sqlite: database schema version {} is newer than this build supports (up to {}); "
        "open it with a newer qunzhu",
        *version, LatestSchemaVersion()));
  }
  for (const Migration& step : kMigrations) {
    if (step.version <= *version) continue;
    QZ_RETURN_IF_ERROR(ApplyStep(db, step));
  }
  return Status::Ok();
}

}  // namespace qz::sqlite
