// qunzhu server/routes: JSON conventions shared by the API's responses and request bodies.
// Internal to the server.
#pragma once

#include <algorithm>
#include <functional>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "model/entities.hpp"
#include "server/route.hpp"
#include "store/accounts.hpp"
#include "store/event_log.hpp"

namespace qz {

// Answers a page of stored events, newest first ({"events":[{the event as stored…,"seq":…,
// "member_id":…}],"next_before":seq|null}), read by `read(before_seq, limit)` from the request's
// `before` and `limit` (event_list.cpp).
Status RespondWithEvents(
    Call& c, const std::function<Result<std::vector<StoredEvent>>(int64_t, int)>& read);

// A time as RFC 3339, or null for "never" (0).
inline ApiJson TimeJson(TimeMs ms) { return ms == 0 ? ApiJson(nullptr) : ApiJson(FormatRfc3339(ms)); }
// An id, or null for "none" (kNoId).
inline ApiJson IdJson(int64_t id) { return id == kNoId ? ApiJson(nullptr) : ApiJson(id); }
// A text, or null for "none" ("").
inline ApiJson TextOrNull(const std::string& text) {
  return text.empty() ? ApiJson(nullptr) : ApiJson(text);
}

// An account's roles per community as {"<slug>": "<role>", ...}, by slug (RolesBySlug: a role
// for a community that does not exist is left out).
inline ApiJson CommunityRolesJson(const CommunityRoles& roles,
                                  const std::vector<Community>& communities) {
  ApiJson out = ApiJson::object();
  for (const auto& [slug, role] : RolesBySlug(roles, communities)) {
    out[slug] = AccountRoleName(role);
  }
  return out;
}

// The request body as a JSON object whose keys are all in `allowed`. An empty body reads as {}
// when `empty_is_object` (a body whose fields are all optional). Errors: 415 naming
// Content-Type unless the body is application/json; 400 naming "body" when it is not a JSON
// object, or naming the first key not allowed.
inline Result<ApiJson> ObjectBody(Call& c, std::initializer_list<std::string_view> allowed,
                                  bool empty_is_object = false) {
  if (empty_is_object && c.body().empty()) return ApiJson::object();
  QZ_RETURN_IF_ERROR(c.RequireMediaType({"application/json"}));
  ApiJson body = ApiJson::parse(c.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return Status::Invalid("the body must be a JSON object", "body");
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      std::string expected;
      for (std::string_view a : allowed) {
        expected += (expected.empty() ? "" : ", ") + std::string(a);
      }
      return Status::Invalid("unknown field (expected " + expected + ")", it.key());
    }
  }
  return body;
}

// body[field]: nullopt when absent; 400 naming the field when it is not a string.
inline Result<std::optional<std::string>> OptionalString(const ApiJson& body,
                                                         const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) return std::optional<std::string>();
  if (!it->is_string()) return Status::Invalid("must be a string", field);
  return std::optional<std::string>(it->get<std::string>());
}

// body[field]: nullopt when absent; 400 naming the field when it is not true or false.
inline Result<std::optional<bool>> OptionalBool(const ApiJson& body, const std::string& field) {
  auto it = body.find(field);
  if (it == body.end()) return std::optional<bool>();
  if (!it->is_boolean()) return Status::Invalid("must be true or false", field);
  return std::optional<bool>(it->get<bool>());
}

// Keyset cursors of sorted lists (GET /api/v1/groups, /api/v1/members?sort=): opaque to
// clients, they hold the sort and order they were made for and the previous page's last sort
// value and id, as hex of the JSON ["<sort>","asc"|"desc",<value>,<id>].
inline std::string SortCursor(std::string_view sort, bool descending, const ApiJson& value,
                              int64_t id) {
  const std::string json =
      ApiJson::array({std::string(sort), descending ? "desc" : "asc", value, id}).dump();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(json.size() * 2);
  for (unsigned char ch : json) {
    out += kHex[ch >> 4];
    out += kHex[ch & 0xF];
  }
  return out;
}

// The value and id of a cursor SortCursor made for this sort and order, the value a string when
// `text` else an integer. 400 naming "cursor" for anything else (another sort's cursor too).
inline Result<std::pair<ApiJson, int64_t>> ReadSortCursor(std::string_view cursor,
                                                          std::string_view sort, bool descending,
                                                          bool text) {
  const Status bad = Status::Invalid(
      "not a cursor of this list with this sort and order (use next_cursor as answered)",
      "cursor");
  if (cursor.size() % 2 != 0 || cursor.size() > 8192) return bad;
  std::string json;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    auto nibble = [](char ch) -> int {
      if (ch >= '0' && ch <= '9') return ch - '0';
      if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
      return -1;
    };
    const int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return bad;
    json += static_cast<char>(hi * 16 + lo);
  }
  const ApiJson j = ApiJson::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array() || j.size() != 4 || j[0] != std::string(sort) || j[1] != (descending ? "desc" : "asc") ||
      !j[3].is_number_integer() || (text ? !j[2].is_string() : !j[2].is_number_integer())) {
    return bad;
  }
  return std::pair<ApiJson, int64_t>(j[2], j[3].get<int64_t>());
}

// `order`: "asc" (the default) or "desc"; true for descending. 400 naming "order" otherwise.
inline Result<bool> ReadOrder(const QueryParams& query) {
  const std::string* order = query.Get("order");
  if (order == nullptr || *order == "asc") return false;
  if (*order == "desc") return true;
  return Status::Invalid("must be asc or desc", "order");
}

// The characters (code points) of valid UTF-8 text.
inline size_t Utf8Length(std::string_view text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char ch) {
    return (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  }));
}

}  // namespace qz
