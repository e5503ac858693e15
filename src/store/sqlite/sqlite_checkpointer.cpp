#include "store/sqlite/sqlite_checkpointer.hpp"

namespace qz::sqlite {

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path, sqlite3* writer,
                                                          const char* synchronous_pragma,
                                                          int busy_timeout_ms) {
  auto db = Open(path, SQLITE_OPEN_READWRITE, busy_timeout_ms);
  if (!db.ok()) return db.status();
  // A checkpoint syncs the database file per this connection's `synchronous`.
  QZ_RETURN_IF_ERROR(Exec(db->get(), synchronous_pragma, "set synchronous of the checkpointer"));
  std::unique_ptr<Checkpointer> checkpointer(new Checkpointer(std::move(db).value(), writer));
  checkpointer->thread_ = std::thread([self = checkpointer.get()] { self->Run(); });
  sqlite3_wal_hook(writer, &Checkpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

int Checkpointer::OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  if (wal_pages >= kInlinePages) {
    // Best effort, like SQLite's auto-checkpoint: the commit has succeeded either way, and a
    // checkpoint that could not run now (SQLITE_BUSY) runs after a later commit.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    checkpointer->requested_at_pages_ = 0;
    return SQLITE_OK;
  }
  // A smaller WAL than at the last request means it restarted from its beginning.
  if (wal_pages < checkpointer->requested_at_pages_) checkpointer->requested_at_pages_ = 0;
  if (wal_pages - checkpointer->requested_at_pages_ >= kBackgroundPages) {
    checkpointer->requested_at_pages_ = wal_pages;
    {
      std::lock_guard lock(checkpointer->mu_);
      checkpointer->requested_ = true;
    }
    checkpointer->cv_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return requested_ || stopping_; });
    if (stopping_) return;
    requested_ = false;
    lock.unlock();
    // Failures (SQLITE_BUSY while another checkpoint runs, I/O errors) leave the frames in the
    // WAL, where readers still find them; the next request retries. Nothing is lost.
    sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
  }
}

}  // namespace qz::sqlite
