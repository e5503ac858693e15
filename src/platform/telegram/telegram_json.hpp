// qunzhu platform/telegram: the JSON reading shared by the translation layer's two halves
// (updates in telegram_protocol.cpp, calls and answers in telegram_calls.cpp): a parsed document,
// a reader that keeps the first error with the field's path, and the bounds both apply.
// Internal to this folder.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#include <unordered_set>

#include "core/status.hpp"
#include "core/text/utf8.hpp"
#include "model/event.hpp"
#include "model/json_type.hpp"

namespace qz::telegram::json_read {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Event times are accepted from 2000-01-01 to 2100-12-31 (model/event.hpp); a date outside is
// refused here, naming the field, rather than by ingest.
constexpr int64_t kMinDate = 946684800;   // 2000-01-01T00:00:00Z
constexpr int64_t kMaxDate = 4133980799;  // 2100-12-31T23:59:59Z
constexpr size_t kMaxNameBytes = 512;     // EventParser's bound for name and group_name
constexpr size_t kMaxLinkBytes = 2048;
constexpr size_t kMaxLinksBytes = 32 * 1024;  // attrs as a whole may be 64 KiB
constexpr size_t kMaxDescriptionBytes = 512;
constexpr int64_t kMaxRetryAfterS = 24 * 3600;
// Anything beyond 366 days is "forever" to Telegram already; the bound keeps now + duration far
// from overflow.
constexpr int64_t kMaxRestrictSeconds = 367 * 86400;


inline std::string Path(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

// A JSON object and its path from the top of the update ("message.chat"), for errors.
struct Node {
  simdjson::dom::object obj;
  std::string path;
};

// Reads fields and keeps the first error: once one read failed, the others return defaults, so
// a group of reads is checked once with ok(). Absent and null are the same (Telegram omits
// optional fields; a null is no value either).
class Reader {
 public:
  bool ok() const { return error_.ok(); }
  const Status& error() const { return error_; }

  void Fail(std::string_view prefix, std::string_view key, std::string message) {
    if (ok()) error_ = Status::Invalid(std::move(message), Path(prefix, key));
  }

  std::optional<element> Find(const Node& n, std::string_view key) const {
    element v;
    if (n.obj.at_key(key).get(v) || v.is_null()) return std::nullopt;
    return v;
  }
  bool Has(const Node& n, std::string_view key) const { return Find(n, key).has_value(); }

  std::optional<int64_t> OptInt(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    if (v->type() != element_type::INT64) {
      // UINT64 is beyond int64; a double (1.5, 1e3) is not an id either.
      Fail(n.path, key,
           v->type() == element_type::UINT64
               ? std::string("must be a 64-bit signed integer")
               : fmt::format("must be an integer (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return v->get_int64().value_unsafe();
  }
  int64_t Int(const Node& n, std::string_view key) {
    const auto v = OptInt(n, key);
    if (!v) Fail(n.path, key, "required");
    return v.value_or(0);
  }
  // Unix seconds within the dates events may have.
  int64_t Date(const Node& n, std::string_view key) {
    const int64_t v = Int(n, key);
    if (ok() && (v < kMinDate || v > kMaxDate)) {
      Fail(n.path, key,
           fmt::format("{} is outside the accepted dates (2000-01-01 to 2100-12-31)", v));
    }
    return v;
  }
  // "" when absent.
  std::string_view Str(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return {};
    if (v->type() != element_type::STRING) {
      Fail(n.path, key, fmt::format("must be a string (got {})", JsonTypeWord(v->type())));
      return {};
    }
    return v->get_string().value_unsafe();
  }
  std::string_view RequiredStr(const Node& n, std::string_view key) {
    if (!Has(n, key)) Fail(n.path, key, "required");
    return Str(n, key);
  }
  std::optional<bool> OptBool(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    if (v->type() != element_type::BOOL) {
      Fail(n.path, key, fmt::format("must be a boolean (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return v->get_bool().value_unsafe();
  }
  bool Bool(const Node& n, std::string_view key) { return OptBool(n, key).value_or(false); }

  // `v` as an object at `path`.
  std::optional<Node> AsObject(element v, std::string path) {
    simdjson::dom::object o;
    if (v.get_object().get(o)) {
      if (ok()) {
        error_ = Status::Invalid(fmt::format("must be an object (got {})", JsonTypeWord(v.type())),
                                 std::move(path));
      }
      return std::nullopt;
    }
    return Node{o, std::move(path)};
  }
  // A document's top object: errors about it name `what`, its fields are named from the top.
  std::optional<Node> Root(element v, std::string_view what) {
    auto n = AsObject(v, std::string(what));
    if (n) n->path.clear();
    return n;
  }
  std::optional<Node> Obj(const Node& n, std::string_view key, bool required) {
    const auto v = Find(n, key);
    if (!ok()) return std::nullopt;
    if (!v) {
      if (required) Fail(n.path, key, "required");
      return std::nullopt;
    }
    return AsObject(*v, Path(n.path, key));
  }
  std::optional<simdjson::dom::array> Array(const Node& n, std::string_view key) {
    const auto v = Find(n, key);
    if (!v || !ok()) return std::nullopt;
    simdjson::dom::array a;
    if (v->get_array().get(a)) {
      Fail(n.path, key, fmt::format("must be an array (got {})", JsonTypeWord(v->type())));
      return std::nullopt;
    }
    return a;
  }

 private:
  Status error_;
};

// A parsed JSON document; views into it live as long as it does.
class Doc {
 public:
  Status Parse(std::string_view body) {
    padded_ = simdjson::padded_string(body);
    if (const auto err = parser_.parse(padded_).get(root_)) {
      if (err == simdjson::UTF8_ERROR) {
        return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(body)),
                               "body");
      }
      return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(err)),
                             "body");
    }
    return Status::Ok();
  }
  element root() const { return root_; }

 private:
  simdjson::dom::parser parser_;
  simdjson::padded_string padded_;
  element root_;
};

// The `result` of a Bot API answer {"ok":true,"result":…}. An ok:false answer is kUnavailable
// with its error_code and description (the call may work later: 409, 429, 5xx).
inline Result<element> Unwrap(Reader& r, element root, std::string_view method) {
  const auto top = r.Root(root, "body");
  if (!top) return r.error();
  const auto ok = r.OptBool(*top, "ok");
  if (!r.ok()) return r.error();
  if (!ok) return Status::Invalid("required", "ok");
  if (!*ok) {
    const auto code = r.OptInt(*top, "error_code");
    const std::string_view description = r.Str(*top, "description");
    return Status(Code::kUnavailable,
                  fmt::format("{} refused: {} {}", method, code.value_or(0),
                              Excerpt(description, kMaxDescriptionBytes)),
                  "ok");
  }
  const auto result = r.Find(*top, "result");
  if (!result) return Status::Invalid("required", "result");
  return *result;
}

// A user object (`from`, `user`, `new_chat_members[i]`): updates and getChatAdministrators.
inline std::string_view TrimSpaces(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

struct User {
  int64_t id = 0;
  bool is_bot = false;
  std::string name;  // "first last", else the username
};

inline std::optional<User> ReadUserAt(Reader& r, const Node& n) {
  User u;
  u.id = r.Int(n, "id");
  u.is_bot = r.Bool(n, "is_bot");
  const std::string_view first = r.Str(n, "first_name"), last = r.Str(n, "last_name"),
                         username = r.Str(n, "username");
  if (!r.ok()) return std::nullopt;
  std::string name(first);
  if (!last.empty()) {
    name += ' ';
    name += last;
  }
  std::string_view shown = TrimSpaces(name);
  if (shown.empty()) shown = username;
  u.name.assign(Utf8Prefix(shown, kMaxNameBytes));
  return u;
}

inline std::optional<User> ReadUser(Reader& r, const Node& parent, std::string_view key, bool required) {
  const auto n = r.Obj(parent, key, required);
  if (!n) return std::nullopt;
  return ReadUserAt(r, *n);
}

}  // namespace qz::telegram::json_read
