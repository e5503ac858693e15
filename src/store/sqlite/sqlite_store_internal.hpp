// qunzhu store/sqlite: the SQLite store's connections, statements and class, shared by the
// files that implement its sub-seams (sqlite_<seam>.cpp). Internal to the SQLite back end.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "store/sqlite/sqlite_checkpointer.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_rows.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz::sqlite {

inline constexpr size_t kMaxIdleReaders =
    8;  // more concurrent readers get a connection of their own
inline constexpr int kMaxReaderCacheMib = 64;
inline constexpr int kMaxListMembers = 1000;
inline constexpr int kMaxListActions = 1000;
inline constexpr int kMaxListTasks = 1000;
inline constexpr int kMaxListModuleState = 1000;

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
  kCountAddedActions,
  kUpdateAction,
  kAddTask,
  kPutTimer,
  kPutModuleState,
  kDeleteModuleState,
  kPutPlaybookInTxn,
  kWriteStmtCount
};


// The statements' SQL, built once (sqlite_statements.cpp).
const std::array<std::string, kWriteStmtCount>& WriteSql();

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
  kCreateAccount,
  kUpdateAccount,
  kPutSession,
  kDeleteSession,
  kDeleteAccountSessions,
  kDeleteExpiredSessions,
  kAssignTask,
  kCloseTask,
  kDeleteTokens,
  kAccountExists,
  kPutCommunityRole,
  kDeleteCommunityRole,
  kSideStmtCount
};

const std::array<std::string, kSideStmtCount>& SideSql();

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
  kGroupHead,
  kGetGroup,
  kFindGroup,
  kListTags,
  kListTagsInCommunity,
  kEventAt,
  kScanEvents,
  kFindEvent,
  kFindToken,
  kListTokens,
  kGetAccount,
  kListAccounts,
  kGetCommunityRoles,
  kListCommunityRoles,
  kGetSession,
  kOpenActions,
  kActionCounts,
  kGetTask,
  kScanTimerDues,
  kScanTimerDuesAfter,
  kTimersByKeyRange,
  kGetTimers,
  kLoadPlaybooks,
  kListModuleState,
  kGetModuleState,
  kProbeGram,
  kListMembers,                     // + variant bits (kByCommunity | kByGroup | kByText)
  kListActions = kListMembers + 8,  // + variant bits (kByStatus | kByGroup | kByKeyPrefix)
  kListTasks = kListActions + 8,    // + variant bits (kOpenOnly | kByAssignee)
  kSearchMembers = kListTasks + 4,  // + variant bits (kByCommunity | kSecondGram)
  kReadStmtCount = kSearchMembers + 4
};

inline constexpr size_t kByCommunity = 1;
inline constexpr size_t kByGroup = 2;
inline constexpr size_t kByText = 4;
inline constexpr size_t kByStatus = 1;
inline constexpr size_t kByKeyPrefix = 4;  // ListActions: idempotency_key in [?5, ?6)
inline constexpr size_t kSecondGram = 2;   // SearchMembers: also requires gram ?3
inline constexpr size_t kOpenOnly = 1;     // ListTasks
inline constexpr size_t kByAssignee = 2;   // ListTasks

// GetTimers binds this many ids per statement (a shorter chunk repeats its last id): large
// enough that a firing batch of 4,096 timers takes 16 statements, far below SQLite's limit on
// parameters (32,766).
inline constexpr size_t kGetTimersChunk = 256;

const std::array<std::string, kReadStmtCount>& ReadSql();

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

// The grams of member search query `q` (sqlite_member_search.cpp) that narrow it most, rarest
// first, at most `n`: `q` itself (lower-cased as member_grams is) when it has one or two
// characters, else its trigrams by how many members have each. Empty when a trigram of `q` is in
// no member's texts: nothing matches.
Result<std::vector<std::string>> RarestGrams(ReadConn& conn, const std::string& q, size_t n);

// Escapes LIKE's wildcards so `text` matches literally (with ESCAPE '\\').
std::string LikeContains(std::string_view text);

inline bool ValidStatus(ActionStatus status) {
  return static_cast<int>(status) <= static_cast<int>(ActionStatus::kPossiblySent);
}
// The statuses outbox_counts has a row for: 0 … kPossiblySent.
inline constexpr size_t kActionStatusCount = static_cast<size_t>(ActionStatus::kPossiblySent) + 1;


inline Status CorruptRow(std::string_view what) {
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

// Reads the single integer `which` yields (NULL reads as 0).
Result<int64_t> ReadInt(ReadConn& conn, ReadStmt which, std::string_view what);

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


// PRAGMA synchronous for the mode.
const char* SyncPragma(SyncMode mode);

// A write transaction on `writer`, which has begun it; clears `open` when destroyed
// (sqlite_txn.cpp).
std::unique_ptr<StoreTxn> NewTxn(WriteConn& writer, std::atomic<bool>& open);

inline void BindNothing(Binder&) {}

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<SqliteStore>> Open(const SqliteOptions& options);

  Result<std::unique_ptr<StoreTxn>> Begin() override;
  Result<StateSnapshot> LoadState() override;
  Result<StateSnapshot> LoadStateWithout(
      const std::function<bool(std::string_view module_table)>& skip) override;
  Status BeginBulkLoad() override;
  Status EndBulkLoad() override;
  Result<StoreStats> Stats() override;
  Result<std::vector<Community>> ListCommunities() override;
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) override;
  Result<GroupPage> ListGroupsPage(const GroupQuery& query) override;
  Result<std::vector<Member>> ListMembers(const MemberQuery& query) override;
  Result<MemberProfile> GetMember(MemberId id) override;
  Result<std::vector<TagCount>> ListTags(std::optional<CommunityId> community_id) override;
  Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                int limit) override;
  Result<std::vector<StoredEvent>> GroupEvents(GroupId id, int64_t before_seq,
                                               int limit) override;
  Result<std::optional<Group>> GetGroup(GroupId id) override;
  Result<std::optional<Group>> FindGroup(std::string_view platform,
                                         std::string_view external_id) override;
  Result<std::vector<StoredEvent>> ScanEvents(int64_t after_seq, int limit) override;
  Result<std::optional<StoredEvent>> FindEvent(const std::string& platform,
                                               const std::string& source_id) override;
  Result<std::vector<OutboxRecord>> LoadOpenActions() override;
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) override;
  Result<ActionCounts> CountActions() override;
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) override;
  Result<std::vector<TaskRecord>> ListTaskRecords(const TaskQuery& query) override;
  Result<std::optional<TaskRecord>> GetTask(int64_t id) override;
  Result<TaskRecord> AssignTask(int64_t id, const std::string& assignee) override;
  Result<TaskRecord> CloseTask(int64_t id, const TaskClosing& closing) override;
  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) override;
  Result<std::vector<TimerRecord>> FindTimers(CommunityId community_id,
                                              std::string_view prefix) override;
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) override;
  Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) override;
  Status PutPlaybook(const StoredPlaybook& playbook) override;
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override;
  Status PutToken(const ApiToken& token) override;
  Result<std::optional<ApiToken>> FindToken(const std::string& hash) override;
  Result<std::vector<ApiToken>> ListTokens() override;
  Result<int64_t> DeleteTokens(const std::string& name) override;
  uint64_t token_deletions() const override { return token_deletions_.load(); }
  Status CreateAccount(const Account& account) override;
  Status UpdateAccount(const Account& account) override;
  Result<std::optional<Account>> GetAccount(const std::string& name) override;
  Result<std::vector<Account>> ListAccounts() override;
  Result<CommunityRoles> GetCommunityRoles(const std::string& account) override;
  Result<std::map<std::string, CommunityRoles>> ListCommunityRoles() override;
  Status ChangeCommunityRoles(const std::string& account,
                              const CommunityRoleChanges& changes) override;
  Status PutSession(const Session& session) override;
  Result<std::optional<Session>> GetSession(const std::string& hash) override;
  Status DeleteSession(const std::string& hash) override;
  Result<int64_t> DeleteAccountSessions(const std::string& account) override;
  Result<int64_t> DeleteExpiredSessions(TimeMs now) override;
  Result<std::vector<ModuleStateEntry>> ListModuleState(CommunityId community_id,
                                                        std::string_view table,
                                                        std::string_view after_key,
                                                        int limit) override;
  Result<std::optional<ModuleStateEntry>> GetModuleState(CommunityId community_id,
                                                         std::string_view table,
                                                         std::string_view key) override;

  // Takes back a leased read connection (any thread).
  void Release(ReadConn* conn);

  // ListMembers with a text and no group, through member_grams (sqlite_member_search.cpp).
  Result<std::vector<Member>> SearchMembers(const MemberQuery& query, int limit);
  // ListMembers in another order than ascending id, or filtered by tag or role (sqlite_lists.cpp).
  Result<std::vector<Member>> ListMembersSorted(const MemberQuery& query, int limit);

 private:
  explicit SqliteStore(SqliteOptions options) : options_(std::move(options)) {}

  // LoadState and LoadStateWithout; `skip` null: every module table.
  Result<StateSnapshot> Load(const std::function<bool(std::string_view)>* skip);

  Result<ReadLease> AcquireReader();
  Result<std::unique_ptr<ReadConn>> OpenReader() const;
  // The side connection, opened on first use, outside any transaction. Requires side_mu_.
  Result<SideConn*> Side();
  // Runs one autocommitted write on the side connection; `bind` binds its parameters and
  // returns the binding outcome. Returns sqlite3_changes. Requires side_mu_.
  template <typename BindFn>
  Result<int> SideWrite(SideStmt which, std::string_view what, BindFn bind);
  // Runs a task workflow update (kAssignTask, kCloseTask: UPDATE ... WHERE id AND open
  // RETURNING) and returns the task it changed; when it changed none, kNotFound or
  // kAlreadyExists (closed) after looking the task up.
  template <typename BindFn>
  Result<TaskRecord> UpdateOpenTask(SideStmt which, int64_t id, std::string_view what,
                                    BindFn bind);
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

  // Reads at most one row of `which` (bound by `bind`) on a pooled read connection.
  template <typename T, typename BindFn>
  Result<std::optional<T>> ReadRow(ReadStmt which, std::string_view what, T (*read)(RowReader&),
                                   BindFn bind);

  // The Store's own writes (tokens, accounts, sessions, playbooks, outbox delivery state, timer
  // dues) from any thread, serialised here; SQLite serialises them with the writer's transactions.
  std::atomic<uint64_t> token_deletions_{0};  // see token_deletions()
  std::mutex side_mu_;
  SideConn side_;  // guarded by side_mu_; opened by the first such write
};

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

template <typename BindFn>
Result<TaskRecord> SqliteStore::UpdateOpenTask(SideStmt which, int64_t id, std::string_view what,
                                               BindFn bind) {
  std::optional<TaskRecord> changed;
  {
    std::lock_guard lock(side_mu_);
    QZ_ASSIGN_OR_RETURN(SideConn * side, Side());
    sqlite3_stmt* stmt = side->stmts[which].get();
    Binder b(stmt);
    b.Int(id);
    bind(b);
    // RETURNING: the update is complete at the first step; the reset ends the statement (and
    // its autocommit transaction).
    QZ_ASSIGN_OR_RETURN(changed, ReadOne<TaskRecord>(side->db.get(), stmt, b.rc(), what,
                                                     ReadTaskRecord));
  }
  if (changed) return std::move(*changed);
  // A task is never reopened, so what this read finds explains why nothing changed.
  QZ_ASSIGN_OR_RETURN(const std::optional<TaskRecord> task, GetTask(id));
  if (!task) return Status::NotFound(fmt::format("task {} not found", id));
  return Status(Code::kAlreadyExists, fmt::format("task {} is closed", id));
}

template <typename T, typename BindFn>
Result<std::vector<T>> SqliteStore::ReadRows(ReadStmt which, std::string_view what,
                                             T (*read)(RowReader&), BindFn bind, size_t reserve) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(which));
  Binder b(stmt);
  bind(b);
  std::vector<T> out;
  out.reserve(reserve);
  QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, b.rc(), what, read, out));
  return out;
}

template <typename T, typename BindFn>
Result<std::optional<T>> SqliteStore::ReadRow(ReadStmt which, std::string_view what,
                                              T (*read)(RowReader&), BindFn bind) {
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(which));
  Binder b(stmt);
  bind(b);
  return ReadOne<T>(conn.db.get(), stmt, b.rc(), what, read);
}

}  // namespace qz::sqlite
