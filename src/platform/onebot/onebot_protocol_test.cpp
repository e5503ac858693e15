#include "platform/onebot/onebot_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/time.hpp"

namespace qz::onebot {
namespace {

using nlohmann::json;

// Parses a report that must succeed.
Report MustParse(std::string_view body, ParseOptions options = {}) {
  ReportParser parser(std::move(options));
  Result<Report> r = parser.Parse(body);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << body;
  return r.ok() ? std::move(r).value() : Report{};
}

// The report's canonical event, checked to pass the event format's own parser as the sink will
// see it (EventToJson, then EventParser).
Event MustEvent(std::string_view body) {
  Report r = MustParse(body);
  const Event* e = std::get_if<Event>(&r.content);
  EXPECT_NE(e, nullptr) << body;
  if (e == nullptr) return {};
  EventParser check;
  Result<Event> again = check.Parse(EventToJson(*e));
  EXPECT_TRUE(again.ok()) << again.status().ToString() << "\n" << EventToJson(*e);
  return *e;
}

template <typename T>
T MustFact(std::string_view body) {
  Report r = MustParse(body);
  const T* f = std::get_if<T>(&r.content);
  EXPECT_NE(f, nullptr) << body << " is content #" << r.content.index();
  return f ? *f : T{};
}

Status ParseError(std::string_view body) {
  ReportParser parser;
  Result<Report> r = parser.Parse(body);
  EXPECT_FALSE(r.ok()) << body;
  return r.status();
}

json Attrs(const Event& e) { return json::parse(e.attrs); }

// ---- messages ----

// The shape NapCat sends by default (messagePostFormat "array").
constexpr std::string_view kGroupArray = R"({"self_id":10001,"user_id":40004,"time":1700000000,
 "message_id":-2147000123,"message_seq":123,"real_id":123,"message_type":"group",
 "sender":{"user_id":40004,"nickname":"alice","card":"Alice 🌸","role":"admin"},
 "raw_message":"hi [CQ:at,qq=10001]","font":14,"sub_type":"normal",
 "message":[{"type":"text","data":{"text":"hi "}},{"type":"at","data":{"qq":"10001"}},
            {"type":"face","data":{"id":"14"}},{"type":"text","data":{"text":" there"}}],
 "message_format":"array","post_type":"message","group_id":20002,"group_name":"Camp 1"})";

TEST(OneBotMessage, GroupArrayForm) {
  const Event e = MustEvent(kGroupArray);
  EXPECT_EQ(e.id, "10001:-2147000123");
  EXPECT_EQ(e.type, EventType::kMessage);
  EXPECT_EQ(e.platform, "qq");
  EXPECT_EQ(e.group, "20002");
  EXPECT_EQ(e.group_name, "Camp 1");
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.name, "Alice 🌸");
  EXPECT_EQ(e.role, Role::kAdmin);
  EXPECT_EQ(e.time, 1700000000000);
  EXPECT_EQ(e.time_offset, 480);
  EXPECT_EQ(e.text, "hi  there");  // the face is dropped, the mention is not text
  EXPECT_EQ(e.mentions, std::vector<std::string>{"10001"});
  EXPECT_EQ(e.kind, MessageKind::kText);
  EXPECT_EQ(e.attrs, "{}");
  EXPECT_FALSE(IsDirectMessage(e));
}

TEST(OneBotMessage, GroupStringFormWithCqCodes) {
  // The spec's default (event.message_format "string"), as go-cqhttp and Lagrange send it.
  const Event e = MustEvent(R"({"time":1700000001,"self_id":10001,"post_type":"message",
   "message_type":"group","sub_type":"normal","message_id":124,"group_id":"20002",
   "user_id":"40004","anonymous":null,"font":0,
   "message":"[CQ:reply,id=99]hi[CQ:at,qq=all] &#91;x&#93; [CQ:at,qq=50005][CQ:at,qq=50005]",
   "raw_message":"ignored when message is present",
   "sender":{"user_id":40004,"nickname":"alice","card":"","role":"member"}})");
  EXPECT_EQ(e.id, "10001:124");
  EXPECT_EQ(e.group, "20002");  // numeric strings are accepted
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.name, "alice");  // empty card: the nickname
  EXPECT_EQ(e.role, Role::kMember);
  EXPECT_EQ(e.text, "hi [x] ");
  EXPECT_EQ(e.reply_to, "10001:99");
  EXPECT_EQ(e.mentions, (std::vector<std::string>{"all", "50005"}));
  EXPECT_EQ(e.kind, MessageKind::kText);
}

TEST(OneBotMessage, RawMessageIsTheFallback) {
  const Event e = MustEvent(R"({"time":1700000002,"self_id":10001,"post_type":"message",
   "message_type":"group","message_id":125,"group_id":20002,"user_id":40004,
   "raw_message":"see [CQ:image,file=b.jpg,url=https://multimedia.nt.qq.com.cn/d?x=1&amp;y=2]",
   "sender":{"nickname":"bob"}})");
  EXPECT_EQ(e.text, "see ");
  EXPECT_EQ(e.kind, MessageKind::kImage);
  EXPECT_EQ(e.name, "bob");
  EXPECT_FALSE(e.role.has_value());
  const json attrs = Attrs(e);
  ASSERT_EQ(attrs["onebot_segments"].size(), 1u);
  EXPECT_EQ(attrs["onebot_segments"][0]["data"]["url"],
            "https://multimedia.nt.qq.com.cn/d?x=1&y=2");
}

TEST(OneBotMessage, PrivateMessageIsADirectMessage) {
  const Event e = MustEvent(R"({"time":1700000003,"self_id":10001,"post_type":"message",
   "message_type":"private","sub_type":"friend","message_id":7,"user_id":40004,
   "message":[{"type":"text","data":{"text":"join camp"}}],"raw_message":"join camp","font":0,
   "sender":{"user_id":40004,"nickname":"alice","sex":"unknown","age":0}})");
  EXPECT_TRUE(IsDirectMessage(e));
  EXPECT_EQ(e.id, "10001:7");
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.name, "alice");
  EXPECT_EQ(e.text, "join camp");
  EXPECT_FALSE(e.role.has_value());
}

// One message of `segments` (array form) from user 40004 in group 20002.
std::string WithSegments(std::string_view segments) {
  return std::string(R"({"time":1700000010,"self_id":10001,"post_type":"message",)") +
         R"("message_type":"group","message_id":200,"group_id":20002,"user_id":40004,)" +
         R"("sender":{"nickname":"alice","role":"member"},"message":)" + std::string(segments) +
         "}";
}

TEST(OneBotMessage, SegmentKinds) {
  struct Case {
    std::string segments;
    MessageKind kind;
  };
  const std::vector<Case> cases = {
      {R"([{"type":"image","data":{"file":"E1.jpg","subType":0,"url":"https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=abc","file_size":"10"}}])",
       MessageKind::kImage},
      {R"([{"type":"record","data":{"file":"a.amr","url":"https://x/a.amr"}}])",
       MessageKind::kVoice},
      {R"([{"type":"video","data":{"file":"v.mp4","url":"https://x/v.mp4"}}])",
       MessageKind::kVideo},
      {R"([{"type":"file","data":{"file":"plan.pdf","file_id":"/abc","file_size":"2048"}}])",
       MessageKind::kFile},
      {R"([{"type":"redbag","data":{"title":"恭喜发财"}}])", MessageKind::kRedpacket},
      {R"([{"type":"json","data":{"data":"{\"app\":\"com.tencent.structmsg\",\"prompt\":\"[分享]\",\"meta\":{}}"}}])",
       MessageKind::kCard},
      {R"([{"type":"json","data":{"data":"{\"app\":\"com.tencent.miniapp_01\",\"prompt\":\"[QQ小程序]\"}"}}])",
       MessageKind::kMiniprogram},
      {R"([{"type":"json","data":{"data":"not json"}}])", MessageKind::kCard},
      {R"([{"type":"xml","data":{"data":"<?xml version='1.0'?><msg/>"}}])", MessageKind::kCard},
      {R"([{"type":"contact","data":{"type":"group","id":"30003"}}])", MessageKind::kCard},
      {R"([{"type":"share","data":{"url":"https://example.com/a","title":"A"}}])",
       MessageKind::kLink},
      {R"([{"type":"text","data":{"text":"look: HTTPS://example.com/x"}}])", MessageKind::kLink},
      {R"([{"type":"text","data":{"text":"no link: https:/ x http"}}])", MessageKind::kText},
      {R"([{"type":"poke","data":{"type":"1","id":"-1"}}])", MessageKind::kOther},
      // The first kind-setting segment wins; an unknown one gives way to a known one; a link in
      // text gives way to both.
      {R"([{"type":"mface","data":{}},{"type":"text","data":{"text":"https://a.b"}},{"type":"video","data":{"file":"v"}},{"type":"image","data":{"file":"i"}}])",
       MessageKind::kVideo},
      {R"([{"type":"dice","data":{"result":"3"}},{"type":"text","data":{"text":"https://a.b"}}])",
       MessageKind::kOther},
  };
  for (const Case& c : cases) {
    const Event e = MustEvent(WithSegments(c.segments));
    EXPECT_EQ(MessageKindName(e.kind), MessageKindName(c.kind)) << c.segments;
  }
}

TEST(OneBotMessage, SegmentsOtherThanTextAreKept) {
  const Event e = MustEvent(WithSegments(
      R"([{"type":"reply","data":{"id":"-77"}},{"type":"text","data":{"text":"a"}},
          {"type":"markdown","data":{"content":"# hi","n":3}},
          {"type":"share","data":{"url":"https://example.com/a","title":"A"}},
          {"type":"at","data":{"qq":50005}}])"));
  EXPECT_EQ(e.reply_to, "10001:-77");
  EXPECT_EQ(e.mentions, std::vector<std::string>{"50005"});  // a number is read as its digits
  EXPECT_EQ(e.kind, MessageKind::kLink);
  EXPECT_EQ(e.url, "https://example.com/a");
  const json attrs = Attrs(e);
  ASSERT_EQ(attrs["onebot_segments"].size(), 2u);
  EXPECT_EQ(attrs["onebot_segments"][0],
            json::parse(R"({"type":"markdown","data":{"content":"# hi","n":3}})"));
  EXPECT_EQ(attrs["onebot_segments"][1]["type"], "share");
}

TEST(OneBotMessage, ImageUrlsAreHandedToTheAdapter) {
  const Report r = MustParse(WithSegments(
      R"([{"type":"image","data":{"file":"a.jpg","url":"https://gchat.qpic.cn/a"}},
          {"type":"image","data":{"file":"http://example.com/b.png"}},
          {"type":"image","data":{"file":"c.image"}}])"));
  EXPECT_EQ(r.image_urls,
            (std::vector<std::string>{"https://gchat.qpic.cn/a", "http://example.com/b.png"}));
  EXPECT_EQ(r.self_id, "10001");
}

TEST(OneBotMessage, AnonymousAndLongText) {
  std::string body(R"({"time":1700000011,"self_id":10001,"post_type":"message",
   "message_type":"group","sub_type":"anonymous","message_id":201,"group_id":20002,
   "user_id":80000000,"anonymous":{"id":123,"name":"匿名者","flag":"f"},"message":")");
  body += std::string(kMaxTextBytes, 'a') + "好\"}";
  const Event e = MustEvent(body);
  EXPECT_EQ(e.name, "匿名者");
  EXPECT_EQ(e.text.size(), kMaxTextBytes);  // cut before the character that does not fit
  const json attrs = Attrs(e);
  EXPECT_EQ(attrs["onebot_text_truncated"], true);
  EXPECT_EQ(attrs["onebot_anonymous"]["id"], 123);
}

TEST(OneBotMessage, PlatformAndOffsetAreOptions) {
  ParseOptions options;
  options.platform = "qq2";
  options.time_offset_minutes = 0;
  const Report r = MustParse(kGroupArray, options);
  const Event& e = std::get<Event>(r.content);
  EXPECT_EQ(e.platform, "qq2");
  EXPECT_EQ(FormatRfc3339(e.time, e.time_offset), "2023-11-14T22:13:20Z");
}

TEST(OneBotMessage, IgnoredMessages) {
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000000,"self_id":10001,"post_type":"message",
    "message_type":"group","message_id":1,"group_id":20002,"user_id":10001,"message":"mine"})")
                .what,
            "message from the bot itself");
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000000,"self_id":10001,"post_type":"message_sent",
    "message_type":"group","message_id":1,"group_id":20002,"user_id":10001,"message":"x"})")
                .what,
            "message_sent");
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000000,"self_id":10001,"post_type":"message",
    "message_type":"guild","message_id":1,"user_id":1,"message":"x"})")
                .what,
            "message:guild");
}

// ---- notices ----

TEST(OneBotNotice, GroupIncreaseIsAJoin) {
  constexpr std::string_view kInvite = R"({"time":1700000000,"self_id":10001,
   "post_type":"notice","notice_type":"group_increase","sub_type":"invite","group_id":20002,
   "operator_id":30003,"user_id":40004})";
  Event e = MustEvent(kInvite);
  EXPECT_EQ(e.type, EventType::kMemberJoined);
  EXPECT_EQ(e.id, "10001:group_increase:20002:40004:1700000000");
  EXPECT_EQ(e.group, "20002");
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.via_inviter, "30003");
  EXPECT_EQ(Attrs(e), json::parse(R"({"onebot_sub_type":"invite","onebot_operator":"30003"})"));
  // A redelivered report has the same id (a duplicate for ingest).
  EXPECT_EQ(MustEvent(kInvite).id, e.id);

  // Approved by an admin: the admin is not a referrer.
  e = MustEvent(R"({"time":1700000000,"self_id":10001,"post_type":"notice",
   "notice_type":"group_increase","sub_type":"approve","group_id":20002,"operator_id":30003,
   "user_id":40004})");
  EXPECT_EQ(e.via_inviter, "");
  EXPECT_EQ(Attrs(e)["onebot_operator"], "30003");
  // Operator = the joiner (or 0): no inviter.
  e = MustEvent(R"({"time":1700000000,"self_id":10001,"post_type":"notice",
   "notice_type":"group_increase","sub_type":"invite","group_id":20002,"operator_id":40004,
   "user_id":40004})");
  EXPECT_EQ(e.via_inviter, "");
}

TEST(OneBotNotice, GroupDecreaseIsALeave) {
  Event e = MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_decrease","sub_type":"leave","group_id":20002,"operator_id":40004,
   "user_id":40004})");
  EXPECT_EQ(e.type, EventType::kMemberLeft);
  EXPECT_EQ(e.reason, LeaveReason::kLeft);
  EXPECT_EQ(e.id, "10001:group_decrease:20002:40004:1700000100");
  e = MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_decrease","sub_type":"kick","group_id":20002,"operator_id":30003,
   "user_id":40004})");
  EXPECT_EQ(e.reason, LeaveReason::kRemoved);
  EXPECT_EQ(Attrs(e)["onebot_operator"], "30003");
}

TEST(OneBotNotice, TheBotsOwnMembershipIsTheGroupsEvent) {
  constexpr std::string_view kKicked = R"({"time":1700000100,"self_id":10001,
   "post_type":"notice","notice_type":"group_decrease","sub_type":"kick_me","group_id":20002,
   "operator_id":30003,"user_id":10001})";
  Event e = MustEvent(kKicked);
  EXPECT_EQ(e.type, EventType::kBotRemoved);
  EXPECT_EQ(e.id, "10001:group_decrease:20002:10001:1700000100");
  EXPECT_EQ(e.group, "20002");
  EXPECT_EQ(e.member, "30003") << "who removed the bot";
  EXPECT_EQ(e.time, 1700000100000);
  EXPECT_EQ(Attrs(e), json::parse(R"({"onebot_sub_type":"kick_me","onebot_operator":"30003"})"));
  EXPECT_EQ(MustEvent(kKicked).id, e.id) << "a redelivered report is a duplicate";

  e = MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_increase","sub_type":"invite","group_id":20003,"operator_id":30003,
   "user_id":10001})");
  EXPECT_EQ(e.type, EventType::kBotAdded);
  EXPECT_EQ(e.id, "10001:group_increase:20003:10001:1700000100");
  EXPECT_EQ(e.group, "20003");
  EXPECT_EQ(e.member, "30003") << "who invited the bot";
  EXPECT_EQ(e.via_inviter, "") << "the bot has no referrer";

  // Left by itself: no operator (0), or the bot as its own operator; either way no member.
  e = MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_decrease","sub_type":"leave","group_id":20003,"operator_id":0,
   "user_id":10001})");
  EXPECT_EQ(e.type, EventType::kBotRemoved);
  EXPECT_EQ(e.member, "");
  EXPECT_EQ(e.reason, LeaveReason::kLeft);
  e = MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_decrease","sub_type":"leave","group_id":20003,"operator_id":10001,
   "user_id":10001})");
  EXPECT_EQ(e.type, EventType::kBotRemoved);
  EXPECT_EQ(e.member, "");
  EXPECT_EQ(Attrs(e), json::parse(R"({"onebot_sub_type":"leave"})"));

  // Another member's leave is still theirs.
  EXPECT_EQ(MustEvent(R"({"time":1700000100,"self_id":10001,"post_type":"notice",
   "notice_type":"group_decrease","sub_type":"leave","group_id":20003,"user_id":40004})")
                .type,
            EventType::kMemberLeft);
}

TEST(OneBotNotice, RecallBanAdmin) {
  const Recall rc = MustFact<Recall>(R"({"time":1700000200,"self_id":10001,"post_type":"notice",
   "notice_type":"group_recall","group_id":20002,"user_id":40004,"operator_id":30003,
   "message_id":-5})");
  EXPECT_EQ(rc.group, "20002");
  EXPECT_EQ(rc.message, "10001:-5");
  EXPECT_EQ(rc.author, "40004");
  EXPECT_EQ(rc.operator_id, "30003");
  EXPECT_EQ(rc.time, 1700000200000);

  Ban b = MustFact<Ban>(R"({"time":1700000300,"self_id":10001,"post_type":"notice",
   "notice_type":"group_ban","sub_type":"ban","group_id":20002,"operator_id":30003,
   "user_id":40004,"duration":600})");
  EXPECT_EQ(b.member, "40004");
  EXPECT_EQ(b.operator_id, "30003");
  EXPECT_EQ(b.duration_s, 600);
  EXPECT_FALSE(b.lifted);
  b = MustFact<Ban>(R"({"time":1700000300,"self_id":10001,"post_type":"notice",
   "notice_type":"group_ban","sub_type":"lift_ban","group_id":20002,"operator_id":30003,
   "user_id":0,"duration":0})");
  EXPECT_TRUE(b.lifted);
  EXPECT_EQ(b.member, "");  // the whole group

}

TEST(OneBotNotice, AdminChangeIsAMemberSync) {
  constexpr std::string_view kSet = R"({"time":1700000400,"self_id":10001,
   "post_type":"notice","notice_type":"group_admin","sub_type":"set","group_id":20002,
   "user_id":40004})";
  Event e = MustEvent(kSet);
  EXPECT_EQ(e.type, EventType::kMemberSynced);
  EXPECT_EQ(e.id, "10001:admin:20002:40004:1700000400");
  EXPECT_EQ(e.group, "20002");
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.role, Role::kAdmin);
  EXPECT_EQ(e.time, 1700000400000);
  EXPECT_EQ(MustEvent(kSet).id, e.id) << "a redelivered report is a duplicate";

  e = MustEvent(R"({"time":1700000500,"self_id":10001,"post_type":"notice",
   "notice_type":"group_admin","sub_type":"unset","group_id":20002,"user_id":40004})");
  EXPECT_EQ(e.type, EventType::kMemberSynced);
  EXPECT_EQ(e.role, Role::kMember);
  EXPECT_EQ(e.id, "10001:admin:20002:40004:1700000500");

  // The bot made an admin: no member of the community.
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000500,"self_id":10001,"post_type":"notice",
   "notice_type":"group_admin","sub_type":"set","group_id":20002,"user_id":10001})")
                .what,
            "notice:group_admin:set:self");
  EXPECT_EQ(ParseError(R"({"time":1700000500,"self_id":10001,"post_type":"notice",
   "notice_type":"group_admin","sub_type":"promote","group_id":20002,"user_id":40004})")
                .field(),
            "sub_type");
}

TEST(OneBotNotice, OtherNoticesAreIgnored) {
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000000,"self_id":10001,"post_type":"notice",
    "notice_type":"notify","sub_type":"poke","group_id":20002,"user_id":40004,
    "target_id":10001})")
                .what,
            "notice:notify:poke");
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000000,"self_id":10001,"post_type":"notice",
    "notice_type":"friend_add","user_id":40004})")
                .what,
            "notice:friend_add");
}

// ---- requests and meta events ----

TEST(OneBotRequest, AJoinRequestIsAnEvent) {
  constexpr std::string_view kAdd = R"({"time":1700000500,"self_id":10001,
   "post_type":"request","request_type":"group","sub_type":"add","group_id":20002,
   "user_id":40004,"comment":"问题：暗号\n答案：芝麻开门","flag":"1700000500123456"})";
  Event e = MustEvent(kAdd);
  EXPECT_EQ(e.type, EventType::kJoinRequest);
  EXPECT_EQ(e.id, "10001:request:20002:40004:1700000500");
  EXPECT_EQ(e.group, "20002");
  EXPECT_EQ(e.member, "40004");
  EXPECT_EQ(e.text, "问题：暗号\n答案：芝麻开门");
  EXPECT_EQ(e.request, "10001:1700000500123456");
  EXPECT_EQ(e.time, 1700000500000);
  EXPECT_EQ(MustEvent(kAdd).id, e.id) << "a redelivered report is a duplicate";

  // No comment; a long one is cut (at a character boundary).
  e = MustEvent(R"({"time":1700000500,"self_id":10001,"post_type":"request",
   "request_type":"group","sub_type":"add","group_id":20002,"user_id":40004,"flag":"f"})");
  EXPECT_EQ(e.text, "");
  std::string long_comment;
  for (int i = 0; i < 2000; ++i) long_comment += "好";
  e = MustEvent(json{{"time", 1700000500}, {"self_id", 10001}, {"post_type", "request"},
                     {"request_type", "group"}, {"sub_type", "add"}, {"group_id", 20002},
                     {"user_id", 40004}, {"comment", long_comment}, {"flag", "f"}}
                    .dump());
  EXPECT_EQ(e.text.size(), 4095u);  // 1365 characters of 3 bytes

  // A flag the event cannot hold whole could not answer the request: refused, not cut.
  EXPECT_EQ(ParseError(json{{"time", 1700000500}, {"self_id", 10001}, {"post_type", "request"},
                            {"request_type", "group"}, {"sub_type", "add"}, {"group_id", 20002},
                            {"user_id", 40004}, {"flag", std::string(251, 'f')}}
                           .dump())
                .field(),
            "flag");
  EXPECT_EQ(MustEvent(json{{"time", 1700000500}, {"self_id", 10001}, {"post_type", "request"},
                           {"request_type", "group"}, {"sub_type", "add"}, {"group_id", 20002},
                           {"user_id", 40004}, {"flag", std::string(250, 'f')}}
                          .dump())
                .request.size(),
            256u);
}

TEST(OneBotRequest, TheBotInvitedAndOtherRequests) {
  const JoinRequest j = MustFact<JoinRequest>(R"({"time":1700000500,"self_id":10001,
   "post_type":"request","request_type":"group","sub_type":"invite","group_id":20002,
   "user_id":30003,"comment":"","flag":"inv-1"})");
  EXPECT_EQ(j.flag, "inv-1");
  EXPECT_EQ(j.group, "20002");
  EXPECT_EQ(j.user, "30003");
  EXPECT_EQ(j.sub_type, "invite");
  EXPECT_EQ(j.time, 1700000500000);
  EXPECT_EQ(MustFact<Ignored>(R"({"time":1700000500,"self_id":10001,"post_type":"request",
    "request_type":"friend","user_id":40004,"comment":"hi","flag":"f"})")
                .what,
            "request:friend");
  EXPECT_EQ(ParseError(R"({"time":1700000500,"self_id":10001,"post_type":"request",
   "request_type":"group","sub_type":"add","group_id":20002,"user_id":40004})")
                .field(),
            "flag");
}

TEST(OneBotMeta, HeartbeatAndLifecycle) {
  const Meta h = MustFact<Meta>(R"({"time":1700000600,"self_id":10001,"post_type":"meta_event",
   "meta_event_type":"heartbeat","status":{"online":true,"good":false},"interval":30000})");
  EXPECT_EQ(h.kind, Meta::Kind::kHeartbeat);
  EXPECT_EQ(h.interval_ms, 30000);
  EXPECT_EQ(h.online, true);
  EXPECT_EQ(h.good, false);
  const Meta l = MustFact<Meta>(R"({"time":1700000600,"self_id":10001,"post_type":"meta_event",
   "meta_event_type":"lifecycle","sub_type":"connect"})");
  EXPECT_EQ(l.kind, Meta::Kind::kLifecycle);
  EXPECT_EQ(l.sub_type, "connect");
  EXPECT_FALSE(l.online.has_value());
}

// ---- bad input ----

TEST(OneBotReport, BadInputNamesTheField) {
  EXPECT_EQ(ParseError("{\"self_id\":1,").code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseError("[1,2]").code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseError(std::string("{\"self_id\":1,\"post_type\":\"\xff\"}")).message(),
            "invalid UTF-8 at byte 26");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1700000000})").field(), "post_type");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1700000000,"post_type":7})").field(), "post_type");
  EXPECT_EQ(ParseError(R"({"time":1700000000,"post_type":"message"})").field(), "self_id");
  EXPECT_EQ(ParseError(R"({"self_id":"1x","time":1700000000,"post_type":"message"})").field(),
            "self_id");
  EXPECT_EQ(ParseError(R"({"self_id":-1,"time":1700000000,"post_type":"message"})").field(),
            "self_id");
  EXPECT_EQ(ParseError(R"({"self_id":18446744073709551615,"post_type":"message"})").field(),
            "self_id");
  EXPECT_EQ(ParseError(R"({"self_id":1,"post_type":"message"})").field(), "time");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1.5,"post_type":"message"})").field(), "time");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1700000000000,"post_type":"message"})").field(),
            "time");  // milliseconds: the year 55000
  const std::string base = R"({"self_id":1,"time":1700000000,"post_type":"message",)";
  EXPECT_EQ(ParseError(base + R"("message_id":1,"user_id":2,"message":"x"})").field(),
            "message_type");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "message":"x"})")
                .field(),
            "group_id");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2.0,
    "group_id":3,"message":"x"})")
                .field(),
            "user_id");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","user_id":2,"group_id":3,
    "message":"x"})")
                .field(),
            "message_id");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3})")
                .field(),
            "message");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3,"message":5})")
                .field(),
            "message");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3,"message":[{"type":"text","data":{"text":"a"}},{"data":{}}]})")
                .field(),
            "message[1].type");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3,"message":[{"type":"text","data":"a"}]})")
                .field(),
            "message[0].data");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3,"message":["a"]})")
                .field(),
            "message[0]");
  EXPECT_EQ(ParseError(base + R"("message_type":"group","message_id":1,"user_id":2,
    "group_id":3,"message":"x","sender":"alice"})")
                .field(),
            "sender");
  const std::string notice = R"({"self_id":1,"time":1700000000,"post_type":"notice",)";
  EXPECT_EQ(ParseError(notice + R"("notice_type":"group_increase","user_id":2})").field(),
            "group_id");
  EXPECT_EQ(
      ParseError(notice + R"("notice_type":"group_recall","group_id":3,"user_id":2})").field(),
      "message_id");
  EXPECT_EQ(ParseError(notice + R"("group_id":3,"user_id":2})").field(), "notice_type");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1700000000,"post_type":"request",
    "request_type":"group","sub_type":"add","group_id":3,"user_id":2})")
                .field(),
            "flag");
  EXPECT_EQ(ParseError(R"({"self_id":1,"time":1700000000,"post_type":"meta_event",
    "meta_event_type":"heartbeat","interval":"soon"})")
                .field(),
            "interval");
}

TEST(OneBotReport, LoneSurrogatesAreRefused) {
  // JSON escapes of lone surrogates would decode to invalid UTF-8, which the event log refuses.
  for (const std::string escape : {"\\ud800", "\\udc00", "\\ud800x"}) {
    const std::string body = R"({"self_id":1,"time":1700000000,"post_type":"message",
      "message_type":"private","message_id":1,"user_id":2,"message":"a)" +
                             escape + "\"}";
    EXPECT_EQ(ParseError(body).code(), Code::kInvalidArgument) << escape;
  }
}

TEST(OneBotReport, BestEffortSenderFieldsAreLeftOut) {
  const Event e = MustEvent(R"({"self_id":1,"time":1700000000,"post_type":"message",
    "message_type":"group","message_id":1,"user_id":2,"group_id":3,"message":"x",
    "sender":{"card":5,"nickname":"n","role":"king"}})");
  EXPECT_EQ(e.name, "n");
  EXPECT_FALSE(e.role.has_value());
}

// ---- signature ----

TEST(OneBotSignature, KnownVectors) {
  // From the brief's protocol notes (OpenSSL and Python agree):
  //   printf %s "$BODY" | openssl dgst -sha1 -hmac obsecret
  const std::string body =
      R"({"time":1700000000,"self_id":10001,"post_type":"notice","notice_type":"group_increase",)"
      R"("sub_type":"approve","group_id":20002,"operator_id":30003,"user_id":40004})";
  ASSERT_EQ(body.size(), 161u);
  const std::string sig = "sha1=e1f71b4d9c90d4bc25dce078b81c0f7780487000";
  EXPECT_TRUE(VerifySignature("obsecret", body, sig));
  EXPECT_TRUE(VerifySignature("obsecret", body, "sha1=E1F71B4D9C90D4BC25DCE078B81C0F7780487000"));
  // printf %s '{"time":…"interval":30000}' | openssl dgst -sha1 -hmac napcat-token
  EXPECT_TRUE(VerifySignature(
      "napcat-token",
      R"({"time":1700000000,"self_id":10001,"post_type":"meta_event","meta_event_type":"heartbeat","status":{"online":true,"good":true},"interval":30000})",
      "sha1=b27bef9f36d6f4d940037f30fcca070f0fe7b889"));
  // printf %s '' | openssl dgst -sha1 -hmac k
  EXPECT_TRUE(VerifySignature("k", "", "sha1=3a84a218ee6665209bb70e84525dd837645a1965"));

  EXPECT_FALSE(VerifySignature("obsecret2", body, sig));
  EXPECT_FALSE(VerifySignature("obsecret", body + " ", sig));
  EXPECT_FALSE(VerifySignature("obsecret", body, ""));
  EXPECT_FALSE(VerifySignature("obsecret", body, "e1f71b4d9c90d4bc25dce078b81c0f7780487000"));
  EXPECT_FALSE(
      VerifySignature("obsecret", body, "sha256=e1f71b4d9c90d4bc25dce078b81c0f7780487000"));
  EXPECT_FALSE(VerifySignature("obsecret", body, sig.substr(0, sig.size() - 1)));
  EXPECT_FALSE(VerifySignature("obsecret", body, sig + "0"));
  EXPECT_FALSE(VerifySignature("obsecret", body, "sha1=e1f71b4d9c90d4bc25dce078b81c0f778048700g"));
  EXPECT_FALSE(VerifySignature("obsecret", body, "sha1=+1f71b4d9c90d4bc25dce078b81c0f7780487000"));
  EXPECT_FALSE(VerifySignature("", body, sig));
}

}  // namespace
}  // namespace qz::onebot
