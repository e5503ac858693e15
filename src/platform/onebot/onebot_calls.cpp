// The outbound half of the OneBot translation layer (onebot_protocol.hpp): actions into API calls,
// API responses into outcomes, member lists.
#include "platform/onebot/onebot_protocol.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <climits>

#include "core/text/utf8.hpp"
#include "core/time.hpp"
#include "model/json_type.hpp"
#include "platform/onebot/cq_code.hpp"
#include "platform/onebot/onebot_json.hpp"

namespace qz::onebot {

using namespace json_read;  // NOLINT(google-build-using-namespace): this folder's own reader

// ---------------------------------------------------------------------------------------------
// Calls

namespace {

// A QQ number from an Action field: decimal digits fitting int64.
Result<int64_t> QqNumber(std::string_view text, std::string_view field) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos ||
      ec != std::errc() || end != text.data() + text.size()) {
    return Status::Invalid(
        fmt::format("'{}' is not a QQ number (decimal digits fitting 64 bits)", Excerpt(text, 40)),
        std::string(field));
  }
  return v;
}

struct MessageRef {
  std::string self_id;
  int64_t message_id = 0;
};

// A message's event id, "<self_id>:<message_id>" (ReportParser's).
Result<MessageRef> ParseMessageRef(std::string_view ref) {
  const auto bad = [&] {
    return Status::Invalid(fmt::format("'{}' is not a OneBot message id "
                                       "(\"<self_id>:<message_id>\")",
                                       Excerpt(ref, 60)),
                           "reply_to");
  };
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return bad();
  const std::string_view self = ref.substr(0, colon), id = ref.substr(colon + 1);
  if (!QqNumber(self, "reply_to").ok()) return bad();
  MessageRef m{std::string(self)};
  const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), m.message_id);
  const size_t digits_from = !id.empty() && id[0] == '-' ? 1 : 0;
  if (id.size() <= digits_from ||
      id.find_first_not_of("0123456789", digits_from) != std::string_view::npos ||
      ec != std::errc() || end != id.data() + id.size()) {
    return bad();
  }
  return m;
}

Status CheckText(std::string_view text) {
  if (text.empty()) return Status::Invalid("required (the message to send)", "text");
  if (!IsValidUtf8(text)) {
    return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(text)), "text");
  }
  return Status::Ok();
}

std::string TextSegment(std::string_view text) {
  return fmt::format(R"({{"type":"text","data":{{"text":{}}}}})", JsonString(text));
}

}  // namespace

Result<OneBotCall> BuildCall(const OutboxRecord& record) {
  const Action& a = record.action;
  OneBotCall call;
  switch (a.type) {
    case ActionType::kSendMessage: {
      QZ_ASSIGN_OR_RETURN(const int64_t group, QqNumber(a.group, "group"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      call.action = "send_group_msg";
      call.params = fmt::format(R"({{"group_id":{},"message":[{}]}})", group, TextSegment(a.text));
      return call;
    }
    case ActionType::kReply:
    case ActionType::kWarn: {
      QZ_ASSIGN_OR_RETURN(const int64_t group, QqNumber(a.group, "group"));
      QZ_ASSIGN_OR_RETURN(MessageRef ref, ParseMessageRef(a.reply_to));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      call.action = "send_group_msg";
      call.params =
          fmt::format(R"({{"group_id":{},"message":[{{"type":"reply","data":{{"id":"{}"}}}},{}]}})",
                      group, ref.message_id, TextSegment(a.text));
      call.self_id = std::move(ref.self_id);
      return call;
    }
    case ActionType::kSendDirect: {
      QZ_ASSIGN_OR_RETURN(const int64_t user, QqNumber(a.member, "member"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      call.action = "send_private_msg";
      call.params = fmt::format(R"({{"user_id":{},"message":[{}]}})", user, TextSegment(a.text));
      return call;
    }
    case ActionType::kDeleteMessage: {
      QZ_ASSIGN_OR_RETURN(MessageRef ref, ParseMessageRef(a.reply_to));
      call.action = "delete_msg";
      call.params = fmt::format(R"({{"message_id":{}}})", ref.message_id);
      call.self_id = std::move(ref.self_id);
      return call;
    }
    case ActionType::kMute:
    case ActionType::kUnmute:
    case ActionType::kRemoveMember: {
      QZ_ASSIGN_OR_RETURN(const int64_t group, QqNumber(a.group, "group"));
      QZ_ASSIGN_OR_RETURN(const int64_t user, QqNumber(a.member, "member"));
      if (a.type == ActionType::kRemoveMember) {
        call.action = "set_group_kick";
        call.params = fmt::format(R"({{"group_id":{},"user_id":{},"reject_add_request":false}})",
                                  group, user);
        return call;
      }
      int64_t duration = 0;  // unmute: set_group_ban with 0 lifts the mute
      if (a.type == ActionType::kMute) {
        // duration_s <= 0 is "until unmuted" (join verification's mute): QQ's longest. Sending
        // 0 would lift the mute instead.
        duration = a.duration_s <= 0 ? kMaxMuteSeconds : std::min(a.duration_s, kMaxMuteSeconds);
      }
      call.action = "set_group_ban";
      call.params =
          fmt::format(R"({{"group_id":{},"user_id":{},"duration":{}}})", group, user, duration);
      return call;
    }
    case ActionType::kAnswerJoinRequest: {
      // The call names no group or applicant: the flag does. The reason is shown to the
      // applicant only on a rejection.
      if (a.request.empty()) {
        return Status::Invalid("required (the join_request event's request)", "request");
      }
      if (!a.approve && !IsValidUtf8(a.text)) {
        return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(a.text)),
                               "text");
      }
      // "<self_id>:<flag>" (ParseReport): answered by the account that received it.
      const size_t colon = a.request.find(':');
      if (colon == std::string::npos || colon == 0) {
        return Status::Invalid("expected \"<self_id>:<flag>\", as a join_request event has it", "request");
      }
      Result<OneBotCall> answer =
          JoinRequestCall(a.request.substr(colon + 1), "add", a.approve, a.approve ? "" : a.text);
      if (!answer.ok()) return Status::Invalid(answer.status().message(), "request");
      answer->self_id = a.request.substr(0, colon);
      return answer;
    }
    case ActionType::kSyncMembers:
      return GroupMemberListCall(a.group);
    default:
      return Status::Invalid(
          fmt::format("{} is not supported through OneBot v11", ActionTypeName(a.type)), "type");
  }
}

Result<OneBotCall> JoinRequestCall(std::string_view flag, std::string_view sub_type, bool approve,
                                   std::string_view reason) {
  if (flag.empty()) return Status::Invalid("required (the request's flag)", "flag");
  if (sub_type != "add" && sub_type != "invite") {
    return Status::Invalid("must be add or invite (as the request was reported)", "sub_type");
  }
  if (!IsValidUtf8(flag) || !IsValidUtf8(reason)) {
    return Status::Invalid("invalid UTF-8", IsValidUtf8(flag) ? "reason" : "flag");
  }
  return OneBotCall{"set_group_add_request",
                    fmt::format(R"({{"flag":{},"sub_type":"{}","approve":{},"reason":{}}})",
                                JsonString(flag), sub_type, approve, JsonString(reason)),
                    {}};
}

Result<OneBotCall> GroupMemberListCall(std::string_view group) {
  QZ_ASSIGN_OR_RETURN(const int64_t id, QqNumber(group, "group"));
  return OneBotCall{"get_group_member_list",
                    fmt::format(R"({{"group_id":{},"no_cache":true}})", id), {}};
}

std::string CallEnvelope(const OneBotCall& call, std::string_view echo) {
  return fmt::format(R"({{"action":{},"params":{},"echo":{}}})", JsonString(call.action),
                     call.params.empty() ? "{}" : call.params, JsonString(echo));
}

Capabilities OneBotCapabilities() {
  Capabilities c;
  for (const ActionType t : {ActionType::kSendMessage, ActionType::kReply, ActionType::kSendDirect,
                             ActionType::kDeleteMessage, ActionType::kWarn, ActionType::kMute,
                             ActionType::kRemoveMember, ActionType::kUnmute,
                             ActionType::kAnswerJoinRequest, ActionType::kSyncMembers}) {
    c.Add(t);
  }
  c.dedupes_sends = false;
  return c;
}

RateLimits OneBotRateLimits() { return RateLimits{.per_second = 2}; }

// ---------------------------------------------------------------------------------------------
// Responses

Response ParseResponse(int http_status, std::string_view body, std::string_view self_id) {
  Response out;
  out.data = "null";
  PerformResult& res = out.result;
  auto fail = [&](PerformResult::Kind kind, std::string error) {
    res.kind = kind;
    res.error = std::move(error);
    return out;
  };
  if (http_status == 401 || http_status == 403) {
    // A configuration problem of every call, not a refusal of this one: retried, so that once
    // the token is fixed (a restart) nothing was lost; delivery treats a run of these as an
    // outage and probes instead of using up attempts.
    return fail(PerformResult::Kind::kRetry,
                fmt::format("HTTP {}: the access token is {}", http_status,
                            http_status == 401 ? "missing" : "wrong"));
  }
  if (http_status == 408 || http_status == 429 || http_status >= 500) {
    return fail(PerformResult::Kind::kRetry, fmt::format("HTTP {}", http_status));
  }
  if (http_status == 404) return fail(PerformResult::Kind::kFailed, "HTTP 404: unknown action");
  if (http_status < 200 || http_status >= 300) {
    return fail(PerformResult::Kind::kFailed,
                fmt::format("HTTP {}: {}", http_status, Excerpt(body, kMaxErrorBytes)));
  }
  simdjson::dom::parser parser;
  element doc;
  object o;
  std::string buffer;
  if (ParseDom(parser, buffer, body, doc) || doc.get_object().get(o)) {
    return fail(PerformResult::Kind::kRetry,
                fmt::format("not a OneBot response: {}", Excerpt(body, 200)));
  }
  if (const std::optional<element> echo = Find(o, "echo")) {
    out.echo = echo->type() == element_type::STRING ? std::string(echo->get_string().value_unsafe())
                                                    : simdjson::minify(*echo);
  }
  if (const std::optional<element> data = Find(o, "data")) out.data = simdjson::minify(*data);
  std::optional<int64_t> retcode;
  if (Result<std::optional<int64_t>> rc = ReadInt(o, "retcode", "retcode"); rc.ok()) {
    retcode = *rc;
  }
  out.retcode = retcode.value_or(0);
  const std::string status = ReadString(o, "status", false).value();
  if (status.empty() && !retcode) {
    return fail(
        PerformResult::Kind::kRetry,
        fmt::format("not a OneBot response (no status or retcode): {}", Excerpt(body, 200)));
  }
  // Success iff status ok (or async); without a status, retcode 0 (1: async).
  const bool done =
      status.empty() ? (*retcode == 0 || *retcode == 1) : (status == "ok" || status == "async");
  if (!done) {
    std::string why;
    for (const std::string_view key : {"wording", "message", "msg"}) {
      why = ReadString(o, key, false).value();
      if (!why.empty()) break;
    }
    return fail(PerformResult::Kind::kFailed,
                fmt::format("retcode {}: {}", out.retcode,
                            why.empty() ? std::string("failed") : Excerpt(why, kMaxErrorBytes)));
  }
  object data;
  if (!doc["data"].get_object().get(data)) {
    if (Result<std::optional<int64_t>> mid = ReadInt(data, "message_id", "data.message_id");
        mid.ok() && mid->has_value()) {
      res.platform_ref = fmt::format("{}:{}", self_id, **mid);
    }
  }
  return out;
}

Result<GroupMemberList> ParseGroupMembers(std::string_view data) {
  simdjson::dom::parser parser;
  element doc;
  std::string buffer;
  if (auto err = ParseDom(parser, buffer, data, doc)) {
    return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(err)), "data");
  }
  array arr;
  if (doc.get_array().get(arr)) {
    return Status::Invalid(
        fmt::format("must be an array of members (got {})", JsonTypeWord(doc.type())), "data");
  }
  GroupMemberList list;
  list.members.reserve(std::min(arr.size(), kMaxGroupMembers));
  for (element item : arr) {
    if (list.members.size() + list.skipped >= kMaxGroupMembers) {
      ++list.truncated;
      continue;
    }
    object o;
    if (item.get_object().get(o)) {
      ++list.skipped;
      continue;
    }
    Result<std::string> user = ReadQq(o, "user_id", true);
    if (!user.ok()) {
      ++list.skipped;
      continue;
    }
    GroupMember m;
    m.user_id = std::move(*user);
    m.nickname = Cut(ReadString(o, "nickname", false).value(), kMaxNameBytes);
    m.card = Cut(ReadString(o, "card", false).value(), kMaxNameBytes);
    m.role = ParseSenderRole(ReadString(o, "role", false).value());
    if (Result<std::optional<int64_t>> t = ReadInt(o, "join_time", "join_time");
        t.ok() && t->has_value() && **t > 0 && **t < kMaxSeconds) {
      m.join_time = **t * 1000;
    }
    list.members.push_back(std::move(m));
  }
  return list;
}

std::vector<Event> MemberSyncedEvents(std::string_view group, const std::vector<GroupMember>& members,
                                      const std::vector<std::string>& bots, TimeMs now,
                                      const ParseOptions& options) {
  std::vector<Event> events;
  events.reserve(members.size());
  for (const GroupMember& m : members) {
    if (std::find(bots.begin(), bots.end(), m.user_id) != bots.end()) continue;
    Event e;
    e.type = EventType::kMemberSynced;
    e.platform = options.platform;
    e.time_offset = options.time_offset_minutes;
    e.time = now;
    if (m.join_time >= kMinSeconds * 1000) {
      const int64_t year = WrittenYear(Timestamp{m.join_time, options.time_offset_minutes});
      if (year >= kMinEventYear && year <= kMaxEventYear) e.time = m.join_time;
    }
    e.group = group;
    e.member = m.user_id;
    e.name = m.card.empty() ? m.nickname : m.card;
    e.role = m.role;
    e.id = fmt::format("sync:{}:{}:{}:{}", group, m.user_id, m.role ? RoleName(*m.role) : "", now);
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace qz::onebot
