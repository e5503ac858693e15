// qunzhu store/sqlite: thin RAII over the sqlite3 C API (connections, prepared statements,
// binding, row reading) and the mapping of SQLite result codes to Status. Internal to the
// SQLite back end. Every object here is used by one thread at a time (connections are opened
// SQLITE_OPEN_NOMUTEX).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace qz::sqlite {

// The Status for a failed SQLite call `rc` on `db` (may be null) while doing `what`:
// kUnavailable for I/O, busy/locked, full, corrupt, cannot-open, read-only and out-of-memory
// (the environment failed), kInternal for everything else (SQL or API misuse, constraint
// violations: a bug in the caller or in this back end). The message carries sqlite3_errmsg.
Status Error(sqlite3* db, int rc, std::string_view what);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// A prepared statement, prepared once and reused (reset and rebound per use).
class Statement {
 public:
  Statement() = default;
  // SQLITE_PREPARE_PERSISTENT: these statements live as long as their connection.
  static Result<Statement> Prepare(sqlite3* db, std::string_view sql);

  sqlite3_stmt* get() const { return stmt_.get(); }
  explicit operator bool() const { return stmt_ != nullptr; }

 private:
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// Binds parameters 1, 2, ... in order; keeps the first failure. Text is bound SQLITE_STATIC:
// the caller's strings must stay alive until the statement has been stepped and reset (every
// use of a statement rebinds all of its parameters before stepping).
class Binder {
 public:
  explicit Binder(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Binder& Int(int64_t value) {
    Keep(sqlite3_bind_int64(stmt_, ++index_, value));
    return *this;
  }
  Binder& Text(std::string_view value) {
    // A non-null pointer even for "", so an empty string is stored as '' and not NULL.
    const char* data = value.data() != nullptr ? value.data() : "";
    Keep(sqlite3_bind_text64(stmt_, ++index_, data, value.size(), SQLITE_STATIC, SQLITE_UTF8));
    return *this;
  }
  Binder& Null() {
    Keep(sqlite3_bind_null(stmt_, ++index_));
    return *this;
  }
  Binder& At(int index) {  // the next bind goes to parameter `index`
    index_ = index - 1;
    return *this;
  }
  int rc() const { return rc_; }

 private:
  void Keep(int rc) {
    if (rc_ == SQLITE_OK) rc_ = rc;
  }
  sqlite3_stmt* stmt_;
  int index_ = 0;
  int rc_ = SQLITE_OK;
};

// Reads columns 0, 1, ... of the current row in order. Enum columns are range-checked; a value
// out of range marks the row corrupt (see corrupt()).
class RowReader {
 public:
  explicit RowReader(sqlite3_stmt* stmt) : stmt_(stmt) {}
  int64_t Int() { return sqlite3_column_int64(stmt_, column_++); }
  std::string Text() {
    const int column = column_++;
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (text == nullptr) return {};
    return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  bool Bool() { return Int() != 0; }
  template <typename E>
  E Enum(int64_t min, int64_t max) {
    const int64_t value = Int();
    if (value < min || value > max) corrupt_ = true;
    return static_cast<E>(value);
  }
  int32_t Int32() {
    const int64_t value = Int();
    if (value < INT32_MIN || value > INT32_MAX) corrupt_ = true;
    return static_cast<int32_t>(value);
  }
  // For values checked after reading (e.g. JSON that does not parse back).
  void MarkCorrupt() { corrupt_ = true; }
  bool corrupt() const { return corrupt_; }

 private:
  sqlite3_stmt* stmt_;
  int column_ = 0;
  bool corrupt_ = false;
};

// Resets a statement when the scope ends, so a connection never keeps a read snapshot or a
// statement journal open longer than one operation.
class ResetOnExit {
 public:
  explicit ResetOnExit(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~ResetOnExit() { sqlite3_reset(stmt_); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Steps `stmt` once: true if a row is available, false when done, or the error (binding errors
// recorded in `bind_rc` are reported without stepping).
Result<bool> Step(sqlite3* db, sqlite3_stmt* stmt, std::string_view what, int bind_rc = SQLITE_OK);

// Opens a connection with `flags` (SQLITE_OPEN_NOMUTEX is added) and sets busy_timeout.
Result<DbPtr> Open(const std::string& path, int flags, int busy_timeout_ms);

// Runs `sql` (may hold several statements; no parameters) for its side effects.
Status Exec(sqlite3* db, std::string_view sql, std::string_view what);

// Runs a single-row, single-column query such as a PRAGMA and returns the value as text.
Result<std::string> QueryText(sqlite3* db, std::string_view sql, std::string_view what);
Result<int64_t> QueryInt(sqlite3* db, std::string_view sql, std::string_view what);

}  // namespace qz::sqlite
