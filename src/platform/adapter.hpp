// qunzhu platform: the seam to chat platforms. An adapter declares what its platform can do
// (capabilities) and how fast (rate limits), turns the platform's inbound traffic (webhooks,
// long polling, sockets) into canonical events pushed into an EventSink, and carries out
// platform actions from the outbox. A factory makes an adapter from its config section
// ([platforms.<name>]); src/app registers the factories in one function. Adapters translate;
// they hold no business logic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/message_socket.hpp"
#include "core/status.hpp"
#include "model/action.hpp"
#include "model/event.hpp"

namespace qz {

class TableReader;  // core/toml_reader.hpp

// ---- Outbound: actions ----

struct PerformResult {
  enum class Kind {
    kDone,    // the platform did it
    kRetry,   // a transient failure (429, 5xx, timeout): try again later
    kFailed,  // refused for good (4xx other than 429, unknown chat, no permission)
    // Sent, but the answer never came (the connection dropped): it may or may not have been
    // carried out. Delivery tries it again only when that is harmless (RepeatIsHarmless, or a
    // platform that dedupes sends); else it is "possibly sent", as after a crash mid-send.
    kUnknown,
  };
  Kind kind = Kind::kDone;
  TimeMs retry_after_ms = 0;  // the platform's own hint (Telegram's retry_after), 0 if none
  std::string error;          // the platform's reason, for the action_failed event and the logs
  std::string platform_ref;   // the platform's id of the result, e.g. the sent message id
};

// How fast a platform accepts actions; delivery (src/engine/delivery.hpp) holds actions back to
// stay within them and never drops one. 0 disables a limit. The per-second limits are token
// buckets holding a second's worth (a short burst passes); the per-minute limit is a sliding
// window (never more in any 60 s). A chat is a group, or one member's direct messages.
//
// The platforms' published figures, for their adapters to declare (the project brief's
// protocol notes):
//   Telegram (Bot FAQ): {.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20}:
//     about 30 messages a second in all, about one a second into one chat, at most 20 a minute
//     into one group; past them 429 with retry_after (honoured by delivery).
//   QQ / OneBot v11: no published limit; implementations queue `_rate_limited` calls every
//     500 ms (go-cqhttp's api.rate_limit_interval), i.e. about 2 a second.
//   WeCom: quotas rather than rates (a customer group receives at most 4 mass messages a
//     month); the adapter declares what its API calls allow.
// An adapter declares these as its defaults; its config section may override them
// (ReadRateLimits).
struct RateLimits {
  double per_second = 0;           // the whole platform (one bot account)
  double per_chat_per_second = 0;  // one chat
  double per_chat_per_minute = 0;  // one chat, over a sliding minute
  friend bool operator==(const RateLimits&, const RateLimits&) = default;
};

// ---- Inbound: events ----

// An event of a submitted batch that ingest refused for good (invalid, or a group that belongs
// to another community): submitting it again would be refused again.
struct RejectedEvent {
  size_t index = 0;  // position in the submitted batch
  Status error;      // names the field
};

struct SinkResult {
  // Not ok: nothing of the batch was applied (queue full: kResourceExhausted; a store failure
  // or the node shutting down: kUnavailable). The platform should deliver the batch again (a
  // webhook answers 5xx/429, a polling loop keeps its offset). Then the counts are zero.
  Status status;
  int64_t accepted = 0;
  int64_t duplicates = 0;               // seen before (same platform and id): no effect
  std::vector<RejectedEvent> rejected;  // sorted by index
};

// Where an adapter pushes the canonical events of inbound traffic. The node implements it over
// its ingest (src/app/ingest_sink.hpp): events are validated as if they had come through the
// API, and a batch is durable (in the event log, with its effects) before `done` runs with an
// ok status. A webhook handler answers its platform from `done`; a polling loop advances its
// offset only after `done` said ok (SubmitAndWait), so a crash in between redelivers events that
// are then duplicates: ingest is idempotent by (platform, id).
//
// Thread-safety: Submit from any thread, concurrently. `done` runs exactly once, on the node's
// writer thread (or on the submitting thread when the batch is refused at once); it must not
// block: post the answer to the caller's own executor.
class EventSink {
 public:
  using Done = std::function<void(SinkResult)>;
  virtual ~EventSink() = default;
  virtual void Submit(std::vector<Event> events, Done done) = 0;
  // Blocks until the batch is durable or refused (for polling threads, never an event loop).
  SinkResult SubmitAndWait(std::vector<Event> events);
};

// ---- Inbound over HTTP: webhooks ----

// A platform's HTTP POST to qunzhu (a Telegram webhook, a OneBot event report, a WeCom
// callback), as the server read it. The server checks no API token on these: the adapter
// verifies the platform's own signature or secret.
struct WebhookRequest {
  std::string name;  // the endpoint: /webhooks/<platform>/<name> ("" for /webhooks/<platform>)
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  std::string Header(std::string_view lower_case_name) const;  // "" when absent
};
struct WebhookResponse {
  int status = 200;
  std::string body = "{}";  // JSON
};
using WebhookReply = std::function<void(WebhookResponse)>;

// ---- Health ----

// One connection of an adapter (a bot, an account, a socket), for GET /api/v1/platforms and
// /metrics. Never carries a secret.
struct ConnectionHealth {
  std::string name;        // the bot's or account's name
  std::string state;       // "starting", "connected", "retrying" or "stopped"
  TimeMs last_event = 0;   // when it last brought an event in (wall clock; 0: never)
  int64_t events = 0;      // events it brought in
  int64_t errors = 0;      // failed polls, calls and refused webhook posts
  std::string last_error;  // the newest of them ("" if none)
};

// ---- The adapter ----

// Lifecycle, driven by the node (src/app/node.hpp), which owns its adapters:
//   construct (by the factory) → Start(sink) once, after the pipeline is up → Stop() once
//   (only after a successful Start), first at shutdown, before delivery, scheduler and ingest
//   stop → destroyed (started or not) after ingest has drained, so `done` callbacks of earlier
//   Submits may still run after Stop, on the writer thread, while the adapter is alive.
// Perform is called by delivery from before Start until after Stop (delivery starts before and
// stops after the inbound side): outbound calls must not depend on the inbound side running.
//
// Threads: Start and Stop on the node's owning thread. Perform from delivery's threads,
// several at once. capabilities() and rate_limits() from any thread; their answers must not
// change over the adapter's life (delivery and the writer read them once).
class PlatformAdapter {
 public:
  virtual ~PlatformAdapter() = default;
  virtual std::string_view platform() const = 0;  // the events' `platform` value it serves
  virtual Capabilities capabilities() const = 0;
  virtual RateLimits rate_limits() const = 0;

  // Starts inbound traffic (polling threads, sockets, registering a webhook) that pushes events
  // into `sink`, which outlives the adapter's use of it. Must not block on the platform: an
  // unreachable platform is retried by the adapter's own threads (logged), not an error here.
  // An error (a local problem: a port that cannot be bound) makes the node refuse to start.
  virtual Status Start(EventSink& sink) = 0;
  // Stops inbound traffic: when it returns, no thread of the adapter calls the sink again.
  // Blocks until its threads have finished (a Submit under way completes: ingest still runs).
  virtual void Stop() = 0;

  // The webhook endpoints it serves, POST /webhooks/<platform>[/<name>]: names that are
  // tokens (core/token.hpp) or "" for the bare path. Read once, after Start.
  virtual std::vector<std::string> webhook_names() const { return {}; }
  // One request to one of them, from the server's I/O threads: must not block (submit to the
  // sink and answer from its `done`). `reply` exactly once, from any thread. An adapter that
  // has stopped answers 503.
  virtual void HandleWebhook(WebhookRequest /*request*/, WebhookReply reply) {
    reply({.status = 404, .body = R"({"error":"no such webhook"})"});
  }

  // The WebSocket endpoints it serves, GET /webhooks/<platform>[/<name>] with an upgrade (a
  // OneBot implementation's reverse WebSocket): names as for webhook_names(). Read once, after
  // Start.
  virtual std::vector<std::string> socket_names() const { return {}; }
  // Decides an upgrade request to one of them, from the server's I/O threads, without
  // blocking: an error refuses it (kUnauthenticated: 401, nothing accepted); else the socket,
  // once the handshake is done, is handed to what it returns.
  virtual Result<MessageSocketAccept> AcceptSocket(const WebhookRequest& /*handshake*/) {
    return Status::NotFound("no such socket endpoint");
  }

  // Its connections' health now; any thread. An adapter without connections (the sandbox)
  // has none.
  virtual std::vector<ConnectionHealth> health() const { return {}; }

  // Carries out one platform action, blocking. `record.idempotency_key` is stable across
  // retries; a platform that deduplicates by it declares Capabilities::dedupes_sends.
  virtual PerformResult Perform(const OutboxRecord& record) = 0;
};

// ---- Factories and their registry ----

// What an adapter may use besides its config section. Outlives the adapters.
struct AdapterEnv {
  const Clock& clock;
  std::string data_dir;  // the node's data directory, for an adapter's own files (offsets)
};

// Makes one platform's adapter from its config section. Stateless; any thread.
class AdapterFactory {
 public:
  virtual ~AdapterFactory() = default;
  virtual std::string_view platform() const = 0;  // the section's name: [platforms.<platform>]
  // Reads the section's keys through `section`, reporting each bad value (with its path and
  // line) through it; the caller then reports keys no getter asked for (TableReader::Done).
  // Returns the adapter, or null when it cannot make one (a problem was reported). An adapter
  // is used only when the whole document had no problem. Does not start anything.
  virtual std::unique_ptr<PlatformAdapter> Create(TableReader& section,
                                                  const AdapterEnv& env) const = 0;
};

// Reads the optional sub-table `rate_limits` of an adapter's section (keys per_second,
// per_chat_per_second, per_chat_per_minute; each >= 0, 0 = no limit) over the adapter's
// declared `defaults`; an absent key keeps its default.
RateLimits ReadRateLimits(TableReader& section, RateLimits defaults);

// The factories this build knows, by platform (src/app/platforms.cpp registers them).
// Thread-compatible: filled once at start, then only read.
class PlatformRegistry {
 public:
  // kInvalidArgument when a factory for that platform is registered already (a programming
  // error; the second is dropped).
  Status Add(std::unique_ptr<AdapterFactory> factory);
  const AdapterFactory* Find(std::string_view platform) const;
  std::vector<std::string> platforms() const;  // sorted

  // Creates one adapter per key of `platforms` (the [platforms] table of a config document),
  // whose table is that platform's section, in key order. Problems (a platform no factory
  // serves, a section that is not a table, the factories' own and unknown keys) are reported
  // through `platforms`. Returns the adapters only when the document has no problem at all
  // (check platforms.problems()); else an empty vector.
  std::vector<std::unique_ptr<PlatformAdapter>> CreateAll(TableReader& platforms,
                                                          const AdapterEnv& env) const;

 private:
  std::map<std::string, std::unique_ptr<AdapterFactory>, std::less<>> factories_;
};

}  // namespace qz
