// qunzhu store/sqlite: the SQLite back end of Store. Owns one database file in WAL mode, its
// schema migrations, the write connection (cached statements) behind StoreTxn, a pool of
// read-only connections for concurrent reads, the API-token connection and a checkpoint thread.
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
// than this build knows; kInternal when a migration step fails; kInvalidArgument for an empty
// path, ":memory:" or a "file:" URI. Any thread; the store is then used as Store documents.
//
// The returned store follows the Store contract, plus:
// - At most one StoreTxn is open at a time; Begin() while one is open fails with kInternal.
//   A StoreTxn must be destroyed before its Store.
// - After any failed call on a StoreTxn the transaction is poisoned: later calls (and Commit)
//   return that failure, and destroying it rolls everything back. Calls after a successful
//   Commit() fail with kInternal.
// - Put* replace the row with the same primary key in place. A Group whose (platform,
//   external_id) belongs to a group with another id is an error (kInternal), not a replacement.
// - Ids assigned by AddAction and AddTask are SQLite rowids: increasing, and those of a
//   rolled-back transaction are used again (they were never visible). CountActions reads
//   per-status counts kept by triggers: O(1).
// - Stats().events is the highest seq in the log (SQLite reuses the seqs of rolled-back
//   appends and events are never deleted, so it equals the number of events); the entity
//   counts are kept by triggers. Both are O(1).
// - MemberEvents and ScanEvents return nothing for limit <= 0 and do not cap larger limits.
// - Reads run on pooled read-only connections; a read that needs several queries (GetMember,
//   LoadState) runs them in one read transaction, so its result is one committed snapshot.
//   LoadState reads large states with several connections in parallel; that relies on the
//   single-writer rule (nothing LoadState reads is committed while the writer thread is inside
//   it). Another process may open the same file (e.g. to add a token) but must not write state
//   while a store writes it.
// - UpdateTimerDue, PutPlaybook and PutToken write through one side connection
//   of their own, one call at a time; while a write transaction is open each waits up to
//   busy_timeout_ms for the writer to commit, then fails with kUnavailable, changing nothing.
// - WAL checkpoints run on a background thread; commits normally just append to the WAL (see
//   sqlite_checkpointer.hpp).
Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteOptions& options);

// The schema version (PRAGMA user_version) a database has after OpenSqliteStore.
int SqliteSchemaVersion();

}  // namespace qz
