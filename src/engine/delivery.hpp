// qunzhu engine: delivery of the outbox. Owns the in-memory queue of open platform actions,
// retry with exponential back-off, per-platform and per-chat rate limits, and reporting each
// outcome as an action_done / action_failed event through Ingest.
//
// One attempt of a batch of actions (at most max_batch, taken across chats in
// (next_attempt_at, id) order) goes:
//   1. the batch is marked "sending" (attempts + 1), durably, before any of it is attempted;
//   2. the adapters perform the actions (on `threads` threads);
//   3. the outcomes are recorded: the row (done with the platform_ref, pending again with
//      next_attempt_at after a transient failure, or failed) and, for done and failed, the
//      outcome event, whose id is "qunzhu:action:<id>:done" / "qunzhu:action:<id>:failed" (a
//      repeat is a duplicate).
// Recording is one ingest transaction (IngestBatch::outbox_updates ride with the events), so a
// row and the event that reports it are durable together: the log never claims "done" for a
// row that is later resent, and a done row never lacks its event. RunDue goes batch by batch,
// and 3 of one batch and 1 of the next are the same transaction: one commit per batch.
// Crash safety: a crash in 2 leaves the row "sending", which the next Open resolves (resent
// with the same idempotency key where the platform deduplicates, else possibly_sent: never sent
// twice). A failed recording keeps the outcomes in memory and retries on the next run (the
// actions are not performed again).
//
// Rate limits: the ones each adapter declares (PlatformAdapter::rate_limits(), read once per
// platform): per platform (a token bucket) and per chat (the platform and the group, or the
// platform and the member for a direct message: a token bucket per second and a sliding window
// per minute; engine/rate_limit.hpp). The engine knows no platform's figures. An action held back by a limit keeps its place in its chat's queue, and the
// chat (or, for the platform's limit, the platform) waits in memory until the limit allows the
// next one: a held-back chat costs nothing per queued action. A platform's retry_after also
// holds back the rest of that chat until then. Within a chat actions go by
// (next_attempt_at, id): in order, except that a retried action does not hold up the others.
// Platforms take turns batch by batch, so a backlog on one does not hold up another.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/action.hpp"

namespace qz {

class OutboxStore;
class Ingest;
class PlatformAdapter;

struct DeliveryOptions {
  int max_attempts = 10;             // then the action fails for good
  TimeMs base_backoff_ms = 1000;     // doubled per attempt, with jitter
  TimeMs max_backoff_ms = 5 * 60 * 1000;
  size_t max_batch = 512;            // actions marked "sending" per store transaction
  int threads = 1;                   // background threads calling the adapters
  // Outages. After `outage_failures` transient failures in a row on one platform (of at least
  // two different actions: one action that keeps failing is not an outage), the platform is
  // down: its actions wait, and one of them is tried every `probe_interval_ms` as a probe whose
  // failure uses no attempt. The first answer that is not a transient failure ends the outage
  // and every waiting action of the platform is due at once. So an outage of any length loses
  // no action, and delivery resumes within a probe interval of the platform's recovery.
  // 0 disables outage detection.
  int outage_failures = 3;
  TimeMs probe_interval_ms = 5000;
  // An action not delivered this long after it was created fails, outage or not.
  TimeMs max_age_ms = 24 * 3600 * 1000;
};

struct DeliveryMetrics {
  std::atomic<int64_t> queued{0};     // outbox depth (open actions)
  std::atomic<int64_t> done{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> possibly_sent{0};
  std::atomic<int64_t> rate_limited{0};  // times an action waited for a rate limit
  std::atomic<int64_t> outages{0};       // times a platform was found down
  std::atomic<int64_t> platforms_down{0};  // platforms down now
};

// The delay before attempt attempts + 1 of action `action_id`, after its `attempts`-th attempt
// (1-based) failed transiently: base_backoff_ms * 2^(attempts - 1) with a jitter of +-20% that
// is a function of (action_id, attempts) (deterministic: tests and restarts see the same
// delays; different actions spread out), capped at max_backoff_ms; but never less than the
// platform's retry_after_ms, which is honoured even above the cap (retrying sooner would only
// be refused again and burn an attempt). Exposed for tests.
TimeMs BackoffDelay(const DeliveryOptions& options, int64_t action_id, int attempts,
                    TimeMs retry_after_ms);

// Thread-safety: Enqueue from any thread (the writer calls it after each commit). RunDue is for
// one caller at a time (the background thread, or a test on virtual time with no thread).
class Delivery {
 public:
  using AdapterMap = std::map<std::string, PlatformAdapter*, std::less<>>;  // by platform

  // Loads the open actions from `outbox`. An action found "sending" (a crash during its
  // attempt) is retried with the same idempotency key when its platform deduplicates sends,
  // else marked possibly_sent, logged, and reported as action_failed: never sent twice. An
  // action of a platform without an adapter fails ("no adapter for platform X"). Errors: the
  // store's, when the open actions cannot be read or those decisions cannot be written.
  // `outbox`, `ingest`, `clock` and the adapters must outlive the Delivery. Set the ingest's
  // commit listener (-> Enqueue) right after Open and before events flow: actions committed
  // between the load and the listener would wait for the next restart.
  static Result<std::unique_ptr<Delivery>> Open(OutboxStore& outbox, Ingest& ingest,
                                                const Clock& clock, AdapterMap adapters,
                                                DeliveryOptions options = {});
  virtual ~Delivery() = default;  // stops the background threads

  // New pending records (the writer hands them over after commit); wakes the background
  // thread when one is due before it meant to wake. Ignored: records not pending, ids already
  // queued or in flight, and ids not above the highest id Open loaded (those were in the
  // loaded snapshot already, so a listener set before Open may hand them over again safely).
  // A newer record handed over again after it finished would be attempted again: the writer
  // hands each record over once.
  virtual void Enqueue(std::span<const OutboxRecord> records) = 0;
  // An operator's retry (POST /api/v1/actions/{id}/retry): `record` had finished (failed or
  // possibly_sent) and its row was set back to pending durably by the caller, so it is queued
  // like a new record whatever its id (Enqueue would skip an id Open loaded). Ignored when the
  // record is not pending or its id is queued or in flight. Any thread.
  virtual void Requeue(const OutboxRecord& record) = 0;

  struct RunResult {
    int64_t attempted = 0;
    // When the next queued action may be attempted; 0 = queue empty. At most a second ahead
    // while outcomes wait for a failed recording to be retried.
    TimeMs next_due = 0;
  };
  // Attempts every action due at clock.Now() that the rate limits allow, waits for their
  // outcomes to be recorded (outbox rows and outcome events, one transaction), and returns.
  virtual RunResult RunDue() = 0;

  // Background mode: one thread that calls RunDue and sleeps (in wall time) until the next
  // due time on the Clock, new work from Enqueue, or at most a second; after a failed
  // recording it retries a second later. Stop waits for the run under way to finish.
  // The adapters are called on that thread and on threads - 1 helper threads (created by Open,
  // joined by the destructor).
  virtual void Start() = 0;
  virtual void Stop() = 0;

  virtual const DeliveryMetrics& metrics() const = 0;
};

}  // namespace qz
