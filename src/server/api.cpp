#include "server/api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "engine/ingest.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
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

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

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

  Impl(Store& store, Ingest& ingest, const Clock& clock, Runner blocking)
      : store(store), ingest(ingest), clock(clock), blocking(std::move(blocking)) {}

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
    ingest.Submit(std::move(batch), [c](IngestResult r) noexcept {
      // On the writer thread (or here, if refused at once): hand over and return at once.
      try {
        auto shared = std::make_shared<IngestResult>(std::move(r));
        c->resume([c, shared] { Guarded(c, [&] { c->respond(IngestResponse(*shared)); }); });
      } catch (...) {
        try {
          c->respond(ErrorResponse(Status::Internal("internal error")));
        } catch (...) {
        }
      }
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
    ApiResponse res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = RenderMetrics();
    c->respond(std::move(res));
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
    return out;
  }

  Store& store;
  Ingest& ingest;
  const Clock& clock;
  const Runner blocking;
  TokenCache tokens;
  std::atomic<int64_t> rejected_without_ingest{0};  // all-rejected batches never reach ingest
  std::array<std::atomic<int64_t>, 6> http_responses{};  // by status / 100 (1xx..5xx)
};

Api::Api(Store& store, Ingest& ingest, const Clock& clock, Runner blocking)
    : impl_(std::make_unique<Impl>(store, ingest, clock, std::move(blocking))) {}

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
