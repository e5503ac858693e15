// qunzhu engine: ingest. Owns the queue into the writer thread, group commit, and the writer's
// in-memory State. Callers (HTTP handlers, the CLI) hand over parsed events and are answered
// once their events are durable, or with the reason nothing was applied.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "engine/shard_writer.hpp"
#include "model/event.hpp"
#include "playbook/playbook.hpp"

namespace qz {

class Store;
class EventParser;

struct ItemError {
  size_t index = 0;  // position in the caller's batch (0-based)
  Status error;
};

// A caller's batch after parsing: the valid events, each with its index in the caller's
// batch, and the elements that were rejected already.
struct IngestBatch {
  std::vector<Event> events;
  std::vector<std::string> json;  // json[i] is the canonical form of events[i] (EventToJson)
  std::vector<size_t> indexes;    // indexes[i] is the caller's index of events[i]
  std::vector<ItemError> rejected;
  // Delivery's outbox row changes, committed in the same transaction as the events (whatever
  // becomes of each event): an outcome is durable together with the event that reports it. A
  // status outside ActionStatus refuses the whole batch (kInvalidArgument), nothing applied.
  std::vector<OutboxUpdate> outbox_updates;
  // What the modules prepared for each event (Module::Prepare), filled by Submit on the
  // submitting thread: empty, or parallel to `events`.
  std::vector<PreparedEvent> prepared;
  size_t size() const { return events.size() + rejected.size(); }
};

// Parses raw items (from SplitJsonArray / SplitNdjson) into a batch. Thread-compatible: one
// parser per calling thread.
IngestBatch ParseBatch(std::span<const RawItem> items, EventParser& parser);

struct IngestResult {
  // Not ok: the batch as a whole was not applied (queue full: kResourceExhausted; store failure:
  // kUnavailable; shutting down). Then the counts below are zero and nothing is durable.
  Status status;
  int64_t accepted = 0;
  int64_t duplicates = 0;
  std::vector<ItemError> rejected;  // sorted by index
  std::vector<int64_t> missing_actions;  // ids of outbox_updates not in the outbox (skipped)
};

struct IngestOptions {
  size_t max_batch_events = 8192;     // events per group commit
  size_t max_queued_events = 1 << 20;  // beyond this Submit answers kResourceExhausted
};

struct IngestMetrics {
  std::atomic<int64_t> ingested{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> commits{0};
  std::atomic<int64_t> failed_commits{0};
  std::atomic<int64_t> queued_events{0};  // queue depth
  Histogram commit_seconds;
};

// Thread-safety: Submit() from any thread; it runs the modules' Prepare over the batch on the
// calling thread (so callers that want that work spread submit from several threads). The completion runs on the writer thread and must
// not block (post the answer to the caller's own executor).
class Ingest {
 public:
  // Runs on the writer thread, or on the submitting thread when the batch is refused at once.
  using Done = std::function<void(IngestResult)>;

  // Loads the state from `store` and starts the writer thread. `store` and everything `engine`
  // points to must outlive this.
  static Result<std::unique_ptr<Ingest>> Start(Store& store, IngestOptions options = {},
                                               EngineOptions engine = {});
  virtual ~Ingest() = default;  // drains the queue, then stops the writer

  virtual void Submit(IngestBatch batch, Done done) = 0;

  // Called on the writer thread after each commit with what it handed on (new outbox actions
  // for delivery, timers for the scheduler). Set before events flow; must not block.
  using CommitListener = std::function<void(const BatchEffects&)>;
  virtual void SetCommitListener(CommitListener listener) = 0;

  // Swaps in a community's playbook through the writer (ordered with the events around it),
  // storing `toml` as its text (unless empty) and its modules' standing timers in the same
  // transaction. Blocks until applied; on failure nothing changed. Errors name the playbook key.
  virtual Status SetPlaybook(std::shared_ptr<const Playbook> playbook, std::string toml = {}) = 0;
  // Opens an operator task in community `community` (a slug; created when new) through the
  // writer. Blocks until committed.
  virtual Status OpenTask(std::string community, std::string kind, std::string reason) = 0;
  // The playbooks in force (a snapshot; any thread).
  virtual std::shared_ptr<const PlaybookSet> playbooks() const = 0;
  // Blocking convenience for the CLI and tests.
  IngestResult SubmitAndWait(IngestBatch batch);

  virtual const IngestMetrics& metrics() const = 0;
  // Time the last state load took, for the start-up log and the restart benchmark.
  virtual double state_load_seconds() const = 0;
};

}  // namespace qz
