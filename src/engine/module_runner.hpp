// qunzhu engine: runs the registered modules over one event for the shard writer, each in
// isolation: what a module emits (actions, derived events, state writes) is staged and kept only
// when its OnEvent returns ok; a module that fails or throws loses that event's emissions and is
// reported, and never takes the writer down. Engine-internal (used by ShardWriter).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "engine/module_registry.hpp"
#include "engine/state.hpp"

namespace qz {

// What the modules' emissions become.
enum class ModuleMode : uint8_t {
  kLive,    // everything: actions routed, derived events appended, state kept
  kImport,  // history (qunzhu ingest, demo): state and derived events kept; actions that would
            // reach a platform, a timer or an operator are dropped (history is not re-sent)
  kReplay,  // the log again: state only (derived events are in the log already); now() is the
            // event's time
};

// Failures per module, in registry order. Any thread reads; the writer thread adds.
class ModuleMetrics {
 public:
  explicit ModuleMetrics(size_t modules)
      : failures_(std::make_unique<std::atomic<int64_t>[]>(modules)), size_(modules) {}
  std::atomic<int64_t>& failures(size_t index) { return failures_[index]; }
  int64_t failures(size_t index) const { return failures_[index].load(std::memory_order_relaxed); }
  size_t size() const { return size_; }

 private:
  std::unique_ptr<std::atomic<int64_t>[]> failures_;
  size_t size_;
};

// What the modules emitted for one event, to be routed by the writer.
struct ModuleEmissions {
  std::vector<Action> actions;  // rule set to "<module>[.<rule>]"
  struct Derived {
    Event event;
    std::string module;
  };
  std::vector<Derived> derived;
  struct Failure {
    std::string module;
    std::string message;
  };
  std::vector<Failure> failures;
};

// The ids an event resolved to.
struct EventRefs {
  CommunityId community = kNoId;
  GroupId group = kNoId;
  MemberId member = kNoId;
  TimeMs previous_message = 0;  // the membership's last message before this event
};

// Writer thread only.
class ModuleRunner {
 public:
  // `registry`, `metrics` (may be null) and `stored` (may be null) must outlive the runner.
  // `stored` is the store the state is flushed to: a module's Find of a cold table's row that
  // the state has dropped (RowLife::kCold) reads it there. Without it, nothing is dropped unless
  // the state is flushed, and a dropped row is not found.
  ModuleRunner(const ModuleRegistry& registry, ModuleMode mode, ModuleMetrics* metrics,
               ReadModel* stored = nullptr)
      : registry_(registry), mode_(mode), metrics_(metrics), stored_(stored) {}

  ModuleMode mode() const { return mode_; }

  // Shows `event` to each module in order (a timer event only to the module that owns its key)
  // and applies the state writes of those that succeeded to `state`. `prepared` (may be null)
  // is what the submitting thread prepared for this event (PrepareEvent).
  ModuleEmissions Run(State& state, const PlaybookSet& playbooks, const Event& event,
                      const EventRefs& refs, TimeMs now, const PreparedEvent* prepared = nullptr);

  // Events whose preparation the writer had to do itself (nothing prepared, or prepared against
  // a config no longer in force), for the benchmark and /metrics. Any thread reads.
  int64_t prepared_on_writer() const { return prepared_on_writer_.load(std::memory_order_relaxed); }

 private:
  class Context;
  const ModuleRegistry& registry_;
  const ModuleMode mode_;
  ModuleMetrics* metrics_;
  ReadModel* stored_;
  std::atomic<int64_t> prepared_on_writer_{0};
};

// The module that owns a timer key ("<module>:<key>"): its name, or empty.
std::string_view TimerOwner(std::string_view timer_key);

}  // namespace qz
