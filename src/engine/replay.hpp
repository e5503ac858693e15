// qunzhu engine: replay. Rebuilds the materialised state from the event log into a scratch
// store and compares it with the live materialised state; proves "the log is the truth".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "store/store.hpp"

namespace qz {

struct ReplayReport {
  int64_t events = 0;
  std::vector<std::string> differences;  // empty: the rebuilt state equals the live one
  size_t max_differences = 50;           // listing stops after this many
};

class ModuleRegistry;

// Reads every event of `source` in log order, applies it to the empty `scratch` store through
// the same ShardWriter as live ingest, with `modules` (null: none) in replay mode so that their
// state is rebuilt too, under the playbooks stored in `source`; then compares both materialised
// states entity by entity, module state included. A stored playbook that no longer parses is
// reported as a difference and replayed without. `progress(done_events)` is called after each
// chunk. Single-threaded; `source` must not be written meanwhile.
Result<ReplayReport> Replay(Store& source, Store& scratch, const ModuleRegistry* modules,
                            const std::function<void(int64_t)>& progress = {});

// Differences between two snapshots, described for a human, at most `max` of them.
std::vector<std::string> DiffSnapshots(const StateSnapshot& live, const StateSnapshot& rebuilt,
                                       size_t max);

}  // namespace qz
