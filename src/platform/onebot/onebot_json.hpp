// qunzhu platform/onebot: the JSON reading shared by the translation layer's two halves (reports
// in onebot_protocol.cpp, calls and responses in onebot_calls.cpp): typed field reads that name
// the field in errors, and the bounds both apply. Internal to this folder.
#pragma once

#include <algorithm>
#include <charconv>
#include <climits>
#include <fmt/format.h>
#include <simdjson.h>

#include "core/status.hpp"
#include "core/text/utf8.hpp"
#include "core/time.hpp"
#include "model/event.hpp"
#include "model/json_type.hpp"

namespace qz::onebot::json_read {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Bounds that keep what we write within the event format's (model/event.hpp).
constexpr size_t kMaxNameBytes = 512;               // name, group_name
constexpr size_t kMaxCommentBytes = 4096;           // a join request's comment
constexpr size_t kMaxUrlBytes = 4096;               // url
constexpr size_t kMaxKeptSegmentBytes = 32 * 1024;  // attrs onebot_segments, well within attrs'
constexpr size_t kMaxAnonymousBytes = 1024;
constexpr size_t kMaxWhatBytes = 64;    // Ignored::what parts
constexpr size_t kMaxErrorBytes = 512;  // a response's error text
// Unix seconds of times that are surely outside 2000..2100 in any offset: checked before the
// multiplication into milliseconds, which must not overflow. The exact bound is the written year.
constexpr int64_t kMinSeconds = 946'000'000;
constexpr int64_t kMaxSeconds = 4'134'100'000;


// Parses `json` through `buffer` (a copy with simdjson's padding). Never hands simdjson a null
// pointer: an empty view's data() may be null, which its own copy would pass to memcpy.
inline simdjson::error_code ParseDom(simdjson::dom::parser& parser, std::string& buffer,
                              std::string_view json, element& out) {
  buffer.assign(json);
  buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
  return parser.parse(buffer.data(), json.size(), false).get(out);
}

// `key`'s value, or nullopt when it is absent or null (implementations send "anonymous":null).
inline std::optional<element> Find(object o, std::string_view key) {
  element e;
  if (o.at_key(key).get(e) || e.is_null()) return std::nullopt;
  return e;
}

// An integer given as a JSON integer or as a string of decimal digits (some implementations
// send ids as strings); nullopt when absent. `path` names the field in errors.
inline Result<std::optional<int64_t>> ReadInt(object o, std::string_view key, std::string_view path) {
  const std::optional<element> e = Find(o, key);
  if (!e) return std::optional<int64_t>();
  switch (e->type()) {
    case element_type::INT64:
      return std::optional<int64_t>(e->get_int64().value_unsafe());
    case element_type::UINT64:
      return Status::Invalid("out of range (more than a 64-bit integer)", std::string(path));
    case element_type::STRING: {
      const std::string_view s = e->get_string().value_unsafe();
      int64_t v = 0;
      const bool digits =
          !s.empty() && (s[0] == '-' ? s.size() > 1 : true) &&
          s.find_first_not_of("0123456789", s[0] == '-' ? 1 : 0) == std::string_view::npos;
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (!digits || ec != std::errc() || end != s.data() + s.size()) {
        return Status::Invalid(
            fmt::format("'{}' is not a decimal integer fitting 64 bits", Excerpt(s, 40)),
            std::string(path));
      }
      return std::optional<int64_t>(v);
    }
    default:
      return Status::Invalid(fmt::format("must be an integer (got {})", JsonTypeWord(e->type())),
                             std::string(path));
  }
}

// A QQ number (self_id, group_id, user_id, operator_id): an integer >= 0, as decimal text.
// Empty when absent and not `required`.
inline Result<std::string> ReadQq(object o, std::string_view key, bool required,
                           std::string_view path = {}) {
  if (path.empty()) path = key;
  QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> v, ReadInt(o, key, path));
  if (!v) {
    if (required) return Status::Invalid("required", std::string(path));
    return std::string();
  }
  if (*v < 0) return Status::Invalid("must not be negative", std::string(path));
  return std::to_string(*v);
}

// A message id: any int64 (NapCat's are hashed and may be negative), as decimal text.
inline Result<std::string> ReadMessageId(object o) {
  QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> v, ReadInt(o, "message_id", "message_id"));
  if (!v) return Status::Invalid("required", "message_id");
  return std::to_string(*v);
}

// A string field; empty when absent. Mistyped: an error when `strict`, else ignored.
inline Result<std::string> ReadString(object o, std::string_view key, bool strict,
                               std::string_view path = {}) {
  if (path.empty()) path = key;
  const std::optional<element> e = Find(o, key);
  if (!e) return std::string();
  if (e->type() != element_type::STRING) {
    if (!strict) return std::string();
    return Status::Invalid(fmt::format("must be a string (got {})", JsonTypeWord(e->type())),
                           std::string(path));
  }
  return std::string(e->get_string().value_unsafe());
}

inline Result<std::string> RequiredString(object o, std::string_view key) {
  QZ_ASSIGN_OR_RETURN(std::string s, ReadString(o, key, true));
  if (s.empty()) return Status::Invalid("required", std::string(key));
  return s;
}

inline std::string Cut(std::string_view s, size_t max_bytes) {
  return std::string(Utf8Prefix(s, max_bytes));
}

inline Result<TimeMs> ReadTime(object o, int16_t offset_minutes) {
  QZ_ASSIGN_OR_RETURN(const std::optional<int64_t> s, ReadInt(o, "time", "time"));
  if (!s) return Status::Invalid("required (Unix seconds)", "time");
  const auto outside = [&] {
    return Status::Invalid(fmt::format("{} is outside the accepted dates ({}-01-01 to {}-12-31)",
                                       *s, kMinEventYear, kMaxEventYear),
                           "time");
  };
  if (*s < kMinSeconds || *s > kMaxSeconds) return outside();
  const TimeMs ms = *s * 1000;
  const int64_t year = WrittenYear(Timestamp{ms, offset_minutes});
  if (year < kMinEventYear || year > kMaxEventYear) return outside();
  return ms;
}

inline std::optional<Role> ParseSenderRole(std::string_view s) {
  if (s == "owner") return Role::kOwner;
  if (s == "admin") return Role::kAdmin;
  if (s == "member") return Role::kMember;
  return std::nullopt;
}

}  // namespace qz::onebot::json_read
