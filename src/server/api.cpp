#include "server/api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <exception>
#include <initializer_list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/text/utf8.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "engine/scheduler.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "playbook/playbook.hpp"
#include "store/store.hpp"

namespace qz {

// The one place a Code becomes an HTTP status.
int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kPayloadTooLarge: return 413;
    case Code::kUnsupportedMediaType: return 415;
    case Code::kResourceExhausted: return 429;
    case Code::kUnavailable: return 503;
    case Code::kInternal: return 500;
  }
  return 500;
}

namespace {

// Ordered, so responses list fields in the documented order.
using Json = nlohmann::ordered_json;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 1000;
constexpr size_t kMaxQueryBytes = 256;  // `q` on /members
constexpr size_t kMaxPlaybookBytes = 1 << 20;  // PUT .../playbook
// Known-good token hashes are re-checked against the store this often, so a token removed from
// the store stops working within this time without a restart.
constexpr TimeMs kTokenCacheTtlMs = 5 * 60 * 1000;
constexpr size_t kTokenCacheMaxEntries = 4096;

// Never throws: invalid UTF-8 (which can only come from echoed input) is replaced, not fatal.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

ApiResponse JsonResponse(int status, const Json& body) {
  ApiResponse res;
  res.status = status;
  res.body = Dump(body);
  return res;
}

std::string ErrorBody(std::string_view code, const std::string& message, const std::string& field) {
  Json err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return Dump(Json{{"error", std::move(err)}});
}

ApiResponse MethodNotAllowed(std::string_view allow) {
  ApiResponse res;
  res.status = 405;
  res.body = ErrorBody("method_not_allowed", "method not allowed; use " + std::string(allow), {});
  res.headers.emplace_back("Allow", std::string(allow));
  return res;
}

ApiResponse RouteNotFound() {
  return ErrorResponse(Status::NotFound("no such endpoint"));
}

Json TimeJson(TimeMs ms) { return ms == 0 ? Json(nullptr) : Json(FormatRfc3339(ms)); }
Json IdJson(int64_t id) { return id == kNoId ? Json(nullptr) : Json(id); }

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string MediaType(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  return AsciiLower(TrimSpace(content_type.substr(0, semi)));
}

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
}

// Decoded query parameters; a repeated name's last value wins.
class Query {
 public:
  // Fails (400, field = the parameter) on a malformed percent escape or invalid UTF-8.
  static Result<Query> Parse(std::string_view query) {
    Query q;
    while (!query.empty()) {
      const size_t amp = query.find('&');
      std::string_view pair = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (pair.empty()) continue;
      const size_t eq = pair.find('=');
      std::string name, value;
      if (!api_internal::PercentDecode(pair.substr(0, eq), name)) {
        return Status::Invalid("malformed percent-encoding", "query");
      }
      if (eq != std::string_view::npos && !api_internal::PercentDecode(pair.substr(eq + 1), value)) {
        return Status::Invalid("malformed percent-encoding", name);
      }
      if (!IsValidUtf8(name)) return Status::Invalid("parameter name is not UTF-8", "query");
      if (!IsValidUtf8(value)) return Status::Invalid("not valid UTF-8", name);
      q.values_[std::move(name)] = std::move(value);
    }
    return q;
  }

  const std::string* Get(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? nullptr : &it->second;
  }

  // An optional positive id parameter. 0 when absent.
  Result<int64_t> Id(const std::string& name) const {
    const std::string* v = Get(name);
    if (v == nullptr) return int64_t{0};
    const int64_t id = api_internal::ParsePositiveInt(*v);
    if (id == 0) return Status::Invalid("must be a positive integer", name);
    return id;
  }

  // An optional non-negative integer parameter (a sequence number). 0 when absent.
  Result<int64_t> NonNegative(const std::string& name) const {
    const std::string* v = Get(name);
    if (v == nullptr || *v == "0") return int64_t{0};
    const int64_t n = api_internal::ParsePositiveInt(*v);
    if (n == 0) return Status::Invalid("must be a non-negative integer", name);
    return n;
  }

  // An optional boolean parameter ("true" or "false").
  Result<bool> Bool(const std::string& name, bool absent) const {
    const std::string* v = Get(name);
    if (v == nullptr) return absent;
    if (*v == "true") return true;
    if (*v == "false") return false;
    return Status::Invalid("must be true or false", name);
  }

  Result<int> Limit() const {
    const std::string* v = Get("limit");
    if (v == nullptr) return kDefaultLimit;
    const int64_t n = api_internal::ParsePositiveInt(*v);
    if (n < 1 || n > kMaxLimit) {
      return Status::Invalid("must be an integer from 1 to " + std::to_string(kMaxLimit), "limit");
    }
    return static_cast<int>(n);
  }

 private:
  std::unordered_map<std::string, std::string> values_;
};

Json CommunityJson(const Community& c) {
  return {{"id", c.id},
          {"slug", c.slug},
          {"name", c.name},
          {"time_zone", c.time_zone},
          {"created_at", TimeJson(c.created_at)}};
}

Json GroupJson(const Group& g) {
  return {{"id", g.id},
          {"community_id", g.community_id},
          {"platform", g.platform},
          {"external_id", g.external_id},
          {"name", g.name},
          {"type", GroupTypeName(g.type)},
          {"capacity", g.capacity},
          {"time_zone", g.time_zone},
          {"first_seen", TimeJson(g.first_seen)},
          {"last_activity", TimeJson(g.last_activity)},
          {"member_count", g.member_count},
          {"joins", g.joins},
          {"leaves", g.leaves},
          {"messages", g.messages}};
}

Json MemberJson(const Member& m) {
  return {{"id", m.id},
          {"community_id", m.community_id},
          {"display_name", m.display_name},
          {"first_seen", TimeJson(m.first_seen)},
          {"last_seen", TimeJson(m.last_seen)},
          {"referrer_id", IdJson(m.referrer_id)},
          {"channel", m.channel},
          {"last_message", TimeJson(m.last_message)},
          {"last_checkin", TimeJson(m.last_checkin)},
          {"counters",
           {{"messages", m.messages},
            {"checkins", m.checkins},
            {"link_clicks", m.link_clicks},
            {"orders", m.orders},
            {"order_amount", FormatAmountE4(m.order_amount_e4)},
            {"invited", m.invited}}}};
}

Json ProfileJson(const MemberProfile& p) {
  Json j = MemberJson(p.member);
  Json counters = std::move(j["counters"]);
  j.erase("counters");
  Json identities = Json::array();
  for (const Identity& i : p.identities) {
    identities.push_back({{"community_id", i.community_id},
                          {"platform", i.platform},
                          {"external_id", i.external_id},
                          {"name", i.name}});
  }
  Json memberships = Json::array();
  for (const Membership& m : p.memberships) {
    memberships.push_back({{"group_id", m.group_id},
                           {"role", RoleName(m.role)},
                           {"active", m.active},
                           {"joined_at", TimeJson(m.joined_at)},
                           {"left_at", TimeJson(m.left_at)},
                           {"left_reason", m.left_at == 0 ? Json(nullptr)
                                                          : Json(LeaveReasonName(m.left_reason))},
                           {"via_code", m.via_code},
                           {"inviter_id", IdJson(m.inviter_id)},
                           {"messages", m.messages},
                           {"last_message", TimeJson(m.last_message)}});
  }
  Json names = Json::array();
  for (const MemberName& n : p.names) {
    names.push_back({{"name", n.name}, {"first_seen", TimeJson(n.first_seen)}});
  }
  Json tags = Json::array();
  for (const MemberTag& t : p.tags) {
    tags.push_back({{"tag", t.tag}, {"added_at", TimeJson(t.added_at)}});
  }
  j["identities"] = std::move(identities);
  j["memberships"] = std::move(memberships);
  j["names"] = std::move(names);
  j["tags"] = std::move(tags);
  j["counters"] = std::move(counters);
  return j;
}

Json RejectedJson(const std::vector<ItemError>& rejected) {
  Json out = Json::array();
  for (const ItemError& r : rejected) {
    Json item = {{"index", r.index}, {"error", r.error.ToString()}};
    if (!r.error.field().empty()) item["field"] = r.error.field();
    out.push_back(std::move(item));
  }
  return out;
}

ApiResponse IngestResponse(const IngestResult& r) {
  if (!r.status.ok()) return ErrorResponse(r.status);
  return JsonResponse(200, {{"accepted", r.accepted},
                            {"duplicates", r.duplicates},
                            {"rejected", RejectedJson(r.rejected)}});
}

// "/api/v1/members/{id}/events" → the stored canonical objects embedded verbatim (no re-encoding:
// numbers and key order stay exactly as stored), each with "seq" first.
Result<std::string> MemberEventsBody(const std::vector<StoredEvent>& events, int limit) {
  std::string out = "{\"events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    const StoredEvent& e = events[i];
    std::string_view obj = e.json;
    while (!obj.empty() && IsBlank(obj.substr(0, 1))) obj.remove_prefix(1);
    while (!obj.empty() && IsBlank(obj.substr(obj.size() - 1))) obj.remove_suffix(1);
    if (obj.size() < 2 || obj.front() != '{' || obj.back() != '}') {
      return Status::Internal("stored event " + std::to_string(e.seq) + " is not a JSON object");
    }
    std::string_view inner = obj.substr(1, obj.size() - 2);
    if (i > 0) out += ',';
    out += "{\"seq\":";
    out += std::to_string(e.seq);
    if (!IsBlank(inner)) {
      out += ',';
      out += inner;
    }
    out += '}';
  }
  out += "],\"next_before\":";
  const bool full = !events.empty() && events.size() == static_cast<size_t>(limit);
  out += full ? std::to_string(events.back().seq) : std::string("null");
  out += '}';
  return out;
}

Json ActionRecordJson(const OutboxRecord& r) {
  Json action;  // null if the stored action cannot be written as JSON (never expected)
  try {
    action = Json::parse(ActionToJson(r.action), nullptr, /*allow_exceptions=*/false);
    if (action.is_discarded()) action = nullptr;
  } catch (const std::exception& e) {
    spdlog::warn("outbox action {}: cannot write as JSON: {}", r.id, e.what());
  }
  return {{"id", r.id},
          {"type", ActionTypeName(r.action.type)},
          {"status", ActionStatusName(r.status)},
          {"attempts", r.attempts},
          {"next_attempt_at", TimeJson(r.next_attempt_at)},
          {"last_error", r.last_error},
          {"platform_ref", r.platform_ref},
          {"idempotency_key", r.idempotency_key},
          {"created_at", TimeJson(r.created_at)},
          {"updated_at", TimeJson(r.updated_at)},
          {"action", std::move(action)}};
}

Json TaskJson(const OperatorTask& t) {
  return {{"id", t.id},
          {"community_id", IdJson(t.community_id)},
          {"group_id", IdJson(t.group_id)},
          {"member_id", IdJson(t.member_id)},
          {"kind", t.kind},
          {"reason", t.reason},
          {"evidence", t.evidence},
          {"cause_event", t.cause_event},
          {"rule", t.rule},
          {"open", t.open},
          {"created_at", TimeJson(t.created_at)}};
}

Json SandboxEntryJson(const SandboxEntry& e) {
  return {{"seq", e.seq},
          {"time", TimeJson(e.time)},
          {"kind", e.kind},
          {"member", e.member},
          {"name", e.name},
          {"text", e.text},
          {"message_id", e.message_id},
          {"reply_to", e.reply_to},
          {"duration_s", e.duration_s},
          {"deleted", e.deleted},
          {"action_id", IdJson(e.action_id)}};
}

// A sandbox event once ingested: the canonical event embedded verbatim, and what the log made
// of it (accepted 1, or a duplicate).
ApiResponse SandboxEventResponse(const IngestResult& r, const std::string& event_json) {
  if (!r.status.ok()) return ErrorResponse(r.status);
  if (!r.rejected.empty()) {
    const Status& e = r.rejected.front().error;
    return ErrorResponse(e.ok() ? Status::Invalid("the event was rejected") : e);
  }
  ApiResponse res;
  res.body = "{\"event\":" + event_json + ",\"accepted\":" + std::to_string(r.accepted) +
             ",\"duplicates\":" + std::to_string(r.duplicates) + "}";
  return res;
}

// A JSON object body whose values are all strings, e.g. the sandbox's member-side requests.
// Every key must be one of `allowed`; those in `required` must be present and non-empty. Errors
// name the field ("body" when the body is not a JSON object).
using StringFields = std::map<std::string, std::string, std::less<>>;
Result<StringFields> ParseStringFields(std::string_view body,
                                       std::initializer_list<std::string_view> allowed,
                                       std::initializer_list<std::string_view> required) {
  const Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Invalid("the body must be a JSON object", "body");
  }
  StringFields out;
  for (const auto& [key, value] : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Status::Invalid("unknown field", key);
    }
    if (!value.is_string()) return Status::Invalid("must be a string", key);
    out[key] = value.get<std::string>();
  }
  for (std::string_view key : required) {
    auto it = out.find(key);
    if (it == out.end() || it->second.empty()) {
      return Status::Invalid("is required", std::string(key));
    }
  }
  return out;
}

std::string FieldOr(const StringFields& fields, std::string_view key) {
  auto it = fields.find(key);
  return it == fields.end() ? std::string() : it->second;
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

ApiResponse ErrorResponse(const Status& status) {
  assert(!status.ok());
  const Code code = status.ok() ? Code::kInternal : status.code();
  ApiResponse res;
  res.status = HttpStatus(code);
  res.body = ErrorBody(CodeName(code), status.message(), status.field());
  if (code == Code::kResourceExhausted) res.headers.emplace_back("Retry-After", "1");
  if (code == Code::kUnauthenticated) res.headers.emplace_back("WWW-Authenticate", "Bearer");
  return res;
}

namespace api_internal {

bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex(in[i + 1]);
      const int lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

bool PercentDecodePath(std::string_view in, std::string& out) {
  // '+' is only a space in query components; escape it so PercentDecode keeps it.
  std::string escaped;
  escaped.reserve(in.size());
  for (const char c : in) {
    if (c == '+') {
      escaped += "%2B";
    } else {
      escaped += c;
    }
  }
  return PercentDecode(escaped, out);
}

int64_t ParsePositiveInt(std::string_view text) {
  if (text.empty() || text.size() > 18) return 0;  // 18 digits always fit in int64
  int64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view BearerToken(std::string_view authorization) {
  authorization = TrimSpace(authorization);
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size()) return {};
  if (AsciiLower(authorization.substr(0, kScheme.size())) != kScheme) return {};
  if (authorization[kScheme.size()] != ' ') return {};
  std::string_view token = TrimSpace(authorization.substr(kScheme.size() + 1));
  if (token.find(' ') != std::string_view::npos) return {};
  return token;
}

}  // namespace api_internal

// ---------------------------------------------------------------------------------------------

struct Api::Impl {
  // One request in flight. Shared by the tasks that handle it on the various threads.
  struct Call {
    ApiRequest request;
    std::string path;
    std::string query;
    Runner resume;
    Respond respond;
  };
  using CallPtr = std::shared_ptr<Call>;

  Impl(Store& store, Ingest& ingest, const Clock& clock, Runner blocking, ServerExtras extras)
      : store(store),
        ingest(ingest),
        clock(clock),
        blocking(std::move(blocking)),
        extras(extras) {}

  // Runs `fn`; an exception it lets out becomes a 500 (the transport ignores a second answer).
  template <typename F>
  static void Guarded(const CallPtr& c, F&& fn) noexcept {
    try {
      fn();
      return;
    } catch (const std::exception& e) {
      spdlog::error("{} {}: unhandled exception: {}", c->request.method, c->path, e.what());
    } catch (...) {
      spdlog::error("{} {}: unhandled exception", c->request.method, c->path);
    }
    try {
      c->respond(ErrorResponse(Status::Internal("internal error")));
    } catch (...) {  // nothing more can be done; the connection times out
    }
  }

  // Runs `fn` (→ ApiResponse; may block) on the blocking pool and responds with its result.
  template <typename F>
  void OnBlocking(const CallPtr& c, F fn) {
    blocking([c, fn = std::move(fn)]() mutable { Guarded(c, [&] { c->respond(fn()); }); });
  }

  // The completion for Ingest::Submit: runs on the writer thread (or at once, if refused), so it
  // only hands the result back to the connection's executor, where `make` builds the answer.
  template <typename F>  // ApiResponse(const IngestResult&)
  static Ingest::Done AnswerWhenDone(const CallPtr& c, F make) {
    return [c, make = std::move(make)](IngestResult r) noexcept {
      try {
        auto shared = std::make_shared<IngestResult>(std::move(r));
        c->resume([c, shared, make] { Guarded(c, [&] { c->respond(make(*shared)); }); });
      } catch (...) {
        try {
          c->respond(ErrorResponse(Status::Internal("internal error")));
        } catch (...) {
        }
      }
    };
  }

  void Handle(const CallPtr& c) {
    const std::string& target = c->request.target;
    const size_t qmark = target.find('?');
    c->path = target.substr(0, qmark);
    if (qmark != std::string::npos) c->query = target.substr(qmark + 1);

    if (c->path == "/healthz") {
      if (c->request.method != "GET") return c->respond(MethodNotAllowed("GET"));
      return c->respond(JsonResponse(200, {{"status", "ok"}}));
    }

    const std::string_view token = api_internal::BearerToken(c->request.authorization);
    if (token.empty()) {
      return c->respond(ErrorResponse(
          Status(Code::kUnauthenticated, "an 'Authorization: Bearer <token>' header is required")));
    }
    std::string hash = Sha256Hex(token);  // the token itself goes no further
    if (tokens.Contains(hash, clock.Now())) return Route(c);
    blocking([this, c, hash = std::move(hash)] {
      Guarded(c, [&] {
        auto known = store.HasToken(hash);
        if (!known.ok()) return c->respond(ErrorResponse(known.status()));
        if (!*known) {
          return c->respond(ErrorResponse(Status(Code::kUnauthenticated, "invalid token")));
        }
        tokens.Insert(hash, clock.Now());
        // Back onto the I/O thread: routing may parse a large event batch.
        c->resume([this, c] { Guarded(c, [&] { Route(c); }); });
      });
    });
  }

  void Route(const CallPtr& c) {
    const std::string& path = c->path;
    const std::string& method = c->request.method;
    constexpr std::string_view kMembers = "/api/v1/members/";
    constexpr std::string_view kCommunities = "/api/v1/communities/";
    constexpr std::string_view kSandbox = "/api/v1/sandbox/";
    if (path == "/api/v1/events") {
      if (method != "POST") return c->respond(MethodNotAllowed("POST"));
      return PostEvents(c);
    }
    const bool get = method == "GET";
    if (path == "/api/v1/stats") return get ? GetStats(c) : c->respond(MethodNotAllowed("GET"));
    if (path == "/api/v1/communities") {
      return get ? GetCommunities(c) : c->respond(MethodNotAllowed("GET"));
    }
    if (path == "/api/v1/groups") return get ? GetGroups(c) : c->respond(MethodNotAllowed("GET"));
    if (path == "/api/v1/members") {
      return get ? GetMembers(c) : c->respond(MethodNotAllowed("GET"));
    }
    if (path == "/metrics") return get ? GetMetrics(c) : c->respond(MethodNotAllowed("GET"));
    if (path == "/api/v1/actions") {
      return get ? GetActions(c) : c->respond(MethodNotAllowed("GET"));
    }
    if (path == "/api/v1/tasks") return get ? GetTasks(c) : c->respond(MethodNotAllowed("GET"));
    if (path.starts_with(kCommunities)) {
      // /api/v1/communities/{slug}/playbook
      std::string_view rest = std::string_view(path).substr(kCommunities.size());
      const size_t slash = rest.find('/');
      if (slash == 0 || slash == std::string_view::npos || rest.substr(slash) != "/playbook") {
        return c->respond(RouteNotFound());
      }
      std::string slug;
      if (!api_internal::PercentDecodePath(rest.substr(0, slash), slug) || !IsValidUtf8(slug)) {
        return c->respond(ErrorResponse(Status::Invalid("malformed community slug", "slug")));
      }
      if (get) return GetPlaybook(c, std::move(slug));
      if (method == "PUT") return PutPlaybook(c, std::move(slug));
      return c->respond(MethodNotAllowed("GET, PUT"));
    }
    if (path.starts_with(kSandbox)) {
      if (extras.sandbox == nullptr) return c->respond(RouteNotFound());
      return RouteSandbox(c, std::string_view(path).substr(kSandbox.size()));
    }
    if (path.starts_with(kMembers)) {
      std::string_view rest = std::string_view(path).substr(kMembers.size());
      const size_t slash = rest.find('/');
      const std::string_view id_text = rest.substr(0, slash);
      const std::string_view sub =
          slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
      if (id_text.empty() || (!sub.empty() && sub != "/events")) {
        return c->respond(RouteNotFound());
      }
      if (!get) return c->respond(MethodNotAllowed("GET"));
      const MemberId id = api_internal::ParsePositiveInt(id_text);
      if (id == 0) {
        return c->respond(ErrorResponse(Status::Invalid("must be a positive integer", "id")));
      }
      return sub.empty() ? GetMember(c, id) : GetMemberEvents(c, id);
    }
    return c->respond(RouteNotFound());
  }

  // POST /api/v1/events. Splitting and parsing run here, on the I/O thread; the answer comes
  // from the ingest writer once the batch is durable.
  void PostEvents(const CallPtr& c) {
    const std::string media = MediaType(c->request.content_type);
    const bool ndjson = media == "application/x-ndjson";
    if (!ndjson && media != "application/json") {
      return c->respond(ErrorResponse(
          Status(Code::kUnsupportedMediaType,
                 "Content-Type must be application/json (an array of events) or "
                 "application/x-ndjson (one event a line)")));
    }
    const std::string_view body = c->request.body;
    const Status no_events = Status::Invalid("no events", "body");
    if (IsBlank(body)) return c->respond(ErrorResponse(no_events));
    std::vector<RawItem> items;
    if (ndjson) {
      items = SplitNdjson(body);
    } else {
      auto split = SplitJsonArray(body);
      if (!split.ok()) return c->respond(ErrorResponse(split.status()));
      items = std::move(*split);
    }
    if (items.empty()) return c->respond(ErrorResponse(no_events));

    thread_local EventParser parser;  // one per I/O thread (EventParser is thread-compatible)
    IngestBatch batch = ParseBatch(items, parser);
    items.clear();
    std::string().swap(c->request.body);  // the batch owns copies; free the body while we wait

    if (batch.events.empty()) {
      // Nothing to make durable: answer now rather than queue an empty commit.
      rejected_without_ingest.fetch_add(static_cast<int64_t>(batch.rejected.size()),
                                        std::memory_order_relaxed);
      IngestResult r;
      r.rejected = std::move(batch.rejected);
      return c->respond(IngestResponse(r));
    }
    ingest.Submit(std::move(batch), AnswerWhenDone(c, [](const IngestResult& r) {
                    return IngestResponse(r);
                  }));
  }

  // /api/v1/sandbox/<rest>: "groups" or "groups/{group}/(messages|join|leave)".
  void RouteSandbox(const CallPtr& c, std::string_view rest) {
    const std::string& method = c->request.method;
    constexpr std::string_view kGroups = "groups";
    if (rest == kGroups) {
      if (method != "GET") return c->respond(MethodNotAllowed("GET"));
      return GetSandboxGroups(c);
    }
    if (!rest.starts_with(kGroups) || rest.substr(kGroups.size(), 1) != "/") {
      return c->respond(RouteNotFound());
    }
    rest.remove_prefix(kGroups.size() + 1);
    const size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos) return c->respond(RouteNotFound());
    const std::string_view sub = rest.substr(slash + 1);
    if (sub != "messages" && sub != "join" && sub != "leave") return c->respond(RouteNotFound());
    std::string group;
    if (!api_internal::PercentDecodePath(rest.substr(0, slash), group) || !IsValidUtf8(group)) {
      return c->respond(ErrorResponse(Status::Invalid("malformed group id", "group")));
    }
    if (sub == "messages") {
      if (method == "GET") return GetSandboxMessages(c, group);
      if (method == "POST") return PostSandbox(c, group, sub);
      return c->respond(MethodNotAllowed("GET, POST"));
    }
    if (method != "POST") return c->respond(MethodNotAllowed("POST"));
    return PostSandbox(c, group, sub);
  }

  // POST .../messages, .../join, .../leave. The sandbox (in memory, thread-safe) is called here
  // on the I/O thread; the answer comes from the ingest writer once the event is durable, so
  // the bot's reaction to it has been decided and written to the outbox.
  void PostSandbox(const CallPtr& c, const std::string& group, std::string_view what) {
    if (MediaType(c->request.content_type) != "application/json") {
      return c->respond(ErrorResponse(
          Status(Code::kUnsupportedMediaType, "Content-Type must be application/json")));
    }
    SandboxPlatform& sandbox = *extras.sandbox;
    const std::string_view body = c->request.body;
    std::optional<Result<Event>> event;
    if (what == "messages") {
      auto f = ParseStringFields(body, {"member", "name", "text", "community"}, {"member", "text"});
      if (!f.ok()) return c->respond(ErrorResponse(f.status()));
      event.emplace(sandbox.PostMessage(group, FieldOr(*f, "member"), FieldOr(*f, "name"),
                                        FieldOr(*f, "text"), FieldOr(*f, "community")));
    } else if (what == "join") {
      auto f = ParseStringFields(body, {"member", "name", "inviter", "code", "community"},
                                 {"member"});
      if (!f.ok()) return c->respond(ErrorResponse(f.status()));
      event.emplace(sandbox.Join(group, FieldOr(*f, "member"), FieldOr(*f, "name"),
                                 FieldOr(*f, "inviter"), FieldOr(*f, "code"),
                                 FieldOr(*f, "community")));
    } else {
      auto f = ParseStringFields(body, {"member", "community"}, {"member"});
      if (!f.ok()) return c->respond(ErrorResponse(f.status()));
      event.emplace(sandbox.Leave(group, FieldOr(*f, "member"), FieldOr(*f, "community")));
    }
    if (!event->ok()) return c->respond(ErrorResponse(event->status()));
    IngestBatch batch;
    std::string json = EventToJson(event->value());
    batch.json.push_back(json);
    batch.events.push_back(std::move(*event).value());
    batch.indexes.push_back(0);
    ingest.Submit(std::move(batch),
                  AnswerWhenDone(c, [json = std::move(json)](const IngestResult& r) {
                    return SandboxEventResponse(r, json);
                  }));
  }

  void GetSandboxMessages(const CallPtr& c, const std::string& group) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    auto after = query->NonNegative("after");
    if (!after.ok()) return c->respond(ErrorResponse(after.status()));
    auto limit = query->Limit();
    if (!limit.ok()) return c->respond(ErrorResponse(limit.status()));
    const std::vector<SandboxEntry> entries =
        extras.sandbox->Conversation(group, *after, static_cast<size_t>(*limit));
    Json messages = Json::array();
    for (const SandboxEntry& e : entries) messages.push_back(SandboxEntryJson(e));
    const bool full = !entries.empty() && entries.size() == static_cast<size_t>(*limit);
    Json next = full ? Json(entries.back().seq) : Json(nullptr);
    c->respond(JsonResponse(200, {{"group", group},
                                  {"messages", std::move(messages)},
                                  {"next_after", std::move(next)}}));
  }

  void GetSandboxGroups(const CallPtr& c) {
    Json groups = Json::array();
    for (const std::string& g : extras.sandbox->Groups()) groups.push_back(g);
    c->respond(JsonResponse(200, {{"groups", std::move(groups)}}));
  }

  void GetActions(const CallPtr& c) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    ActionQuery aq;
    if (const std::string* status = query->Get("status")) {
      aq.status = ParseActionStatus(*status);
      if (!aq.status) {
        return c->respond(ErrorResponse(Status::Invalid(
            "must be one of pending, sending, done, failed, possibly_sent", "status")));
      }
    }
    auto group = query->Id("group");
    if (!group.ok()) return c->respond(ErrorResponse(group.status()));
    if (*group != 0) aq.group_id = *group;
    auto cursor = query->Id("cursor");
    if (!cursor.ok()) return c->respond(ErrorResponse(cursor.status()));
    aq.after_id = *cursor;
    auto limit = query->Limit();
    if (!limit.ok()) return c->respond(ErrorResponse(limit.status()));
    aq.limit = *limit;
    OnBlocking(c, [this, aq] {
      auto list = store.ListActions(aq);
      if (!list.ok()) return ErrorResponse(list.status());
      Json out = Json::array();
      for (const OutboxRecord& r : *list) out.push_back(ActionRecordJson(r));
      const bool full = !list->empty() && list->size() == static_cast<size_t>(aq.limit);
      Json next = full ? Json(std::to_string(list->back().id)) : Json(nullptr);
      return JsonResponse(200, {{"actions", std::move(out)}, {"next_cursor", std::move(next)}});
    });
  }

  void GetTasks(const CallPtr& c) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    TaskQuery tq;
    auto open = query->Bool("open", true);
    if (!open.ok()) return c->respond(ErrorResponse(open.status()));
    tq.open_only = *open;
    auto cursor = query->Id("cursor");
    if (!cursor.ok()) return c->respond(ErrorResponse(cursor.status()));
    tq.after_id = *cursor;
    auto limit = query->Limit();
    if (!limit.ok()) return c->respond(ErrorResponse(limit.status()));
    tq.limit = *limit;
    OnBlocking(c, [this, tq] {
      auto list = store.ListTasks(tq);
      if (!list.ok()) return ErrorResponse(list.status());
      Json out = Json::array();
      for (const OperatorTask& t : *list) out.push_back(TaskJson(t));
      const bool full = !list->empty() && list->size() == static_cast<size_t>(tq.limit);
      Json next = full ? Json(std::to_string(list->back().id)) : Json(nullptr);
      return JsonResponse(200, {{"tasks", std::move(out)}, {"next_cursor", std::move(next)}});
    });
  }

  // PUT /api/v1/communities/{slug}/playbook. Parsing and validation run here; storing and
  // applying (SetPlaybook blocks until the writer applied it) on the blocking pool.
  void PutPlaybook(const CallPtr& c, std::string slug) {
    const std::string media = MediaType(c->request.content_type);
    if (media != "application/toml" && media != "text/plain") {
      return c->respond(ErrorResponse(Status(
          Code::kUnsupportedMediaType, "Content-Type must be application/toml or text/plain")));
    }
    if (c->request.body.size() > kMaxPlaybookBytes) {
      return c->respond(ErrorResponse(
          Status(Code::kPayloadTooLarge,
                 "a playbook is at most " + std::to_string(kMaxPlaybookBytes) + " bytes")));
    }
    if (extras.modules == nullptr) {
      return c->respond(ErrorResponse(Status::Unavailable("this server validates no playbooks")));
    }
    auto parsed = ParsePlaybook(c->request.body, "playbook", *extras.modules);
    if (!parsed.ok()) return c->respond(ErrorResponse(parsed.status()));
    if (parsed->community != slug) {
      return c->respond(ErrorResponse(Status::Invalid(
          "the playbook is for community '" + parsed->community + "', not '" + slug + "'",
          "community.slug")));
    }
    auto playbook = std::make_shared<const Playbook>(std::move(*parsed));
    OnBlocking(c, [this, c, playbook = std::move(playbook)]() mutable {
      // Stored and applied in one writer transaction: a playbook that fails to apply is not
      // stored either.
      if (Status s = ingest.SetPlaybook(playbook, std::move(c->request.body)); !s.ok()) {
        return ErrorResponse(s);
      }
      Json sections = Json::array();
      for (const auto& [key, config] : playbook->sections) sections.push_back(key);
      return JsonResponse(200, {{"community", playbook->community},
                                {"groups", playbook->groups.size()},
                                {"sections", std::move(sections)}});
    });
  }

  void GetPlaybook(const CallPtr& c, std::string slug) {
    OnBlocking(c, [this, slug = std::move(slug)] {
      auto list = store.LoadPlaybooks();
      if (!list.ok()) return ErrorResponse(list.status());
      for (StoredPlaybook& p : *list) {
        if (p.community != slug) continue;
        ApiResponse res;
        res.content_type = "text/plain; charset=utf-8";
        res.body = std::move(p.toml);
        return res;
      }
      return ErrorResponse(Status::NotFound("no playbook for community '" + slug + "'"));
    });
  }

  void GetStats(const CallPtr& c) {
    OnBlocking(c, [this] {
      auto s = store.Stats();
      if (!s.ok()) return ErrorResponse(s.status());
      return JsonResponse(200, {{"events", s->events},
                                {"members", s->members},
                                {"groups", s->groups},
                                {"communities", s->communities}});
    });
  }

  void GetCommunities(const CallPtr& c) {
    OnBlocking(c, [this] {
      auto list = store.ListCommunities();
      if (!list.ok()) return ErrorResponse(list.status());
      Json out = Json::array();
      for (const Community& x : *list) out.push_back(CommunityJson(x));
      return JsonResponse(200, {{"communities", std::move(out)}});
    });
  }

  void GetGroups(const CallPtr& c) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    auto community = query->Id("community");
    if (!community.ok()) return c->respond(ErrorResponse(community.status()));
    std::optional<CommunityId> filter;
    if (*community != 0) filter = *community;
    OnBlocking(c, [this, filter] {
      auto list = store.ListGroups(filter);
      if (!list.ok()) return ErrorResponse(list.status());
      Json out = Json::array();
      for (const Group& g : *list) out.push_back(GroupJson(g));
      return JsonResponse(200, {{"groups", std::move(out)}});
    });
  }

  void GetMembers(const CallPtr& c) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    MemberQuery mq;
    auto group = query->Id("group");
    if (!group.ok()) return c->respond(ErrorResponse(group.status()));
    if (*group != 0) mq.group_id = *group;
    auto community = query->Id("community");
    if (!community.ok()) return c->respond(ErrorResponse(community.status()));
    if (*community != 0) mq.community_id = *community;
    auto cursor = query->Id("cursor");
    if (!cursor.ok()) return c->respond(ErrorResponse(cursor.status()));
    mq.after_id = *cursor;
    auto limit = query->Limit();
    if (!limit.ok()) return c->respond(ErrorResponse(limit.status()));
    mq.limit = *limit;
    if (const std::string* q = query->Get("q")) {
      if (q->size() > kMaxQueryBytes) {
        return c->respond(ErrorResponse(
            Status::Invalid("longer than " + std::to_string(kMaxQueryBytes) + " bytes", "q")));
      }
      mq.q = *q;
    }
    OnBlocking(c, [this, mq = std::move(mq)] {
      auto list = store.ListMembers(mq);
      if (!list.ok()) return ErrorResponse(list.status());
      Json out = Json::array();
      for (const Member& m : *list) out.push_back(MemberJson(m));
      const bool full = !list->empty() && list->size() == static_cast<size_t>(mq.limit);
      Json next = full ? Json(std::to_string(list->back().id)) : Json(nullptr);
      return JsonResponse(200, {{"members", std::move(out)}, {"next_cursor", std::move(next)}});
    });
  }

  void GetMember(const CallPtr& c, MemberId id) {
    OnBlocking(c, [this, id] {
      auto profile = store.GetMember(id);
      if (!profile.ok()) {
        if (profile.status().code() == Code::kNotFound) {
          return ErrorResponse(Status::NotFound("no member " + std::to_string(id)));
        }
        return ErrorResponse(profile.status());
      }
      return JsonResponse(200, ProfileJson(*profile));
    });
  }

  void GetMemberEvents(const CallPtr& c, MemberId id) {
    auto query = Query::Parse(c->query);
    if (!query.ok()) return c->respond(ErrorResponse(query.status()));
    auto before = query->Id("before");
    if (!before.ok()) return c->respond(ErrorResponse(before.status()));
    auto limit = query->Limit();
    if (!limit.ok()) return c->respond(ErrorResponse(limit.status()));
    OnBlocking(c, [this, id, before = *before, limit = *limit] {
      auto events = store.MemberEvents(id, before, limit);
      if (!events.ok()) return ErrorResponse(events.status());
      auto body = MemberEventsBody(*events, limit);
      if (!body.ok()) {
        spdlog::error("GET /api/v1/members/{}/events: {}", id, body.status().ToString());
        return ErrorResponse(body.status());
      }
      ApiResponse res;
      res.body = std::move(*body);
      return res;
    });
  }

  void GetMetrics(const CallPtr& c) {
    auto text = [](std::string body) {
      ApiResponse res;
      res.content_type = "text/plain; version=0.0.4; charset=utf-8";
      res.body = std::move(body);
      return res;
    };
    if (extras.delivery == nullptr) return c->respond(text(RenderMetrics()));
    // The outbox counts by status come from the store: on the blocking pool.
    OnBlocking(c, [this, text] {
      std::string out = RenderMetrics();
      auto counts = store.CountActions();
      if (!counts.ok()) {
        // A scrape still gets every other metric; the gap shows in the series.
        spdlog::warn("/metrics: cannot count outbox actions: {}", counts.status().ToString());
        return text(std::move(out));
      }
      out += "# HELP qunzhu_outbox_actions Outbox actions, by delivery status.\n";
      out += "# TYPE qunzhu_outbox_actions gauge\n";
      const std::pair<ActionStatus, int64_t> by_status[] = {
          {ActionStatus::kPending, counts->pending},
          {ActionStatus::kSending, counts->sending},
          {ActionStatus::kDone, counts->done},
          {ActionStatus::kFailed, counts->failed},
          {ActionStatus::kPossiblySent, counts->possibly_sent}};
      for (const auto& [status, n] : by_status) {
        out += "qunzhu_outbox_actions{status=\"" + std::string(ActionStatusName(status)) + "\"} " +
               std::to_string(n) + "\n";
      }
      return text(std::move(out));
    });
  }

  std::string RenderMetrics() const {
    const IngestMetrics& m = ingest.metrics();
    auto load = [](const std::atomic<int64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    std::string out;
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
                 "Time the last start-up state load took.", ingest.state_load_seconds());
    out += "# HELP qunzhu_http_requests_total HTTP responses written, by status class.\n";
    out += "# TYPE qunzhu_http_requests_total counter\n";
    for (size_t i = 1; i < http_responses.size(); ++i) {
      out += "qunzhu_http_requests_total{code=\"" + std::to_string(i) + "xx\"} " +
             std::to_string(http_responses[i].load(std::memory_order_relaxed)) + "\n";
    }
    if (const DeliveryMetrics* d = extras.delivery) {
      RenderMetric(out, "qunzhu_outbox_queue", "gauge",
                   "Open outbox actions queued for delivery.", load(d->queued));
      RenderMetric(out, "qunzhu_outbox_done_total", "counter",
                   "Outbox actions the platform confirmed.", load(d->done));
      RenderMetric(out, "qunzhu_outbox_failures_total", "counter",
                   "Outbox actions that failed for good.", load(d->failed));
      RenderMetric(out, "qunzhu_outbox_retries_total", "counter",
                   "Delivery attempts that failed transiently and were rescheduled.",
                   load(d->retries));
      RenderMetric(out, "qunzhu_outbox_possibly_sent_total", "counter",
                   "Outbox actions whose outcome is unknown (not resent).", load(d->possibly_sent));
      RenderMetric(out, "qunzhu_outbox_rate_limited_total", "counter",
                   "Times an action waited for a rate limit.", load(d->rate_limited));
    }
    if (const SchedulerMetrics* s = extras.scheduler) {
      RenderMetric(out, "qunzhu_timers_pending", "gauge", "Timers waiting to fire.",
                   load(s->pending));
      RenderMetric(out, "qunzhu_timers_fired_total", "counter", "Timers fired.", load(s->fired));
      RenderMetric(out, "qunzhu_timers_skipped_total", "counter",
                   "Timer occurrences skipped (missed beyond the catch-up window).",
                   load(s->skipped));
    }
    return out;
  }

  Store& store;
  Ingest& ingest;
  const Clock& clock;
  const Runner blocking;
  const ServerExtras extras;
  TokenCache tokens;
  std::atomic<int64_t> rejected_without_ingest{0};  // all-rejected batches never reach ingest
  std::array<std::atomic<int64_t>, 6> http_responses{};  // by status / 100 (1xx..5xx)
};

Api::Api(Store& store, Ingest& ingest, const Clock& clock, Runner blocking, ServerExtras extras)
    : impl_(std::make_unique<Impl>(store, ingest, clock, std::move(blocking), extras)) {}

Api::~Api() = default;

void Api::Handle(ApiRequest request, Runner resume, Respond respond) {
  std::shared_ptr<Impl::Call> call;
  try {
    call = std::make_shared<Impl::Call>();
    call->request = std::move(request);
    call->resume = std::move(resume);
    call->respond = std::move(respond);
  } catch (...) {
    try {
      respond(ErrorResponse(Status::Internal("internal error")));
    } catch (...) {
    }
    return;
  }
  Impl::Guarded(call, [&] { impl_->Handle(call); });
}

void Api::CountResponse(int status) {
  const int cls = status / 100;
  if (cls >= 1 && cls <= 5) impl_->http_responses[cls].fetch_add(1, std::memory_order_relaxed);
}

std::string Api::RenderMetrics() const { return impl_->RenderMetrics(); }

}  // namespace qz
