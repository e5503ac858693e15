// qunzhu server: the HTTP API's semantics, free of any transport. Owns authentication (API tokens,
// with a cache of known-good token hashes, and the console's session cookies with their CSRF
// tokens), the role check of every route, dispatching a request to its route (route.hpp) and the
// built-in routes (routes/), the HTTP and ingest metrics, and the rule that every request is
// answered exactly once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "server/auth.hpp"
#include "server/route.hpp"

namespace qz {

class Api {
 public:
  using Task = Call::Task;
  using Runner = Call::Runner;
  using Respond = Call::Responder;

  // Serves the built-in routes and `routes` (contributed by src/app: modules, platform
  // adapters); a contributed route that clashes with another is an error (kAlreadyExists,
  // kInvalidArgument). Registers the ingest and HTTP metrics (qunzhu_events_*, qunzhu_commit*,
  // qunzhu_ingest_queue_events, qunzhu_state_load_seconds, qunzhu_http_requests_total) in
  // `metrics` and removes them when destroyed; GET /metrics renders `metrics`. `blocking` runs
  // tasks that may block on disk. `auth` sets the sessions' cookie and life and the sign-in
  // limits. `services`, `metrics` and the tasks' executors must outlive the Api and every task
  // it scheduled.
  static Result<std::unique_ptr<Api>> Make(const ApiServices& services, RouteTable routes,
                                           MetricsRegistry& metrics, Runner blocking,
                                           const AuthOptions& auth = {});
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Runs on an I/O thread and must not block: anything that may is scheduled on `blocking`;
  // `resume` posts to the calling connection's executor. Never throws: an exception becomes a
  // 500. Authentication comes first for every route not marked Access::kPublic, so an unknown
  // path is 401 before it is 404; then, for a session, the CSRF token of a write (403); then
  // 404/405; then the route's role (403 permission_denied naming the role it needs).
  void Handle(ApiRequest request, Runner resume, Respond respond);

  // The transport reports every response it writes (including its own 413s), for
  // qunzhu_http_requests_total. Any thread.
  void CountResponse(int status);

 private:
  struct Impl;
  explicit Api(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

namespace api_internal {
// The token from "Bearer <token>" (scheme case-insensitive); empty if absent or malformed.
std::string_view BearerToken(std::string_view authorization);
}  // namespace api_internal

}  // namespace qz
