// qunzhu server: the HTTP API's semantics, free of any transport. Owns routing, authentication
// (with a cache of known-good token hashes), request validation, the JSON shapes of responses,
// the one mapping of qz::Code to an HTTP status, and the /metrics rendering.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace qz {

class Store;
class Ingest;
class SandboxPlatform;
struct DeliveryMetrics;
struct SchedulerMetrics;
class ModuleRegistry;

// Optional collaborators of the API. A null pointer turns its feature off: the sandbox routes
// answer 404 without `sandbox`; the outbox and timer metrics are left out of /metrics without
// `delivery` / `scheduler`. Whatever is set must outlive the server.
struct ServerExtras {
  SandboxPlatform* sandbox = nullptr;           // /api/v1/sandbox/...
  const DeliveryMetrics* delivery = nullptr;    // qunzhu_outbox_* in /metrics
  const SchedulerMetrics* scheduler = nullptr;  // qunzhu_timers_* in /metrics
  // The modules whose playbook sections PUT .../playbook validates; without: that route is 503.
  const ModuleRegistry* modules = nullptr;
};

// One request, as the transport read it.
struct ApiRequest {
  std::string method;         // e.g. "GET"
  std::string target;         // origin-form: "/api/v1/members?limit=5"
  std::string content_type;   // the Content-Type header, verbatim ("" if absent)
  std::string authorization;  // the Authorization header, verbatim ("" if absent)
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, ...)
};

// The single mapping from an error code to an HTTP status.
int HttpStatus(Code code);

// `{"error":{"code":"<CodeName>","message":"...","field":"..."}}` with HttpStatus(code), plus
// the headers the code implies (Retry-After for kResourceExhausted, WWW-Authenticate for
// kUnauthenticated). `status` must not be ok.
ApiResponse ErrorResponse(const Status& status);

class Api {
 public:
  using Task = std::function<void()>;
  // Schedules a task to run elsewhere (a thread pool, a connection's executor). Callable from any
  // thread; the task runs exactly once unless the executor is shut down first.
  using Runner = std::function<void(Task)>;
  // Delivers the response; called at most once per request, from any thread.
  using Respond = std::function<void(ApiResponse)>;

  // `blocking` runs tasks that may block on disk (Store calls, Ingest::SetPlaybook). All
  // references (and the pointers in `extras`) must outlive the Api and every task it scheduled.
  Api(Store& store, Ingest& ingest, const Clock& clock, Runner blocking, ServerExtras extras = {});
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Runs on an I/O thread and must not block: anything that may is scheduled on `blocking`;
  // CPU work (event parsing, JSON) is brought back onto the I/O thread with `resume`, which
  // posts to the calling connection's executor. Never throws: an exception becomes a 500.
  void Handle(ApiRequest request, Runner resume, Respond respond);

  // The transport reports every response it writes (including its own 413s), for
  // qunzhu_http_requests_total. Any thread.
  void CountResponse(int status);

  // Prometheus text exposition of the ingest, HTTP, delivery and scheduler metrics (the last two
  // when their pointers are set). Any thread; never touches the store, so it leaves out the
  // outbox counts by status that GET /metrics adds.
  std::string RenderMetrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exposed for tests: query-string and token helpers.
namespace api_internal {
// Percent-decodes a query component ('+' is a space) into `out`; false if an escape is
// malformed.
bool PercentDecode(std::string_view in, std::string& out);
// Percent-decodes one path segment ('+' stays a '+') into `out`; false if an escape is malformed.
bool PercentDecodePath(std::string_view in, std::string& out);
// Strict positive decimal integer (no sign, no leading '+', fits in int64). 0 if invalid.
int64_t ParsePositiveInt(std::string_view text);
// The token from "Bearer <token>" (scheme case-insensitive); empty if absent or malformed.
std::string_view BearerToken(std::string_view authorization);
}  // namespace api_internal

}  // namespace qz
