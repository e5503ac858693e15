// qunzhu store/sqlite: the SQLite back end of Store. Owns one database file in WAL mode, its
// schema migrations, the single write connection (with cached statements) that StoreTxn uses,
// a small pool of read-only connections for concurrent reads, and a connection for API tokens.
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"
#include "store/store.hpp"

namespace qz {

// PRAGMA synchronous in WAL mode. kFull: a commit is durable when Commit() returns, also across
// power loss. kNormal: a commit survives a crash of the process but the latest commits may be
// lost on power loss or an OS crash (the database stays consistent either way); faster.
enum class SyncMode { kFull, kNormal };

struct SqliteOptions {
  std::string path;  // the database file; its directory must exist and be writable
  SyncMode sync = SyncMode::kFull;
  int cache_mib = 256;  // page cache of the write connection; read connections get up to 64
  // How long a connection waits for a lock held by another connection (or process) before the
  // operation fails with kUnavailable.
  int busy_timeout_ms = 5000;
};

// Opens (creating if absent) and migrates the database at options.path. Errors: kUnavailable
// when the file cannot be opened or written, is not a database, or has a schema version newer
// than this build knows; kInternal when a migration step fails.
//
// The returned store follows the Store contract, plus:
// - At most one StoreTxn is open at a time; Begin() while one is open fails with kInternal.
//   A StoreTxn must be destroyed before its Store.
// - After any failed call on a StoreTxn the transaction is poisoned: later calls (and Commit)
//   return that failure, and destroying it rolls everything back.
// - Stats().events is the highest seq in the log (SQLite reuses the seqs of rolled-back
//   appends and events are never deleted, so it equals the number of events).
// - PutToken writes through its own connection; while a write transaction is open it waits up
//   to busy_timeout_ms for the writer to commit, then fails with kUnavailable.
// - Reads (including LoadState) run on pooled read-only connections, each in a read
//   transaction when it issues more than one query, so a result is one consistent snapshot.
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

// The schema version (PRAGMA user_version) a database has after OpenSqliteStore.
int SqliteSchemaVersion();

}  // namespace qz
