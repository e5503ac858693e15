// The dispatcher: authentication, route resolution and the ingest/HTTP metrics. The handlers
// are in routes/ (built-in) or wherever a contributor keeps them.
#include "server/api.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <cctype>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/crypto.hpp"
#include "engine/ingest.hpp"
#include "server/routes/routes.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

// Known-good token hashes are re-checked against the store this often, so a token removed from
// the store stops working within this time without a restart.
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

// Caches token hashes the store confirmed, so the hot path does not touch the database.
class TokenCache {
 public:
  bool Contains(const std::string& hash, TimeMs now) {
    std::lock_guard lock(mu_);
    auto it = verified_.find(hash);
    if (it == verified_.end()) return false;
    if (now - it->second > kTokenCacheTtlMs || now < it->second) {
      verified_.erase(it);
      return false;
    }
    return true;
  }
  void Insert(const std::string& hash, TimeMs now) {
    std::lock_guard lock(mu_);
    if (verified_.size() >= kTokenCacheMaxEntries) verified_.clear();  // only valid tokens get here
    verified_[hash] = now;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, TimeMs> verified_;  // hash → when the store confirmed it
};

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
  Impl(const ApiServices& services, MetricsRegistry& metrics, Runner blocking)
      : services(services), metrics(metrics), blocking(std::move(blocking)) {}

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

  // The order of the checks: a public route needs no token; otherwise the token comes first,
  // so nothing about the API's shape is told to a caller without one.
  void Handle(const std::shared_ptr<Call>& call) {
    const std::string& method = call->method();
    RouteTable::Match match = routes.Find(method, call->path());
    const bool public_route = match.route != nullptr && match.route->access == Access::kPublic;
    if (public_route || (match.route == nullptr && match.all_public)) {
      return Dispatch(call, match);
    }
    const std::string_view token = api_internal::BearerToken(call->request().authorization);
    if (token.empty()) {
      return call->Fail(
          Status(Code::kUnauthenticated, "an 'Authorization: Bearer <token>' header is required"));
    }
    std::string hash = Sha256Hex(token);  // the token itself goes no further
    if (tokens.Contains(hash, services.clock.Now())) return Dispatch(call, match);
    call->Blocking([this, hash = std::move(hash)](Call& c) {
      QZ_ASSIGN_OR_RETURN(const bool known, services.store.HasToken(hash));
      if (!known) return Status(Code::kUnauthenticated, "invalid token");
      tokens.Insert(hash, services.clock.Now());
      // Back onto the I/O thread (the match's views point into the call's path, which lives as
      // long as the call): routing may parse a large event batch.
      c.Resume([this](Call& c2) {
        Dispatch(c2.shared_from_this(), routes.Find(c2.method(), c2.path()));
        return Status::Ok();
      });
      return Status::Ok();
    });
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
  RouteTable routes;  // filled before the first request; immutable after
  TokenCache tokens;
  std::atomic<int64_t> rejected_without_ingest{0};  // all-rejected batches never reach ingest
  std::array<std::atomic<int64_t>, 6> http_responses{};  // by status / 100 (1xx..5xx)
};

Result<std::unique_ptr<Api>> Api::Make(const ApiServices& services, RouteTable routes,
                                       MetricsRegistry& metrics, Runner blocking) {
  auto impl = std::make_unique<Impl>(services, metrics, std::move(blocking));
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
