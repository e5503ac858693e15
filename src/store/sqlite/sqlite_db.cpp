#include "store/sqlite/sqlite_db.hpp"

#include <fmt/format.h>

namespace qz::sqlite {

Status Error(sqlite3* db, int rc, std::string_view what) {
  Code code = Code::kInternal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_INTERRUPT:
      code = Code::kUnavailable;
      break;
    default:
      break;
  }
  // sqlite3_errmsg describes the latest failed call on `db`; when that is not `rc` (e.g. a
  // bind error, or no connection), fall back to the generic text for the code.
  std::string_view detail = sqlite3_errstr(rc);
  if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff))
    detail = sqlite3_errmsg(db);
  return Status(code, fmt::format("sqlite: {}: {} (code {})", what, detail, rc));
}

Result<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                                    SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  Statement statement;
  statement.stmt_.reset(raw);
  if (rc != SQLITE_OK) return Error(db, rc, fmt::format("prepare \"{}\"", sql));
  if (raw == nullptr) return Status::Internal(fmt::format("sqlite: empty statement \"{}\"", sql));
  return statement;
}

Result<bool> Step(sqlite3* db, sqlite3_stmt* stmt, std::string_view what, int bind_rc) {
  if (bind_rc != SQLITE_OK) return Error(db, bind_rc, what);
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db, rc, what);
}

Result<DbPtr> Open(const std::string& path, int flags, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // even a failed open may allocate a handle that must be closed
  if (rc != SQLITE_OK) {
    std::string what = fmt::format("open \"{}\"", path);
    if ((rc & 0xff) == SQLITE_CANTOPEN) {
      what += " (does the directory exist, and may this process write to it?)";
    }
    return Error(db.get(), rc, what);
  }
  const int busy_rc = sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  if (busy_rc != SQLITE_OK) return Error(db.get(), busy_rc, "set busy_timeout");
  return db;
}

Status Exec(sqlite3* db, std::string_view sql, std::string_view what) {
  // sqlite3_exec needs a NUL-terminated string.
  const std::string text(sql);
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(db, rc, what);
  return Status::Ok();
}

Result<std::string> QueryText(sqlite3* db, std::string_view sql, std::string_view what) {
  auto statement = Statement::Prepare(db, sql);
  if (!statement.ok()) return statement.status();
  auto row = Step(db, statement->get(), what);
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal(fmt::format("sqlite: {}: no row", what));
  return RowReader(statement->get()).Text();
}

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql, std::string_view what) {
  auto statement = Statement::Prepare(db, sql);
  if (!statement.ok()) return statement.status();
  auto row = Step(db, statement->get(), what);
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal(fmt::format("sqlite: {}: no row", what));
  return RowReader(statement->get()).Int();
}

}  // namespace qz::sqlite
