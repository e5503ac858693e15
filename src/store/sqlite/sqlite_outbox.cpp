// The SQLite store's OutboxStore: outbox and task reads, and the operators' task workflow
// (written on the side connection).
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

Result<std::vector<TaskRecord>> SqliteStore::ListTaskRecords(const TaskQuery& query) {
  const int limit = std::clamp(query.limit, 1, kMaxListTasks);
  size_t variant = 0;
  if (query.open_only) variant |= kOpenOnly;
  if (query.assignee) variant |= kByAssignee;
  // ?2 is bound for every variant (numbered parameters up to ?3 exist in each).
  return ReadRows(
      static_cast<ReadStmt>(kListTasks + variant), "list tasks", ReadTaskRecord,
      [&](Binder& b) {
        // A view, not value_or's temporary: text is bound SQLITE_STATIC.
        const std::string_view assignee = query.assignee ? std::string_view(*query.assignee) : "";
        b.Int(query.after_id).Text(assignee).Int(limit);
      },
      static_cast<size_t>(limit));
}

Result<std::vector<OperatorTask>> SqliteStore::ListTasks(const TaskQuery& query) {
  QZ_ASSIGN_OR_RETURN(std::vector<TaskRecord> records, ListTaskRecords(query));
  std::vector<OperatorTask> out;
  out.reserve(records.size());
  for (TaskRecord& r : records) out.push_back(std::move(r.task));
  return out;
}

Result<std::optional<TaskRecord>> SqliteStore::GetTask(int64_t id) {
  return ReadRow(kGetTask, "get task", ReadTaskRecord, [&](Binder& b) { b.Int(id); });
}

Result<TaskRecord> SqliteStore::AssignTask(int64_t id, const std::string& assignee) {
  return UpdateOpenTask(kAssignTask, id, "assign task",
                        [&](Binder& b) { b.Text(assignee); });
}

Result<TaskRecord> SqliteStore::CloseTask(int64_t id, const TaskClosing& closing) {
  return UpdateOpenTask(kCloseTask, id, "close task", [&](Binder& b) {
    b.Int(closing.at).Text(closing.by).Text(closing.note);
  });
}

}  // namespace qz::sqlite
