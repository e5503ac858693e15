// The OneBot adapter's own decisions: which reports and sockets it takes (signature, token,
// account), what a bad report costs (nothing but a count), which account and transport an action
// goes through, and what an action in flight on a socket that drops comes to. The whole path
// through the real binary is tests/e2e/onebot.test.mjs and onebot_ws.test.mjs.
#include "platform/onebot/onebot_adapter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <openssl/hmac.h>

#include <condition_variable>
#include <future>
#include <thread>

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

TEST_F(OneBotAdapterTest, HealthFollowsTheHeartbeats) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  auto beat = [&](bool online) {
    const std::string body = json{{"time", 1772323200},
                                  {"self_id", 10001},
                                  {"post_type", "meta_event"},
                                  {"meta_event_type", "heartbeat"},
                                  {"status", {{"online", online}, {"good", true}}},
                                  {"interval", 30000}}
                                 .dump();
    return Post(*a, "10001", Sign("key1", body), body).status;
  };
  ASSERT_EQ(beat(true), 200);
  EXPECT_EQ(a->health()[0].state, "connected");
  clock_.Advance(80000);  // two heartbeats late: could be a slow network
  EXPECT_EQ(a->health()[0].state, "connected");
  clock_.Advance(20000);  // more than three: gone
  EXPECT_EQ(a->health()[0].state, "retrying");
  EXPECT_EQ(a->health()[0].last_error, "no heartbeat for 100 s (announced every 30 s)");
  ASSERT_EQ(beat(true), 200);
  EXPECT_EQ(a->health()[0].state, "connected");

  // The implementation is there but the QQ account is not: down, counted once.
  const int64_t errors = a->health()[0].errors;
  ASSERT_EQ(beat(false), 200);
  ASSERT_EQ(beat(false), 200);
  EXPECT_EQ(a->health()[0].state, "retrying");
  EXPECT_EQ(a->health()[0].errors, errors + 1);
  ASSERT_EQ(beat(true), 200);
  EXPECT_EQ(a->health()[0].state, "connected");
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

// The server's side of a socket, as the adapter sees it: records what is sent.
class FakeSocket : public MessageSocket {
 public:
  bool Send(std::string text) override {
    std::lock_guard lock(mu);
    if (closed) return false;
    sent.push_back(std::move(text));
    cv.notify_all();
    return true;
  }
  void Close() override {
    std::lock_guard lock(mu);
    closed = true;
  }
  // The n-th frame sent, waiting for it.
  json Frame(size_t n) {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return sent.size() > n; });
    return sent.size() > n ? json::parse(sent[n]) : json();
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> sent;
  bool closed = false;
};

WebhookRequest Handshake(std::string self, std::string authorization, std::string role = "Universal") {
  return {.headers = {{"x-self-id", std::move(self)}, {"authorization", std::move(authorization)},
                      {"x-client-role", std::move(role)}}};
}

TEST_F(OneBotAdapterTest, TakesOnlySocketsPresentingTheirAccountsToken) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  EXPECT_EQ(a->AcceptSocket(Handshake("10001", "")).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a->AcceptSocket(Handshake("10001", "Bearer to")).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a->AcceptSocket(Handshake("10001", "Bearer tokk")).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a->AcceptSocket(Handshake("10002", "Bearer tok")).status().code(), Code::kUnauthenticated)
      << "an account without a token takes no socket";
  EXPECT_EQ(a->AcceptSocket(Handshake("99999", "Bearer tok")).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(a->AcceptSocket(Handshake("10001", "Bearer tok", "Event")).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(a->AcceptSocket(Handshake("10001", "Token tok")).ok());
  auto accept = a->AcceptSocket(Handshake("10001", "bearer tok"));
  ASSERT_TRUE(accept.ok());

  // A report over the socket needs no signature: the handshake authenticated it.
  auto socket = std::make_shared<FakeSocket>();
  MessageSocketHandler h = (*accept)(socket);
  h.on_message(GroupMessage(10001, 5, "你好"));
  h.on_message("garbage");
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].id, "10001:5");
  EXPECT_EQ(a->health()[0].state, "connected");
  EXPECT_EQ(a->health()[0].errors, 4) << "three refused handshakes and the garbage";
  h.on_close();
  EXPECT_EQ(a->health()[0].state, "retrying");
  a->Stop();
}

TEST_F(OneBotAdapterTest, ActionsGoOverTheSocketWhileItIsConnected) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  auto socket = std::make_shared<FakeSocket>();
  MessageSocketHandler h = (*a->AcceptSocket(Handshake("10001", "Bearer tok")))(socket);
  OutboxRecord r;
  r.action.type = ActionType::kSendMessage;
  r.action.platform = "qq";
  r.action.group = "600001";
  r.action.text = "大家好";
  auto done = std::async(std::launch::async, [&] { return a->Perform(r); });
  const json frame = socket->Frame(0);
  EXPECT_EQ(frame["action"], "send_group_msg");
  EXPECT_EQ(frame["params"]["group_id"], 600001);
  ASSERT_TRUE(frame["echo"].is_string());
  h.on_message(json{{"status", "ok"}, {"retcode", 0}, {"data", {{"message_id", 9}}}, {"echo", "not ours"}}.dump());
  h.on_message(json{{"status", "ok"}, {"retcode", 0}, {"data", {{"message_id", 8}}}, {"echo", frame["echo"]}}.dump());
  const PerformResult result = done.get();
  EXPECT_EQ(result.kind, PerformResult::Kind::kDone) << result.error;
  EXPECT_EQ(result.platform_ref, "10001:8");
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(calls_.empty()) << "nothing went through the HTTP API";
}

TEST_F(OneBotAdapterTest, AnActionInFlightWhenTheSocketDropsHasAnUnknownOutcome) {
  OneBotOptions o;
  o.accounts.push_back({.self_id = "10001", .access_token = Secret("tok")});  // no HTTP API
  OneBotAdapter a(clock_, std::move(o));
  ASSERT_TRUE(a.Start(sink_).ok());
  OutboxRecord send;
  send.action.type = ActionType::kSendMessage;
  send.action.platform = "qq";
  send.action.group = "600001";
  send.action.text = "x";
  OutboxRecord del = send;
  del.action.type = ActionType::kDeleteMessage;
  del.action.reply_to = "10001:77";

  // Not connected: nothing is sent, so it waits (retry) rather than failing.
  EXPECT_EQ(a.Perform(send).kind, PerformResult::Kind::kRetry);

  auto socket = std::make_shared<FakeSocket>();
  MessageSocketHandler h = (*a.AcceptSocket(Handshake("10001", "Bearer tok")))(socket);
  auto sent = std::async(std::launch::async, [&] { return a.Perform(send); });
  socket->Frame(0);
  auto deleted = std::async(std::launch::async, [&] { return a.Perform(del); });
  socket->Frame(1);
  h.on_close();
  // Both went out without an answer: delivery decides what to repeat (delivery_test).
  const PerformResult s = sent.get();
  EXPECT_EQ(s.kind, PerformResult::Kind::kUnknown);
  EXPECT_EQ(s.error, "the WebSocket closed before the answer");
  EXPECT_EQ(deleted.get().kind, PerformResult::Kind::kUnknown);

  // No answer in time: the same rule.
  auto again = std::make_shared<FakeSocket>();
  MessageSocketHandler h2 = (*a.AcceptSocket(Handshake("10001", "Bearer tok")))(again);
  a.set_socket_call_timeout(std::chrono::milliseconds(50));
  const PerformResult late = a.Perform(del);
  EXPECT_EQ(late.kind, PerformResult::Kind::kUnknown);
  EXPECT_EQ(late.error, "no answer over the WebSocket in time");
  // The old socket's close, arriving late, does not disconnect the new one.
  h.on_close();
  EXPECT_EQ(a.health()[0].state, "connected");
  a.Stop();
  EXPECT_TRUE(again->closed) << "Stop closes the socket";
}

}  // namespace
}  // namespace qz
