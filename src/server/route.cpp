#include "server/route.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <exception>

#include "core/text/utf8.hpp"

namespace qz {

// The one place a Code becomes an HTTP status.
int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
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

std::string Dump(const ApiJson& j) {
  return j.dump(-1, ' ', false, ApiJson::error_handler_t::replace);
}

std::string ErrorBody(std::string_view code, std::string_view message, std::string_view field) {
  ApiJson err = {{"code", code}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return Dump(ApiJson{{"error", std::move(err)}});
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

bool ValidParamName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// "/a/b/" → "a", "b", "". `path` starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

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

ApiResponse MethodNotAllowed(std::string_view allow) {
  ApiResponse res;
  res.status = 405;
  res.body = ErrorBody("method_not_allowed", "method not allowed; use " + std::string(allow), {});
  res.headers.emplace_back("Allow", std::string(allow));
  return res;
}

ApiResponse Refusal(int http_status, std::string_view code, std::string_view message,
                    std::string_view field) {
  ApiResponse res;
  res.status = http_status;
  res.body = ErrorBody(code, message, field);
  return res;
}

ApiResponse JsonResponse(int status, const ApiJson& body) {
  ApiResponse res;
  res.status = status;
  res.body = Dump(body);
  return res;
}

ApiJson NextCursor(const PageRequest& page, size_t returned, int64_t last_key, CursorJson as) {
  if (returned == 0 || returned != static_cast<size_t>(page.limit)) return nullptr;
  return as == CursorJson::kString ? ApiJson(std::to_string(last_key)) : ApiJson(last_key);
}

// ---------------------------------------------------------------------------------------------
// QueryParams

Result<QueryParams> QueryParams::Parse(std::string_view query) {
  QueryParams q;
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
    q.values_.insert_or_assign(std::move(name), std::move(value));
  }
  return q;
}

const std::string* QueryParams::Get(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : &it->second;
}

Result<int64_t> QueryParams::Id(std::string_view name) const {
  const std::string* v = Get(name);
  if (v == nullptr) return int64_t{0};
  const int64_t id = api_internal::ParsePositiveInt(*v);
  if (id == 0) return Status::Invalid("must be a positive integer", std::string(name));
  return id;
}

Result<int64_t> QueryParams::NonNegative(std::string_view name) const {
  const std::string* v = Get(name);
  if (v == nullptr || *v == "0") return int64_t{0};
  const int64_t n = api_internal::ParsePositiveInt(*v);
  if (n == 0) return Status::Invalid("must be a non-negative integer", std::string(name));
  return n;
}

Result<bool> QueryParams::Bool(std::string_view name, bool absent) const {
  const std::string* v = Get(name);
  if (v == nullptr) return absent;
  if (*v == "true") return true;
  if (*v == "false") return false;
  return Status::Invalid("must be true or false", std::string(name));
}

Result<int> QueryParams::Limit() const {
  const std::string* v = Get("limit");
  if (v == nullptr) return kDefaultPageLimit;
  const int64_t n = api_internal::ParsePositiveInt(*v);
  if (n < 1 || n > kMaxPageLimit) {
    return Status::Invalid("must be an integer from 1 to " + std::to_string(kMaxPageLimit), "limit");
  }
  return static_cast<int>(n);
}

Result<PageRequest> QueryParams::Page(std::string_view cursor_param, CursorForm form) const {
  PageRequest page;
  QZ_ASSIGN_OR_RETURN(page.limit, Limit());
  auto cursor = form == CursorForm::kPositive ? Id(cursor_param) : NonNegative(cursor_param);
  if (!cursor.ok()) return cursor.status();
  page.cursor = *cursor;
  return page;
}

std::string_view ApiRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Call

Call::Call(ApiRequest request, std::string path, const ApiServices& services, Runner blocking,
           Runner resume, Responder respond)
    : request_(std::move(request)),
      path_(std::move(path)),
      services_(services),
      blocking_(std::move(blocking)),
      resume_(std::move(resume)),
      respond_(std::move(respond)) {}

Call::~Call() {
  if (answered_.load()) return;
  spdlog::error("{} {}: the handler finished without answering", request_.method, path_);
  try {
    respond_(ErrorResponse(Status::Internal("internal error")));
  } catch (...) {  // nothing more can be done; the connection times out
  }
}

std::string Call::MediaType() const {
  const std::string_view type = request_.content_type;
  return AsciiLower(TrimSpace(type.substr(0, type.find(';'))));
}

Status Call::RequireMediaType(std::initializer_list<std::string_view> allowed) const {
  const std::string media = MediaType();
  if (std::find(allowed.begin(), allowed.end(), media) != allowed.end()) return Status::Ok();
  std::string list;
  for (std::string_view a : allowed) {
    if (!list.empty()) list += a == *(allowed.end() - 1) ? " or " : ", ";
    list += a;
  }
  return Status(Code::kUnsupportedMediaType, "Content-Type must be " + list);
}

const std::string& Call::Param(std::string_view name) const {
  static const std::string kNone;
  for (const auto& [n, v] : params_) {
    if (n == name) return v;
  }
  return kNone;
}

int64_t Call::IntParam(std::string_view name) const {
  return api_internal::ParsePositiveInt(Param(name));
}

Status Call::RequireRole(int64_t community_id, AccountRole need, std::string_view community) {
  const Principal& p = principal_;
  const AccountRole have = p.RoleIn(community_id);
  if (p.kind != Principal::Kind::kNone && RoleAllows(have, need)) {
    community_check_pending_.store(false);
    return Status::Ok();
  }
  const std::string where =
      community_id == 0 ? std::string("outside any community")
      : community.empty() ? fmt::format("in community {}", community_id)
                          : fmt::format("in the community '{}'", community);
  if (p.kind == Principal::Kind::kNone) {
    return Status(Code::kPermissionDenied,
                  fmt::format("{} {} needs the role {} (or higher) {}; the caller is not signed in",
                              request_.method, path_, AccountRoleName(need), where));
  }
  return Status(Code::kPermissionDenied,
                fmt::format("{} {} needs the role {} (or higher) {}; {} '{}' has the role {} there",
                            request_.method, path_, AccountRoleName(need), where,
                            p.kind == Principal::Kind::kToken ? "the token" : "the account", p.name,
                            AccountRoleName(have)));
}

void Call::Respond(ApiResponse response) {
  if (answered_.exchange(true)) return;
  if (response.status < 400 && community_check_pending_.load()) {
    spdlog::error("{} {}: a community route answered {} without Call::RequireRole; refused",
                  request_.method, path_, response.status);
    response = ErrorResponse(Status::Internal("internal error"));
  }
  respond_(std::move(response));
}

void Call::RespondJson(const ApiJson& body, int status) { Respond(JsonResponse(status, body)); }

void Call::Fail(const Status& status) {
  Respond(ErrorResponse(status.ok() ? Status::Internal("internal error") : status));
}

void Call::Run(const Step& step) noexcept {
  try {
    if (Status s = step(*this); !s.ok()) Fail(s);
    return;
  } catch (const std::exception& e) {
    spdlog::error("{} {}: unhandled exception: {}", request_.method, path_, e.what());
  } catch (...) {
    spdlog::error("{} {}: unhandled exception", request_.method, path_);
  }
  try {
    Fail(Status::Internal("internal error"));
  } catch (...) {
  }
}

void Call::Blocking(Step step) {
  blocking_([self = shared_from_this(), step = std::move(step)] { self->Run(step); });
}

void Call::Resume(Step step) {
  resume_([self = shared_from_this(), step = std::move(step)] { self->Run(step); });
}

// ---------------------------------------------------------------------------------------------
// RouteTable

Status RouteTable::Add(Route route) {
  static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
  if (std::find(std::begin(kMethods), std::end(kMethods), route.method) == std::end(kMethods)) {
    return Status::Invalid("unsupported method '" + route.method + "'", "method");
  }
  const std::string& pattern = route.pattern;
  auto bad = [&](std::string why) {
    return Status::Invalid("route " + route.method + " " + pattern + ": " + why, "pattern");
  };
  if (pattern.empty() || pattern.front() != '/') return bad("must start with '/'");
  if (!route.handler) return bad("has no handler");
  auto compiled = std::make_unique<Compiled>();
  for (std::string_view text : SplitPath(pattern)) {
    Segment seg;
    if (text.starts_with('{')) {
      if (!text.ends_with('}')) return bad("unclosed parameter '" + std::string(text) + "'");
      std::string_view inner = text.substr(1, text.size() - 2);
      const size_t colon = inner.find(':');
      if (colon != std::string_view::npos) {
        if (inner.substr(colon + 1) != "int") {
          return bad("unknown parameter type '" + std::string(inner.substr(colon + 1)) + "'");
        }
        seg.integer = true;
        inner = inner.substr(0, colon);
      }
      if (!ValidParamName(inner)) return bad("bad parameter name '" + std::string(inner) + "'");
      for (const Segment& other : compiled->segments) {
        if (other.param && other.text == inner) return bad("repeats {" + std::string(inner) + "}");
      }
      seg.param = true;
      seg.text = inner;
    } else {
      // "/" alone is the root (one empty segment, matching only the path "/").
      if (text.empty() && pattern != "/") return bad("has an empty segment");
      if (text.find_first_of("{}%?#") != std::string_view::npos) {
        return bad("segment '" + std::string(text) + "' has a reserved character");
      }
      seg.text = text;
    }
    compiled->segments.push_back(std::move(seg));
  }
  for (const auto& other : routes_) {
    if (other->route.method != route.method ||
        other->segments.size() != compiled->segments.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < compiled->segments.size() && same; ++i) {
      const Segment& a = other->segments[i];
      const Segment& b = compiled->segments[i];
      same = a.param == b.param && (a.param || a.text == b.text);
    }
    if (same) {
      return Status(Code::kAlreadyExists, "route " + route.method + " " + pattern +
                                              " is already served by " + other->route.pattern);
    }
  }
  compiled->route = std::move(route);
  routes_.push_back(std::move(compiled));
  return Status::Ok();
}

Status RouteTable::AddAll(RouteTable other) {
  for (auto& compiled : other.routes_) QZ_RETURN_IF_ERROR(Add(std::move(compiled->route)));
  return Status::Ok();
}

RouteTable::Match RouteTable::Find(std::string_view method, std::string_view path) const {
  Match match;
  if (path.empty() || path.front() != '/') return match;
  const std::vector<std::string_view> parts = SplitPath(path);
  const Compiled* best = nullptr;
  std::vector<std::string_view> allowed;
  bool any = false;
  bool all_public = true;
  for (const auto& compiled : routes_) {
    const std::vector<Segment>& segs = compiled->segments;
    if (segs.size() != parts.size()) continue;
    bool fits = true;
    for (size_t i = 0; i < segs.size() && fits; ++i) {
      fits = segs[i].param ? !parts[i].empty() : segs[i].text == parts[i];
    }
    if (!fits) continue;
    any = true;
    all_public = all_public && compiled->route.access == Access::kPublic;
    if (compiled->route.method != method) {
      allowed.push_back(compiled->route.method);
      continue;
    }
    // The more specific of two: at the first segment where they differ in kind, the literal.
    if (best != nullptr) {
      bool better = false;
      for (size_t i = 0; i < segs.size(); ++i) {
        if (segs[i].param != best->segments[i].param) {
          better = !segs[i].param;
          break;
        }
      }
      if (!better) continue;
    }
    best = compiled.get();
  }
  match.all_public = any && all_public;
  if (best == nullptr) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    for (std::string_view m : allowed) {
      if (!match.allow.empty()) match.allow += ", ";
      match.allow += m;
    }
    return match;
  }
  match.route = &best->route;
  for (size_t i = 0; i < best->segments.size(); ++i) {
    const Segment& seg = best->segments[i];
    if (seg.param) match.raw_params.push_back({seg.text, parts[i], seg.integer});
  }
  return match;
}

Result<std::vector<std::pair<std::string, std::string>>> RouteTable::DecodeParams(
    const Match& match) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Match::RawParam& p : match.raw_params) {
    const std::string name(p.name);
    if (p.integer) {
      if (api_internal::ParsePositiveInt(p.value) == 0) {
        return Status::Invalid("must be a positive integer", name);
      }
      out.emplace_back(name, std::string(p.value));
      continue;
    }
    std::string value;
    if (!api_internal::PercentDecodePath(p.value, value) || !IsValidUtf8(value)) {
      return Status::Invalid("malformed " + name + ": bad percent-encoding or not UTF-8", name);
    }
    out.emplace_back(name, std::move(value));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

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

}  // namespace api_internal

}  // namespace qz
