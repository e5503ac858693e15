#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz {
namespace sqlite {

std::string LikeContains(std::string_view text) {
  std::string pattern = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '%';
  return pattern;
}

Result<int64_t> ReadInt(ReadConn& conn, ReadStmt which, std::string_view what) {
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(which));
  ResetOnExit reset(stmt);
  QZ_ASSIGN_OR_RETURN(const bool row, sqlite::Step(conn.db.get(), stmt, what));
  if (!row) return Status::Internal(fmt::format("sqlite: {}: no row", what));
  return RowReader(stmt).Int();
}

void ReaderReturn::operator()(ReadConn* conn) const { store->Release(conn); }

namespace {

// Makes `path` a file only its owner can read or write: creates it with mode 0600 if absent,
// narrows it to 0600 if it is wider. SQLite gives the -wal and -shm files it creates the
// database file's mode, so they follow; existing ones are narrowed here too. A path that cannot
// be opened is left to sqlite3_open, whose error names the cause.
Status MakePrivate(const std::string& path) {
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    const int flags = O_RDONLY | O_CLOEXEC | (file == path ? O_CREAT : 0);
    const int fd = ::open(file.c_str(), flags, 0600);
    if (fd < 0) continue;
    struct stat st {};
    int rc = ::fstat(fd, &st);
    if (rc == 0 && (st.st_mode & 077) != 0) rc = ::fchmod(fd, st.st_mode & 0700);
    const int error = errno;
    ::close(fd);
    if (rc != 0) {
      return Status::Unavailable(fmt::format(
          "sqlite: cannot make \"{}\" private to its owner (it holds member data): {}", file,
          std::strerror(error)));
    }
  }
  return Status::Ok();
}

}  // namespace

const char* SyncPragma(SyncMode mode) {
  return mode == SyncMode::kNormal ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL";
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteOptions& options) {
  if (options.path.empty()) return Status::Invalid("sqlite: no database path given", "path");
  if (options.path == ":memory:" || options.path.starts_with("file:")) {
    return Status::Invalid("sqlite: the database must be a file path", "path");
  }
  QZ_RETURN_IF_ERROR(MakePrivate(options.path));
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
  // A bulk load that died left the member index without its triggers: rebuilt here.
  QZ_RETURN_IF_ERROR(sqlite::RestoreMemberIndex(raw));

  for (size_t i = 0; i < kWriteStmtCount; ++i) {
    auto statement = Statement::Prepare(raw, WriteSql()[i]);
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

// The member index's triggers write some 30 rows per new member into leaves all over the index;
// one sorted pass at the end writes them in order (a 20,000-member import: 4.1 s of triggers
// against 1.4 s for the pass; docs/benchmarks.md).
Status SqliteStore::BeginBulkLoad() { return sqlite::SuspendMemberIndex(writer_.db.get()); }
Status SqliteStore::EndBulkLoad() { return sqlite::RestoreMemberIndex(writer_.db.get()); }

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
  return NewTxn(writer_, txn_open_);
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
  for (size_t i = 0; i < kSideStmtCount; ++i) {
    auto statement = Statement::Prepare(conn.db.get(), SideSql()[i]);
    if (!statement.ok()) return statement.status();
    conn.stmts[i] = std::move(statement).value();
  }
  side_ = std::move(conn);
  return &side_;
}

}  // namespace sqlite

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options) {
  auto store = sqlite::SqliteStore::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(std::move(store).value());
}

int SqliteSchemaVersion() { return sqlite::LatestSchemaVersion(); }

}  // namespace qz
