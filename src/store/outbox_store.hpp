// qunzhu store: the outbox sub-seam, read by delivery and the API. Owns nothing it writes: the
// outbox and the operator tasks are written through StoreTxn (AddAction, UpdateActions,
// AddTask), with the events that caused them.
#pragma once

#include <cstdint>
#include <optional>
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
  int limit = 50;        // 1..1000
  int64_t after_id = 0;  // ascending
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

  // Tasks with id > query.after_id, ascending, only open ones when query.open_only; at most
  // query.limit, clamped to 1..1000.
  virtual Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) = 0;
};

}  // namespace qz
