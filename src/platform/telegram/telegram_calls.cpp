// The outbound half of the Telegram translation layer (telegram_protocol.hpp): actions into Bot
// API calls, answers into outcomes, and the other reads.
#include "platform/telegram/telegram_protocol.hpp"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/text/utf8.hpp"
#include "model/json_type.hpp"
#include "platform/telegram/telegram_json.hpp"

namespace qz::telegram {
using namespace json_read;  // NOLINT(google-build-using-namespace): this folder's own reader

// ---- Actions ----

namespace {

constexpr std::array<std::string_view, 14> kPermissions = {
    "can_send_messages",         "can_send_audios",  "can_send_documents",
    "can_send_photos",           "can_send_videos",  "can_send_video_notes",
    "can_send_voice_notes",      "can_send_polls",   "can_send_other_messages",
    "can_add_web_page_previews", "can_change_info",  "can_invite_users",
    "can_pin_messages",          "can_manage_topics"};

Result<int64_t> ParseId(std::string_view s, std::string_view field) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0) {
    return Status::Invalid(
        fmt::format("'{}' is not a Telegram id (a non-zero integer)", Excerpt(s, 40)),
        std::string(field));
  }
  return v;
}

struct MessageRef {
  int64_t chat = 0;
  int64_t message = 0;
};

// "<chat_id>:<message_id>", or an edit's "<chat_id>:<message_id>:e<edit_date>".
Result<MessageRef> ParseMessageRef(std::string_view ref, std::string_view field) {
  const auto bad = [&] {
    return Status::Invalid(fmt::format("'{}' is not a Telegram message id "
                                       "(<chat_id>:<message_id>)",
                                       Excerpt(ref, 60)),
                           std::string(field));
  };
  const size_t colon = ref.find(':');
  if (colon == std::string_view::npos) return bad();
  std::string_view message = ref.substr(colon + 1);
  if (const size_t edit = message.find(':'); edit != std::string_view::npos) {
    const std::string_view suffix = message.substr(edit + 1);
    if (suffix.size() < 2 || suffix[0] != 'e' ||
        !std::all_of(suffix.begin() + 1, suffix.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return bad();
    }
    message = message.substr(0, edit);
  }
  const auto chat = ParseId(ref.substr(0, colon), field);
  const auto id = ParseId(message, field);
  if (!chat.ok() || !id.ok() || *id < 0) return bad();
  return MessageRef{*chat, *id};
}

Status CheckText(std::string_view text) {
  if (text.empty()) return Status::Invalid("required: Telegram sends no empty message", "text");
  if (!IsValidUtf8(text)) {
    return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(text)), "text");
  }
  if (const size_t units = Utf16Length(text); units > kMaxMessageUtf16) {
    return Status::Invalid(fmt::format("{} UTF-16 code units, more than Telegram's {} per message",
                                       units, kMaxMessageUtf16),
                           "text");
  }
  return Status::Ok();
}

std::string Dump(const nlohmann::json& j) {
  // Texts were checked for UTF-8 already; `replace` only keeps dump() from ever throwing.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json Permissions(bool allowed) {
  nlohmann::json p = nlohmann::json::object();
  for (std::string_view k : kPermissions) p[std::string(k)] = allowed;
  return p;
}

// The message an action is about: its reply_to (for delete_message, else the cause event),
// which must be in the action's group when it names one.
Result<MessageRef> TargetMessage(const Action& a) {
  std::string_view ref = a.reply_to;
  const std::string cause_prefix = fmt::format("{}:", kPlatform);
  if (ref.empty() && a.type == ActionType::kDeleteMessage &&
      std::string_view(a.cause_event).starts_with(cause_prefix)) {
    ref = std::string_view(a.cause_event).substr(cause_prefix.size());
  }
  if (ref.empty()) return Status::Invalid("required (<chat_id>:<message_id>)", "reply_to");
  QZ_ASSIGN_OR_RETURN(const MessageRef m, ParseMessageRef(ref, "reply_to"));
  if (!a.group.empty()) {
    QZ_ASSIGN_OR_RETURN(const int64_t group, ParseId(a.group, "group"));
    if (group != m.chat) {
      return Status::Invalid(
          fmt::format("'{}' is a message of another chat than group {}", Excerpt(ref, 60), group),
          "reply_to");
    }
  }
  return m;
}

}  // namespace

Result<TelegramCall> BuildCall(const OutboxRecord& record, TimeMs now) {
  const Action& a = record.action;
  const int64_t now_s = (std::max<TimeMs>(now, 0) + 999) / 1000;  // rounded up: never early
  const auto group_and_member = [&]() -> Result<nlohmann::json> {
    QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
    QZ_ASSIGN_OR_RETURN(const int64_t user, ParseId(a.member, "member"));
    return nlohmann::json{{"chat_id", chat}, {"user_id", user}};
  };
  switch (a.type) {
    case ActionType::kSendMessage: {
      QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{"sendMessage", Dump({{"chat_id", chat}, {"text", a.text}})};
    }
    case ActionType::kReply:
    case ActionType::kWarn: {
      QZ_ASSIGN_OR_RETURN(const MessageRef m, TargetMessage(a));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{
          "sendMessage",
          Dump({{"chat_id", m.chat},
                {"text", a.text},
                {"reply_parameters",
                 {{"message_id", m.message}, {"allow_sending_without_reply", true}}}})};
    }
    case ActionType::kSendDirect: {
      QZ_ASSIGN_OR_RETURN(const int64_t user, ParseId(a.member, "member"));
      QZ_RETURN_IF_ERROR(CheckText(a.text));
      return TelegramCall{"sendMessage", Dump({{"chat_id", user}, {"text", a.text}})};
    }
    case ActionType::kDeleteMessage: {
      QZ_ASSIGN_OR_RETURN(const MessageRef m, TargetMessage(a));
      return TelegramCall{"deleteMessage", Dump({{"chat_id", m.chat}, {"message_id", m.message}})};
    }
    case ActionType::kMute: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["permissions"] = Permissions(false);
      // duration_s <= 0: until unmuted (the verify module mutes so until a member passes).
      j["until_date"] = a.duration_s <= 0 ? 0
                                          : now_s + std::clamp(a.duration_s, kMinRestrictSeconds,
                                                               kMaxRestrictSeconds);
      return TelegramCall{"restrictChatMember", Dump(j)};
    }
    case ActionType::kUnmute: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["permissions"] = Permissions(true);
      return TelegramCall{"restrictChatMember", Dump(j)};
    }
    case ActionType::kRemoveMember: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["until_date"] = now_s + kKickBanSeconds;
      j["revoke_messages"] = false;
      return TelegramCall{"banChatMember", Dump(j)};
    }
    case ActionType::kUnban: {
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      j["only_if_banned"] = true;  // without it Telegram also removes a current member
      return TelegramCall{"unbanChatMember", Dump(j)};
    }
    case ActionType::kCreateInvite: {
      QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
      if (!IsValidUtf8(a.text)) {
        return Status::Invalid(fmt::format("invalid UTF-8 at byte {}", FirstInvalidUtf8(a.text)),
                               "text");
      }
      // Cut after kMaxInviteNameChars characters (code points, as Telegram counts the name).
      size_t chars = 0, end = 0;
      for (; end < a.text.size(); ++end) {
        if ((static_cast<unsigned char>(a.text[end]) & 0xC0) != 0x80 &&
            chars++ == kMaxInviteNameChars) {
          break;
        }
      }
      nlohmann::json j{{"chat_id", chat}, {"creates_join_request", false}};
      if (end > 0) j["name"] = a.text.substr(0, end);
      return TelegramCall{"createChatInviteLink", Dump(j)};
    }
    case ActionType::kAnswerJoinRequest: {
      // The request is Telegram's by chat and user; a reason (`text`) has nowhere to go.
      QZ_ASSIGN_OR_RETURN(nlohmann::json j, group_and_member());
      return TelegramCall{a.approve ? "approveChatJoinRequest" : "declineChatJoinRequest", Dump(j)};
    }
    case ActionType::kSyncMembers: {
      QZ_ASSIGN_OR_RETURN(const int64_t chat, ParseId(a.group, "group"));
      return TelegramCall{"getChatAdministrators", Dump({{"chat_id", chat}})};
    }
    default:
      return Status::Invalid(fmt::format("telegram cannot perform {} (not a declared capability)",
                                         ActionTypeName(a.type)),
                             "type");
  }
}

Capabilities TelegramCapabilities() {
  Capabilities c;
  for (ActionType t :
       {ActionType::kSendMessage, ActionType::kReply, ActionType::kSendDirect,
        ActionType::kDeleteMessage, ActionType::kWarn, ActionType::kMute, ActionType::kRemoveMember,
        ActionType::kUnmute, ActionType::kUnban, ActionType::kCreateInvite,
        ActionType::kAnswerJoinRequest, ActionType::kSyncMembers}) {
    c.Add(t);
  }
  c.dedupes_sends = false;
  return c;
}

RateLimits TelegramRateLimits() {
  return {.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20};
}

// ---- Responses ----

CallOutcome ParseCallResponse(std::string_view method, int status, std::string_view body) {
  CallOutcome out;
  PerformResult& p = out.perform;
  Doc doc;
  Reader r;
  std::optional<Node> top;
  if (doc.Parse(body).ok()) top = r.Root(doc.root(), "body");
  const auto ok = top ? r.OptBool(*top, "ok") : std::nullopt;
  if (!top || !ok || !r.ok()) {
    // A proxy's error page, a cut body: nothing says the call was refused for good.
    p.kind = PerformResult::Kind::kRetry;
    p.error = fmt::format("{}: HTTP {} with a body that is not a Bot API answer", method, status);
    return out;
  }
  if (*ok && status / 100 == 2) {
    p.kind = PerformResult::Kind::kDone;
    if (method == "sendMessage") {
      if (const auto msg = r.Obj(*top, "result", false)) {
        const auto chat = r.Obj(*msg, "chat", false);
        const auto id = r.OptInt(*msg, "message_id");
        const auto chat_id = chat ? r.OptInt(*chat, "id") : std::nullopt;
        if (r.ok() && id && chat_id) p.platform_ref = fmt::format("{}:{}", *chat_id, *id);
      }
    } else if (method == "createChatInviteLink") {
      if (const auto link = r.Obj(*top, "result", false)) {
        p.platform_ref = std::string(r.Str(*link, "invite_link"));
      }
    }
    return out;  // done even when the result lacks the ref: the platform did it
  }

  const auto error_code = r.OptInt(*top, "error_code");
  const std::string description(Excerpt(r.Str(*top, "description"), kMaxDescriptionBytes));
  const auto params = r.Obj(*top, "parameters", false);
  const auto retry_after = params ? r.OptInt(*params, "retry_after") : std::nullopt;
  const auto migrate = params ? r.OptInt(*params, "migrate_to_chat_id") : std::nullopt;
  const int64_t code = r.ok() && error_code ? *error_code : status;
  p.error = description.empty() ? fmt::format("{}: HTTP {}", method, code)
                                : fmt::format("{}: {}", method, description);
  if (code == 429 || status == 429) {
    p.kind = PerformResult::Kind::kRetry;
    if (r.ok() && retry_after)
      p.retry_after_ms = std::clamp<int64_t>(*retry_after, 0, kMaxRetryAfterS) * 1000;
  } else if (code / 100 != 4 && status / 100 != 4) {
    p.kind = PerformResult::Kind::kRetry;  // 5xx, or nothing we know: transient
  } else if (code == 401 || status == 401) {
    // The token was refused: every call fails until it is fixed (a restart). Retried, so that
    // nothing is lost meanwhile; delivery sees an outage and probes instead of using attempts.
    p.kind = PerformResult::Kind::kRetry;
    p.error = fmt::format("{}: the bot token was refused (401): check [platforms.telegram] token", method);
  } else if (code == 403 || status == 403) {
    p.kind = PerformResult::Kind::kFailed;
    out.bot_removed = true;
  } else if (r.ok() && migrate) {
    p.kind = PerformResult::Kind::kFailed;
    out.migrate_to_chat_id = *migrate;
  } else if (method == "deleteMessage" &&
             description.find("message to delete not found") != std::string::npos) {
    p.kind = PerformResult::Kind::kDone;  // already gone: what was asked for holds
    p.error.clear();
  } else if (method == "approveChatJoinRequest" &&
             description.find("USER_ALREADY_PARTICIPANT") != std::string::npos) {
    p.kind = PerformResult::Kind::kDone;  // in the group already (an approval repeated)
    p.error.clear();
  } else {
    p.kind = PerformResult::Kind::kFailed;
  }
  return out;
}

// ---- Other reads ----

Result<std::vector<ChatAdmin>> ParseChatAdministrators(std::string_view body) {
  Doc doc;
  QZ_RETURN_IF_ERROR(doc.Parse(body));
  Reader r;
  QZ_ASSIGN_OR_RETURN(const element result, Unwrap(r, doc.root(), "getChatAdministrators"));
  simdjson::dom::array rows;
  if (result.get_array().get(rows)) {
    return Status::Invalid(fmt::format("must be an array (got {})", JsonTypeWord(result.type())),
                           "result");
  }
  std::vector<ChatAdmin> admins;
  size_t i = 0;
  for (element v : rows) {
    const auto n = r.AsObject(v, fmt::format("result[{}]", i++));
    if (!n) return r.error();
    const std::string_view status = r.RequiredStr(*n, "status");
    const auto user = ReadUser(r, *n, "user", true);
    if (!r.ok()) return r.error();
    if (status != "creator" && status != "administrator") {
      return Status::Invalid(
          fmt::format("'{}' is not an administrator's status", Excerpt(status, 32)),
          n->path + ".status");
    }
    admins.push_back(
        {user->id, status == "creator" ? Role::kOwner : Role::kAdmin, user->name, user->is_bot});
  }
  return admins;
}

std::vector<Event> SyncedMemberEvents(std::string_view chat, const std::vector<ChatAdmin>& admins,
                                      TimeMs now) {
  std::vector<Event> events;
  for (const ChatAdmin& admin : admins) {
    if (admin.is_bot) continue;  // qunzhu's own bots and others: no community members
    Event e;
    e.id = fmt::format("sync:{}:{}:{}:{}", chat, admin.user_id, RoleName(admin.role), now);
    e.type = EventType::kMemberSynced;
    e.time = now;
    e.platform = std::string(kPlatform);
    e.group = std::string(chat);
    e.member = std::to_string(admin.user_id);
    e.name = admin.name;
    e.role = admin.role;
    events.push_back(std::move(e));
  }
  return events;
}

Event RefusalEvent(std::string_view chat, int64_t record_id, TimeMs now) {
  Event e;
  e.id = fmt::format("forbidden:{}:{}", chat, record_id);
  e.type = EventType::kBotRemoved;
  e.time = now;
  e.platform = std::string(kPlatform);
  e.group = std::string(chat);
  return e;
}

Result<BotIdentity> ParseGetMe(std::string_view body) {
  Doc doc;
  QZ_RETURN_IF_ERROR(doc.Parse(body));
  Reader r;
  QZ_ASSIGN_OR_RETURN(const element result, Unwrap(r, doc.root(), "getMe"));
  const auto n = r.AsObject(result, "result");
  if (!n) return r.error();
  BotIdentity bot;
  bot.id = r.Int(*n, "id");
  bot.username = std::string(r.Str(*n, "username"));
  if (!r.ok()) return r.error();
  return bot;
}

}  // namespace qz::telegram
