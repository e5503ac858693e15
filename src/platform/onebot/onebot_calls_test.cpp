// The outbound half of the OneBot translation layer (onebot_calls.cpp): actions into API calls,
// API responses into outcomes, member lists into member_synced events.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "platform/onebot/onebot_protocol.hpp"

namespace qz::onebot {
namespace {

using nlohmann::json;

// ---- calls ----

OutboxRecord Record(ActionType type) {
  OutboxRecord r;
  r.id = 1;
  r.action.type = type;
  r.action.platform = "qq";
  r.action.group = "20002";
  r.action.member = "40004";
  r.action.text = "请遵守群规 \"rules\"";
  r.action.reply_to = "10001:-2147000123";
  r.action.duration_s = 600;
  r.action.request = "10001:1700000500123456";
  return r;
}

OneBotCall MustCall(const OutboxRecord& r) {
  Result<OneBotCall> c = BuildCall(r);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : OneBotCall{};
}

TEST(OneBotCalls, Sends) {
  OneBotCall c = MustCall(Record(ActionType::kSendMessage));
  EXPECT_EQ(c.action, "send_group_msg");
  EXPECT_EQ(c.self_id, "");
  EXPECT_EQ(json::parse(c.params), json::parse(R"({"group_id":20002,"message":[
      {"type":"text","data":{"text":"请遵守群规 \"rules\""}}]})"));

  for (const ActionType t : {ActionType::kReply, ActionType::kWarn}) {
    c = MustCall(Record(t));
    EXPECT_EQ(c.action, "send_group_msg");
    EXPECT_EQ(c.self_id, "10001");
    EXPECT_EQ(json::parse(c.params), json::parse(R"({"group_id":20002,"message":[
        {"type":"reply","data":{"id":"-2147000123"}},
        {"type":"text","data":{"text":"请遵守群规 \"rules\""}}]})"));
  }

  c = MustCall(Record(ActionType::kSendDirect));
  EXPECT_EQ(c.action, "send_private_msg");
  EXPECT_EQ(json::parse(c.params), json::parse(R"({"user_id":40004,"message":[
      {"type":"text","data":{"text":"请遵守群规 \"rules\""}}]})"));
}

TEST(OneBotCalls, Moderation) {
  OneBotCall c = MustCall(Record(ActionType::kDeleteMessage));
  EXPECT_EQ(c.action, "delete_msg");
  EXPECT_EQ(c.self_id, "10001");
  EXPECT_EQ(json::parse(c.params), json::parse(R"({"message_id":-2147000123})"));

  c = MustCall(Record(ActionType::kMute));
  EXPECT_EQ(c.action, "set_group_ban");
  EXPECT_EQ(json::parse(c.params),
            json::parse(R"({"group_id":20002,"user_id":40004,"duration":600})"));
  OutboxRecord long_mute = Record(ActionType::kMute);
  long_mute.action.duration_s = 90 * 86400;
  EXPECT_EQ(json::parse(MustCall(long_mute).params)["duration"], 2592000);
  long_mute.action.duration_s = 0;  // until unmuted (join verification): never 0, which unmutes
  EXPECT_EQ(json::parse(MustCall(long_mute).params)["duration"], 2592000);

  c = MustCall(Record(ActionType::kUnmute));
  EXPECT_EQ(c.action, "set_group_ban");
  EXPECT_EQ(json::parse(c.params),
            json::parse(R"({"group_id":20002,"user_id":40004,"duration":0})"));

  c = MustCall(Record(ActionType::kRemoveMember));
  EXPECT_EQ(c.action, "set_group_kick");
  EXPECT_EQ(json::parse(c.params),
            json::parse(R"({"group_id":20002,"user_id":40004,"reject_add_request":false})"));
}

TEST(OneBotCalls, IdsAreValidated) {
  // The largest int64 passes and is sent as a JSON integer.
  OutboxRecord r = Record(ActionType::kSendMessage);
  r.action.group = "9223372036854775807";
  EXPECT_EQ(MustCall(r).params.find(R"("group_id":9223372036854775807)"), 1u);

  const auto error_field = [](const OutboxRecord& rec) {
    Result<OneBotCall> c = BuildCall(rec);
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string("ok") : c.status().field();
  };
  for (const std::string bad : {"", "g1", "-5", "9223372036854775808", " 1", "1.0"}) {
    r = Record(ActionType::kSendMessage);
    r.action.group = bad;
    EXPECT_EQ(error_field(r), "group") << bad;
    r = Record(ActionType::kMute);
    r.action.member = bad;
    EXPECT_EQ(error_field(r), "member") << bad;
  }
  for (const std::string bad : {"", "123", "10001:", ":5", "10001:x", "x:5", "10001:5:6", "10001:-",
                                "10001:99999999999999999999", "qq:10001:5"}) {
    r = Record(ActionType::kReply);
    r.action.reply_to = bad;
    EXPECT_EQ(error_field(r), "reply_to") << bad;
    r = Record(ActionType::kDeleteMessage);
    r.action.reply_to = bad;
    EXPECT_EQ(error_field(r), "reply_to") << bad;
  }
  r = Record(ActionType::kSendDirect);
  r.action.text = "";
  EXPECT_EQ(error_field(r), "text");
  r.action.text = "\xc3";
  EXPECT_EQ(error_field(r), "text");
  for (const ActionType t : {ActionType::kUnban, ActionType::kCreateInvite,
                             ActionType::kSetAnnouncement, ActionType::kSetTag}) {
    EXPECT_EQ(error_field(Record(t)), "type") << ActionTypeName(t);
  }
}

TEST(OneBotCalls, JoinRequestsMemberListsAndEnvelope) {
  Result<OneBotCall> c = JoinRequestCall("flag\"1", "add", false, "答案不对");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->action, "set_group_add_request");
  EXPECT_EQ(
      json::parse(c->params),
      json::parse(R"({"flag":"flag\"1","sub_type":"add","approve":false,"reason":"答案不对"})"));
  c = JoinRequestCall("f", "invite", true, "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(json::parse(c->params)["approve"], true);
  EXPECT_EQ(JoinRequestCall("", "add", true, "").status().field(), "flag");
  EXPECT_EQ(JoinRequestCall("f", "friend", true, "").status().field(), "sub_type");

  c = GroupMemberListCall("20002");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->action, "get_group_member_list");
  EXPECT_EQ(json::parse(c->params), json::parse(R"({"group_id":20002,"no_cache":true})"));
  EXPECT_EQ(GroupMemberListCall("abc").status().field(), "group");

  const json frame = json::parse(CallEnvelope(*c, "qz-7"));
  EXPECT_EQ(frame, json::parse(R"({"action":"get_group_member_list",
                                   "params":{"group_id":20002,"no_cache":true},"echo":"qz-7"})"));
}

TEST(OneBotCalls, AnswerJoinRequestAndSyncMembers) {
  OutboxRecord r = Record(ActionType::kAnswerJoinRequest);
  r.action.request = "10002:1700000500123456";
  r.action.approve = true;
  OneBotCall c = MustCall(r);
  EXPECT_EQ(c.action, "set_group_add_request");
  EXPECT_EQ(c.self_id, "10002") << "the account that received the request";
  // Approving shows no reason, whatever the action's text.
  EXPECT_EQ(json::parse(c.params), json::parse(R"({"flag":"1700000500123456","sub_type":"add",
                                                   "approve":true,"reason":""})"));
  r.action.approve = false;
  r.action.text = "答案不对";
  EXPECT_EQ(json::parse(MustCall(r).params),
            json::parse(R"({"flag":"1700000500123456","sub_type":"add","approve":false,
                            "reason":"答案不对"})"));
  r.action.text = "";  // a rejection without a reason
  EXPECT_EQ(json::parse(MustCall(r).params)["reason"], "");

  const auto error_field = [](const OutboxRecord& rec) {
    Result<OneBotCall> call = BuildCall(rec);
    EXPECT_FALSE(call.ok());
    return call.ok() ? std::string("ok") : call.status().field();
  };
  r.action.request = "";
  EXPECT_EQ(error_field(r), "request");
  r.action.request = "10001:\xff";
  EXPECT_EQ(error_field(r), "request");
  r.action.request = "no-account";
  EXPECT_EQ(error_field(r), "request");
  r.action.request = "10001:f";
  r.action.text = "\xc3";
  EXPECT_EQ(error_field(r), "text");
  r.action.approve = true;  // the text is not sent
  EXPECT_TRUE(BuildCall(r).ok());

  c = MustCall(Record(ActionType::kSyncMembers));
  EXPECT_EQ(c.action, "get_group_member_list");
  EXPECT_EQ(c.self_id, "");
  EXPECT_EQ(json::parse(c.params), json::parse(R"({"group_id":20002,"no_cache":true})"));
  r = Record(ActionType::kSyncMembers);
  r.action.group = "";
  EXPECT_EQ(error_field(r), "group");
}

TEST(OneBotCalls, CapabilitiesAndRates) {
  const Capabilities caps = OneBotCapabilities();
  for (const ActionType t : {ActionType::kSendMessage, ActionType::kReply, ActionType::kSendDirect,
                             ActionType::kDeleteMessage, ActionType::kWarn, ActionType::kMute,
                             ActionType::kUnmute, ActionType::kRemoveMember,
                             ActionType::kAnswerJoinRequest, ActionType::kSyncMembers}) {
    EXPECT_TRUE(caps.Has(t)) << ActionTypeName(t);
    EXPECT_TRUE(BuildCall(Record(t)).ok()) << ActionTypeName(t);  // declared means buildable
  }
  for (const ActionType t :
       {ActionType::kUnban, ActionType::kCreateInvite, ActionType::kSetAnnouncement}) {
    EXPECT_FALSE(caps.Has(t)) << ActionTypeName(t);
  }
  EXPECT_FALSE(caps.dedupes_sends);
  EXPECT_EQ(OneBotRateLimits(), (RateLimits{.per_second = 2}));
}

// ---- responses ----

TEST(OneBotResponses, Classes) {
  Response r = ParseResponse(
      200,
      R"({"status":"ok","retcode":0,"data":{"message_id":-2147000999},"message":"","wording":"","echo":"qz-7","stream":"normal-action"})",
      "10001");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(r.result.platform_ref, "10001:-2147000999");
  EXPECT_EQ(r.echo, "qz-7");
  EXPECT_EQ(r.retcode, 0);
  EXPECT_EQ(json::parse(r.data), json::parse(R"({"message_id":-2147000999})"));

  r = ParseResponse(200, R"({"status":"ok","retcode":0,"data":null})", "10001");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(r.result.platform_ref, "");
  EXPECT_EQ(r.data, "null");

  r = ParseResponse(200, R"({"status":"async","retcode":1,"data":null,"echo":{"n":7}})", "10001");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(r.retcode, 1);
  EXPECT_EQ(r.echo, R"({"n":7})");

  // NapCat's failure shape, and go-cqhttp's.
  r = ParseResponse(200, R"({"status":"failed","retcode":1400,"data":null,
    "message":"群不存在","wording":"Group not found","echo":"qz-8"})",
                    "10001");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(r.result.error, "retcode 1400: Group not found");
  EXPECT_EQ(r.retcode, 1400);
  EXPECT_EQ(r.echo, "qz-8");
  r = ParseResponse(200, R"({"status":"failed","retcode":100,"data":null,"msg":"API_ERROR"})", "1");
  EXPECT_EQ(r.result.error, "retcode 100: API_ERROR");
  r = ParseResponse(200, R"({"retcode":102})", "1");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(r.result.error, "retcode 102: failed");
  r = ParseResponse(200, R"({"retcode":0,"data":{"message_id":"55"}})", "1");
  EXPECT_EQ(r.result.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(r.result.platform_ref, "1:55");

  EXPECT_EQ(ParseResponse(401, "", "1").result.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseResponse(403, "", "1").result.error, "HTTP 403: the access token is wrong");
  EXPECT_EQ(ParseResponse(404, "", "1").result.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(ParseResponse(400, "bad", "1").result.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(ParseResponse(502, "<html>", "1").result.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseResponse(429, "", "1").result.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseResponse(200, "<html>", "1").result.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseResponse(200, "", "1").result.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(ParseResponse(200, R"({"data":{}})", "1").result.kind, PerformResult::Kind::kRetry);
}

TEST(OneBotResponses, GroupMembers) {
  const Response r = ParseResponse(200, R"({"status":"ok","retcode":0,"data":[
    {"group_id":20002,"user_id":40004,"nickname":"alice","card":"Alice","sex":"female","age":0,
     "area":"","join_time":1690000000,"last_sent_time":1700000000,"level":"1","role":"owner",
     "unfriendly":false,"title":"","title_expire_time":0,"card_changeable":true},
    {"group_id":20002,"user_id":"50005","nickname":"bob","card":"","role":"member"}]})",
                                   "10001");
  ASSERT_EQ(r.result.kind, PerformResult::Kind::kDone);
  Result<GroupMemberList> list = ParseGroupMembers(r.data);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  const std::vector<GroupMember>& members = list->members;
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[0].user_id, "40004");
  EXPECT_EQ(members[0].nickname, "alice");
  EXPECT_EQ(members[0].card, "Alice");
  EXPECT_EQ(members[0].role, Role::kOwner);
  EXPECT_EQ(members[0].join_time, 1690000000000);
  EXPECT_EQ(members[1].user_id, "50005");
  EXPECT_EQ(members[1].role, Role::kMember);
  EXPECT_EQ(members[1].join_time, 0);
  EXPECT_EQ(list->skipped, 0u);
  EXPECT_EQ(list->truncated, 0u);

  EXPECT_TRUE(ParseGroupMembers("[]")->members.empty());
  EXPECT_EQ(ParseGroupMembers("null").status().field(), "data");
  EXPECT_EQ(ParseGroupMembers(R"({"user_id":1})").status().field(), "data");
  EXPECT_EQ(ParseGroupMembers("[").status().field(), "data");
}

TEST(OneBotResponses, OddMemberRowsAreSkippedNotFatal) {
  Result<GroupMemberList> list = ParseGroupMembers(R"([
    {"user_id":1,"nickname":5,"card":["x"],"role":"king","join_time":"soon"},
    3, null, "40004", [], {}, {"user_id":null}, {"user_id":-5}, {"user_id":"x"},
    {"user_id":1.5}, {"user_id":18446744073709551615},
    {"user_id":"2","role":"admin","join_time":99999999999},
    {"user_id":3,"role":"member","join_time":-1}])");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->members.size(), 3u);
  EXPECT_EQ(list->skipped, 10u);
  // Mistyped fields are left out, the member kept.
  EXPECT_EQ(list->members[0].user_id, "1");
  EXPECT_EQ(list->members[0].nickname, "");
  EXPECT_EQ(list->members[0].card, "");
  EXPECT_FALSE(list->members[0].role.has_value());
  EXPECT_EQ(list->members[0].join_time, 0);
  EXPECT_EQ(list->members[1].user_id, "2");
  EXPECT_EQ(list->members[1].role, Role::kAdmin);
  EXPECT_EQ(list->members[1].join_time, 0) << "beyond 2100";
  EXPECT_EQ(list->members[2].join_time, 0);

  // At most kMaxGroupMembers rows are read; the rest are counted.
  std::string big = "[";
  for (size_t i = 0; i < kMaxGroupMembers + 5; ++i) {
    big += fmt::format(R"({}{{"user_id":{},"role":"member"}})", i == 0 ? "" : ",", 100000 + i);
  }
  big += ']';
  list = ParseGroupMembers(big);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->members.size(), kMaxGroupMembers);
  EXPECT_EQ(list->truncated, 5u);
  EXPECT_EQ(list->members.back().user_id, std::to_string(100000 + kMaxGroupMembers - 1));
}

TEST(OneBotResponses, MemberSyncedEvents) {
  std::vector<GroupMember> members = {
      {.user_id = "40004", .nickname = "alice", .card = "Alice 🌸", .role = Role::kOwner,
       .join_time = 1690000000000},
      {.user_id = "10001", .nickname = "bot", .role = Role::kAdmin},  // an account of ours
      {.user_id = "50005", .nickname = "bob", .role = Role::kMember},
      {.user_id = "60006", .nickname = "", .join_time = 940000000000},  // before 2000, no role
      {.user_id = "10002", .nickname = "second bot"},
  };
  const TimeMs now = 1772323200000;
  const std::vector<Event> events = MemberSyncedEvents("20002", members, {"10001", "10002"}, now);
  ASSERT_EQ(events.size(), 3u);
  EventParser check;
  for (const Event& e : events) {
    EXPECT_EQ(e.type, EventType::kMemberSynced);
    EXPECT_EQ(e.platform, "qq");
    EXPECT_EQ(e.group, "20002");
    EXPECT_EQ(e.time_offset, 480);
    Result<Event> again = check.Parse(EventToJson(e));
    EXPECT_TRUE(again.ok()) << again.status().ToString() << "\n" << EventToJson(e);
  }
  EXPECT_EQ(events[0].id, "sync:20002:40004:owner:1772323200000");
  EXPECT_EQ(events[0].member, "40004");
  EXPECT_EQ(events[0].name, "Alice 🌸") << "the group card first";
  EXPECT_EQ(events[0].role, Role::kOwner);
  EXPECT_EQ(events[0].time, 1690000000000) << "when the membership began";
  EXPECT_EQ(events[1].id, "sync:20002:50005:member:1772323200000");
  EXPECT_EQ(events[1].name, "bob") << "else the nickname";
  EXPECT_EQ(events[1].time, now);
  EXPECT_EQ(events[2].id, "sync:20002:60006::1772323200000");
  EXPECT_FALSE(events[2].role.has_value());
  EXPECT_EQ(events[2].name, "");
  EXPECT_EQ(events[2].time, now) << "a join time outside the accepted dates is not used";

  // Each sync's events are new (the writer keeps out of the log those that change nothing), so
  // a role that changes back is seen.
  members[2].role = Role::kAdmin;
  const std::vector<Event> again = MemberSyncedEvents("20002", members, {"10001", "10002"}, now + 1000);
  EXPECT_EQ(again[0].id, "sync:20002:40004:owner:1772323201000");
  EXPECT_EQ(again[1].id, "sync:20002:50005:admin:1772323201000");
}
}  // namespace
}  // namespace qz::onebot
