// qunzhu server/route: what an HTTP route is, for code outside src/server (modules, platform
// adapters) as much as for the server's own. A route is a method, a path pattern with typed
// parameters and a handler that answers through a `Call`; a `RouteTable` is what src/app fills
// and the server dispatches from. A route says the least role (model/account.hpp) a caller
// needs, globally or inside the community it acts in (Scope); a handler sees who called
// (`Call::principal()`). Transport-free (no Beast): core, model's
// account roles and nlohmann only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/message_socket.hpp"
#include "core/status.hpp"
#include "model/account.hpp"

namespace qz {

class Store;
class Ingest;
class Delivery;
class ModuleRegistry;

// Ordered, so responses list fields in the documented order.
using ApiJson = nlohmann::ordered_json;

// One request, as the transport read it.
struct ApiRequest {
  std::string method;            // e.g. "GET"
  std::string target;            // origin-form: "/api/v1/members?limit=5"
  std::string content_type;      // the Content-Type header, verbatim ("" if absent)
  std::string content_encoding;  // the Content-Encoding header, verbatim ("" if absent)
  std::string authorization;     // the Authorization header, verbatim ("" if absent)
  // Every header, names lower-cased, for routes that read platform headers (webhooks).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The peer's IP address as the transport saw it ("" when unknown): limits per client address
  // (sign-in attempts). Behind a reverse proxy this is the proxy's.
  std::string remote_address;

  // The value of the first header named `lower_name` (lower case), "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

// Who made a request, once the server authenticated it (Call::principal()): handlers record it
// as the author of what they do.
struct Principal {
  enum class Kind {
    kNone,     // not authenticated: a public route
    kToken,    // an API token (Authorization: Bearer)
    kAccount,  // a console account signed in with the session cookie
  };
  Kind kind = Kind::kNone;
  std::string name;  // the account's name, or the token's name (ApiToken::name)
  AccountRole role = AccountRole::kViewer;  // the base role: what applies outside community_roles
  // kAccount only: the account's roles inside particular communities, as stored when the request
  // was authenticated (each replaces `role` in its community; model/account.hpp). Tokens have none.
  CommunityRoles community_roles;
  // kAccount only: the session (the SHA-256 of its secret, as stored), its CSRF token and end.
  std::string session_hash;
  std::string csrf;
  TimeMs session_expires_at = 0;

  // The role inside community `community_id` (kNoId, 0: outside any community: `role`).
  AccountRole RoleIn(int64_t community_id) const {
    return RoleInCommunity(role, community_roles, community_id);
  }
  // The highest role anywhere: what a Scope::kCommunity route's gate compares.
  AccountRole BestRole() const { return qz::BestRole(role, community_roles); }
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Allow, ...)
  // Set (with status 101) by a route that takes a WebSocket upgrade request over: the server
  // completes the handshake and hands the socket to it. On a request that is not an upgrade
  // the server answers 400 instead.
  MessageSocketAccept accept_socket;
};

// The single mapping from an error code to an HTTP status.
int HttpStatus(Code code);

// `{"error":{"code":"<CodeName>","message":"...","field":"..."}}` with HttpStatus(code), plus
// the headers the code implies (Retry-After for kResourceExhausted, WWW-Authenticate for
// kUnauthenticated). `status` must not be ok. Every error answer of the API is made here, except
// 405 (MethodNotAllowed), which has no Code.
ApiResponse ErrorResponse(const Status& status);
// 405 with `Allow: <allow>` and the error code "method_not_allowed".
ApiResponse MethodNotAllowed(std::string_view allow);
// A refusal with a code of its own, for the outcomes a client branches on that no Code names:
// `http_status` 409 when the resource's state refuses the request ("already_closed",
// "not_retryable", "last_owner"), 422 when the request is well-formed but names something that
// cannot be used ("invalid_assignee"). Same body as ErrorResponse:
// {"error":{"code":"<code>","message":"...","field":"..."}} ("field" only when not empty).
ApiResponse Refusal(int http_status, std::string_view code, std::string_view message,
                    std::string_view field = {});
// `body` serialised (invalid UTF-8 in echoed input is replaced, never fatal).
ApiResponse JsonResponse(int status, const ApiJson& body);

// What a handler may use. The references outlive the server and every task it scheduled.
struct ApiServices {
  Store& store;  // may block: use it on the blocking pool only (RunOn::kBlockingPool, Blocking())
  Ingest& ingest;  // Submit from any thread; SetPlaybook blocks
  const Clock& clock;
  // The modules whose playbook sections PUT .../playbook validates; null: that route is 503.
  const ModuleRegistry* modules = nullptr;
  // Delivery of the outbox, told of an operator's retry (Delivery::Requeue; any thread); null:
  // POST /api/v1/actions/{id}/retry is 503.
  Delivery* delivery = nullptr;
};

// Pagination, the same for every listing: `limit` is 1..1000 (default 50), the cursor is the
// key of the last item of the previous page (0 or absent: from the start), and the answer
// carries the next cursor, or null when the page came back short (nothing more).
inline constexpr int kDefaultPageLimit = 50;
inline constexpr int kMaxPageLimit = 1000;
enum class CursorForm { kPositive, kNonNegative };  // is "0" a valid cursor value?
struct PageRequest {
  int limit = kDefaultPageLimit;
  int64_t cursor = 0;  // 0: from the start
};
// How the next cursor is written: "123" (opaque string) or 123.
enum class CursorJson { kString, kNumber };
// The next page's cursor: `last_key` when `returned` == page.limit, else null.
ApiJson NextCursor(const PageRequest& page, size_t returned, int64_t last_key,
                   CursorJson as = CursorJson::kString);

// Decoded query parameters; a repeated name's last value wins. Errors name the parameter.
class QueryParams {
 public:
  // Fails (400, field = the parameter or "query") on a malformed percent escape or invalid UTF-8.
  static Result<QueryParams> Parse(std::string_view query);

  const std::string* Get(std::string_view name) const;  // null when absent
  // An optional positive integer (an id); 0 when absent.
  Result<int64_t> Id(std::string_view name) const;
  // An optional non-negative integer; 0 when absent.
  Result<int64_t> NonNegative(std::string_view name) const;
  // An optional "true" / "false".
  Result<bool> Bool(std::string_view name, bool absent) const;
  // `limit` and the cursor parameter `cursor_param` ("cursor", "before", "after", ...).
  // `limit`: 1..kMaxPageLimit, default kDefaultPageLimit (for listings whose cursor is not a
  // number; Page reads both).
  Result<int> Limit() const;
  Result<PageRequest> Page(std::string_view cursor_param,
                           CursorForm form = CursorForm::kPositive) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// One request in flight, handed to a route's handler. Owned by shared pointers held by the
// tasks that work on it, so a handler may answer later from any thread (Blocking, Resume,
// AnswerWhenDone). Not for concurrent use: at any time one thread works on a call.
class Call : public std::enable_shared_from_this<Call> {
 public:
  using Task = std::function<void()>;
  using Runner = std::function<void(Task)>;  // schedules a task elsewhere; any thread
  using Responder = std::function<void(ApiResponse)>;  // delivers the answer; any thread
  using Step = std::function<Status(Call&)>;  // a non-ok Status becomes the answer

  // Made by the server: `blocking` runs on the blocking pool, `resume` on the connection's I/O
  // thread, `respond` delivers the answer (any thread).
  Call(ApiRequest request, std::string path, const ApiServices& services, Runner blocking,
       Runner resume, Responder respond);
  // A call nobody answered (a handler bug) is answered 500 here.
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  const std::string& method() const { return request_.method; }
  const std::string& path() const { return path_; }  // without the query, not decoded
  const ApiRequest& request() const { return request_; }
  std::string& body() { return request_.body; }  // a handler may move it out
  // The Content-Type's media type, lower-cased, without parameters.
  std::string MediaType() const;
  // 415 naming Content-Type unless MediaType() is one of `allowed`.
  Status RequireMediaType(std::initializer_list<std::string_view> allowed) const;

  // The path parameter `name` of the route, percent-decoded and validated ("" if the route has
  // no such parameter); IntParam for `{name:int}` (0 if none).
  const std::string& Param(std::string_view name) const;
  int64_t IntParam(std::string_view name) const;
  const QueryParams& query() const { return query_; }

  // Who called: set by the server before the handler runs (Kind::kNone on a public route).
  const Principal& principal() const { return principal_; }

  // For a route of Scope::kCommunity, once the handler knows which community the request acts
  // in: ok when the caller's role there (Principal::RoleIn; kNoId, 0: outside any community, the
  // base role) allows `need`; otherwise kPermissionDenied (403) whose message names the role
  // needed and the community (`community` when given, e.g. its slug, else its id). Any thread.
  // Such a handler must call it, and get ok, before any successful answer: a success answered
  // without it becomes a 500 (Respond), so a handler that forgot refuses instead of letting a
  // caller act where its role is too low.
  Status RequireRole(int64_t community_id, AccountRole need, std::string_view community = {});

  const ApiServices& services() const { return services_; }
  Store& store() const { return services_.store; }
  Ingest& ingest() const { return services_.ingest; }
  const Clock& clock() const { return services_.clock; }

  // Answers. The first answer wins; later ones are ignored. Any thread.
  void Respond(ApiResponse response);
  void RespondJson(const ApiJson& body, int status = 200);
  void Fail(const Status& status);  // ErrorResponse(status)
  bool answered() const { return answered_.load(); }

  // Runs `step` on the blocking pool (Store reads and writes, anything that may wait on disk).
  void Blocking(Step step);
  // Runs `step` on the connection's I/O thread (CPU work, answering after a blocking step).
  void Resume(Step step);
  // A completion for an asynchronous service (e.g. Ingest::Submit's `done`): call it once, from
  // any thread, with the result; it carries the result back to the I/O thread and answers
  // make(result).
  template <typename R>
  std::function<void(R)> AnswerWhenDone(std::function<ApiResponse(const R&)> make) {
    return [self = shared_from_this(), make = std::move(make)](R result) {
      try {
        auto shared = std::make_shared<R>(std::move(result));
        self->Resume([shared, make](Call& c) {
          c.Respond(make(*shared));
          return Status::Ok();
        });
      } catch (...) {
        self->Fail(Status::Internal("internal error"));
      }
    };
  }

  // Runs `step` here and now, turning its error or exception into the answer. Used by the
  // server to run handlers.
  void Run(const Step& step) noexcept;

  // Set by the server before the handler runs.
  void set_params(std::vector<std::pair<std::string, std::string>> params) {
    params_ = std::move(params);
  }
  void set_query(QueryParams query) { query_ = std::move(query); }
  void set_principal(Principal principal) { principal_ = std::move(principal); }
  // Set by the server for a route of Scope::kCommunity: RequireRole must pass before a success.
  void set_community_check_pending() { community_check_pending_.store(true); }

 private:
  ApiRequest request_;
  std::string path_;
  const ApiServices& services_;
  Runner blocking_;
  Runner resume_;
  Responder respond_;
  std::vector<std::pair<std::string, std::string>> params_;  // decoded, in pattern order
  QueryParams query_;
  Principal principal_;
  std::atomic<bool> community_check_pending_{false};
  std::atomic<bool> answered_{false};
};

using Handler = std::function<Status(Call&)>;

enum class RunOn {
  kIoThread,      // must not block: parse, build JSON, Submit to ingest, call Blocking()
  kBlockingPool,  // may block on the store
};
enum class Access {
  // The default: an API token (Authorization: Bearer) or a signed-in session (the qz_session
  // cookie; then a method other than GET and HEAD must carry its X-CSRF-Token), whose role is at
  // least the route's required_role().
  kSignedIn,
  kPublic,  // no token (e.g. webhooks verified by the platform's signature, /healthz, sign-in)
};
// Whose role the gate compares with a route's required_role().
enum class Scope {
  // The default: the caller's base role (Principal::role), whatever the request is about.
  kGlobal,
  // The route acts inside one community that only its handler can tell (the community of a
  // decision, a task, an action, a group). The gate admits a caller whose best role in any
  // community (Principal::BestRole) meets the route's role; the handler then calls
  // Call::RequireRole with the community once it knows it.
  kCommunity,
};

// One HTTP route. `pattern` is an absolute path whose segments are literals or typed parameters:
// `{name}` (any non-empty segment, percent-decoded, valid UTF-8) or `{name:int}` (a positive
// decimal integer; otherwise the answer is 400 naming `name`); "/" alone is the root. E.g.
//   {"GET", "/api/v1/members/{id:int}/events", handler, RunOn::kBlockingPool}
//   {"PUT", "/api/v1/x", handler, RunOn::kIoThread, Access::kSignedIn, AccountRole::kAdmin}
struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  RunOn run_on = RunOn::kIoThread;
  Access access = Access::kSignedIn;
  // The least role a caller needs (a public route needs none). Unset: viewer for GET and HEAD
  // (reading), operator for every other method (acting). Configuration (playbooks, bindings,
  // platform settings, accounts) sets kAdmin.
  std::optional<AccountRole> min_role;
  Scope scope = Scope::kGlobal;

  AccountRole required_role() const {
    if (min_role) return *min_role;
    return method == "GET" || method == "HEAD" ? AccountRole::kViewer : AccountRole::kOperator;
  }
};

// The routes a server serves. Filled before the server starts (src/app adds the contributed
// ones); immutable, so thread-safe, once the server runs.
class RouteTable {
 public:
  // Errors: kInvalidArgument (field "pattern" or "method") for a malformed route; kAlreadyExists
  // for a method and path shape that a route added before already serves.
  Status Add(Route route);
  // Adds every route of `other`, stopping at the first error.
  Status AddAll(RouteTable other);
  size_t size() const { return routes_.size(); }

  // What a path and method resolve to.
  struct Match {
    const Route* route = nullptr;  // the route for this method, if any
    struct RawParam {
      std::string_view name;   // views the route's pattern
      std::string_view value;  // views the path passed to Find, not decoded
      bool integer = false;
    };
    std::vector<RawParam> raw_params;  // `route`'s parameters, in pattern order
    std::string allow;        // when the path matches but not the method: "GET, PUT"
    bool all_public = false;  // every route matching the path is public
  };
  // The most specific route for `path` (a literal segment beats a parameter), by shape only:
  // parameters are decoded and typed by DecodeParams.
  Match Find(std::string_view method, std::string_view path) const;
  // Decodes and type-checks a match's parameters: 400 naming the parameter on failure.
  static Result<std::vector<std::pair<std::string, std::string>>> DecodeParams(const Match& match);

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
    bool integer = false;  // `{name:int}`
  };
  struct Compiled {
    Route route;
    std::vector<Segment> segments;
  };
  std::vector<std::unique_ptr<Compiled>> routes_;  // stable addresses for Match::route
};

namespace api_internal {
// Percent-decodes a query component ('+' is a space) into `out`; false if an escape is
// malformed.
bool PercentDecode(std::string_view in, std::string& out);
// Percent-decodes one path segment ('+' stays a '+') into `out`; false if an escape is malformed.
bool PercentDecodePath(std::string_view in, std::string& out);
// Strict positive decimal integer (no sign, no leading '+', fits in int64). 0 if invalid.
int64_t ParsePositiveInt(std::string_view text);
}  // namespace api_internal

}  // namespace qz
