// The outbound half of the Telegram translation layer (telegram_calls.cpp): actions into Bot API
// calls, answers into outcomes, and the other reads, against payloads shaped as the Bot API
// documents them (core.telegram.org/bots/api: ResponseParameters, ChatMember, User).
#include "platform/telegram/telegram_protocol.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace qz::telegram {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int64_t kDate = 1767225600;  // 2026-01-01T00:00:00Z
constexpr TimeMs kNow = kDate * 1000 + 250;
constexpr int64_t kNowS = kDate + 1;  // kNow rounded up to a second

// Every event the layer makes must be one ingest accepts, unchanged by a round trip.
void ExpectValidEvent(const Event& e) {
  EventParser parser;
  const std::string json = EventToJson(e);
  auto back = parser.Parse(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " in " << json;
  EXPECT_EQ(EventToJson(*back), json);
}

// ---- Actions ----

OutboxRecord Record(ActionType type, std::string group = "-1005", std::string member = "444",
                    std::string text = {}, std::string reply_to = {}) {
  OutboxRecord r;
  r.id = 1;
  r.action.type = type;
  r.action.platform = "telegram";
  r.action.group = std::move(group);
  r.action.member = std::move(member);
  r.action.text = std::move(text);
  r.action.reply_to = std::move(reply_to);
  return r;
}

Json Body(const Result<TelegramCall>& call) {
  EXPECT_TRUE(call.ok()) << call.status().ToString();
  return call.ok() ? Json::parse(call->body) : Json();
}

TEST(TelegramCalls, SendReplyWarnAndDirect) {
  auto send = BuildCall(Record(ActionType::kSendMessage, "-1005", "", "早上好 ☀️"), kNow);
  EXPECT_EQ(send->method, "sendMessage");
  EXPECT_EQ(Body(send), Json::parse(R"({"chat_id": -1005, "text": "早上好 ☀️"})"));

  for (ActionType type : {ActionType::kReply, ActionType::kWarn}) {
    auto reply = BuildCall(Record(type, "-1005", "444", "⚠️ rule 1", "-1005:42"), kNow);
    EXPECT_EQ(reply->method, "sendMessage");
    EXPECT_EQ(Body(reply), Json::parse(R"({"chat_id": -1005, "text": "⚠️ rule 1",
      "reply_parameters": {"message_id": 42, "allow_sending_without_reply": true}})"));
  }
  // Replying to an edit's event id replies to the message.
  auto edited =
      BuildCall(Record(ActionType::kReply, "-1005", "444", "ok", "-1005:42:e1767225700"), kNow);
  EXPECT_EQ(Body(edited)["reply_parameters"]["message_id"], 42);
  // In a direct chat the chat comes from reply_to.
  auto dm_reply = BuildCall(Record(ActionType::kReply, "", "111", "答对了", "111:9"), kNow);
  EXPECT_EQ(Body(dm_reply)["chat_id"], 111);

  auto direct = BuildCall(Record(ActionType::kSendDirect, "", "444", "请回答：1+1=?"), kNow);
  EXPECT_EQ(Body(direct), Json::parse(R"({"chat_id": 444, "text": "请回答：1+1=?"})"));
}

TEST(TelegramCalls, ReplyTargetsAreValidated) {
  const auto field = [](const Result<TelegramCall>& c) {
    EXPECT_FALSE(c.ok());
    return c.status().field();
  };
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "42"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1005:abc"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1005:4:x9"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", "-1006:42"), kNow)),
            "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kReply, "-1005", "1", "x", ""), kNow)), "reply_to");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kSendMessage, "camp-1", "", "x"), kNow)), "group");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kSendDirect, "", "u42", "x"), kNow)), "member");
  EXPECT_EQ(field(BuildCall(Record(ActionType::kMute, "-1005", "", "", ""), kNow)), "member");
}

TEST(TelegramCalls, TextLimitIsUtf16UnitsAndNeverCutSilently) {
  std::string emoji;
  for (int i = 0; i < 2048; ++i) emoji += "😀";  // 4096 units, 8192 bytes
  EXPECT_TRUE(BuildCall(Record(ActionType::kSendMessage, "-1005", "", emoji), kNow).ok());
  std::string cjk;
  for (int i = 0; i < 4096; ++i) cjk += "群";  // 4096 units, 12288 bytes
  EXPECT_TRUE(BuildCall(Record(ActionType::kSendMessage, "-1005", "", cjk), kNow).ok());
  auto too_long = BuildCall(Record(ActionType::kSendMessage, "-1005", "", emoji + "a"), kNow);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().field(), "text");
  EXPECT_THAT(too_long.status().message(), HasSubstr("4097"));
  EXPECT_EQ(BuildCall(Record(ActionType::kSendMessage, "-1005", "", ""), kNow).status().field(),
            "text");
  EXPECT_EQ(
      BuildCall(Record(ActionType::kWarn, "-1005", "", "\xff", "-1005:1"), kNow).status().field(),
      "text");
}

TEST(TelegramCalls, DeleteMessage) {
  auto del = BuildCall(Record(ActionType::kDeleteMessage, "-1005", "444", "", "-1005:42"), kNow);
  EXPECT_EQ(del->method, "deleteMessage");
  EXPECT_EQ(Body(del), Json::parse(R"({"chat_id": -1005, "message_id": 42})"));
  // Without reply_to: the cause event is the message.
  OutboxRecord cause = Record(ActionType::kDeleteMessage, "-1005", "444");
  cause.action.cause_event = "telegram:-1005:43";
  EXPECT_EQ(Body(BuildCall(cause, kNow))["message_id"], 43);
}

TEST(TelegramCalls, MuteClampsShortDurationsAndZeroIsUntilUnmuted) {
  OutboxRecord mute = Record(ActionType::kMute);
  mute.action.duration_s = 600;
  auto ten_min = BuildCall(mute, kNow);
  EXPECT_EQ(ten_min->method, "restrictChatMember");
  const Json body = Body(ten_min);
  EXPECT_EQ(body["chat_id"], -1005);
  EXPECT_EQ(body["user_id"], 444);
  EXPECT_EQ(body["until_date"], kNowS + 600);
  ASSERT_EQ(body["permissions"].size(), 14u);
  for (const auto& [name, allowed] : body["permissions"].items()) EXPECT_EQ(allowed, false) << name;

  mute.action.duration_s = 5;  // Telegram would read < 30 s as forever
  EXPECT_EQ(Body(BuildCall(mute, kNow))["until_date"], kNowS + kMinRestrictSeconds);
  mute.action.duration_s = 0;  // until unmuted
  EXPECT_EQ(Body(BuildCall(mute, kNow))["until_date"], 0);
  mute.action.duration_s = INT64_MAX;  // no overflow: beyond 366 days is forever anyway
  EXPECT_GT(Body(BuildCall(mute, kNow))["until_date"].get<int64_t>(), kNowS + 366 * 86400);

  auto unmute = BuildCall(Record(ActionType::kUnmute), kNow);
  EXPECT_EQ(unmute->method, "restrictChatMember");
  const Json unmuted = Body(unmute);
  EXPECT_FALSE(unmuted.contains("until_date"));
  ASSERT_EQ(unmuted["permissions"].size(), 14u);
  for (const auto& [name, allowed] : unmuted["permissions"].items())
    EXPECT_EQ(allowed, true) << name;
}

TEST(TelegramCalls, RemoveIsAShortBanAndUnbanOnlyIfBanned) {
  auto remove = BuildCall(Record(ActionType::kRemoveMember), kNow);
  EXPECT_EQ(remove->method, "banChatMember");
  EXPECT_EQ(Body(remove), Json::parse(fmt::format(
                              R"({{"chat_id": -1005, "user_id": 444, "until_date": {},
                                 "revoke_messages": false}})",
                              kNowS + 60)));
  auto unban = BuildCall(Record(ActionType::kUnban), kNow);
  EXPECT_EQ(unban->method, "unbanChatMember");
  EXPECT_EQ(Body(unban),
            Json::parse(R"({"chat_id": -1005, "user_id": 444, "only_if_banned": true})"));
}

TEST(TelegramCalls, CreateInviteCutsTheNameAtThirtyTwoCharacters) {
  std::string name;
  for (int i = 0; i < 40; ++i) name += i % 2 ? "营" : "🎓";
  auto invite = BuildCall(Record(ActionType::kCreateInvite, "-1005", "", name), kNow);
  EXPECT_EQ(invite->method, "createChatInviteLink");
  const Json body = Body(invite);
  EXPECT_EQ(body["chat_id"], -1005);
  EXPECT_EQ(body["creates_join_request"], false);
  std::string expected;
  for (int i = 0; i < 32; ++i) expected += i % 2 ? "营" : "🎓";
  EXPECT_EQ(body["name"], expected);
  EXPECT_EQ(
      Body(BuildCall(Record(ActionType::kCreateInvite, "-1005", "", "poster-a"), kNow))["name"],
      "poster-a");
  EXPECT_FALSE(
      Body(BuildCall(Record(ActionType::kCreateInvite, "-1005", "", ""), kNow)).contains("name"));
}

TEST(TelegramCalls, JoinRequestsAreApprovedOrDeclinedByChatAndUser) {
  OutboxRecord answer = Record(ActionType::kAnswerJoinRequest, "-1005", "555", "not a student");
  answer.action.request = "999:-1005:555";
  answer.action.approve = true;
  auto approve = BuildCall(answer, kNow);
  EXPECT_EQ(approve->method, "approveChatJoinRequest");
  EXPECT_EQ(Body(approve), Json::parse(R"({"chat_id": -1005, "user_id": 555})"));
  answer.action.approve = false;
  auto decline = BuildCall(answer, kNow);
  EXPECT_EQ(decline->method, "declineChatJoinRequest");
  // Telegram takes no reason: the text is not sent.
  EXPECT_EQ(Body(decline), Json::parse(R"({"chat_id": -1005, "user_id": 555})"));
  EXPECT_EQ(BuildCall(Record(ActionType::kAnswerJoinRequest, "-1005", ""), kNow).status().field(),
            "member");
  EXPECT_EQ(BuildCall(Record(ActionType::kAnswerJoinRequest, "g1", "555"), kNow).status().field(),
            "group");
}

TEST(TelegramCalls, SyncMembersAsksForTheAdministrators) {
  auto sync = BuildCall(Record(ActionType::kSyncMembers, "-1005", ""), kNow);
  EXPECT_EQ(sync->method, "getChatAdministrators");
  EXPECT_EQ(Body(sync), Json::parse(R"({"chat_id": -1005})"));
  EXPECT_EQ(BuildCall(Record(ActionType::kSyncMembers, "", ""), kNow).status().field(), "group");
}

TEST(TelegramCalls, UndeclaredActionsAreErrorsAndCapabilitiesMatch) {
  for (ActionType t : {ActionType::kSetAnnouncement, ActionType::kSetTag, ActionType::kOpenTask}) {
    auto call = BuildCall(Record(t, "-1005", "444", "x", "-1005:1"), kNow);
    ASSERT_FALSE(call.ok());
    EXPECT_EQ(call.status().field(), "type");
  }
  const Capabilities caps = TelegramCapabilities();
  EXPECT_TRUE(caps.Has(ActionType::kAnswerJoinRequest));
  EXPECT_TRUE(caps.Has(ActionType::kSyncMembers));
  for (int t = 1; t <= kActionTypeCount; ++t) {
    const auto type = static_cast<ActionType>(t);
    OutboxRecord r = Record(type, "-1005", "444", "x", "-1005:1");
    r.action.duration_s = 60;
    // Declared exactly when BuildCall can make the call.
    EXPECT_EQ(caps.Has(type), BuildCall(r, kNow).ok()) << ActionTypeName(type);
  }
  EXPECT_FALSE(caps.dedupes_sends);
  EXPECT_EQ(TelegramRateLimits(),
            (RateLimits{.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20}));
}

// ---- Responses ----

TEST(TelegramResponses, SuccessCarriesTheRef) {
  const CallOutcome sent = ParseCallResponse("sendMessage", 200, R"({"ok": true, "result": {
    "message_id": 57, "from": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"},
    "chat": {"id": -1005, "title": "G", "type": "supergroup"}, "date": 1767225600, "text": "hi"}})");
  EXPECT_EQ(sent.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(sent.perform.platform_ref, "-1005:57");
  EXPECT_FALSE(sent.bot_removed);

  const CallOutcome link =
      ParseCallResponse("createChatInviteLink", 200, R"({"ok": true, "result": {
    "invite_link": "https://t.me/+AbCdEfGhIjKlMnOp", "creator": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"},
    "creates_join_request": false, "is_primary": false, "is_revoked": false, "name": "poster-a"}})");
  EXPECT_EQ(link.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(link.perform.platform_ref, "https://t.me/+AbCdEfGhIjKlMnOp");

  const CallOutcome banned =
      ParseCallResponse("banChatMember", 200, R"({"ok": true, "result": true})");
  EXPECT_EQ(banned.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(banned.perform.platform_ref, "");
}

TEST(TelegramResponses, TransientFailuresRetry) {
  const CallOutcome flood =
      ParseCallResponse("sendMessage", 429, R"({"ok": false, "error_code": 429,
    "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})");
  EXPECT_EQ(flood.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(flood.perform.retry_after_ms, 7000);
  EXPECT_THAT(flood.perform.error, HasSubstr("Too Many Requests"));

  const CallOutcome server = ParseCallResponse(
      "sendMessage", 500,
      R"({"ok": false, "error_code": 500, "description": "Internal Server Error"})");
  EXPECT_EQ(server.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(server.perform.retry_after_ms, 0);
  EXPECT_EQ(ParseCallResponse("sendMessage", 502, "<html>Bad Gateway</html>").perform.kind,
            PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseCallResponse("sendMessage", 200, R"({"ok": tr)").perform.kind,
            PerformResult::Kind::kRetry);
}

TEST(TelegramResponses, RefusalsFailWithFlags) {
  const CallOutcome kicked =
      ParseCallResponse("sendMessage", 403, R"({"ok": false, "error_code": 403,
    "description": "Forbidden: bot was kicked from the supergroup chat"})");
  EXPECT_EQ(kicked.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_TRUE(kicked.bot_removed);
  EXPECT_EQ(kicked.perform.error,
            "sendMessage: Forbidden: bot was kicked from the supergroup chat");

  const CallOutcome migrated =
      ParseCallResponse("sendMessage", 400, R"({"ok": false, "error_code": 400,
    "description": "Bad Request: group chat was upgraded to a supergroup chat",
    "parameters": {"migrate_to_chat_id": -1002345678901}})");
  EXPECT_EQ(migrated.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(migrated.migrate_to_chat_id, -1002345678901);
  EXPECT_FALSE(migrated.bot_removed);

  const CallOutcome not_found = ParseCallResponse(
      "sendMessage", 400,
      R"({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})");
  EXPECT_EQ(not_found.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(not_found.perform.error, "sendMessage: Bad Request: chat not found");
  EXPECT_FALSE(not_found.migrate_to_chat_id.has_value());

  const CallOutcome refused = ParseCallResponse("getMe", 401,
                                               R"({"ok": false, "error_code": 401, "description": "Unauthorized"})");
  EXPECT_EQ(refused.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_NE(refused.perform.error.find("token was refused"), std::string::npos);
}

TEST(TelegramResponses, DeletingAMessageAlreadyGoneIsDone) {
  constexpr std::string_view kGone =
      R"({"ok": false, "error_code": 400, "description": "Bad Request: message to delete not found"})";
  const CallOutcome gone = ParseCallResponse("deleteMessage", 400, kGone);
  EXPECT_EQ(gone.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(gone.perform.error, "");
  EXPECT_EQ(ParseCallResponse("sendMessage", 400, kGone).perform.kind,
            PerformResult::Kind::kFailed);
  EXPECT_EQ(ParseCallResponse("deleteMessage", 400, R"({"ok": false, "error_code": 400,
              "description": "Bad Request: message can't be deleted"})")
                .perform.kind,
            PerformResult::Kind::kFailed);
}

TEST(TelegramResponses, ApprovingSomeoneAlreadyInIsDone) {
  constexpr std::string_view kIn =
      R"({"ok": false, "error_code": 400, "description": "Bad Request: USER_ALREADY_PARTICIPANT"})";
  const CallOutcome in = ParseCallResponse("approveChatJoinRequest", 400, kIn);
  EXPECT_EQ(in.perform.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(in.perform.error, "");
  EXPECT_EQ(ParseCallResponse("declineChatJoinRequest", 400, kIn).perform.kind,
            PerformResult::Kind::kFailed);
  // Answered already, withdrawn or expired: nothing to answer, and no telling which.
  const CallOutcome missing = ParseCallResponse(
      "approveChatJoinRequest", 400,
      R"({"ok": false, "error_code": 400, "description": "Bad Request: HIDE_REQUESTER_MISSING"})");
  EXPECT_EQ(missing.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(missing.perform.error, "approveChatJoinRequest: Bad Request: HIDE_REQUESTER_MISSING");
  const CallOutcome flood =
      ParseCallResponse("getChatAdministrators", 429, R"({"ok": false, "error_code": 429,
    "description": "Too Many Requests: retry after 2", "parameters": {"retry_after": 2}})");
  EXPECT_EQ(flood.perform.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(flood.perform.retry_after_ms, 2000);
  const CallOutcome kicked = ParseCallResponse(
      "getChatAdministrators", 403,
      R"({"ok": false, "error_code": 403, "description": "Forbidden: bot is not a member of the supergroup chat"})");
  EXPECT_EQ(kicked.perform.kind, PerformResult::Kind::kFailed);
  EXPECT_TRUE(kicked.bot_removed);
}

// ---- Other reads ----

TEST(TelegramReads, ChatAdministrators) {
  auto admins = ParseChatAdministrators(R"({"ok": true, "result": [
    {"status": "creator", "is_anonymous": false,
     "user": {"id": 111, "is_bot": false, "first_name": "Alice", "last_name": "Smith"}},
    {"status": "administrator", "can_be_edited": false, "is_anonymous": false, "can_delete_messages": true,
     "can_restrict_members": true, "custom_title": "助教",
     "user": {"id": 999, "is_bot": true, "first_name": "QunzhuBot", "username": "qunzhu_bot"}}]})");
  ASSERT_TRUE(admins.ok()) << admins.status().ToString();
  ASSERT_EQ(admins->size(), 2u);
  EXPECT_EQ((*admins)[0].user_id, 111);
  EXPECT_EQ((*admins)[0].role, Role::kOwner);
  EXPECT_EQ((*admins)[0].name, "Alice Smith");
  EXPECT_EQ((*admins)[1].role, Role::kAdmin);
  EXPECT_TRUE((*admins)[1].is_bot);

  auto bad = ParseChatAdministrators(R"({"ok": true, "result": [
    {"status": "creator", "user": {"id": 111, "first_name": "A"}}, {"status": "member", "user": {"id": 2}}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "result[1].status");
  auto bad_id = ParseChatAdministrators(
      R"({"ok": true, "result": [{"status": "creator", "user": {"id": "111"}}]})");
  EXPECT_EQ(bad_id.status().field(), "result[0].user.id");
  EXPECT_FALSE(
      ParseChatAdministrators(
          R"({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})")
          .ok());
}

TEST(TelegramReads, AdministratorsBecomeSyncedMembersExceptBots) {
  auto admins = ParseChatAdministrators(R"({"ok": true, "result": [
    {"status": "creator", "is_anonymous": false,
     "user": {"id": 111, "is_bot": false, "first_name": "Alice", "last_name": "Smith"}},
    {"status": "administrator", "can_invite_users": true,
     "user": {"id": 999, "is_bot": true, "first_name": "QunzhuBot"}},
    {"status": "administrator", "custom_title": "助教",
     "user": {"id": 222, "is_bot": false, "first_name": "小王"}}]})");
  ASSERT_TRUE(admins.ok()) << admins.status().ToString();
  const std::vector<Event> events = SyncedMemberEvents("-1005", *admins, kNow);
  ASSERT_EQ(events.size(), 2u);
  for (const Event& e : events) {
    ExpectValidEvent(e);
    EXPECT_EQ(e.type, EventType::kMemberSynced);
    EXPECT_EQ(e.platform, "telegram");
    EXPECT_EQ(e.group, "-1005");
    EXPECT_EQ(e.time, kNow);
  }
  EXPECT_EQ(events[0].id, "sync:-1005:111:owner:1767225600250");
  EXPECT_EQ(events[0].member, "111");
  EXPECT_EQ(events[0].name, "Alice Smith");
  EXPECT_EQ(events[0].role, Role::kOwner);
  EXPECT_EQ(events[1].id, "sync:-1005:222:admin:1767225600250");
  EXPECT_EQ(events[1].name, "小王");
  EXPECT_EQ(events[1].role, Role::kAdmin);
  EXPECT_TRUE(SyncedMemberEvents("-1005", {}, kNow).empty());
}

TEST(TelegramReads, ARefusalInAGroupIsTheBotsRemoval) {
  const Event e = RefusalEvent("-1005", 42, kNow);
  ExpectValidEvent(e);
  EXPECT_EQ(e.id, "forbidden:-1005:42");
  EXPECT_EQ(e.type, EventType::kBotRemoved);
  EXPECT_EQ(e.platform, "telegram");
  EXPECT_EQ(e.group, "-1005");
  EXPECT_EQ(e.member, "");
  EXPECT_EQ(e.time, kNow);
}

TEST(TelegramReads, GetMe) {
  auto me = ParseGetMe(R"({"ok": true, "result": {"id": 7012345678, "is_bot": true,
    "first_name": "Qunzhu", "username": "qunzhu_bot", "can_join_groups": true,
    "can_read_all_group_messages": false, "supports_inline_queries": false}})");
  ASSERT_TRUE(me.ok()) << me.status().ToString();
  EXPECT_EQ(me->id, 7012345678);
  EXPECT_EQ(me->username, "qunzhu_bot");
  EXPECT_EQ(ParseGetMe(R"({"ok": true, "result": {"username": "x"}})").status().field(),
            "result.id");
  EXPECT_EQ(ParseGetMe(R"({"ok": "yes"})").status().field(), "ok");
}

}  // namespace
}  // namespace qz::telegram
