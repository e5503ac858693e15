// qunzhu app: a Node is one running qunzhu: the store, the ingest writer with its modules, the
// platform adapters (inbound events through an IngestSink, outbound actions through delivery),
// and the scheduler of timers, wired in the one place that names concrete classes. `serve`
// runs it with background threads; the scenario runner drives the same wiring on virtual time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/data_dir.hpp"
#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/delivery.hpp"
#include "app/ingest_sink.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "engine/module_runner.hpp"
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
  // The adapters of the platforms this node serves, one per platform (CreateAdapters in
  // app/platforms.hpp makes them from config sections). The node owns them from Open on.
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
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

// Threads: Open, RunDue and the destructor on one owning thread; the accessors' objects say
// their own.
class Node {
 public:
  // Locks the data directory (unless the caller holds it; it is created 0700 when missing),
  // opens the store, loads the state, stored and given playbooks, open outbox actions and
  // timers, and starts the pipeline; then starts the adapters (in order) with an EventSink over
  // the ingest, so their events find everything running.
  // Errors: kInvalidArgument for two adapters of one platform; an adapter's Start error (the
  // adapters started before it are stopped); the data directory in use by another process; the
  // store's and the playbooks'.
  static Result<std::unique_ptr<Node>> Open(NodeOptions options);
  // Stops the adapters first (reverse order: no new inbound events), then delivery and the
  // scheduler, then drains ingest (completing the adapters' last Submits), and destroys the
  // adapters after that.
  ~Node();

  Store& store() { return *store_; }
  Ingest& ingest() { return *ingest_; }
  Delivery& delivery() { return *delivery_; }
  Scheduler& scheduler() { return *scheduler_; }
  const Clock& clock() const { return *clock_; }
  // The adapter serving `platform`, or null; owned by the node (tests and the server reach
  // the sandbox's member side through it).
  PlatformAdapter* adapter(std::string_view platform) const;
  std::vector<PlatformAdapter*> adapters() const;  // all of them, in start order

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

  NodeOptions options_;  // less its adapters, moved to adapters_
  const Clock* clock_;
  std::unique_ptr<Store> store_;
  std::vector<std::unique_ptr<PlatformAdapter>> adapters_;
  size_t started_adapters_ = 0;  // adapters_[0, started_) were started
  std::unique_ptr<ModuleRegistry> modules_;
  std::unique_ptr<ModuleMetrics> module_metrics_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<IngestSink> sink_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<Scheduler> scheduler_;
  std::optional<DataDirLock> lock_;  // released last, after the store is closed
};

}  // namespace qz
