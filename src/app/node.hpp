// qunzhu app: a Node is one running qunzhu: the store, the ingest writer with its modules, the
// delivery of the outbox through the platform adapters, and the scheduler of timers, wired in
// the one place that names concrete classes. `serve` runs it with background threads; the
// scenario runner drives the same wiring on virtual time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/data_dir.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "engine/module.hpp"
#include "engine/scheduler.hpp"
#include "platform/adapter.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {

struct NodeOptions {
  std::string data_dir = "./data";
  // true: Open takes the data directory's lock (DataDirLock) for the node's life and fails when
  // another process holds it. false: the caller already holds it.
  bool lock_data_dir = true;
  SyncMode sync = SyncMode::kFull;
  const Clock* clock = nullptr;  // null: the system clock
  // The adapters of the platforms this node serves; not owned, must outlive the node.
  std::vector<PlatformAdapter*> adapters;
  // Playbook files applied at start after the stored ones (each also stored).
  std::vector<std::string> playbook_files;
  DeliveryOptions delivery;
  SchedulerOptions scheduler;
  IngestOptions ingest;
  // true: delivery and scheduler run on their own threads (serve). false: the caller calls
  // RunDue() (tests and scenarios on virtual time).
  bool background = true;
};

class Node {
 public:
  // Locks the data directory (unless the caller holds it; it is created 0700 when missing),
  // opens the store, loads the state, stored and given playbooks,
  // open outbox actions and timers, and starts the pipeline.
  static Result<std::unique_ptr<Node>> Open(NodeOptions options);
  ~Node();  // stops delivery and scheduler, then drains ingest

  Store& store() { return *store_; }
  Ingest& ingest() { return *ingest_; }
  Delivery& delivery() { return *delivery_; }
  Scheduler& scheduler() { return *scheduler_; }
  const Clock& clock() const { return *clock_; }

  // Validates, stores and applies a playbook (TOML text); errors name the key and line.
  Status ApplyPlaybook(std::string_view toml, std::string_view source);

  struct RunResult {
    int64_t actions = 0;
    int64_t timers = 0;
    TimeMs next_due = 0;  // the earliest next delivery or timer; 0 = nothing pending
  };
  // Foreground mode: fires due timers and delivers due actions until nothing more is due now.
  RunResult RunDue();

 private:
  explicit Node(NodeOptions options);

  NodeOptions options_;
  const Clock* clock_;
  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<Module>> modules_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<Scheduler> scheduler_;
  std::optional<DataDirLock> lock_;  // released last, after the store is closed
};

// The module order of every node (moderation first once it exists, so a deleted message
// triggers nothing else): welcome, schedule.
std::vector<std::unique_ptr<Module>> MakeModules();

}  // namespace qz
