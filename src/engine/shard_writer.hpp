// qunzhu engine: the shard writer applies events to the State and appends them to the log in
// one store transaction per batch, runs the modules over each new event, and records what they
// cause (outbox actions, operator tasks, timers, derived events) in the same transaction. It is
// the single path every event takes, live ingest and replay alike; an event's effect on the
// state itself is engine/apply_event.hpp.
#pragma once

#include <map>
#include <unordered_map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "engine/apply_event.hpp"
#include "engine/module_runner.hpp"
#include "engine/recurrence.hpp"
#include "engine/state.hpp"
#include "model/action.hpp"
#include "model/event.hpp"
#include "playbook/playbook.hpp"
#include "store/store.hpp"

namespace qz {

// An event to apply, with its canonical JSON (computed by the caller, off the writer thread).
struct WriteItem {
  const Event* event = nullptr;
  const std::string* json = nullptr;
  const PreparedEvent* prepared = nullptr;  // what the modules prepared ahead (may be null)
};

enum class Outcome : uint8_t { kAppended, kDuplicate, kRejected };

struct ItemOutcome {
  Outcome outcome = Outcome::kAppended;
  Status error;  // for kRejected
};

// What the engine needs beyond the store. Everything here outlives the writer.
struct EngineOptions {
  const Clock* clock = nullptr;  // null: the system clock
  // Run in registry order for every new event (moderation first, so a deleted message triggers
  // nothing else); null: no modules. `module_mode` says what their emissions become.
  const ModuleRegistry* modules = nullptr;
  ModuleMode module_mode = ModuleMode::kLive;
  ModuleMetrics* module_metrics = nullptr;  // null: failures are logged only
  // What each platform's adapter can do; a platform action for a platform not listed, or one
  // its platform cannot perform, becomes an operator task.
  std::map<std::string, Capabilities, std::less<>> capabilities;
  std::shared_ptr<const PlaybookSet> playbooks;  // null: none
  int max_derived_depth = 4;  // derived events of derived events… stop here (logged)
};

// What a committed batch handed on: new outbox records for delivery, timers for the scheduler.
struct BatchEffects {
  std::vector<OutboxRecord> actions;
  std::vector<TimerRecord> timers;
  int64_t tasks = 0;
  int64_t derived_events = 0;
};

struct BatchResult {
  std::vector<ItemOutcome> outcomes;  // one per item
  BatchEffects effects;
  std::vector<int64_t> missing_actions;  // outbox updates whose row was not found (skipped)
};

// Thread-compatible: one writer thread owns the ShardWriter, its State and the Store's write side.
class ShardWriter {
 public:
  // Loads the state from `store`. `store` must outlive the writer.
  static Result<std::unique_ptr<ShardWriter>> Open(Store& store, EngineOptions options = {});
  ~ShardWriter();

  // Applies `items` in order inside one transaction, with `outbox_updates` (delivery's outcomes
  // and marks, see StoreTxn::UpdateActions), and commits it. On success every item has an
  // outcome. On failure nothing of the batch is durable, the in-memory state is reloaded from the
  // store, and the failure is returned.
  // The modules this writer runs (null: none). Immutable; any thread.
  const ModuleRegistry* modules() const { return options_.modules; }
  const ModuleRunner* runner() const { return runner_.get(); }

  Result<BatchResult> ApplyBatch(std::span<const WriteItem> items,
                                 std::span<const OutboxUpdate> outbox_updates = {});

  // Replaces the playbook of its community (creating the community when new), stores `toml` as
  // its text when not empty, and reconciles the modules' standing timers (Module::StandingTimers,
  // keyed "<module>:playbook:<name>"): an unchanged one keeps its pending firing, a new or
  // changed one is (re)scheduled, one no longer asked for is finished. One transaction: on
  // failure nothing is stored or changed.
  Result<BatchEffects> ApplyPlaybook(std::shared_ptr<const Playbook> playbook,
                                     std::string_view toml = {});
  // Opens an operator task in the community `slug` (created when new), e.g. for a stored
  // playbook that no longer applies. One transaction.
  Status OpenTask(std::string_view slug, std::string kind, std::string reason);

  const State& state() const { return state_; }
  const PlaybookSet& playbooks() const { return *playbooks_; }

 private:
  class Context;
  using Refs = ResolvedRefs;

  ShardWriter(Store& store, State state, EngineOptions options);

  // When an outbox action of `type` made at `now` may first be attempted: the end of the
  // community's quiet hours for the bot's own posts (send_message, send_direct) made inside
  // them, else now.
  static TimeMs QuietUntil(const Playbook& playbook, ActionType type, TimeMs now);

  // What an event refers to (engine/apply_event.hpp applies it).
  Result<Refs> Resolve(const Event& event) const;
  // Appends and applies one event and runs the modules over it (recursively for derived events).
  Result<ItemOutcome> Process(StoreTxn& txn, const Event& event, const std::string& json, int depth,
                              BatchEffects& effects, const PreparedEvent* prepared = nullptr);
  Status RunModules(StoreTxn& txn, const Event& event, const Refs& refs, TimeMs previous_message,
                    int depth, BatchEffects& effects, const PreparedEvent* prepared);
  // A module failed on `cause`: an operator task, at most one per module an hour.
  Status ReportModuleFailure(StoreTxn& txn, const Event& cause, const Refs& refs,
                             const ModuleEmissions::Failure& failure, BatchEffects& effects);
  Result<CommunityId> EnsureCommunity(StoreTxn& txn, std::string_view slug, BatchEffects& effects);
  Status Route(StoreTxn& txn, const Event& cause, const Refs& refs, Action action, int n,
               std::vector<Event>& derived, BatchEffects& effects);
  Status Reload();
  TimeMs Now() const;

  Store& store_;
  State state_;
  EngineOptions options_;
  std::shared_ptr<const PlaybookSet> playbooks_;  // never null
  std::unique_ptr<ModuleRunner> runner_;  // null without modules
  // Standing timers this writer wrote, by "<community id>\x1f<key>".
  std::map<std::string, TimerRecord> playbook_timers_;
  // The content version of each timer this writer replaced (version >= 2), by timer id: a
  // firing of an older version that reaches the writer after the replacement is stale and
  // refused (the scheduler then fires the new content). Forgotten on Reload, when a stale
  // firing may get through once more: the new content still fires after it.
  std::unordered_map<int64_t, int64_t> replaced_timers_;
  // Records `t` (just put) in replaced_timers_.
  void NotePut(const TimerRecord& t);
  // When each module's last failure task was opened (engine time), by module name.
  std::map<std::string, TimeMs, std::less<>> failure_task_at_;
};

}  // namespace qz
