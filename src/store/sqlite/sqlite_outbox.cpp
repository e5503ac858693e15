// The SQLite store's OutboxStore: outbox and task reads.
#include <algorithm>
#include <vector>

#include "store/sqlite/sqlite_store_internal.hpp"

namespace qz::sqlite {

Result<std::vector<OutboxRecord>> SqliteStore::LoadOpenActions() {
  return ReadRows(kOpenActions, "load open actions", ReadOutbox, BindNothing);
}

Result<std::vector<OutboxRecord>> SqliteStore::ListActions(const ActionQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListActions);
  size_t variant = 0;
  if (query.status) variant |= kByStatus;
  if (query.group_id) variant |= kByGroup;
  if (!query.key_prefix.empty()) variant |= kByKeyPrefix;
  // Keys are UTF-8, in which 0xFF never occurs: every key with the prefix sorts below this.
  const std::string key_end = query.key_prefix + '\xff';
  // ?1 to ?4 are bound for every variant (numbered parameters up to ?4 exist in each), ?5 and
  // ?6 only for the variants that have them.
  return ReadRows(
      static_cast<ReadStmt>(kListActions + variant), "list actions", ReadOutbox,
      [&](Binder& b) {
        b.Int(query.after_id);
        b.Int(static_cast<int64_t>(query.status.value_or(ActionStatus::kPending)));
        b.Int(query.group_id.value_or(kNoId));
        b.Int(limit);
        if ((variant & kByKeyPrefix) != 0) b.Text(query.key_prefix).Text(key_end);
      },
      static_cast<size_t>(limit));
}

struct StatusCount {
  int64_t status = 0;
  int64_t n = 0;
};
StatusCount ReadStatusCount(RowReader& r) { return {.status = r.Int(), .n = r.Int()}; }

Result<ActionCounts> SqliteStore::CountActions() {
  auto rows = ReadRows(kActionCounts, "count actions", ReadStatusCount, BindNothing);
  if (!rows.ok()) return rows.status();
  ActionCounts counts;
  for (const StatusCount& row : *rows) {
    switch (static_cast<ActionStatus>(row.status)) {
      case ActionStatus::kPending:
        counts.pending = row.n;
        break;
      case ActionStatus::kSending:
        counts.sending = row.n;
        break;
      case ActionStatus::kDone:
        counts.done = row.n;
        break;
      case ActionStatus::kFailed:
        counts.failed = row.n;
        break;
      case ActionStatus::kPossiblySent:
        counts.possibly_sent = row.n;
        break;
    }
  }
  return counts;
}

Result<std::vector<OperatorTask>> SqliteStore::ListTasks(const TaskQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListTasks);
  return ReadRows(
      query.open_only ? kListOpenTasks : kListTasks, "list tasks", ReadTask,
      [&](Binder& b) { b.Int(query.after_id).Int(limit); }, static_cast<size_t>(limit));
}

}  // namespace qz::sqlite
