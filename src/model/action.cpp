#include "model/action.hpp"

#include "core/enum_names.hpp"
#include "core/text/utf8.hpp"
#include "model/event.hpp"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

namespace qz {
namespace {

constexpr std::array<std::string_view, kActionTypeCount> kActionNames = {
    "send_message", "reply",    "send_direct", "delete_message", "warn",          "mute",
    "remove_member", "unmute",  "unban",       "create_invite",  "set_tag",       "award_points",
    "schedule_timer", "open_task", "set_announcement", "answer_join_request", "sync_members"};
constexpr std::array<std::string_view, 5> kStatusNames = {"pending", "sending", "done", "failed",
                                                          "possibly_sent"};

}  // namespace

std::string_view ActionTypeName(ActionType type) { return EnumName(kActionNames, type, 1); }
std::optional<ActionType> ParseActionType(std::string_view name) {
  return EnumFromName<ActionType>(kActionNames, name, 1);
}
bool RepeatIsHarmless(ActionType type) {
  switch (type) {
    case ActionType::kDeleteMessage:
    case ActionType::kMute:
    case ActionType::kRemoveMember:
    case ActionType::kUnmute:
    case ActionType::kUnban:
    case ActionType::kAnswerJoinRequest:  // a request answered twice: the second is refused
    case ActionType::kSyncMembers:
      return true;
    default:
      return false;
  }
}

bool IsPlatformAction(ActionType type) {
  return static_cast<int>(type) <= static_cast<int>(ActionType::kCreateInvite) ||
         static_cast<int>(type) >= static_cast<int>(ActionType::kSetAnnouncement);
}

Capabilities Capabilities::All() {
  Capabilities c;
  for (int t = 1; t <= kActionTypeCount; ++t) {
    if (IsPlatformAction(static_cast<ActionType>(t))) c.Add(static_cast<ActionType>(t));
  }
  return c;
}

std::string_view ActionStatusName(ActionStatus status) { return EnumName(kStatusNames, status); }
std::optional<ActionStatus> ParseActionStatus(std::string_view name) {
  return EnumFromName<ActionStatus>(kStatusNames, name);
}

std::string ActionToJson(const Action& a) {
  // Written by hand rather than through a JSON document: the writer stores one per outbox
  // action, on its hot path. Invalid UTF-8 in a module's text becomes U+FFFD, so the stored
  // payload always parses back (ActionFromJson).
  std::string out;
  out.reserve(160 + a.text.size() + a.evidence.size());
  auto key = [&](std::string_view k) {
    out += out.empty() ? '{' : ',';
    AppendJsonString(out, k);
    out += ':';
  };
  auto text = [&](std::string_view v) {
    if (IsValidUtf8(v)) return AppendJsonString(out, v);
    std::string clean;
    while (!v.empty()) {
      const size_t bad = FirstInvalidUtf8(v);
      clean.append(v.substr(0, bad));
      if (bad == v.size()) break;
      clean += "\xEF\xBF\xBD";
      v.remove_prefix(bad + 1);
    }
    AppendJsonString(out, clean);
  };
  auto opt = [&](std::string_view k, const std::string& v) {
    if (v.empty()) return;
    key(k);
    text(v);
  };
  auto opt_int = [&](std::string_view k, int64_t v) {
    if (v == 0) return;
    key(k);
    const fmt::format_int digits(v);
    out.append(digits.data(), digits.size());
  };
  key("type");
  AppendJsonString(out, ActionTypeName(a.type));
  opt_int("community_id", a.community_id);
  opt("community", a.community);
  opt("platform", a.platform);
  opt("group", a.group);
  opt_int("group_id", a.group_id);
  opt("member", a.member);
  opt_int("member_id", a.member_id);
  opt("text", a.text);
  opt("reply_to", a.reply_to);
  opt_int("duration_s", a.duration_s);
  opt("tag", a.tag);
  if (a.remove_tag) {
    key("remove_tag");
    out += "true";
  }
  opt_int("points", a.points);
  opt("timer", a.timer);
  opt_int("due", a.due);
  if (!a.payload.empty()) {
    // A JSON object text, embedded as JSON (minified); text that is not JSON is kept as it is
    // and makes the document unreadable, which the store refuses (AddAction).
    key("payload");
    auto j = nlohmann::json::parse(a.payload, nullptr, false);
    out += j.is_discarded() ? a.payload
                            : j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  opt("evidence", a.evidence);
  opt("request", a.request);
  if (a.approve) {
    key("approve");
    out += "true";
  }
  opt("cause_event", a.cause_event);
  opt("rule", a.rule);
  out += '}';
  return out;
}

Result<Action> ActionFromJson(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid("an action must be a JSON object");
  Action a;
  for (auto& item : j.items()) {
    // Named references rather than a structured binding: lambdas capture them (clang-tidy's
    // C++20 front end cannot capture bindings).
    const std::string& key = item.key();
    const nlohmann::json& v = item.value();
    auto str = [&](std::string& out) -> Status {
      if (!v.is_string()) return Status::Invalid("must be a string", key);
      out = v.get<std::string>();
      return Status::Ok();
    };
    auto num = [&](int64_t& out) -> Status {
      if (!v.is_number_integer()) return Status::Invalid("must be an integer", key);
      out = v.get<int64_t>();
      return Status::Ok();
    };
    Status st;
    if (key == "type") {
      std::string name;
      st = str(name);
      if (st.ok()) {
        auto t = ParseActionType(name);
        if (!t) return Status::Invalid(fmt::format("unknown action type '{}'", name), "type");
        a.type = *t;
      }
    } else if (key == "community_id") { st = num(a.community_id);
    } else if (key == "community") { st = str(a.community);
    } else if (key == "platform") { st = str(a.platform);
    } else if (key == "group") { st = str(a.group);
    } else if (key == "group_id") { st = num(a.group_id);
    } else if (key == "member") { st = str(a.member);
    } else if (key == "member_id") { st = num(a.member_id);
    } else if (key == "text") { st = str(a.text);
    } else if (key == "reply_to") { st = str(a.reply_to);
    } else if (key == "duration_s") { st = num(a.duration_s);
    } else if (key == "tag") { st = str(a.tag);
    } else if (key == "remove_tag") {
      if (!v.is_boolean()) return Status::Invalid("must be a boolean", key);
      a.remove_tag = v.get<bool>();
    } else if (key == "points") { st = num(a.points);
    } else if (key == "timer") { st = str(a.timer);
    } else if (key == "due") { st = num(a.due);
    } else if (key == "payload") {
      if (!v.is_object()) return Status::Invalid("must be an object", key);
      a.payload = v.dump();
    } else if (key == "evidence") { st = str(a.evidence);
    } else if (key == "request") { st = str(a.request);
    } else if (key == "approve") {
      if (!v.is_boolean()) return Status::Invalid("must be a boolean", key);
      a.approve = v.get<bool>();
    } else if (key == "cause_event") { st = str(a.cause_event);
    } else if (key == "rule") { st = str(a.rule);
    } else {
      return Status::Invalid("unknown key", key);
    }
    if (!st.ok()) return st;
  }
  if (!j.contains("type")) return Status::Invalid("required", "type");
  return a;
}

}  // namespace qz
