// qunzhu app: a Node is one running qunzhu: the store, the ingest writer with its modules, the
// delivery of the outbox through the platform adapters, and the scheduler of timers, wired in
// the one place that names concrete classes. `serve` runs it with background threads; the
// scenario runner drives the same wiring on virtual time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "engine/module_runner.hpp"
#include "engine/scheduler.hpp"
#include "platform/adapter.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {

struct NodeOptions {
  std::string data_dir = "./data";
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

// The playbooks stored in `store` that validate with `modules`. One that does not is logged and
// left out (and listed in `unusable` as community, reason, when given): it must not stop a node.
Result<std::shared_ptr<const PlaybookSet>> LoadStoredPlaybooks(
    Store& store, const ModuleRegistry& modules,
    std::vector<std::pair<std::string, std::string>>* unusable);

class Node {
 public:
  // Opens the store (creating the data directory), loads the state, stored and given playbooks,
  // open outbox actions and timers, and starts the pipeline.
  static Result<std::unique_ptr<Node>> Open(NodeOptions options);
  ~Node();  // stops delivery and scheduler, then drains ingest

  Store& store() { return *store_; }
  Ingest& ingest() { return *ingest_; }
  Delivery& delivery() { return *delivery_; }
  Scheduler& scheduler() { return *scheduler_; }
  const Clock& clock() const { return *clock_; }

  const ModuleRegistry& modules() const { return *modules_; }
  const ModuleMetrics& module_metrics() const { return *module_metrics_; }

  // Validates a playbook (TOML text) completely, then stores and applies it in one transaction;
  // errors name the key and line, and a rejected playbook changes nothing.
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
  std::unique_ptr<ModuleRegistry> modules_;
  std::unique_ptr<ModuleMetrics> module_metrics_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<Scheduler> scheduler_;
};

}  // namespace qz
