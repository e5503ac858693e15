#include "model/event.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace qz {
namespace {

constexpr std::string_view kExample =
    R"({"id":"sandbox:m:1001","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"sandbox","group":"camp-1","member":"u42","name":"小明","kind":"text","text":"请问几点开课？"})";

TEST(EventParser, ParsesTheDocumentedExample) {
  EventParser parser;
  auto e = parser.Parse(kExample);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->id, "sandbox:m:1001");
  EXPECT_EQ(e->type, EventType::kMessage);
  EXPECT_EQ(e->time, 1772323200000);
  EXPECT_EQ(e->time_offset, 480);
  EXPECT_EQ(e->group, "camp-1");
  EXPECT_EQ(e->member, "u42");
  EXPECT_EQ(e->name, "小明");
  EXPECT_EQ(e->text, "请问几点开课？");
  EXPECT_EQ(e->attrs, "{}");
}

TEST(EventParser, CanonicalJsonRoundTrips) {
  EventParser parser;
  auto e = parser.Parse(kExample);
  ASSERT_TRUE(e.ok());
  const std::string json = EventToJson(*e);
  EXPECT_EQ(json, kExample);  // the example is already in canonical order
  auto again = parser.Parse(json);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(EventToJson(*again), json);
}

TEST(EventParser, KeepsUnknownFieldsInAttrs) {
  EventParser parser;
  auto e = parser.Parse(
      R"({"id":"x","type":"checkin","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","day":3,"extra":{"a":[1,"二"]}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto attrs = nlohmann::json::parse(e->attrs);
  EXPECT_EQ(attrs["day"], 3);
  EXPECT_EQ(attrs["extra"]["a"][1], "二");
  auto out = nlohmann::json::parse(EventToJson(*e));
  EXPECT_EQ(out["day"], 3);
  EXPECT_EQ(out["type"], "checkin");
}

TEST(EventParser, ParsesTypeSpecificFields) {
  EventParser parser;
  auto join = parser.Parse(
      R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00+08:00","platform":"wecom","group":"g","member":"m","via":{"inviter":"bob","code":"channel:poster"},"role":"admin"})");
  ASSERT_TRUE(join.ok()) << join.status().ToString();
  EXPECT_EQ(join->via_inviter, "bob");
  EXPECT_EQ(join->via_code, "channel:poster");
  EXPECT_EQ(join->role, Role::kAdmin);
  auto order = parser.Parse(
      R"({"id":"o1","type":"order","time":"2026-03-01T08:00:00+08:00","platform":"shop","member":"m","amount":"1999.5","product":"进阶课"})");
  ASSERT_TRUE(order.ok()) << order.status().ToString();
  EXPECT_EQ(order->amount_e4, 19995000);
  EXPECT_EQ(order->currency, "CNY");
  EXPECT_NE(EventToJson(*order).find(R"("amount":"1999.50")"), std::string::npos);
  auto left = parser.Parse(
      R"({"id":"l1","type":"member_left","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","reason":"removed"})");
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->reason, LeaveReason::kRemoved);
  auto msg = parser.Parse(
      R"({"id":"m2","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","kind":"image","reply_to":"m1","mentions":["a","b"]})");
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->kind, MessageKind::kImage);
  EXPECT_EQ(msg->mentions, (std::vector<std::string>{"a", "b"}));
}

struct BadCase {
  const char* json;
  const char* field;
};

TEST(EventParser, RejectionsNameTheField) {
  const BadCase cases[] = {
      {R"({"type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m"})", "id"},
      {R"({"id":"","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m"})", "id"},
      {R"({"id":7,"type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m"})", "id"},
      {R"({"id":"a","type":"dance","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m"})", "type"},
      {R"({"id":"a","type":"message","time":"2026-03-01 08:00","platform":"qq","group":"g","member":"m"})", "time"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00","platform":"qq","group":"g","member":"m"})", "time"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"QQ!","group":"g","member":"m"})", "platform"},
      {R"({"id":"a","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m"})", "group"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g"})", "member"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","kind":"gif"})", "kind"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","mentions":"x"})", "mentions"},
      {R"({"id":"a","type":"member_joined","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","via":{"who":"x"}})", "via.who"},
      {R"({"id":"a","type":"order","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m"})", "amount"},
      {R"({"id":"a","type":"order","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m","amount":"-1"})", "amount"},
      {R"({"id":"a","type":"order","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m","amount":"1.23456"})", "amount"},
      {R"({"id":"a","type":"tag_changed","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m"})", "tag"},
      {R"({"id":"a","type":"member_left","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","reason":"bored"})", "reason"},
      {R"({"id":"a","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m","role":"king"})", "role"},
  };
  EventParser parser;
  for (const auto& c : cases) {
    auto e = parser.Parse(c.json);
    ASSERT_FALSE(e.ok()) << c.json;
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(e.status().field(), c.field) << c.json << " -> " << e.status().ToString();
  }
}

TEST(EventParser, RejectsMalformedJsonAndInvalidUtf8) {
  EventParser parser;
  EXPECT_FALSE(parser.Parse("{\"id\":").ok());
  EXPECT_FALSE(parser.Parse("[1,2]").ok());
  EXPECT_FALSE(parser.Parse("{} {}").ok());
  const std::string bad_utf8 =
      "{\"id\":\"a\",\"type\":\"message\",\"time\":\"2026-03-01T08:00:00Z\",\"platform\":\"qq\","
      "\"group\":\"g\",\"member\":\"m\",\"text\":\"\xff\xfe\"}";
  auto e = parser.Parse(bad_utf8);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("UTF-8"), std::string::npos) << e.status().message();
  EXPECT_EQ(e.status().field(), "text");
}

TEST(SplitJsonArray, FramesEachElementSoOneBadElementCostsOnlyItself) {
  auto items = SplitJsonArray(R"([{"a":1}, {"b":[1,2,{"c":"]"}]}, {"d": oops}, {"e":"\"}"}])");
  ASSERT_TRUE(items.ok()) << items.status().ToString();
  ASSERT_EQ(items->size(), 4u);
  EXPECT_EQ((*items)[0].json, R"({"a":1})");
  EXPECT_EQ((*items)[1].json, R"({"b":[1,2,{"c":"]"}]})");
  EXPECT_EQ((*items)[2].json, R"({"d": oops})");
  EXPECT_EQ((*items)[3].json, R"({"e":"\"}"})");
}

TEST(SplitJsonArray, RejectsNonArraysAndAcceptsOneObject) {
  EXPECT_FALSE(SplitJsonArray("").ok());
  EXPECT_FALSE(SplitJsonArray("42").ok());
  EXPECT_FALSE(SplitJsonArray("[{\"a\":1}").ok());
  EXPECT_FALSE(SplitJsonArray("[{\"a\":1}, {\"b\":").ok());
  EXPECT_FALSE(SplitJsonArray("{\"id\":\"a\",").ok());
  EXPECT_FALSE(SplitJsonArray("[{\"a\":1}] x").ok());
  auto empty = SplitJsonArray(" [ ] ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto one = SplitJsonArray(" {\"a\":1} ");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
}

TEST(SplitNdjson, SkipsBlankLines) {
  auto items = SplitNdjson("{\"a\":1}\n\n  \r\n{\"b\":2}");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].json, "{\"b\":2}");
}

TEST(Amount, ParsesAndFormats) {
  EXPECT_EQ(*ParseAmountE4("9.9"), 99000);
  EXPECT_EQ(*ParseAmountE4("0.0001"), 1);
  EXPECT_EQ(FormatAmountE4(99000), "9.90");
  EXPECT_EQ(FormatAmountE4(19990000), "1999.00");
  EXPECT_EQ(FormatAmountE4(1), "0.0001");
  for (const char* bad : {"", ".5", "1.", "1e3", "+1", "1,000", "123456789012345"}) {
    EXPECT_FALSE(ParseAmountE4(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace qz

namespace qz {
namespace {

TEST(EnumNames, EveryValueRoundTripsThroughItsName) {
  for (int t = 1; t <= kEventTypeCount; ++t) {
    const auto type = static_cast<EventType>(t);
    EXPECT_EQ(ParseEventType(EventTypeName(type)), type) << t;
  }
  for (int k = 0; k <= static_cast<int>(MessageKind::kOther); ++k) {
    const auto kind = static_cast<MessageKind>(k);
    EXPECT_EQ(ParseMessageKind(MessageKindName(kind)), kind) << k;
  }
  for (int r = 0; r <= static_cast<int>(Role::kOwner); ++r) {
    EXPECT_EQ(ParseRole(RoleName(static_cast<Role>(r))), static_cast<Role>(r)) << r;
  }
  EXPECT_EQ(ParseEventType("timer"), EventType::kTimer);
  EXPECT_FALSE(ParseEventType("nonsense").has_value());
  EXPECT_FALSE(ParseRole("").has_value());
}

}  // namespace
}  // namespace qz

namespace qz {
namespace {

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlsAndKeepsTheRest) {
  EXPECT_EQ(JsonString(""), R"("")");
  EXPECT_EQ(JsonString("plain 中文 🙂"), "\"plain 中文 🙂\"");
  EXPECT_EQ(JsonString("a\"b\\c\nd\re\tf\x01g\x1f"), R"("a\"b\\c\nd\re\tf\u0001g\u001f")");
  EXPECT_EQ(JsonString("\"\""), R"("\"\"")") << "escapes at both ends";
}

// Long runs are checked eight bytes at a time: every character that needs escaping must be
// found at every offset of such a run, beside ASCII and beside multi-byte characters.
TEST(JsonStringTest, EscapesFoundAtEveryOffsetOfALongRun) {
  const std::vector<std::pair<char, std::string_view>> escaped = {
      {'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\x01', "\\u0001"}, {'\x1f', "\\u001f"}, {'\0', "\\u0000"}};
  for (std::string_view filler : {std::string_view("abcdefgh"), std::string_view("中文字符")}) {
    std::string run;
    while (run.size() < 40) run += filler;
    for (const auto& [c, escape] : escaped) {
      for (size_t at = 0; at <= run.size(); ++at) {
        const std::string text = run.substr(0, at) + c + run.substr(at);
        const std::string expected = "\"" + run.substr(0, at) + std::string(escape) + run.substr(at) + "\"";
        ASSERT_EQ(JsonString(text), expected) << "byte " << static_cast<int>(c) << " at " << at;
      }
    }
    EXPECT_EQ(JsonString(run), "\"" + run + "\"");
    // 0x20 and 0x7f are the neighbours of what is escaped, and are kept as they are.
    EXPECT_EQ(JsonString(run + " \x7f" + run), "\"" + run + " \x7f" + run + "\"");
  }
}

// Adapters write attrs with JsonString; the parser re-serialises attrs values with simdjson. Every
// control character must come out the same both ways, or a stored event would change on its way
// back in (found by the Telegram fuzzer: a link holding a form feed).
TEST(JsonStringTest, AttrsWrittenByJsonStringRoundTripThroughTheParser) {
  std::string every;
  for (int c = 0; c < 0x20; ++c) every += static_cast<char>(c);
  every += "\"\\ 中文";
  EXPECT_EQ(JsonString("\b\f"), R"("\b\f")");
  Event e;
  e.id = "m1";
  e.type = EventType::kMessage;
  e.time = 1767225600000;
  e.platform = "sandbox";
  e.group = "g";
  e.member = "u";
  e.attrs = "{\"links\":[" + JsonString(every) + "]}";
  const std::string json = EventToJson(e);
  EventParser parser;
  auto back = parser.Parse(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(EventToJson(*back), json);
}

}  // namespace
}  // namespace qz

namespace qz {
namespace {

// A message event with `extra` spliced in as further top-level members ("" for none).
std::string MessageWith(std::string_view time, std::string_view extra = "") {
  return fmt::format(R"({{"id":"m1","type":"message","time":"{}","platform":"sandbox",)"
                     R"("group":"g","member":"u"{}{}}})",
                     time, extra.empty() ? "" : ",", extra);
}

std::string OrderOf(std::string_view amount) {
  return fmt::format(R"({{"id":"o1","type":"order","time":"2026-03-01T08:00:00+08:00",)"
                     R"("platform":"shop","member":"u","amount":"{}"}})",
                     amount);
}

TEST(EventLimits, OrderAmountIsBoundedNamingTheField) {
  EventParser parser;
  auto max = parser.Parse(OrderOf("1000000000000"));
  ASSERT_TRUE(max.ok()) << max.status().ToString();
  EXPECT_EQ(max->amount_e4, kMaxAmountE4);
  for (const char* over : {"1000000000000.0001", "1000000000001", "99999999999999"}) {
    auto e = parser.Parse(OrderOf(over));
    ASSERT_FALSE(e.ok()) << over;
    EXPECT_EQ(e.status().field(), "amount") << over;
    EXPECT_NE(e.status().message().find("the largest amount accepted"), std::string::npos)
        << e.status().message();
  }
}

TEST(EventLimits, UnknownFieldsAreBoundedAsAWholeNamingTheField) {
  EventParser parser;
  // One big unknown field: what `text` may not carry, no other key may.
  const std::string blob(15 << 20, 'x');
  auto big = parser.Parse(MessageWith("2026-03-01T08:00:00Z", fmt::format(R"("blob":"{}")", blob)));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().field(), "blob");
  EXPECT_NE(big.status().message().find("unknown fields are kept up to 65536 bytes in all"),
            std::string::npos)
      << big.status().message();

  // Several that are each small but too big together: the one that crosses the bound is named.
  const std::string third(kMaxAttrsBytes / 3, 'y');
  auto many = parser.Parse(MessageWith(
      "2026-03-01T08:00:00Z",
      fmt::format(R"("a1":"{0}","a2":"{0}","a3":"{0}","a4":"{0}")", third)));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().field(), "a3");

  // Under the bound they are kept.
  const std::string fits(kMaxAttrsBytes - 64, 'z');
  auto ok = parser.Parse(MessageWith("2026-03-01T08:00:00Z", fmt::format(R"("note":"{}")", fits)));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_LE(ok->attrs.size(), kMaxAttrsBytes);
  EXPECT_NE(ok->attrs.find(fits), std::string::npos);
}

TEST(EventLimits, PayloadIsBounded) {
  EventParser parser;
  const std::string big(kMaxPayloadBytes, 'p');
  auto e = parser.Parse(fmt::format(
      R"({{"id":"t1","type":"timer","time":"2026-03-01T08:00:00Z","platform":"qunzhu",)"
      R"("timer":"k","payload":{{"x":"{}"}}}})",
      big));
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().field(), "payload");
}

TEST(EventLimits, TimesAreAcceptedFrom2000To2100AsWritten) {
  EventParser parser;
  for (const char* good : {"2000-01-01T00:00:00Z", "2100-12-31T23:59:59.999Z",
                           "2000-01-01T00:00:00+08:00",  // 1999-12-31 in UTC: the date as written
                           "2100-12-31T23:59:59-12:00"}) {
    auto e = parser.Parse(MessageWith(good));
    ASSERT_TRUE(e.ok()) << good << ": " << e.status().ToString();
    // What the API prints is RFC 3339 with a four-digit year, the time as written.
    EXPECT_EQ(FormatRfc3339(e->time, e->time_offset), good);
  }
  for (const char* bad : {"0000-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00",
                          "1999-12-31T23:59:59Z", "2101-01-01T00:00:00Z",
                          "1999-12-31T23:00:00-08:00"}) {
    auto e = parser.Parse(MessageWith(bad));
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().field(), "time") << bad;
    EXPECT_NE(e.status().message().find("outside the accepted dates (2000-01-01 to 2100-12-31)"),
              std::string::npos)
        << e.status().message();
  }
}

TEST(EventParser, QrPayloadsParseAndRoundTripAfterMentions) {
  EventParser parser;
  constexpr std::string_view kImage =
      R"({"id":"m3","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g",)"
      R"("member":"m","kind":"image","text":"看图","mentions":["a"],)"
      R"("qr":["https://u.wechat.com/abc","加微信 \"wx1\""]})";
  auto e = parser.Parse(kImage);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->kind, MessageKind::kImage);
  EXPECT_EQ(e->qr, (std::vector<std::string>{"https://u.wechat.com/abc", "加微信 \"wx1\""}));
  EXPECT_EQ(e->attrs, "{}");  // a known field, not kept as an unknown one
  const std::string json = EventToJson(*e);
  EXPECT_EQ(json, kImage);  // canonical order: "qr" right after "mentions"
  auto again = parser.Parse(json);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->qr, e->qr);

  // Absent or empty: nothing written.
  auto plain = parser.Parse(MessageWith("2026-03-01T08:00:00Z", R"("qr":[])"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_TRUE(plain->qr.empty());
  EXPECT_EQ(EventToJson(*plain).find("\"qr\""), std::string::npos) << EventToJson(*plain);
}

TEST(EventLimits, QrPayloadsAreBoundedNamingTheField) {
  EventParser parser;
  auto with = [&](const std::vector<std::string>& payloads) {
    return parser.Parse(
        MessageWith("2026-03-01T08:00:00Z", "\"qr\":" + nlohmann::json(payloads).dump()));
  };
  // At the bounds: kMaxQrCodes entries of kMaxQrCodeBytes each.
  auto full = with(std::vector<std::string>(kMaxQrCodes, std::string(kMaxQrCodeBytes, 'q')));
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->qr.size(), kMaxQrCodes);

  auto too_many = with(std::vector<std::string>(kMaxQrCodes + 1, "x"));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().field(), "qr");
  EXPECT_NE(too_many.status().message().find("more than 8 entries"), std::string::npos)
      << too_many.status().message();

  auto too_long = with({"ok", std::string(kMaxQrCodeBytes + 1, 'q')});
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().field(), "qr[]");
  EXPECT_NE(too_long.status().message().find("longer than 2048 bytes"), std::string::npos)
      << too_long.status().message();

  for (const char* bad : {R"("qr":"https://u.wechat.com/abc")", R"("qr":{"a":"b"})"}) {
    auto e = parser.Parse(MessageWith("2026-03-01T08:00:00Z", bad));
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().field(), "qr") << bad;
  }
  for (const char* bad : {R"("qr":[1])", R"("qr":["a",null])", R"("qr":[["a"]])"}) {
    auto e = parser.Parse(MessageWith("2026-03-01T08:00:00Z", bad));
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().field(), "qr[]") << bad;
  }
}

TEST(EventParser, AMessageWithoutAGroupIsAPrivateChatWithTheBot) {
  EventParser parser;
  auto e = parser.Parse(
      R"({"id":"d1","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","member":"m","text":"入群"})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_TRUE(IsDirectMessage(*e));
  auto in_group = parser.Parse(
      R"({"id":"d2","type":"message","time":"2026-03-01T08:00:00Z","platform":"qq","group":"g","member":"m"})");
  ASSERT_TRUE(in_group.ok());
  EXPECT_FALSE(IsDirectMessage(*in_group));
}

}  // namespace
}  // namespace qz
