// qunzhu store: the outbox sub-seam, read by delivery and the API. The outbox and the operator
// tasks are written through StoreTxn (AddAction, UpdateActions, AddTask), with the events that
// caused them; the one write of its own is the operators' work on a task (assign, close), which
// no event causes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"

namespace qz {

struct ActionQuery {
  std::optional<ActionStatus> status;
  std::optional<GroupId> group_id;
  // Only actions whose idempotency key starts with this ("<cause event>#<rule>#": what one
  // rule did for one event, e.g. a broadcast's sends); read through the key's unique index.
  std::string key_prefix;
  int limit = 50;          // 1..1000
  int64_t after_id = 0;    // cursor: ids > after_id, ascending
};

struct ActionCounts {
  int64_t pending = 0, sending = 0, done = 0, failed = 0, possibly_sent = 0;
  // Counts one record in `status`.
  void Add(ActionStatus status) {
    switch (status) {
      case ActionStatus::kPending: ++pending; break;
      case ActionStatus::kSending: ++sending; break;
      case ActionStatus::kDone: ++done; break;
      case ActionStatus::kFailed: ++failed; break;
      case ActionStatus::kPossiblySent: ++possibly_sent; break;
    }
  }
  friend bool operator==(const ActionCounts&, const ActionCounts&) = default;
};

struct TaskQuery {
  bool open_only = true;
  // Only the tasks assigned to this account name; "" = only the unassigned ones. Unset: all.
  std::optional<std::string> assignee;
  int limit = 50;        // 1..1000
  int64_t after_id = 0;  // ascending
};

// A task with what operators did with it (the console's workflow, issue 11). The workflow is
// the operators' own state: no event causes it, so it is not in the log, and replay neither
// rebuilds nor compares it (replay compares the materialised state, which holds no tasks). The
// engine writes `task` once (StoreTxn::AddTask); the workflow fields start empty.
struct TaskRecord {
  OperatorTask task;      // task.open turns false when the task is closed
  std::string assignee;   // the account it is assigned to; "" = nobody
  TimeMs closed_at = 0;   // 0 while open
  std::string closed_by;  // the account or API token name that closed it ("" while open)
  std::string note;       // what the closer wrote ("" if nothing)
  friend bool operator==(const TaskRecord&, const TaskRecord&) = default;
};

struct TaskClosing {
  TimeMs at = 0;
  std::string by;    // the account or API token name
  std::string note;  // may be empty
};

// Thread-safety: any thread, also while a write transaction is open; committed data only.
class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // The outbox, for delivery. Delivery's writes go through StoreTxn::UpdateActions.
  // The pending and sending records, ascending by id.
  virtual Result<std::vector<OutboxRecord>> LoadOpenActions() = 0;
  // Records with id > query.after_id, ascending, only those with query.status and in
  // query.group_id when given; at most query.limit, clamped to 1..1000.
  virtual Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) = 0;
  // The number of records in each status; cheap (not a scan of the outbox).
  virtual Result<ActionCounts> CountActions() = 0;

  // Tasks with id > query.after_id, ascending, only open ones when query.open_only and only
  // query.assignee's when set; at most query.limit, clamped to 1..1000.
  virtual Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) = 0;

  // The operators' work on tasks (TaskRecord). Each write commits on its own (outside the
  // writer's transactions, waiting for them as AdminStore's writes do) and returns the task as
  // stored after it. The defaults serve a back end or fake that keeps no workflow: its writes
  // fail with kUnavailable, and its tasks are read as never assigned nor closed by anyone.
  //
  // As ListTasks, with each task's workflow.
  virtual Result<std::vector<TaskRecord>> ListTaskRecords(const TaskQuery& query);
  // The task with this id; nullopt when there is none.
  virtual Result<std::optional<TaskRecord>> GetTask(int64_t id);
  // Assigns open task `id` to `assignee` ("" unassigns; the store does not check the name).
  // kNotFound when there is no such task; kAlreadyExists when it is closed (nothing changed).
  virtual Result<TaskRecord> AssignTask(int64_t id, const std::string& assignee);
  // Closes open task `id` (open = false, closed_at/closed_by/note from `closing`). kNotFound
  // when there is no such task; kAlreadyExists when it was closed already (nothing changed: the
  // first closing stays), so of two concurrent closings exactly one succeeds.
  virtual Result<TaskRecord> CloseTask(int64_t id, const TaskClosing& closing);
};

inline Result<std::vector<TaskRecord>> OutboxStore::ListTaskRecords(const TaskQuery& query) {
  std::vector<TaskRecord> out;
  if (query.assignee && !query.assignee->empty()) return out;  // nothing is ever assigned
  TaskQuery all = query;
  all.assignee.reset();
  QZ_ASSIGN_OR_RETURN(std::vector<OperatorTask> tasks, ListTasks(all));
  out.reserve(tasks.size());
  for (OperatorTask& t : tasks) out.push_back({.task = std::move(t)});
  return out;
}
inline Result<std::optional<TaskRecord>> OutboxStore::GetTask(int64_t id) {
  QZ_ASSIGN_OR_RETURN(std::vector<TaskRecord> found,
                      ListTaskRecords({.open_only = false, .limit = 1, .after_id = id - 1}));
  if (found.empty() || found.front().task.id != id) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(std::move(found.front()));
}
inline Result<TaskRecord> OutboxStore::AssignTask(int64_t, const std::string&) {
  return Status::Unavailable("this store keeps no task workflow (AssignTask)");
}
inline Result<TaskRecord> OutboxStore::CloseTask(int64_t, const TaskClosing&) {
  return Status::Unavailable("this store keeps no task workflow (CloseTask)");
}

}  // namespace qz
