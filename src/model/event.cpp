#include "model/event.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <array>
#include <cstring>

#include "core/enum_names.hpp"
#include "core/text/utf8.hpp"
#include "core/time.hpp"
#include "model/json_type.hpp"

namespace qz {
namespace {

constexpr std::array<std::string_view, kEventTypeCount> kTypeNames = {
    "message",     "member_joined", "member_left",   "checkin",
    "link_click",  "order",         "tag_changed",   "timer",
    "action_done", "action_failed", "points_changed", "playbook_applied",
    "command",     "join_request",  "member_synced", "group_bound",
    "group_migrated", "bot_removed", "bot_added"};
constexpr std::array<std::string_view, 10> kKindNames = {
    "text", "image", "link", "file", "card", "miniprogram", "voice", "video", "redpacket", "other"};
constexpr std::array<std::string_view, 4> kRoleNames = {"member", "assistant", "admin", "owner"};

}  // namespace

bool IsSystemEvent(EventType type) {
  return type == EventType::kTimer || type == EventType::kActionDone ||
         type == EventType::kActionFailed || type == EventType::kPlaybookApplied ||
         type == EventType::kCommand || type == EventType::kGroupBound ||
         type == EventType::kGroupMigrated || type == EventType::kBotRemoved ||
         type == EventType::kBotAdded;
}

std::string_view EventTypeName(EventType type) { return EnumName(kTypeNames, type, 1); }
std::optional<EventType> ParseEventType(std::string_view name) {
  return EnumFromName<EventType>(kTypeNames, name, 1);
}
std::string_view MessageKindName(MessageKind kind) { return EnumName(kKindNames, kind); }
std::optional<MessageKind> ParseMessageKind(std::string_view name) {
  return EnumFromName<MessageKind>(kKindNames, name);
}
std::string_view RoleName(Role role) { return EnumName(kRoleNames, role); }
std::optional<Role> ParseRole(std::string_view name) { return EnumFromName<Role>(kRoleNames, name); }
std::string_view LeaveReasonName(LeaveReason reason) {
  switch (reason) {
    case LeaveReason::kRemoved: return "removed";
    case LeaveReason::kMoved: return "moved";
    case LeaveReason::kLeft: break;
  }
  return "left";
}

Result<int64_t> ParseAmountE4(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::Invalid(fmt::format("'{}' is not a decimal amount ({})", s.substr(0, 40), why),
                           "amount");
  };
  if (s.empty()) return bad("empty");
  int64_t whole = 0;
  size_t i = 0, int_digits = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++int_digits) {
    if (int_digits >= 14) return bad("too large");
    whole = whole * 10 + (s[i] - '0');
  }
  if (int_digits == 0) return bad("expected digits, e.g. \"199.00\"");
  int64_t frac = 0;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++frac_digits) {
      if (frac_digits >= 4) return bad("at most 4 decimals");
      frac = frac * 10 + (s[i] - '0');
    }
    if (frac_digits == 0) return bad("digits expected after '.'");
  }
  if (i != s.size()) return bad("unexpected character");
  for (size_t k = frac_digits; k < 4; ++k) frac *= 10;
  const int64_t amount = whole * 10000 + frac;  // < 10^18: 14 digits at most
  if (amount > kMaxAmountE4) return bad("more than 1000000000000, the largest amount accepted");
  return amount;
}

std::string FormatAmountE4(int64_t v) {
  const int64_t whole = v / 10000, frac = v % 10000;
  if (frac == 0) return fmt::format("{}.00", whole);
  std::string f = fmt::format("{:04}", frac);
  while (f.size() > 2 && f.back() == '0') f.pop_back();
  return fmt::format("{}.{}", whole, f);
}

// ---------------------------------------------------------------------------------------------
// Framing: find the extent of each element of a top-level array without a full parse, so a
// syntax error in one element does not cost the others.

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// From `pos` (at the first character of a value) to one past its end at nesting depth 0:
// stops before ',' or ']' of the enclosing array. Strings are skipped with escapes honoured.
// Returns npos if the input ends inside the value.
size_t ScanValue(std::string_view s, size_t pos) {
  int depth = 0;
  for (size_t i = pos; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
      }
      if (i >= s.size()) return std::string_view::npos;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return i;  // the enclosing array's ']'
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return depth == 0 ? s.size() : std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<RawItem>> SplitJsonArray(std::string_view body) {
  size_t pos = 0;
  while (pos < body.size() && IsSpace(body[pos])) ++pos;
  if (pos < body.size() && body[pos] == '{') {
    // A single object is accepted as a batch of one: the commonest mistake of a caller.
    if (ScanValue(body, pos) == std::string_view::npos) {
      return Status::Invalid(fmt::format("unterminated object starting at byte {}", pos), "body");
    }
    return std::vector<RawItem>{{Trim(body), Status::Ok()}};
  }
  if (pos >= body.size() || body[pos] != '[') {
    return Status::Invalid("body must be a JSON array of event objects (or NDJSON with "
                           "Content-Type: application/x-ndjson)", "body");
  }
  std::vector<RawItem> items;
  ++pos;
  while (true) {
    while (pos < body.size() && IsSpace(body[pos])) ++pos;
    if (pos >= body.size()) {
      return Status::Invalid(fmt::format("unterminated array at byte {}", pos), "body");
    }
    if (body[pos] == ']' && items.empty()) {
      ++pos;
      break;
    }
    const size_t end = ScanValue(body, pos);
    if (end == std::string_view::npos) {
      // The body was cut short: its framing is broken, so none of it is trusted.
      return Status::Invalid(fmt::format("unterminated value starting at byte {}", pos), "body");
    }
    items.push_back({Trim(body.substr(pos, end - pos)), Status::Ok()});
    if (end >= body.size()) {
      return Status::Invalid(fmt::format("unterminated array at byte {}", end), "body");
    }
    pos = end + 1;
    if (body[end] == ']') break;
  }
  while (pos < body.size() && IsSpace(body[pos])) ++pos;
  if (pos != body.size()) {
    return Status::Invalid(fmt::format("trailing data after the array at byte {}", pos), "body");
  }
  return items;
}

std::vector<RawItem> SplitNdjson(std::string_view body) {
  std::vector<RawItem> items;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    std::string_view line = Trim(body.substr(pos, nl - pos));
    if (!line.empty()) items.push_back({line, Status::Ok()});
    pos = nl + 1;
  }
  return items;
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

using simdjson::dom::element_type;



// The top-level key whose value contains byte `offset` of an object's text ("" if none), so an
// error found by position can still name its field.
std::string KeyAt(std::string_view s, size_t offset) {
  int depth = 0;
  std::string key, last_string;
  for (size_t i = 0; i < s.size() && i < offset; ++i) {
    const char c = s[i];
    if (c == '"') {
      const size_t start = ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\') ++i;
        ++i;
      }
      if (i >= offset) break;  // the offset is inside this string
      last_string.assign(s.substr(start, i - start));
    } else if (c == ':' && depth == 1) {
      key = last_string;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return key;
}

}  // namespace

struct EventParser::Impl {
  // DOM rather than On-Demand: the DOM parser picks the best SIMD kernel at run time, while
  // On-Demand would be fixed at the generic one without -march flags.
  simdjson::dom::parser parser;
  std::string buffer;  // the element copied with simdjson's required padding

  Status ReadString(simdjson::dom::element v, std::string_view field, size_t max_bytes,
                    std::string& out) {
    if (v.type() != element_type::STRING) {
      return Status::Invalid(fmt::format("must be a string (got {})", JsonTypeWord(v.type())),
                             std::string(field));
    }
    std::string_view s = v.get_string().value_unsafe();
    if (s.size() > max_bytes) {
      return Status::Invalid(fmt::format("longer than {} bytes", max_bytes), std::string(field));
    }
    out.assign(s);
    return Status::Ok();
  }

  Result<Event> Parse(std::string_view json);
};

EventParser::EventParser() : impl_(new Impl) {}
EventParser::~EventParser() { delete impl_; }
Result<Event> EventParser::Parse(std::string_view json) { return impl_->Parse(json); }

Result<Event> EventParser::Impl::Parse(std::string_view json) {
  buffer.assign(json);
  buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  if (auto err = parser.parse(buffer.data(), json.size(), false).get(doc)) {
    if (err == simdjson::UTF8_ERROR) {
      const size_t at = FirstInvalidUtf8(json);
      return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", at), KeyAt(json, at));
    }
    return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return Status::Invalid("an event must be a JSON object");

  Event e;
  std::string type_name, time_text, kind_name, reason_name, role_name, amount_text, op_name;
  bool has_time = false, has_type = false, has_amount = false;
  std::string attrs;
  for (auto [key, v] : obj) {
    Status st;
    if (key == "id") {
      st = ReadString(v, key, kMaxIdBytes, e.id);
    } else if (key == "type") {
      st = ReadString(v, key, 64, type_name);
      has_type = true;
    } else if (key == "time") {
      st = ReadString(v, key, 64, time_text);
      has_time = true;
    } else if (key == "platform") {
      st = ReadString(v, key, 32, e.platform);
    } else if (key == "community") {
      st = ReadString(v, key, kMaxCommunityBytes, e.community);
    } else if (key == "group") {
      st = ReadString(v, key, kMaxIdBytes, e.group);
    } else if (key == "group_name") {
      st = ReadString(v, key, 512, e.group_name);
    } else if (key == "member") {
      st = ReadString(v, key, kMaxIdBytes, e.member);
    } else if (key == "name") {
      st = ReadString(v, key, 512, e.name);
    } else if (key == "role") {
      st = ReadString(v, key, 32, role_name);
      if (st.ok()) {
        e.role = ParseRole(role_name);
        if (!e.role) st = Status::Invalid("must be owner, admin, assistant or member", "role");
      }
    } else if (key == "kind") {
      st = ReadString(v, key, 32, kind_name);
    } else if (key == "text") {
      st = ReadString(v, key, kMaxTextBytes, e.text);
    } else if (key == "reply_to") {
      st = ReadString(v, key, kMaxIdBytes, e.reply_to);
    } else if (key == "mentions") {
      simdjson::dom::array arr;
      if (v.get_array().get(arr)) {
        st = Status::Invalid("must be an array of member ids", "mentions");
      } else {
        for (auto iv : arr) {
          std::string m;
          st = ReadString(iv, "mentions[]", kMaxIdBytes, m);
          if (!st.ok()) break;
          if (e.mentions.size() >= kMaxMentions) {
            st = Status::Invalid(fmt::format("more than {} entries", kMaxMentions), "mentions");
            break;
          }
          e.mentions.push_back(std::move(m));
        }
      }
    } else if (key == "qr") {
      simdjson::dom::array arr;
      if (v.get_array().get(arr)) {
        st = Status::Invalid("must be an array of strings (QR code payloads)", "qr");
      } else {
        for (auto iv : arr) {
          std::string payload;
          st = ReadString(iv, "qr[]", kMaxQrCodeBytes, payload);
          if (!st.ok()) break;
          if (e.qr.size() >= kMaxQrCodes) {
            st = Status::Invalid(fmt::format("more than {} entries", kMaxQrCodes), "qr");
            break;
          }
          e.qr.push_back(std::move(payload));
        }
      }
    } else if (key == "via") {
      simdjson::dom::object via;
      if (v.get_object().get(via)) {
        st = Status::Invalid("must be an object {\"inviter\":…, \"code\":…}", "via");
      } else {
        for (auto [vkey, vv] : via) {
          if (vkey == "inviter") {
            st = ReadString(vv, "via.inviter", kMaxIdBytes, e.via_inviter);
          } else if (vkey == "code") {
            st = ReadString(vv, "via.code", kMaxIdBytes, e.via_code);
          } else {
            st = Status::Invalid("unknown key (expected inviter or code)",
                                 fmt::format("via.{}", vkey));
          }
          if (!st.ok()) break;
        }
      }
    } else if (key == "reason") {
      st = ReadString(v, key, 32, reason_name);
    } else if (key == "url") {
      st = ReadString(v, key, 4096, e.url);
    } else if (key == "amount") {
      st = ReadString(v, key, 64, amount_text);
      has_amount = true;
    } else if (key == "currency") {
      st = ReadString(v, key, 8, e.currency);
    } else if (key == "product") {
      st = ReadString(v, key, 512, e.product);
    } else if (key == "tag") {
      st = ReadString(v, key, 128, e.tag);
    } else if (key == "op") {
      st = ReadString(v, key, 16, op_name);
    } else if (key == "timer") {
      st = ReadString(v, key, 256, e.timer);
    } else if (key == "command") {
      st = ReadString(v, key, 128, e.command);
    } else if (key == "payload") {
      if (v.type() != element_type::OBJECT) {
        st = Status::Invalid("must be an object", "payload");
      } else {
        e.payload = simdjson::minify(v);
        if (e.payload.size() > kMaxPayloadBytes) {
          st = Status::Invalid(fmt::format("longer than {} bytes", kMaxPayloadBytes), "payload");
        }
      }
    } else if (key == "action") {
      st = ReadString(v, key, 64, e.action);
    } else if (key == "action_type") {
      st = ReadString(v, key, 64, e.action_type);
    } else if (key == "error") {
      st = ReadString(v, key, 4096, e.error);
    } else if (key == "request") {
      st = ReadString(v, key, kMaxIdBytes, e.request);
    } else if (key == "to") {
      st = ReadString(v, key, kMaxIdBytes, e.to);
    } else if (key == "points") {
      if (v.type() != element_type::INT64) {
        st = Status::Invalid(fmt::format("must be an integer (got {})", JsonTypeWord(v.type())), "points");
      } else {
        e.points = v.get_int64().value_unsafe();
        if (e.points < -1000000000 || e.points > 1000000000) {
          st = Status::Invalid("must be within ±1000000000", "points");
        }
      }
    } else {
      // Unknown: kept, minified, so nothing a platform sent is lost.
      attrs += attrs.empty() ? '{' : ',';
      AppendJsonString(attrs, key);
      attrs += ':';
      attrs += simdjson::minify(v);
      // Bounded as a whole: otherwise any unknown key would carry what `text` may not.
      if (attrs.size() + 1 > kMaxAttrsBytes) {
        st = Status::Invalid(
            fmt::format("unknown fields are kept up to {} bytes in all; with this one they are "
                        "{} bytes",
                        kMaxAttrsBytes, attrs.size() + 1),
            std::string(key));
      }
    }
    if (!st.ok()) return st;
  }
  if (!attrs.empty()) {
    attrs += '}';
    e.attrs = std::move(attrs);
  }

  // Requirements common to every type.
  if (e.id.empty()) return Status::Invalid("required (the source id, unique per platform)", "id");
  if (!has_type) return Status::Invalid("required", "type");
  auto type = ParseEventType(type_name);
  if (!type) return Status::Invalid(fmt::format("unknown event type '{}'", type_name), "type");
  e.type = *type;
  if (!has_time) return Status::Invalid("required (RFC 3339 with offset)", "time");
  auto ts = ParseRfc3339(time_text);
  if (!ts.ok()) return Status::Invalid(ts.status().message(), "time");
  if (const int64_t year = WrittenYear(*ts); year < kMinEventYear || year > kMaxEventYear) {
    return Status::Invalid(fmt::format("'{}' is outside the accepted dates ({}-01-01 to "
                                       "{}-12-31)",
                                       time_text, kMinEventYear, kMaxEventYear),
                           "time");
  }
  e.time = ts->ms;
  e.time_offset = static_cast<int16_t>(ts->offset_minutes);
  if (e.platform.empty()) return Status::Invalid("required", "platform");
  for (const char c : e.platform) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return Status::Invalid("must be lower-case letters, digits, '_' or '-'", "platform");
    }
  }
  if (e.member.empty() && !IsSystemEvent(e.type)) return Status::Invalid("required", "member");

  // Per type.
  // A message without a group is a private chat with the bot (IsDirectMessage).
  switch (e.type) {
    case EventType::kMemberJoined:
    case EventType::kMemberLeft:
    case EventType::kCheckin:
    case EventType::kJoinRequest:
    case EventType::kMemberSynced:
    case EventType::kBotRemoved:
    case EventType::kBotAdded:
      if (e.group.empty()) return Status::Invalid("required for this event type", "group");
      break;
    case EventType::kGroupBound:
    case EventType::kGroupMigrated:
      if (e.group.empty()) return Status::Invalid("required for this event type", "group");
      if (e.to.empty()) {
        return Status::Invalid(e.type == EventType::kGroupBound
                                   ? "required: the community the group moves to"
                                   : "required: the group's new id",
                               "to");
      }
      if (e.type == EventType::kGroupMigrated && e.to == e.group) {
        return Status::Invalid("the new id is the group's own id", "to");
      }
      if (e.type == EventType::kGroupBound && e.to.size() > kMaxCommunityBytes) {
        return Status::Invalid(fmt::format("longer than {} bytes", kMaxCommunityBytes), "to");
      }
      break;
    default:
      break;
  }
  if (!kind_name.empty()) {
    auto kind = ParseMessageKind(kind_name);
    if (!kind) return Status::Invalid(fmt::format("unknown message kind '{}'", kind_name), "kind");
    e.kind = *kind;
  }
  if (!reason_name.empty()) {
    if (reason_name == "left") {
      e.reason = LeaveReason::kLeft;
    } else if (reason_name == "removed") {
      e.reason = LeaveReason::kRemoved;
    } else {
      return Status::Invalid("must be left or removed", "reason");
    }
  }
  if (e.type == EventType::kOrder) {
    if (!has_amount) return Status::Invalid("required for an order (decimal string)", "amount");
    auto amount = ParseAmountE4(amount_text);
    if (!amount.ok()) return amount.status();
    e.amount_e4 = *amount;
    if (e.currency.empty()) e.currency = "CNY";
  } else if (has_amount) {
    auto amount = ParseAmountE4(amount_text);
    if (!amount.ok()) return amount.status();
    e.amount_e4 = *amount;
  }
  if (e.type == EventType::kTagChanged && e.tag.empty()) {
    return Status::Invalid("required for tag_changed", "tag");
  }
  if (e.type == EventType::kTimer && e.timer.empty()) {
    return Status::Invalid("required for a timer event", "timer");
  }
  if (e.type == EventType::kCommand && e.command.find('.') == std::string::npos) {
    return Status::Invalid("required for a command event, as \"<module>.<verb>\"", "command");
  }
  if ((e.type == EventType::kActionDone || e.type == EventType::kActionFailed) &&
      e.action.empty()) {
    return Status::Invalid("required (the outbox action id)", "action");
  }
  if (e.type == EventType::kPointsChanged && e.points == 0) {
    return Status::Invalid("required, non-zero", "points");
  }
  if (!op_name.empty()) {
    if (op_name == "add") {
      e.tag_op = TagOp::kAdd;
    } else if (op_name == "remove") {
      e.tag_op = TagOp::kRemove;
    } else {
      return Status::Invalid("must be add or remove", "op");
    }
  }
  return e;
}

// ---------------------------------------------------------------------------------------------

namespace {

// Whether any of the eight bytes of `word` must be escaped in a JSON string: a control
// character (< 0x20), '"' or '\\'. Exact as a whole (the per-byte flags may not be).
bool WordNeedsEscape(uint64_t word) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t v) { return ((v - kOnes) & ~v & kHigh) != 0; };
  const bool control = ((word - kOnes * 0x20) & ~word & kHigh) != 0;
  return control || has_zero(word ^ (kOnes * '"')) || has_zero(word ^ (kOnes * '\\'));
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    // Eight bytes at a time while none needs escaping: the writer escapes every stored event's
    // and outbox action's texts on its hot path.
    uint64_t word;
    while (i + 8 <= s.size() && (std::memcpy(&word, s.data() + i, 8), !WordNeedsEscape(word))) {
      i += 8;
    }
    if (i >= s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(plain, i - plain));
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      // simdjson writes these two short escapes too: an attrs value it re-serialises (EventParser)
      // must come out as this function wrote it, or a stored event would not round-trip.
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: out += fmt::format("\\u{:04x}", c);
    }
  }
  out.append(s.substr(plain));
  out += '"';
}

std::string JsonString(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  AppendJsonString(out, text);
  return out;
}

std::string EventToJson(const Event& e) {
  std::string out;
  out.reserve(192 + e.text.size());
  auto str = [&](std::string_view key, std::string_view value) {
    out += out.empty() ? '{' : ',';
    AppendJsonString(out, key);
    out += ':';
    AppendJsonString(out, value);
  };
  auto opt = [&](std::string_view key, std::string_view value) {
    if (!value.empty()) str(key, value);
  };
  str("id", e.id);
  str("type", EventTypeName(e.type));
  str("time", FormatRfc3339(e.time, e.time_offset));
  str("platform", e.platform);
  opt("community", e.community);
  opt("group", e.group);
  opt("group_name", e.group_name);
  opt("member", e.member);
  opt("name", e.name);
  if (e.role) str("role", RoleName(*e.role));
  if (e.type == EventType::kMessage || e.kind != MessageKind::kText) {
    str("kind", MessageKindName(e.kind));
  }
  opt("text", e.text);
  opt("reply_to", e.reply_to);
  if (!e.mentions.empty()) {
    out += ",\"mentions\":[";
    for (size_t i = 0; i < e.mentions.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, e.mentions[i]);
    }
    out += ']';
  }
  if (!e.qr.empty()) {
    out += ",\"qr\":[";
    for (size_t i = 0; i < e.qr.size(); ++i) {
      if (i) out += ',';
      AppendJsonString(out, e.qr[i]);
    }
    out += ']';
  }
  if (!e.via_inviter.empty() || !e.via_code.empty()) {
    out += ",\"via\":{";
    bool first = true;
    if (!e.via_inviter.empty()) {
      out += "\"inviter\":";
      AppendJsonString(out, e.via_inviter);
      first = false;
    }
    if (!e.via_code.empty()) {
      if (!first) out += ',';
      out += "\"code\":";
      AppendJsonString(out, e.via_code);
    }
    out += '}';
  }
  if (e.type == EventType::kMemberLeft) str("reason", LeaveReasonName(e.reason));
  opt("url", e.url);
  if (e.type == EventType::kOrder || e.amount_e4 != 0) str("amount", FormatAmountE4(e.amount_e4));
  opt("currency", e.currency);
  opt("product", e.product);
  opt("tag", e.tag);
  if (e.type == EventType::kTagChanged) str("op", e.tag_op == TagOp::kAdd ? "add" : "remove");
  opt("timer", e.timer);
  opt("command", e.command);
  if (!e.payload.empty()) {
    out += ",\"payload\":";
    out += e.payload;
  }
  opt("action", e.action);
  opt("action_type", e.action_type);
  opt("error", e.error);
  if (e.points != 0) out += fmt::format(",\"points\":{}", e.points);
  opt("request", e.request);
  opt("to", e.to);
  if (e.attrs.size() > 2) {
    out += ',';
    out.append(e.attrs, 1, e.attrs.size() - 1);  // members of attrs, with its closing '}'
  } else {
    out += '}';
  }
  return out;
}

}  // namespace qz
