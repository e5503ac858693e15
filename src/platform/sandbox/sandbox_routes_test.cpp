// Tests of the sandbox's HTTP routes, contributed to a real HttpServer over the fakes of
// server/testing/ (a real SandboxPlatform on a ManualClock).
#include "platform/sandbox/sandbox_routes.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "platform/sandbox/sandbox.hpp"
#include "server/testing/server_fixture.hpp"

namespace qz {
namespace {

using namespace server_testing;  // NOLINT: the fixture's fakes and client

// A QR fixture of core/image/testdata, Base64-encoded as a client sends it.
std::string FixtureBase64(const std::string& name) {
  std::ifstream in(std::string(QZ_QR_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    for (size_t k = 0; k < 4; ++k) {
      out += i + k <= bytes.size() ? kAlphabet[(group >> (18 - 6 * k)) & 63] : '=';
    }
  }
  return out;
}

class SandboxRoutesTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    StartServer();
  }
  Status AddRoutes(RouteTable& table) override {
    return with_sandbox_ ? AddSandboxRoutes(table, sandbox_) : Status::Ok();
  }

  SandboxPlatform sandbox_{clock_};
  bool with_sandbox_ = true;
};

TEST_F(SandboxRoutesTest, SandboxMessageIsIngestedAndListed) {
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages",
                 R"({"member":"u1","name":"Alice","text":"你好 hello"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  const json& event = r.body["event"];
  EXPECT_EQ(event["type"], "message");
  EXPECT_EQ(event["platform"], "sandbox");
  EXPECT_EQ(event["group"], "g1");
  EXPECT_EQ(event["member"], "u1");
  EXPECT_EQ(event["name"], "Alice");
  EXPECT_EQ(event["text"], "你好 hello");
  ASSERT_TRUE(event["id"].is_string());
  const std::string id = event["id"];

  // The fake ingest got exactly that event, with its canonical JSON, verbatim in the answer.
  const std::vector<Event> seen = ingest_.events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].id, id);
  EXPECT_EQ(seen[0].type, EventType::kMessage);
  EXPECT_EQ(seen[0].platform, "sandbox");
  EXPECT_EQ(seen[0].text, "你好 hello");
  ASSERT_EQ(ingest_.event_json().size(), 1u);
  EXPECT_EQ(ingest_.event_json()[0], EventToJson(seen[0]));
  EXPECT_NE(r.raw.body().find(ingest_.event_json()[0]), std::string::npos) << r.raw.body();

  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["group"], "g1");
  ASSERT_EQ(r.body["messages"].size(), 1u) << r.raw.body();
  const json& m = r.body["messages"][0];
  EXPECT_TRUE(m["seq"].is_number_integer());
  EXPECT_EQ(m["time"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(m["kind"], "message");
  EXPECT_EQ(m["member"], "u1");
  EXPECT_EQ(m["name"], "Alice");
  EXPECT_EQ(m["text"], "你好 hello");
  EXPECT_EQ(m["message_id"], id);
  EXPECT_EQ(m["deleted"], false);
  EXPECT_EQ(m["duration_s"], 0);
  EXPECT_TRUE(m.contains("reply_to"));
  EXPECT_TRUE(m["action_id"].is_null());
  EXPECT_TRUE(r.body["next_after"].is_null());

  r = Get("/api/v1/sandbox/groups");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, json({{"groups", {"g1"}}}));
}

TEST_F(SandboxRoutesTest, SandboxConversationPages) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Send("POST", "/api/v1/sandbox/groups/g%2D1/messages",
                   R"({"member":"u1","text":"m)" + std::to_string(i) + R"("})")
                  .status,
              200);
  }
  Reply r = Get("/api/v1/sandbox/groups/g-1/messages?limit=2");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["group"], "g-1");  // the escaped and the plain segment are one group
  ASSERT_EQ(r.body["messages"].size(), 2u);
  EXPECT_EQ(r.body["messages"][0]["text"], "m0");
  EXPECT_EQ(r.body["next_after"], r.body["messages"][1]["seq"]);
  const std::string after = std::to_string(r.body["next_after"].get<int64_t>());
  r = Get("/api/v1/sandbox/groups/g-1/messages?limit=2&after=" + after);
  ASSERT_EQ(r.body["messages"].size(), 1u);
  EXPECT_EQ(r.body["messages"][0]["text"], "m2");
  EXPECT_TRUE(r.body["next_after"].is_null());
  r = Get("/api/v1/sandbox/groups/g-1/messages?after=0");
  EXPECT_EQ(r.body["messages"].size(), 3u);
  // A group nobody wrote in has an empty conversation.
  r = Get("/api/v1/sandbox/groups/nobody/messages");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["messages"], json::array());
  ExpectError(Get("/api/v1/sandbox/groups/g-1/messages?after=-1"), 400, "invalid_argument",
              "after");
  ExpectError(Get("/api/v1/sandbox/groups/g-1/messages?limit=0"), 400, "invalid_argument",
              "limit");
  ExpectError(Get("/api/v1/sandbox/groups/g%zz/messages"), 400, "invalid_argument", "group");
}

TEST_F(SandboxRoutesTest, SandboxJoinAndLeave) {
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/join",
                 R"({"member":"u2","name":"Bob","inviter":"u1","code":"poster"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  EXPECT_EQ(r.body["event"]["type"], "member_joined");
  EXPECT_EQ(r.body["event"]["member"], "u2");
  EXPECT_EQ(r.body["event"]["via"], json({{"inviter", "u1"}, {"code", "poster"}}));
  r = Send("POST", "/api/v1/sandbox/groups/g1/leave", R"({"member":"u2"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["event"]["type"], "member_left");
  EXPECT_EQ(r.body["event"]["member"], "u2");
  const std::vector<Event> seen = ingest_.events();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].type, EventType::kMemberJoined);
  EXPECT_EQ(seen[0].via_code, "poster");
  EXPECT_EQ(seen[1].type, EventType::kMemberLeft);
  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 2u) << r.raw.body();
  EXPECT_EQ(r.body["messages"][0]["kind"], "join");
  EXPECT_EQ(r.body["messages"][1]["kind"], "leave");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/leave", R"({"name":"Bob"})"), 400,
              "invalid_argument", "name");  // leave takes no name
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/join", R"({"name":"Bob"})"), 400,
              "invalid_argument", "member");
}

TEST_F(SandboxRoutesTest, SandboxJoinRequestAndRole) {
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/request",
                 R"({"member":"u2","name":"Bob","text":"问题：暗号？\n答案：芝麻开门"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  EXPECT_EQ(r.body["event"]["type"], "join_request");
  EXPECT_EQ(r.body["event"]["member"], "u2");
  EXPECT_EQ(r.body["event"]["request"], "req-1");
  EXPECT_EQ(r.body["event"]["text"], "问题：暗号？\n答案：芝麻开门");
  ASSERT_EQ(ingest_.events().size(), 1u);
  EXPECT_EQ(ingest_.events()[0].type, EventType::kJoinRequest);
  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 1u) << r.raw.body();
  EXPECT_EQ(r.body["messages"][0]["kind"], "request");
  EXPECT_EQ(r.body["messages"][0]["request"], "req-1");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/request", R"({"text":"hi"})"), 400,
              "invalid_argument", "member");

  r = Send("POST", "/api/v1/sandbox/groups/g1/role", R"({"member":"u9","role":"admin"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body, json({{"group", "g1"}, {"member", "u9"}, {"role", "admin"}}));
  EXPECT_EQ(ingest_.events().size(), 1u);  // a role given on the platform is no event
  ASSERT_EQ(sandbox_.Members("g1").size(), 1u);
  EXPECT_EQ(sandbox_.Members("g1")[0].role, Role::kAdmin);
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/role", R"({"member":"u9","role":"boss"})"),
              400, "invalid_argument", "role");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/role", R"({"member":"u9"})"), 400,
              "invalid_argument", "role");
}

TEST_F(SandboxRoutesTest, SandboxMutedMemberIs400) {
  ASSERT_EQ(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})")
                .status,
            200);
  OutboxRecord mute;
  mute.id = 42;
  mute.action.type = ActionType::kMute;
  mute.action.community = "default";
  mute.action.platform = "sandbox";
  mute.action.group = "g1";
  mute.action.member = "u1";
  mute.action.duration_s = 600;
  mute.idempotency_key = "mute-1";
  ASSERT_EQ(sandbox_.Perform(mute).kind, PerformResult::Kind::kDone);

  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"x"})");
  ExpectError(r, 400, "invalid_argument", "member");
  auto direct = sandbox_.PostMessage("g1", "u1", "", "y");  // the sandbox's own words
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(r.body["error"]["message"], direct.status().message());
  EXPECT_EQ(ingest_.events().size(), 1u) << "nothing ingested for a refused message";

  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 2u) << r.raw.body();
  const json& m = r.body["messages"][1];
  EXPECT_EQ(m["kind"], "mute");
  EXPECT_EQ(m["member"], "u1");
  EXPECT_EQ(m["duration_s"], 600);
  EXPECT_EQ(m["action_id"], 42);

  // Once the mute is over, the member can post again.
  clock_.Advance(601 * 1000);
  EXPECT_EQ(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"z"})")
                .status,
            200);
}

TEST_F(SandboxRoutesTest, SandboxDirectChatIsAMessageWithoutGroupAndListsTheBotsAnswers) {
  Reply r = Send("POST", "/api/v1/sandbox/direct", R"({"member":"u1","name":"小明","text":"入群"})");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["event"]["type"], "message");
  EXPECT_FALSE(r.body["event"].contains("group")) << r.raw.body();
  ASSERT_EQ(ingest_.events().size(), 1u);
  EXPECT_TRUE(IsDirectMessage(ingest_.events()[0]));

  // The bot answers in the private chat, and also writes to u1 about a group; u2's chat is apart.
  OutboxRecord answer;
  answer.id = 7;
  answer.action.type = ActionType::kSendDirect;
  answer.action.community = "default";
  answer.action.platform = "sandbox";
  answer.action.member = "u1";
  answer.action.text = "这是入群链接";
  answer.idempotency_key = "dm-1";
  ASSERT_EQ(sandbox_.Perform(answer).kind, PerformResult::Kind::kDone);
  answer.id = 8;
  answer.action.group = "g1";
  answer.action.text = "请先回答验证问题";
  answer.idempotency_key = "dm-2";
  ASSERT_EQ(sandbox_.Perform(answer).kind, PerformResult::Kind::kDone);
  ASSERT_EQ(Send("POST", "/api/v1/sandbox/direct", R"({"member":"u2","text":"hi"})").status, 200);

  r = Get("/api/v1/sandbox/direct/u1");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["member"], "u1");
  const json& m = r.body["messages"];
  ASSERT_EQ(m.size(), 3u) << r.raw.body();
  EXPECT_EQ(m[0]["kind"], "message");
  EXPECT_EQ(m[0]["text"], "入群");
  EXPECT_EQ(m[1]["kind"], "direct");
  EXPECT_EQ(m[1]["text"], "这是入群链接");
  EXPECT_EQ(m[2]["text"], "请先回答验证问题");
  r = Get("/api/v1/sandbox/direct/u1?after=" + std::to_string(m[1]["seq"].get<int64_t>()));
  ASSERT_EQ(r.body["messages"].size(), 1u) << r.raw.body();
  EXPECT_TRUE(Get("/api/v1/sandbox/groups").body["groups"] == json::array({"g1"}));

  ExpectError(Send("POST", "/api/v1/sandbox/direct", R"({"member":"u1"})"), 400, "invalid_argument", "text");
  ExpectError(Send("POST", "/api/v1/sandbox/direct", R"({"text":"x"})"), 400, "invalid_argument", "member");
  ExpectError(Send("POST", "/api/v1/sandbox/direct", R"({"member":"u1","text":"x","group":"g"})"), 400,
              "invalid_argument", "group");
}

TEST_F(SandboxRoutesTest, SandboxBadBodiesAre400NamingTheField) {
  const std::string target = "/api/v1/sandbox/groups/g1/messages";
  ExpectError(Send("POST", target, "not json"), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, "[1,2]"), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, ""), 400, "invalid_argument", "body");
  ExpectError(Send("POST", target, R"({"text":"hi"})"), 400, "invalid_argument", "member");
  ExpectError(Send("POST", target, R"({"member":"","text":"hi"})"), 400, "invalid_argument",
              "member");
  ExpectError(Send("POST", target, R"({"member":"u1"})"), 400, "invalid_argument", "text");
  ExpectError(Send("POST", target, R"({"member":"u1","text":5})"), 400, "invalid_argument",
              "text");
  ExpectError(Send("POST", target, R"({"member":"u1","text":"hi","colour":"red"})"), 400,
              "invalid_argument", "colour");
  ExpectError(Send("POST", target, R"({"member":"u1","text":"hi"})", "text/plain"), 415,
              "unsupported_media_type");
  EXPECT_TRUE(ingest_.events().empty());
  EXPECT_TRUE(sandbox_.Conversation("g1").empty()) << "nothing recorded for a bad request";
}

TEST_F(SandboxRoutesTest, SandboxIngestRefusalMapsToStatus) {
  ingest_.refuse = Code::kResourceExhausted;
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})");
  ExpectError(r, 429, "resource_exhausted");
  EXPECT_EQ(r.header("Retry-After"), "1");
  ingest_.refuse = Code::kOk;
  ingest_.async = true;  // completion from another thread
  r = Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"again"})");
  EXPECT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
}

TEST_F(SandboxRoutesTest, SandboxRoutesMethodsAndFeatureOff) {
  ExpectError(Get("/api/v1/sandbox/groups/g1/nope"), 404, "not_found");
  ExpectError(Get("/api/v1/sandbox/groups//messages"), 404, "not_found");
  ExpectError(Get("/api/v1/sandbox/other"), 404, "not_found");
  Reply r = Get("/api/v1/sandbox/groups/g1/join");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "POST");
  r = Send("DELETE", "/api/v1/sandbox/groups/g1/messages", "");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("Allow"), "GET, POST");
  r = Send("POST", "/api/v1/sandbox/groups", "{}");
  EXPECT_EQ(r.status, 405);
  // Auth first, as everywhere.
  Req q;
  q.target = "/api/v1/sandbox/groups";
  q.token.clear();
  ExpectError(Send(q), 401, "unauthenticated");

  with_sandbox_ = false;  // the routes are contributed or absent
  StartServer(ServerOptions{});
  ExpectError(Get("/api/v1/sandbox/groups"), 404, "not_found");
  ExpectError(Send("POST", "/api/v1/sandbox/groups/g1/messages", R"({"member":"u1","text":"hi"})"),
              404, "not_found");
}

TEST_F(SandboxRoutesTest, SandboxImageMessageCarriesItsQrPayloadsNotItsBytes) {
  const std::string image = FixtureBase64("qq.jpg");
  Reply r = Send("POST", "/api/v1/sandbox/groups/g1/messages",
                 json({{"member", "u1"}, {"text", "扫码进群"}, {"image", image}}).dump());
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["accepted"], 1);
  EXPECT_EQ(r.body["event"]["kind"], "image");
  EXPECT_EQ(r.body["event"]["text"], "扫码进群");
  EXPECT_EQ(r.body["event"]["qr"], json({"https://qm.qq.com/q/Ab12Cd"}));

  // What is ingested (and so logged) is the payload; the picture is nowhere in it.
  const std::vector<Event> seen = ingest_.events();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, MessageKind::kImage);
  EXPECT_EQ(seen[0].qr, (std::vector<std::string>{"https://qm.qq.com/q/Ab12Cd"}));
  ASSERT_EQ(ingest_.event_json().size(), 1u);
  EXPECT_EQ(ingest_.event_json()[0], EventToJson(seen[0]));
  EXPECT_EQ(ingest_.event_json()[0].find(image.substr(0, 32)), std::string::npos);
  EXPECT_LT(ingest_.event_json()[0].size(), 400u) << ingest_.event_json()[0];

  // A picture needs no caption; one without a code is still an image message.
  r = Send("POST", "/api/v1/sandbox/groups/g1/messages",
           json({{"member", "u2"}, {"image", FixtureBase64("wechat.png")}}).dump());
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_FALSE(r.body["event"].contains("text"));
  EXPECT_EQ(r.body["event"]["qr"], json({"https://u.wechat.com/abc"}));
  r = Send("POST", "/api/v1/sandbox/groups/g1/messages",
           json({{"member", "u3"}, {"image", FixtureBase64("noqr.png")}}).dump());
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["event"]["kind"], "image");
  EXPECT_FALSE(r.body["event"].contains("qr"));

  r = Get("/api/v1/sandbox/groups/g1/messages");
  ASSERT_EQ(r.body["messages"].size(), 3u) << r.raw.body();
  EXPECT_EQ(r.body["messages"][0]["image"], true);
  EXPECT_EQ(r.body["messages"][0]["text"], "扫码进群");
  EXPECT_EQ(r.body["messages"][0]["qr"], json({"https://qm.qq.com/q/Ab12Cd"}));
  EXPECT_EQ(r.body["messages"][2]["qr"], json::array());
}

TEST_F(SandboxRoutesTest, SandboxBadImagesAre400NamingImage) {
  const std::string target = "/api/v1/sandbox/groups/g1/messages";
  ExpectError(Send("POST", target, R"({"member":"u1","image":"not base64!"})"), 400,
              "invalid_argument", "image");
  ExpectError(Send("POST", target, R"({"member":"u1","image":"aGVsbG8gd29ybGQ="})"), 400,
              "invalid_argument", "image");  // "hello world": not a picture
  ExpectError(Send("POST", target, R"({"member":"u1","image":""})"), 400, "invalid_argument",
              "image");
  ExpectError(Send("POST", target, R"({"member":"u1","image":5})"), 400, "invalid_argument",
              "image");
  const std::string truncated = FixtureBase64("qq.jpg").substr(0, 2000);
  Reply r = Send("POST", target, json({{"member", "u1"}, {"image", truncated}}).dump());
  ExpectError(r, 400, "invalid_argument", "image");
  // The member is checked before the picture is read.
  ExpectError(Send("POST", target, json({{"image", FixtureBase64("qq.jpg")}}).dump()), 400,
              "invalid_argument", "member");
  EXPECT_TRUE(ingest_.events().empty());
  EXPECT_TRUE(sandbox_.Conversation("g1").empty()) << "nothing recorded for a bad picture";
}

}  // namespace
}  // namespace qz
