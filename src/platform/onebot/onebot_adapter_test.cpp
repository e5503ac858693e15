// The OneBot adapter's own decisions: which reports it takes (signature, account), what a bad
// report costs (nothing but a count), and which account and URL an action goes to. The whole
// path through the real binary is tests/e2e/onebot.test.mjs.
#include "platform/onebot/onebot_adapter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <openssl/hmac.h>

#include <future>

#include "platform/http/test_peer.hpp"

namespace qz {
namespace {

using nlohmann::json;
using testing::JsonAnswer;
using testing::TestPeer;

class CollectingSink : public EventSink {
 public:
  void Submit(std::vector<Event> batch, Done done) override {
    for (Event& e : batch) events.push_back(std::move(e));
    done(SinkResult{});
  }
  std::vector<Event> events;
};

std::string Sign(const std::string& secret, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  std::string hex = "sha1=";
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", mac[i]);
  return hex;
}

std::string GroupMessage(int64_t self, int64_t message_id, const std::string& text) {
  return json{{"time", 1772323200},
              {"self_id", self},
              {"post_type", "message"},
              {"message_type", "group"},
              {"sub_type", "normal"},
              {"message_id", message_id},
              {"group_id", 600001},
              {"user_id", 7001},
              {"message", json::array({{{"type", "text"}, {"data", {{"text", text}}}}})},
              {"sender", {{"user_id", 7001}, {"nickname", "小明"}, {"role", "member"}}}}
      .dump();
}

class OneBotAdapterTest : public ::testing::Test {
 protected:
  OneBotAdapterTest()
      : api_([this](const TestPeer::Request& r) {
          std::lock_guard lock(mutex_);
          calls_.emplace_back(r.Target(), json::parse(r.body, nullptr, false));
          heads_.push_back(r.head);
          return JsonAnswer(R"({"status":"ok","retcode":0,"data":{"message_id":42}})");
        }) {}

  std::unique_ptr<OneBotAdapter> Make() {
    OneBotOptions o;
    o.accounts.push_back({.self_id = "10001", .api_url = api_.Url(""), .access_token = Secret("tok"),
                          .secret = Secret("key1")});
    o.accounts.push_back({.self_id = "10002", .api_url = api_.Url("/second"), .secret = Secret("key2")});
    o.accounts.push_back({.self_id = "10003", .api_url = api_.Url("")});  // no secret
    return std::make_unique<OneBotAdapter>(clock_, std::move(o));
  }

  WebhookResponse Post(OneBotAdapter& a, const std::string& self, const std::string& signature,
                       const std::string& body) {
    std::promise<WebhookResponse> answer;
    WebhookRequest request{.name = "", .headers = {{"x-self-id", self}}, .body = body};
    if (!signature.empty()) request.headers.emplace_back("x-signature", signature);
    a.HandleWebhook(std::move(request), [&](WebhookResponse r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }

  ManualClock clock_{1772323200000};
  CollectingSink sink_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, json>> calls_;
  std::vector<std::string> heads_;
  TestPeer api_;
};

TEST_F(OneBotAdapterTest, TakesOnlyReportsSignedByTheirAccount) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  const std::string body = GroupMessage(10001, 1, "你好");
  EXPECT_EQ(Post(*a, "10001", "", body).status, 401);
  EXPECT_EQ(Post(*a, "10001", Sign("key2", body), body).status, 401) << "another account's key";
  EXPECT_EQ(Post(*a, "10002", Sign("key2", body), body).status, 401) << "self_id is not X-Self-ID";
  EXPECT_EQ(Post(*a, "10003", Sign("", body), body).status, 401) << "an account without a secret";
  EXPECT_EQ(Post(*a, "99999", Sign("key1", body), body).status, 401) << "not configured";
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_EQ(Post(*a, "10001", Sign("key1", body), body).status, 200);
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].id, "10001:1");
  EXPECT_EQ(sink_.events[0].text, "你好");
  const auto health = a->health();
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].state, "connected");
  EXPECT_EQ(health[0].events, 1);
  EXPECT_EQ(health[0].errors, 2);
  EXPECT_EQ(health[2].errors, 1);
  EXPECT_NE(health[2].last_error.find("no secret"), std::string::npos);
  a->Stop();
  EXPECT_EQ(Post(*a, "10001", Sign("key1", body), body).status, 503);
}

TEST_F(OneBotAdapterTest, GarbageIsCountedAndAnsweredSoItIsNotPostedAgain) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  for (const std::string& body : {std::string("{not json"), std::string(R"({"post_type":"message"})"),
                                 std::string(1 << 20, 'x'), std::string("\xff\xfe")}) {
    EXPECT_EQ(Post(*a, "10001", Sign("key1", body), body).status, 200);
  }
  EXPECT_TRUE(sink_.events.empty());
  EXPECT_EQ(a->health()[0].errors, 4);
  // A heartbeat is life, not an event.
  const std::string beat = R"({"time":1772323200,"self_id":10001,"post_type":"meta_event","meta_event_type":"heartbeat","status":{"online":true,"good":true},"interval":30000})";
  EXPECT_EQ(Post(*a, "10001", Sign("key1", beat), beat).status, 200);
  EXPECT_TRUE(sink_.events.empty());
}

TEST_F(OneBotAdapterTest, ActionsGoThroughTheAccountThatSawTheMessage) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  OutboxRecord r;
  r.action.type = ActionType::kDeleteMessage;
  r.action.platform = "qq";
  r.action.group = "600001";
  r.action.reply_to = "10002:77";  // seen by the second account: only it can delete it
  PerformResult done = a->Perform(r);
  EXPECT_EQ(done.kind, PerformResult::Kind::kDone) << done.error;
  r.action.type = ActionType::kSendMessage;
  r.action.text = "大家好";
  r.action.reply_to.clear();
  done = a->Perform(r);
  EXPECT_EQ(done.kind, PerformResult::Kind::kDone) << done.error;
  EXPECT_EQ(done.platform_ref, "10001:42");
  std::lock_guard lock(mutex_);
  ASSERT_EQ(calls_.size(), 2u);
  EXPECT_EQ(calls_[0].first, "/second/delete_msg");
  EXPECT_EQ(calls_[0].second["message_id"], 77);
  EXPECT_EQ(heads_[0].find("Authorization"), std::string::npos) << "the second account has no token";
  EXPECT_EQ(calls_[1].first, "/send_group_msg");
  EXPECT_NE(heads_[1].find("Authorization: Bearer tok"), std::string::npos);
}

TEST_F(OneBotAdapterTest, AnUnreachableApiIsARetryAndARefusalIsAFailure) {
  OneBotOptions o;
  o.accounts.push_back({.self_id = "10001", .api_url = "http://127.0.0.1:1"});
  OneBotAdapter down(clock_, std::move(o));
  OutboxRecord r;
  r.action.type = ActionType::kSendMessage;
  r.action.platform = "qq";
  r.action.group = "600001";
  r.action.text = "x";
  EXPECT_EQ(down.Perform(r).kind, PerformResult::Kind::kRetry);
  r.action.type = ActionType::kUnban;  // QQ has none
  EXPECT_EQ(down.Perform(r).kind, PerformResult::Kind::kFailed);
}

}  // namespace
}  // namespace qz
