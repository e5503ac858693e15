#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

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

// Column lists in struct order, shared by the upserts, the selects and the Bind*/Read*
// functions below so they cannot drift apart. The primary key comes first.
using Columns = std::span<const std::string_view>;
constexpr std::string_view kCommunityColumns[] = {"id", "slug", "name", "time_zone",
                                                  "created_at"};
constexpr std::string_view kGroupColumns[] = {
    "id",         "community_id",  "platform",     "external_id", "name",
    "type",       "capacity",      "time_zone",    "first_seen",  "last_activity",
    "member_count", "joins",       "leaves",       "messages"};
constexpr std::string_view kMemberColumns[] = {
    "id",          "community_id", "display_name", "first_seen",     "last_seen",
    "referrer_id", "channel",      "messages",     "checkins",       "link_clicks",
    "orders",      "order_amount_e4", "invited",   "last_message",   "last_checkin"};
constexpr std::string_view kIdentityColumns[] = {"community_id", "platform", "external_id",
                                                 "member_id", "name"};
constexpr std::string_view kMembershipColumns[] = {
    "group_id",    "member_id", "role",       "active",   "joined_at",   "left_at",
    "left_reason", "via_code",  "inviter_id", "messages", "last_message"};
constexpr std::string_view kNameColumns[] = {"member_id", "name", "first_seen"};
constexpr std::string_view kTagColumns[] = {"member_id", "tag", "added_at"};
constexpr std::string_view kEventColumns[] = {"seq",       "platform", "source_id",
                                              "community_id", "group_id", "member_id",
                                              "type",      "time",     "json"};

std::string List(Columns columns, std::string_view prefix = {}) {
  std::string out;
  for (std::string_view column : columns) {
    if (!out.empty()) out += ", ";
    out += prefix;
    out += column;
  }
  return out;
}

// INSERT ... ON CONFLICT (primary key) DO UPDATE: replaces the row with the same key in place.
// Unlike INSERT OR REPLACE it never deletes a *different* row that collides on another UNIQUE
// constraint (groups' (platform, external_id)); that is reported as an error instead.
std::string UpsertSql(std::string_view table, Columns columns, size_t key_count) {
  std::string placeholders;
  for (size_t i = 0; i < columns.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  std::string updates;
  for (size_t i = key_count; i < columns.size(); ++i) {
    if (!updates.empty()) updates += ", ";
    updates += fmt::format("{0} = excluded.{0}", columns[i]);
  }
  return fmt::format("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}", table,
                     List(columns), placeholders, List(columns.first(key_count)), updates);
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
  b.Int(m.orders).Int(m.order_amount_e4).Int(m.invited).Int(m.last_message).Int(m.last_checkin);
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

// Designated initialisers are evaluated in order, so the columns are read left to right.
Community ReadCommunity(RowReader& r) {
  return {.id = r.Int(), .slug = r.Text(), .name = r.Text(), .time_zone = r.Text(),
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
          .last_message = r.Int(),
          .last_checkin = r.Int()};
}
Identity ReadIdentity(RowReader& r) {
  return {.community_id = r.Int(), .platform = r.Text(), .external_id = r.Text(),
          .member_id = r.Int(), .name = r.Text()};
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
StoredEvent ReadEvent(RowReader& r) {
  return {.seq = r.Int(),
          .platform = r.Text(),
          .source_id = r.Text(),
          .community_id = r.Int(),
          .group_id = r.Int(),
          .member_id = r.Int(),
          .type = r.Enum<EventType>(1, kEventTypeCount),
          .time = r.Int(),
          .json = r.Text()};
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
  kWriteStmtCount
};

std::array<std::string, kWriteStmtCount> BuildWriteSql() {
  std::array<std::string, kWriteStmtCount> sql;
  sql[kBeginWrite] = "BEGIN IMMEDIATE";
  sql[kCommitWrite] = "COMMIT";
  sql[kRollbackWrite] = "ROLLBACK";
  sql[kAppendEvent] =
      "INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, "
      "json) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, source_id) DO NOTHING";
  sql[kPutCommunity] = UpsertSql("communities", kCommunityColumns, 1);
  sql[kPutGroup] = UpsertSql("groups", kGroupColumns, 1);
  sql[kPutMember] = UpsertSql("members", kMemberColumns, 1);
  sql[kPutIdentity] = UpsertSql("identities", kIdentityColumns, 3);
  sql[kPutMembership] = UpsertSql("memberships", kMembershipColumns, 2);
  sql[kPutName] = UpsertSql("member_names", kNameColumns, 2);
  sql[kPutTag] = UpsertSql("member_tags", kTagColumns, 2);
  sql[kDeleteTag] = "DELETE FROM member_tags WHERE member_id = ? AND tag = ?";
  return sql;
}

struct WriteConn {
  DbPtr db;  // declared first: destroyed after its statements
  std::array<Statement, kWriteStmtCount> stmts;
};

// ---- Statements of the read connections (prepared on first use per connection) ----

enum ReadStmt : size_t {
  kBeginRead,
  kEndRead,
  kStats,
  kMaxSeq,
  kSizeHints,
  kListCommunities,
  kListGroups,
  kListGroupsInCommunity,
  kAllMembers,
  kAllIdentities,
  kAllMemberships,
  kAllNames,
  kAllTags,
  kGetMember,
  kMemberIdentities,
  kMemberMemberships,
  kMemberNames,
  kMemberTags,
  kMemberEvents,
  kScanEvents,
  kFindEvent,
  kHasToken,
  kListMembers,  // + variant bits (kByCommunity | kByGroup | kByText)
  kReadStmtCount = kListMembers + 8
};

constexpr size_t kByCommunity = 1;
constexpr size_t kByGroup = 2;
constexpr size_t kByText = 4;

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

std::array<std::string, kReadStmtCount> BuildReadSql() {
  std::array<std::string, kReadStmtCount> sql;
  const std::string events = List(kEventColumns);
  sql[kBeginRead] = "BEGIN";
  sql[kEndRead] = "COMMIT";
  // max(seq) and the counts each stay a single b-tree descent or a walk of a small index (the
  // min/max optimisation needs the bare aggregate, hence no coalesce()).
  sql[kStats] =
      "SELECT (SELECT max(seq) FROM events), (SELECT count(*) FROM members), "
      "(SELECT count(*) FROM groups), (SELECT count(*) FROM communities)";
  sql[kMaxSeq] = "SELECT max(seq) FROM events";
  sql[kSizeHints] =
      "SELECT (SELECT max(id) FROM communities), (SELECT max(id) FROM groups), "
      "(SELECT max(id) FROM members), (SELECT count(*) FROM memberships)";
  sql[kListCommunities] =
      fmt::format("SELECT {} FROM communities ORDER BY id", List(kCommunityColumns));
  sql[kListGroups] = fmt::format("SELECT {} FROM groups ORDER BY id", List(kGroupColumns));
  sql[kListGroupsInCommunity] = fmt::format(
      "SELECT {} FROM groups WHERE community_id = ? ORDER BY id", List(kGroupColumns));
  sql[kAllMembers] = fmt::format("SELECT {} FROM members ORDER BY id", List(kMemberColumns));
  sql[kAllIdentities] = fmt::format(
      "SELECT {} FROM identities ORDER BY community_id, platform, external_id",
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
  sql[kMemberTags] = fmt::format("SELECT {} FROM member_tags WHERE member_id = ? ORDER BY tag",
                                 List(kTagColumns));
  sql[kMemberEvents] = fmt::format(
      "SELECT {} FROM events WHERE member_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?", events);
  sql[kScanEvents] =
      fmt::format("SELECT {} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", events);
  sql[kFindEvent] =
      fmt::format("SELECT {} FROM events WHERE platform = ? AND source_id = ?", events);
  sql[kHasToken] = "SELECT 1 FROM api_tokens WHERE hash = ?";
  for (size_t variant = 0; variant < 8; ++variant) {
    sql[kListMembers + variant] = ListMembersSql(variant);
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
    if (!failure_.ok() || committed_) [[unlikely]] return Unusable();
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* stmt = writer_.stmts[kAppendEvent].get();
    Binder b(stmt);
    b.Text(event.platform).Text(event.source_id).Int(event.community_id).Int(event.group_id);
    b.Int(event.member_id).Int(static_cast<int64_t>(event.type)).Int(event.time).Text(event.json);
    ResetOnExit reset(stmt);
    auto step = sqlite::Step(db, stmt, "append event", b.rc());
    if (!step.ok()) [[unlikely]] return Poison(step.status());
    if (sqlite3_changes(db) == 0) return false;  // ON CONFLICT DO NOTHING: a duplicate
    event.seq = sqlite3_last_insert_rowid(db);
    return true;
  }

  Status PutCommunity(const Community& c) override { return Put(kPutCommunity, c, "put community"); }
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
  Status PutToken(const ApiToken& token) override;
  Result<bool> HasToken(const std::string& hash) override;

  // Takes back a leased read connection (any thread).
  void Release(ReadConn* conn);

 private:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}

  Result<ReadLease> AcquireReader();
  Result<std::unique_ptr<ReadConn>> OpenReader() const;

  const SqliteOptions options_;
  WriteConn writer_;  // writer thread only; declared first so it closes last (WAL cleanup)
  std::atomic<bool> txn_open_{false};

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<ReadConn>> idle_readers_;  // guarded by readers_mu_

  std::mutex token_mu_;
  DbPtr token_db_;       // guarded by token_mu_; opened by the first PutToken
  Statement put_token_;  // guarded by token_mu_
};

void ReaderReturn::operator()(ReadConn* conn) const { store->Release(conn); }

std::string_view SyncPragma(SyncMode mode) {
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
    return Status::Unavailable(
        fmt::format("sqlite: \"{}\" can only be opened read-only (file permissions?)",
                    options.path));
  }
  // WAL lets the read connections see the last commit while the writer works on the next.
  if (const char* hack = getenv("QZ_BENCH_PRE")) QZ_RETURN_IF_ERROR(sqlite::Exec(raw, hack, "bench pre"));
  auto mode = sqlite::QueryText(raw, "PRAGMA journal_mode = WAL", "enable WAL journal mode");
  if (const char* hack = getenv("QZ_BENCH_POST")) QZ_RETURN_IF_ERROR(sqlite::Exec(raw, hack, "bench post"));
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") {
    return Status::Unavailable(fmt::format(
        "sqlite: could not switch \"{}\" to WAL journal mode (it is in \"{}\" mode)",
        options.path, *mode));
  }
  QZ_RETURN_IF_ERROR(sqlite::Exec(raw, SyncPragma(options.sync), "set synchronous"));
  QZ_RETURN_IF_ERROR(sqlite::Exec(
      raw, fmt::format("PRAGMA cache_size = {}", -1024 * int64_t{std::max(options.cache_mib, 1)}),
      "set cache_size"));
  QZ_RETURN_IF_ERROR(sqlite::Migrate(raw));
  if (const char* hack = getenv("QZ_BENCH_AFTER")) QZ_RETURN_IF_ERROR(sqlite::Exec(raw, hack, "bench after"));

  static const std::array<std::string, kWriteStmtCount> kWriteSql = BuildWriteSql();
  for (size_t i = 0; i < kWriteStmtCount; ++i) {
    auto statement = Statement::Prepare(raw, kWriteSql[i]);
    if (!statement.ok()) return statement.status();
    store->writer_.stmts[i] = std::move(statement).value();
  }
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

Result<StateSnapshot> SqliteStore::LoadState() {
  auto lease = AcquireReader();
  if (!lease.ok()) return lease.status();
  ReadConn& conn = **lease;
  sqlite3* db = conn.db.get();
  ReadSnapshot snapshot(conn);
  QZ_RETURN_IF_ERROR(snapshot.Begin());

  StateSnapshot state;
  {
    // Capacity hints: ids are dense in practice, so max(id) approximates the row count at the
    // cost of one b-tree descent; bounded so a stray huge id cannot reserve gigabytes.
    auto stmt = conn.Get(kSizeHints);
    if (!stmt.ok()) return stmt.status();
    ResetOnExit reset(*stmt);
    auto row = sqlite::Step(db, *stmt, "read table sizes");
    if (!row.ok()) return row.status();
    RowReader r(*stmt);
    auto hint = [&r] { return static_cast<size_t>(std::clamp<int64_t>(r.Int(), 0, 1 << 24)); };
    state.communities.reserve(hint());
    state.groups.reserve(hint());
    state.members.reserve(hint());
    state.memberships.reserve(hint());
  }
  auto load = [&](ReadStmt which, std::string_view what, auto read, auto& out) -> Status {
    auto stmt = conn.Get(which);
    if (!stmt.ok()) return stmt.status();
    return ReadAll(db, *stmt, SQLITE_OK, what, read, out);
  };
  QZ_RETURN_IF_ERROR(load(kListCommunities, "load communities", ReadCommunity, state.communities));
  QZ_RETURN_IF_ERROR(load(kListGroups, "load groups", ReadGroup, state.groups));
  QZ_RETURN_IF_ERROR(load(kAllMembers, "load members", ReadMember, state.members));
  state.identities.reserve(state.members.size());
  QZ_RETURN_IF_ERROR(load(kAllIdentities, "load identities", ReadIdentity, state.identities));
  QZ_RETURN_IF_ERROR(
      load(kAllMemberships, "load memberships", ReadMembership, state.memberships));
  QZ_RETURN_IF_ERROR(load(kAllNames, "load member names", ReadName, state.names));
  QZ_RETURN_IF_ERROR(load(kAllTags, "load member tags", ReadTag, state.tags));

  auto stmt = conn.Get(kMaxSeq);
  if (!stmt.ok()) return stmt.status();
  ResetOnExit reset(*stmt);
  auto row = sqlite::Step(db, *stmt, "read last seq");
  if (!row.ok()) return row.status();
  state.last_seq = RowReader(*stmt).Int();  // NULL (empty log) reads as 0
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
  return StoreStats{.events = r.Int(), .members = r.Int(), .groups = r.Int(),
                    .communities = r.Int()};
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
  auto stmt = conn.Get(kMemberEvents);
  if (!stmt.ok()) return stmt.status();
  const int64_t before = before_seq > 0 ? before_seq : std::numeric_limits<int64_t>::max();
  const int rc = Binder(*stmt).Int(id).Int(before).Int(limit).rc();
  out.reserve(static_cast<size_t>(std::min(limit, 1024)));
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), *stmt, rc, "member events", ReadEvent, out));
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

Status SqliteStore::PutToken(const ApiToken& token) {
  std::lock_guard lock(token_mu_);
  if (!token_db_) {
    auto db = sqlite::Open(options_.path, SQLITE_OPEN_READWRITE, options_.busy_timeout_ms);
    if (!db.ok()) return db.status();
    QZ_RETURN_IF_ERROR(sqlite::Exec(db->get(), SyncPragma(options_.sync),
                                    "set synchronous of the token connection"));
    auto statement = Statement::Prepare(
        db->get(),
        "INSERT INTO api_tokens (hash, name, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (hash) DO UPDATE SET name = excluded.name, created_at = excluded.created_at");
    if (!statement.ok()) return statement.status();
    put_token_ = std::move(statement).value();
    token_db_ = std::move(db).value();
  }
  sqlite3_stmt* stmt = put_token_.get();
  const int rc = Binder(stmt).Text(token.hash).Text(token.name).Int(token.created_at).rc();
  ResetOnExit reset(stmt);
  auto step = sqlite::Step(token_db_.get(), stmt, "put token", rc);
  if (!step.ok()) return step.status();
  return Status::Ok();
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
