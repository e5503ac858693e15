// qunzhu store: the timer sub-seam, for the scheduler and the writer. Timers are written
// through StoreTxn::PutTimer with their cause; the one write here is the scheduler's
// compare-and-set of a timer's next firing.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"

namespace qz {

// A pending timer's place in the scheduler's index.
struct TimerDue {
  int64_t id = 0;
  TimeMs due = 0;
  friend bool operator==(const TimerDue&, const TimerDue&) = default;
};

// Thread-safety: any thread; reads see committed data only. UpdateTimerDue commits on its own
// (it is not part of any StoreTxn) and may have to wait for the writer's transaction; a store
// that makes it wait says how long and fails with kUnavailable after that.
class TimerStore {
 public:
  virtual ~TimerStore() = default;

  // Every pending timer (due != 0) at once, ascending by id: a convenience for tests and tools
  // (ScanTimerDues, then GetTimers; not one snapshot). The engine never holds every timer at
  // once: the scheduler pages through ScanTimerDues, the writer asks FindTimers for its
  // playbook schedules'.
  Result<std::vector<TimerRecord>> LoadTimers();
  // The pending timers' ids and dues only, ascending by (due, id), those after `after` in that
  // order (nullopt: from the first), at most `limit` (none when limit <= 0): what the
  // scheduler's index needs at start, read without the payloads (the SQLite store reads an index
  // of dues, not the table). Pass the last of a page as the next `after`.
  virtual Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) = 0;
  // A community's pending timers whose key starts with `prefix` (bytewise), ascending by id;
  // found through the (community, key) key, without reading the community's other timers.
  virtual Result<std::vector<TimerRecord>> FindTimers(CommunityId community_id,
                                                      std::string_view prefix) = 0;
  // The timers with these ids, as committed, ascending by id, all read from one committed
  // snapshot: finished ones (due 0) included, ids the store does not have left out, an id given
  // twice read once. `ids` may come in any order and any number (the store batches them).
  virtual Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) = 0;
  // Compare-and-set of a timer's next firing: sets timer `id`'s due to `due` only while it is
  // still `expected` and, when `version` is not 0, its content still has that version (a writer
  // may have replaced the timer meanwhile, even with the same due); returns whether it applied.
  // False for an unknown id; true when due == expected and the timer still has it (a probe).
  Result<bool> UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due, int64_t version = 0);
  // Several compare-and-sets, each as above, in one commit (10,000 timers due at 07:30 are one
  // fsync, not 10,000). `applied` gets one entry per change, in order. All or nothing: on an
  // error no change is applied and `applied` is unspecified.
  struct DueChange {
    int64_t id = 0;
    TimeMs expected = 0;
    TimeMs due = 0;
    int64_t version = 0;  // 0: any version
  };
  virtual Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) = 0;
};

inline Result<bool> TimerStore::UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due,
                                               int64_t version) {
  const DueChange change{id, expected, due, version};
  std::vector<bool> applied;
  QZ_RETURN_IF_ERROR(UpdateTimerDues({&change, 1}, applied));
  return static_cast<bool>(applied.at(0));
}

inline Result<std::vector<TimerRecord>> TimerStore::LoadTimers() {
  std::vector<int64_t> ids;
  for (std::optional<TimerDue> after;;) {
    QZ_ASSIGN_OR_RETURN(std::vector<TimerDue> page, ScanTimerDues(after, 4096));
    if (page.empty()) break;
    after = page.back();
    for (const TimerDue& t : page) ids.push_back(t.id);
  }
  QZ_ASSIGN_OR_RETURN(std::vector<TimerRecord> timers, GetTimers(ids));
  std::erase_if(timers, [](const TimerRecord& t) { return t.due == 0; });  // finished since
  return timers;
}

}  // namespace qz
