// qunzhu app: the data directory a node writes (DIR/qunzhu.db, DIR/admin.token): created private
// to its owner, and held by one process at a time through an exclusive lock on DIR/qunzhu.lock.
#pragma once

#include <string>

#include "core/status.hpp"

namespace qz {

inline constexpr const char* kLockFile = "qunzhu.lock";

// Creates `dir` when it does not exist: its missing parents with the default mode, `dir` itself
// with mode 0700 (the database and the admin token are readable by their owner only). The mode of
// a directory that already exists is left as it is: the operator may have chosen it.
Status EnsureDataDir(const std::string& dir);

// An exclusive flock(2) on DIR/qunzhu.lock, held until destruction (or the end of the process,
// whichever comes first: the kernel releases it even after kill -9, so a stale file never blocks
// a start). The holder's pid is written into the file for the message the next process shows.
// Every command that writes a data directory's state (serve, init, ingest, demo, replay) holds
// it for its whole run, so two processes never write one store at once. (`token create` adds
// one row to a running server's store through SQLite's own locking and takes no lock.)
// Move-only; not thread-safe (one owner).
class DataDirLock {
 public:
  // Creates the directory if needed (EnsureDataDir), then takes the lock without waiting.
  // Held elsewhere: kUnavailable "data directory DIR is in use by another qunzhu process
  // (pid N)…". The lock is per open file, so a second Acquire in one process fails too.
  static Result<DataDirLock> Acquire(const std::string& dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace qz
