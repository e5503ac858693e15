// The dispatcher: authentication (tokens, session cookies and their CSRF tokens), the routes'
// roles, route resolution and the ingest/HTTP metrics. The handlers are in routes/ (built-in) or
// wherever a contributor keeps them.
#include "server/api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/crypto.hpp"
#include "engine/ingest.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

// Known-good token hashes are re-checked against the store this often, so a token removed from
// the store (or given another role) stops working (or changes) within this time without a
// restart.
constexpr TimeMs kTokenCacheTtlMs = 5 * 60 * 1000;
constexpr size_t kTokenCacheMaxEntries = 4096;
constexpr const char* kIngestCollector = "ingest";
constexpr const char* kHttpCollector = "http";

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Caches the tokens the store confirmed, by hash, so the hot path does not touch the database.
// An entry verified before the store's last token deletion (`deletions`, read before the store
// was asked) is not used: a deleted token is refused at once.
class TokenCache {
 public:
  std::optional<ApiToken> Find(const std::string& hash, TimeMs now, uint64_t deletions) {
    std::lock_guard lock(mu_);
    auto it = verified_.find(hash);
    if (it == verified_.end()) return std::nullopt;
    if (now - it->second.at > kTokenCacheTtlMs || now < it->second.at ||
        it->second.deletions != deletions) {
      verified_.erase(it);
      return std::nullopt;
    }
    return it->second.token;
  }
  void Insert(const ApiToken& token, TimeMs now, uint64_t deletions) {
    std::lock_guard lock(mu_);
    if (verified_.size() >= kTokenCacheMaxEntries) verified_.clear();  // only valid tokens get here
    verified_[token.hash] = {token, now, deletions};
  }

 private:
  struct Entry {
    ApiToken token;
    TimeMs at = 0;           // when the store confirmed it
    uint64_t deletions = 0;  // the store's token deletions before it was asked
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> verified_;  // hash → the token
};

Principal TokenPrincipal(const ApiToken& token) {
  return {.kind = Principal::Kind::kToken, .name = token.name, .role = token.role};
}

// The account signed in with the session whose secret hashes to `hash`, as of `now`. Every
// failure is 401: an unknown (forged, ended) or expired session, a removed or disabled account.
// The roles (base and per community) are the account's now, so a changed role applies to
// sessions already open.
Result<Principal> SessionPrincipal(Store& store, const std::string& hash, TimeMs now) {
  const Status signed_out(Code::kUnauthenticated,
                          "the session has ended or is not valid; sign in again "
                          "(POST /api/v1/session)");
  QZ_ASSIGN_OR_RETURN(const std::optional<Session> session, store.GetSession(hash));
  if (!session || session->expires_at <= now) return signed_out;
  QZ_ASSIGN_OR_RETURN(const std::optional<Account> account, store.GetAccount(session->account));
  if (!account || account->disabled) return signed_out;
  QZ_ASSIGN_OR_RETURN(CommunityRoles community_roles, store.GetCommunityRoles(account->name));
  return Principal{.kind = Principal::Kind::kAccount,
                   .name = account->name,
                   .role = account->role,
                   .community_roles = std::move(community_roles),
                   .session_hash = session->hash,
                   .csrf = session->csrf,
                   .session_expires_at = session->expires_at};
}

bool IsSafeMethod(std::string_view method) { return method == "GET" || method == "HEAD"; }

}  // namespace

namespace api_internal {

std::string_view BearerToken(std::string_view authorization) {
  authorization = TrimSpace(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  if (!IEquals(authorization.substr(0, kScheme.size()), kScheme)) return {};
  if (authorization[kScheme.size()] != ' ') return {};
  std::string_view token = TrimSpace(authorization.substr(kScheme.size() + 1));
  if (token.find(' ') != std::string_view::npos) return {};
  return token;
}

}  // namespace api_internal

// ---------------------------------------------------------------------------------------------

struct Api::Impl {
  Impl(const ApiServices& services, MetricsRegistry& metrics, Runner blocking,
       const AuthOptions& auth)
      : services(services),
        metrics(metrics),
        blocking(std::move(blocking)),
        auth(auth),
        sign_ins(auth.max_failed_sign_ins, auth.failed_sign_in_window_ms) {}

  ~Impl() {
    for (const char* name : registered) metrics.Remove(name);
  }

  Status AddBuiltinRoutes() {
    QZ_RETURN_IF_ERROR(AddOpsRoutes(routes, metrics));
    QZ_RETURN_IF_ERROR(AddEventRoutes(routes, rejected_without_ingest));
    QZ_RETURN_IF_ERROR(AddCommunityRoutes(routes));
    QZ_RETURN_IF_ERROR(AddMemberRoutes(routes));
    QZ_RETURN_IF_ERROR(AddPlaybookRoutes(routes));
    QZ_RETURN_IF_ERROR(AddModuleRoutes(routes));
    QZ_RETURN_IF_ERROR(AddSessionRoutes(routes, auth, sign_ins));
    return AddOutboxRoutes(routes);
  }

  Status RegisterMetrics() {
    QZ_RETURN_IF_ERROR(metrics.Add(kIngestCollector, [this](std::string& out) {
      RenderIngestMetrics(out);
    }));
    registered.push_back(kIngestCollector);
    QZ_RETURN_IF_ERROR(metrics.Add(kHttpCollector, [this](std::string& out) {
      out += "# HELP qunzhu_http_requests_total HTTP responses written, by status class.\n";
      out += "# TYPE qunzhu_http_requests_total counter\n";
      for (size_t i = 1; i < http_responses.size(); ++i) {
        out += "qunzhu_http_requests_total{code=\"" + std::to_string(i) + "xx\"} " +
               std::to_string(http_responses[i].load(std::memory_order_relaxed)) + "\n";
      }
    }));
    registered.push_back(kHttpCollector);
    return Status::Ok();
  }

  void RenderIngestMetrics(std::string& out) const {
    const IngestMetrics& m = services.ingest.metrics();
    auto load = [](const std::atomic<int64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    RenderMetric(out, "qunzhu_events_ingested_total", "counter",
                 "Events appended to the log (durable).", load(m.ingested));
    RenderMetric(out, "qunzhu_events_duplicate_total", "counter",
                 "Events already in the log (same platform and id), ignored.", load(m.duplicates));
    RenderMetric(out, "qunzhu_events_rejected_total", "counter", "Events rejected as invalid.",
                 load(m.rejected) + load(rejected_without_ingest));
    RenderMetric(out, "qunzhu_commits_total", "counter", "Group commits.", load(m.commits));
    RenderMetric(out, "qunzhu_commit_failures_total", "counter",
                 "Group commits that failed (nothing applied).", load(m.failed_commits));
    RenderMetric(out, "qunzhu_ingest_queue_events", "gauge",
                 "Events queued for the writer, not yet committed.", load(m.queued_events));
    m.commit_seconds.Render(out, "qunzhu_commit_seconds", "Time one group commit took.");
    RenderMetric(out, "qunzhu_state_load_seconds", "gauge",
                 "Time the last start-up state load took.", services.ingest.state_load_seconds());
  }

  // The order of the checks: a public route needs no token; otherwise authentication comes first
  // (an Authorization header, else the session cookie), so nothing about the API's shape is told
  // to a caller without one; then Authorized's checks.
  void Handle(const std::shared_ptr<Call>& call) {
    const std::string& method = call->method();
    RouteTable::Match match = routes.Find(method, call->path());
    const bool public_route = match.route != nullptr && match.route->access == Access::kPublic;
    if (public_route || (match.route == nullptr && match.all_public)) {
      return Dispatch(call, match);
    }
    const ApiRequest& request = call->request();
    // A request that sends an Authorization header is judged by it alone, cookie or not.
    if (!request.authorization.empty()) return AuthenticateToken(call, match);
    const std::string_view cookie = api_internal::CookieValue(request, kSessionCookie);
    if (!cookie.empty()) return AuthenticateSession(call, Sha256Hex(cookie));
    call->Fail(Status(Code::kUnauthenticated,
                      "an 'Authorization: Bearer <token>' header or a signed-in session "
                      "(POST /api/v1/session) is required"));
  }

  void AuthenticateToken(const std::shared_ptr<Call>& call, const RouteTable::Match& match) {
    const std::string_view token = api_internal::BearerToken(call->request().authorization);
    if (token.empty()) {
      return call->Fail(
          Status(Code::kUnauthenticated, "an 'Authorization: Bearer <token>' header is required"));
    }
    std::string hash = Sha256Hex(token);  // the token itself goes no further
    const uint64_t deletions = services.store.token_deletions();
    if (auto known = tokens.Find(hash, services.clock.Now(), deletions)) {
      return Authorized(call, TokenPrincipal(*known), match);
    }
    call->Blocking([this, hash = std::move(hash), deletions](Call& c) {
      QZ_ASSIGN_OR_RETURN(const std::optional<ApiToken> found, services.store.FindToken(hash));
      if (!found) return Status(Code::kUnauthenticated, "invalid token");
      tokens.Insert(*found, services.clock.Now(), deletions);
      ResumeAuthorized(c, TokenPrincipal(*found));
      return Status::Ok();
    });
  }

  // Sessions are read from the store on every request (no cache), so signing out, a password
  // change or a disabled account end a session at once.
  void AuthenticateSession(const std::shared_ptr<Call>& call, std::string hash) {
    call->Blocking([this, hash = std::move(hash)](Call& c) {
      QZ_ASSIGN_OR_RETURN(Principal principal,
                          SessionPrincipal(services.store, hash, services.clock.Now()));
      ResumeAuthorized(c, std::move(principal));
      return Status::Ok();
    });
  }

  // Back onto the I/O thread (the match's views point into the call's path, which lives as long
  // as the call): routing may parse a large event batch.
  void ResumeAuthorized(Call& c, Principal principal) {
    c.Resume([this, principal = std::move(principal)](Call& c2) {
      Authorized(c2.shared_from_this(), principal, routes.Find(c2.method(), c2.path()));
      return Status::Ok();
    });
  }

  // After authentication: a session's write must carry its CSRF token (a browser sends the cookie
  // with a request another site's page makes; only our page knows the token), then the route's
  // role: the base role, or for a Scope::kCommunity route the best role in any community (the
  // handler checks the one it acts in: Call::RequireRole).
  void Authorized(const std::shared_ptr<Call>& call, const Principal& principal,
                  const RouteTable::Match& match) {
    if (principal.kind == Principal::Kind::kAccount && !IsSafeMethod(call->method())) {
      const std::string_view given = call->request().Header(kCsrfHeader);
      if (given.empty() || !ConstantTimeEquals(given, principal.csrf)) {
        return call->Fail(Status(Code::kPermissionDenied,
                                 "CSRF check failed: a request signed in with the session cookie "
                                 "must send the csrf token of its sign-in in X-CSRF-Token",
                                 "X-CSRF-Token"));
      }
    }
    const bool community_scoped =
        match.route != nullptr && match.route->scope == Scope::kCommunity;
    if (match.route != nullptr) {
      const AccountRole needed = match.route->required_role();
      const AccountRole have = community_scoped ? principal.BestRole() : principal.role;
      if (!RoleAllows(have, needed)) {
        return call->Fail(Status(
            Code::kPermissionDenied,
            fmt::format("{} {} needs the role {} (or higher){}; {} '{}' has the role {}{}",
                        call->method(), match.route->pattern, AccountRoleName(needed),
                        community_scoped ? " in the community it acts in" : "",
                        principal.kind == Principal::Kind::kToken ? "the token" : "the account",
                        principal.name, AccountRoleName(principal.role),
                        community_scoped && !principal.community_roles.empty()
                            ? fmt::format(" (at most {} in any community)", AccountRoleName(have))
                            : "")));
      }
    }
    call->set_principal(principal);
    if (community_scoped) call->set_community_check_pending();
    Dispatch(call, match);
  }

  void Dispatch(const std::shared_ptr<Call>& call, const RouteTable::Match& match) {
    if (match.route == nullptr) {
      if (!match.allow.empty()) return call->Respond(MethodNotAllowed(match.allow));
      return call->Fail(Status::NotFound("no such endpoint"));
    }
    // Bodies are taken as sent: a compressed one would be parsed as if it were plain.
    const std::string_view encoding = TrimSpace(call->request().content_encoding);
    if (!encoding.empty() && !IEquals(encoding, "identity")) {
      return call->Fail(Status(Code::kUnsupportedMediaType,
                               "Content-Encoding '" + std::string(encoding) +
                                   "' is not supported; send the body uncompressed (identity)"));
    }
    auto params = RouteTable::DecodeParams(match);
    if (!params.ok()) return call->Fail(params.status());
    const std::string& target = call->request().target;
    const size_t qmark = target.find('?');
    auto query = QueryParams::Parse(qmark == std::string::npos ? std::string_view()
                                                               : std::string_view(target).substr(qmark + 1));
    if (!query.ok()) return call->Fail(query.status());
    call->set_params(std::move(*params));
    call->set_query(std::move(*query));
    const Route& route = *match.route;
    if (route.run_on == RunOn::kBlockingPool) return call->Blocking(route.handler);
    call->Run(route.handler);
  }

  const ApiServices services;
  MetricsRegistry& metrics;
  std::vector<const char*> registered;  // the collectors this Api added to `metrics`
  const Runner blocking;
  const AuthOptions auth;
  SignInLimiter sign_ins;  // failed sign-ins (routes/sessions.cpp)
  RouteTable routes;  // filled before the first request; immutable after
  TokenCache tokens;
  std::atomic<int64_t> rejected_without_ingest{0};  // all-rejected batches never reach ingest
  std::array<std::atomic<int64_t>, 6> http_responses{};  // by status / 100 (1xx..5xx)
};

Result<std::unique_ptr<Api>> Api::Make(const ApiServices& services, RouteTable routes,
                                       MetricsRegistry& metrics, Runner blocking,
                                       const AuthOptions& auth) {
  auto impl = std::make_unique<Impl>(services, metrics, std::move(blocking), auth);
  QZ_RETURN_IF_ERROR(impl->AddBuiltinRoutes());
  QZ_RETURN_IF_ERROR(impl->routes.AddAll(std::move(routes)));
  QZ_RETURN_IF_ERROR(impl->RegisterMetrics());  // ~Impl removes only what it added
  return std::unique_ptr<Api>(new Api(std::move(impl)));
}

Api::Api(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Api::~Api() = default;

void Api::Handle(ApiRequest request, Runner resume, Respond respond) {
  std::shared_ptr<Call> call;
  try {
    const std::string& target = request.target;
    std::string path = target.substr(0, target.find('?'));
    call = std::make_shared<Call>(std::move(request), std::move(path), impl_->services,
                                  impl_->blocking, std::move(resume), respond);
  } catch (...) {
    try {
      respond(ErrorResponse(Status::Internal("internal error")));
    } catch (...) {
    }
    return;
  }
  call->Run([this](Call& c) {
    impl_->Handle(c.shared_from_this());
    return Status::Ok();
  });
}

void Api::CountResponse(int status) {
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5) impl_->http_responses[cls].fetch_add(1, std::memory_order_relaxed);
}

}  // namespace qz
