// qunzhu store/sqlite: moves WAL checkpoints off the commit path. Owns a background thread and
// its own connection that copies committed WAL frames into the database file (PASSIVE mode:
// it never blocks the writer or the readers), and the WAL hook that wakes it.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/status.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace qz::sqlite {

// Thread-safety: Start() and the destructor on the thread that owns the store; the hook runs on
// the writer's thread (inside its commits).
class Checkpointer {
 public:
  // WAL size (in pages) after a commit at which the background checkpoint is requested.
  static constexpr int kBackgroundPages = 16384;
  // WAL size at which the writer checkpoints inline after its commit, as SQLite's own
  // auto-checkpoint would. Only reached when the writer never pauses long enough for the
  // background checkpoint to catch up: a WAL restarts from its beginning only when a write
  // transaction begins after everything in it was checkpointed, so without this it could grow
  // without bound under sustained load.
  static constexpr int kInlinePages = 65536;

  // Opens the checkpoint connection to `path`, starts the thread and installs the WAL hook on
  // `writer` (replacing SQLite's auto-checkpoint). `writer` must outlive this object.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path, sqlite3* writer,
                                                     const char* synchronous_pragma,
                                                     int busy_timeout_ms);
  // Removes the hook, stops and joins the thread.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  Checkpointer(DbPtr db, sqlite3* writer) : db_(std::move(db)), writer_(writer) {}
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void Run();

  DbPtr db_;  // used by the thread only
  sqlite3* writer_;
  int requested_at_pages_ = 0;  // WAL size at the last request; writer thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace qz::sqlite
