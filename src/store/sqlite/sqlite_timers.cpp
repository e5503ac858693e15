// The SQLite store's TimerStore: timer reads, and the due updates on the side connection.
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {

Result<std::vector<TimerDue>> SqliteStore::ScanTimerDues(std::optional<TimerDue> after,
                                                          int limit) {
  if (limit <= 0) return std::vector<TimerDue>{};
  const auto reserve = static_cast<size_t>(std::min(limit, 1 << 16));
  if (!after) {
    return ReadRows(kScanTimerDues, "scan timer dues", ReadTimerDue,
                    [&](Binder& b) { b.Int(limit); }, reserve);
  }
  return ReadRows(kScanTimerDuesAfter, "scan timer dues", ReadTimerDue,
                  [&](Binder& b) { b.Int(after->due).Int(after->id).Int(limit); }, reserve);
}

Result<std::vector<TimerRecord>> SqliteStore::FindTimers(CommunityId community_id,
                                                         std::string_view prefix) {
  // Keys from `prefix` up to its successor: the prefix with its last byte below 0xff raised by
  // one (an empty or all-0xff prefix has no successor: every key from it on).
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (end.empty()) end.assign(1, '\xff');  // beyond every UTF-8 text
  else end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return ReadRows(kTimersByKeyRange, "find timers", ReadTimer,
                  [&](Binder& b) { b.Int(community_id).Text(prefix).Text(end); });
}

Result<std::vector<TimerRecord>> SqliteStore::GetTimers(std::span<const int64_t> ids) {
  std::vector<TimerRecord> out;
  if (ids.empty()) return out;
  // Sorted and distinct, the chunks' results follow one another in id order.
  std::vector<int64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  QZ_ASSIGN_OR_RETURN(ReadLease lease, AcquireReader());
  ReadConn& conn = *lease;
  // One statement is a snapshot of its own; several need a read transaction around them.
  ReadSnapshot snapshot(conn);
  if (sorted.size() > kGetTimersChunk) QZ_RETURN_IF_ERROR(snapshot.Begin());
  QZ_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Get(kGetTimers));
  out.reserve(sorted.size());
  for (size_t at = 0; at < sorted.size(); at += kGetTimersChunk) {
    const size_t last = std::min(sorted.size(), at + kGetTimersChunk) - 1;
    Binder b(stmt);
    for (size_t i = 0; i < kGetTimersChunk; ++i) b.Int(sorted[std::min(at + i, last)]);
    QZ_RETURN_IF_ERROR(ReadAll(conn.db.get(), stmt, b.rc(), "get timers", ReadTimer, out));
  }
  return out;
}

Status SqliteStore::UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) {
  applied.assign(changes.size(), false);
  if (changes.empty()) return Status::Ok();
  std::lock_guard lock(side_mu_);
  if (changes.size() == 1) {  // autocommitted: no BEGIN/COMMIT round trips
    // sqlite3_changes counts the rows the WHERE clause matched, also when due == expected.
    auto n = SideWrite(kUpdateTimerDue, "update timer due", [&](Binder& b) {
      b.Int(changes[0].id).Int(changes[0].expected).Int(changes[0].due).Int(changes[0].version);
    });
    if (!n.ok()) return n.status();
    applied[0] = *n > 0;
    return Status::Ok();
  }
  auto side = Side();
  if (!side.ok()) return side.status();
  sqlite3* db = (*side)->db.get();
  // IMMEDIATE: take the write lock up front (waiting for the writer's transaction within the
  // busy timeout), so the statements below never meet a lock upgrade failure halfway.
  QZ_RETURN_IF_ERROR(sqlite::Exec(db, "BEGIN IMMEDIATE", "begin timer due updates"));
  sqlite3_stmt* stmt = (*side)->stmts[kUpdateTimerDue].get();
  for (size_t i = 0; i < changes.size(); ++i) {
    const int rc =
        Binder(stmt).Int(changes[i].id).Int(changes[i].expected).Int(changes[i].due).Int(changes[i].version).rc();
    ResetOnExit reset(stmt);
    if (auto step = sqlite::Step(db, stmt, "update timer due", rc); !step.ok()) {
      (void)sqlite::Exec(db, "ROLLBACK", "roll back timer due updates");  // else Side() retries it
      return step.status();
    }
    applied[i] = sqlite3_changes(db) > 0;
  }
  if (Status st = sqlite::Exec(db, "COMMIT", "commit timer due updates"); !st.ok()) {
    (void)sqlite::Exec(db, "ROLLBACK", "roll back timer due updates");
    return st;
  }
  return Status::Ok();
}

}  // namespace qz::sqlite
