// The OneBot adapter's own decisions: which reports and sockets it takes (signature, token,
// account), what a bad report costs (nothing but a count), which account and transport an action
// goes through, and what an action in flight on a socket that drops comes to. The whole path
// through the real binary is tests/e2e/onebot.test.mjs and onebot_ws.test.mjs.
#include "platform/onebot/onebot_adapter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <fmt/format.h>
#include <openssl/hmac.h>

#include <algorithm>
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
    SinkResult r{.status = status};
    if (!status.ok()) return done(std::move(r));
    batches.push_back(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (refuse_all) {
        r.rejected.push_back({i, Status::Invalid("belongs to another community", "group")});
      } else {
        ++r.accepted;
      }
    }
    for (Event& e : batch) events.push_back(std::move(e));
    done(std::move(r));
  }
  std::vector<Event> events;
  std::vector<size_t> batches;  // the size of each batch submitted
  Status status;                // not ok: every batch is refused so (queue full, shutting down)
  bool refuse_all = false;      // every event is rejected
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
          if (r.Target().ends_with("/get_group_member_list")) return JsonAnswer(member_list_);
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
  std::string member_list_;  // the answer to get_group_member_list
  TestPeer api_;
};

// A report of account 10001 about group 600001.
std::string Notice(const std::string& notice_type, const std::string& sub_type, int64_t user, int64_t operator_id) {
  return json{{"time", 1772323200}, {"self_id", 10001},   {"post_type", "notice"},     {"notice_type", notice_type},
              {"sub_type", sub_type}, {"group_id", 600001}, {"user_id", user}, {"operator_id", operator_id}}
      .dump();
}

// get_group_member_list's answer: `n` members 70000… (every third an admin), then the second
// account and a row without a user_id.
json MemberList(int n) {
  json data = json::array();
  for (int i = 0; i < n; ++i) {
    data.push_back({{"group_id", 600001},
                    {"user_id", 70000 + i},
                    {"nickname", fmt::format("m{}", i)},
                    {"card", i == 0 ? "群主" : ""},
                    {"role", i == 0 ? "owner" : i % 3 == 0 ? "admin" : "member"},
                    {"join_time", 1700000000 + i}});
  }
  data.push_back({{"user_id", 10002}, {"nickname", "second bot"}, {"role", "admin"}});
  data.push_back({{"nickname", "no id"}});
  return data;
}

OutboxRecord Sync(const std::string& group = "600001") {
  OutboxRecord r;
  r.action.type = ActionType::kSyncMembers;
  r.action.platform = "qq";
  r.action.group = group;
  return r;
}

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

TEST_F(OneBotAdapterTest, TheBotRemovedIsAnEventAndItsAccountActsNoMoreThere) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  const std::string kicked = Notice("group_decrease", "kick_me", 10001, 30003);
  ASSERT_EQ(Post(*a, "10001", Sign("key1", kicked), kicked).status, 200);
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].type, EventType::kBotRemoved);
  EXPECT_EQ(sink_.events[0].id, "10001:group_decrease:600001:10001:1772323200");
  EXPECT_EQ(sink_.events[0].group, "600001");
  EXPECT_EQ(sink_.events[0].member, "30003");

  OutboxRecord send;
  send.action.type = ActionType::kSendMessage;
  send.action.platform = "qq";
  send.action.group = "600001";
  send.action.text = "x";
  const PerformResult refused = a->Perform(send);
  EXPECT_EQ(refused.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(refused.error, "account 10001 is no longer in group 600001");

  const std::string added = Notice("group_increase", "invite", 10001, 30003);
  ASSERT_EQ(Post(*a, "10001", Sign("key1", added), added).status, 200);
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[1].type, EventType::kBotAdded);
  EXPECT_EQ(a->Perform(send).kind, PerformResult::Kind::kDone);
  std::lock_guard lock(mutex_);
  ASSERT_EQ(calls_.size(), 1u) << "nothing was sent while the bot was out";
  EXPECT_EQ(calls_[0].first, "/send_group_msg");
}

TEST_F(OneBotAdapterTest, AJoinRequestComesInAndIsAnswered) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  const std::string request = json{{"time", 1772323200}, {"self_id", 10002},    {"post_type", "request"},
                                   {"request_type", "group"}, {"sub_type", "add"}, {"group_id", 600001},
                                   {"user_id", 7003},         {"comment", "答案：芝麻开门"}, {"flag", "f-77"}}
                                  .dump();
  ASSERT_EQ(Post(*a, "10002", Sign("key2", request), request).status, 200);
  ASSERT_EQ(sink_.events.size(), 1u);
  EXPECT_EQ(sink_.events[0].type, EventType::kJoinRequest);
  EXPECT_EQ(sink_.events[0].id, "10002:request:600001:7003:1772323200");
  EXPECT_EQ(sink_.events[0].member, "7003");
  EXPECT_EQ(sink_.events[0].text, "答案：芝麻开门");
  EXPECT_EQ(sink_.events[0].request, "10002:f-77");

  OutboxRecord answer;
  answer.action.type = ActionType::kAnswerJoinRequest;
  answer.action.platform = "qq";
  answer.action.group = "600001";
  answer.action.member = "7003";
  answer.action.request = "10002:f-77";
  answer.action.text = "答案不对";
  const PerformResult done = a->Perform(answer);
  EXPECT_EQ(done.kind, PerformResult::Kind::kDone) << done.error;
  std::lock_guard lock(mutex_);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].first, "/second/set_group_add_request") << "the account that received the request";
  EXPECT_EQ(calls_[0].second,
            json::parse(R"({"flag":"f-77","sub_type":"add","approve":false,"reason":"答案不对"})"));
}

TEST_F(OneBotAdapterTest, ASyncWaitsForStartThenBringsTheMembersInOverHttp) {
  member_list_ = json{{"status", "ok"}, {"retcode", 0}, {"data", MemberList(1201)}}.dump();
  auto a = Make();
  const PerformResult early = a->Perform(Sync());
  EXPECT_EQ(early.kind, PerformResult::Kind::kRetry) << "nowhere to take the members in yet";
  {
    std::lock_guard lock(mutex_);
    EXPECT_TRUE(calls_.empty()) << "nothing is asked before Start";
  }
  ASSERT_TRUE(a->Start(sink_).ok());
  const PerformResult done = a->Perform(Sync());
  EXPECT_EQ(done.kind, PerformResult::Kind::kDone) << done.error;
  EXPECT_EQ(sink_.batches, (std::vector<size_t>{500, 500, 201})) << "each batch durable before the next";
  ASSERT_EQ(sink_.events.size(), 1201u) << "the second account and the row without an id are left out";
  EXPECT_EQ(sink_.events[0].type, EventType::kMemberSynced);
  EXPECT_EQ(sink_.events[0].id, "sync:600001:70000:owner:1772323200000");
  EXPECT_EQ(sink_.events[0].name, "群主");
  EXPECT_EQ(sink_.events[0].time, 1700000000000);
  EXPECT_EQ(sink_.events[3].id, "sync:600001:70003:admin:1772323200000");
  EXPECT_EQ(sink_.events[3].name, "m3");
  EXPECT_EQ(sink_.events[1200].member, "71200");
  EXPECT_EQ(a->health()[0].events, 1201);
  std::lock_guard lock(mutex_);
  ASSERT_EQ(calls_.size(), 1u);
  EXPECT_EQ(calls_[0].first, "/get_group_member_list");
  EXPECT_EQ(calls_[0].second, json::parse(R"({"group_id":600001,"no_cache":true})"));
  EXPECT_NE(heads_[0].find("Authorization: Bearer tok"), std::string::npos);
}

TEST_F(OneBotAdapterTest, ASyncGoesOverTheSocketWhileItIsConnected) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  auto socket = std::make_shared<FakeSocket>();
  MessageSocketHandler h = (*a->AcceptSocket(Handshake("10001", "Bearer tok")))(socket);
  auto done = std::async(std::launch::async, [&] { return a->Perform(Sync()); });
  const json frame = socket->Frame(0);
  EXPECT_EQ(frame["action"], "get_group_member_list");
  EXPECT_EQ(frame["params"], json::parse(R"({"group_id":600001,"no_cache":true})"));
  ASSERT_TRUE(frame["echo"].is_string());
  // Names are anyone's to choose: a member called "post_type" does not make the answer a report.
  json members = MemberList(2);
  members[1]["nickname"] = "post_type";
  h.on_message(json{{"status", "ok"}, {"retcode", 0}, {"data", members}, {"echo", frame["echo"]}}.dump());
  const PerformResult result = done.get();
  EXPECT_EQ(result.kind, PerformResult::Kind::kDone) << result.error;
  ASSERT_EQ(sink_.events.size(), 2u);
  EXPECT_EQ(sink_.events[1].id, "sync:600001:70001:member:1772323200000");
  EXPECT_EQ(sink_.events[1].name, "post_type");
  // And a message saying "echo" is still a report.
  h.on_message(GroupMessage(10001, 6, "echo"));
  ASSERT_EQ(sink_.events.size(), 3u);
  EXPECT_EQ(sink_.events[2].text, "echo");
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(calls_.empty()) << "nothing went through the HTTP API";
}

TEST_F(OneBotAdapterTest, ASyncThatIsNotTakenInIsNotDone) {
  auto a = Make();
  ASSERT_TRUE(a->Start(sink_).ok());
  // An answer without a member list: the same would come again.
  member_list_ = R"({"status":"ok","retcode":0,"data":{"members":[]}})";
  PerformResult r = a->Perform(Sync());
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(r.error.find("data: must be an array"), std::string::npos) << r.error;
  // The platform's refusal is the action's.
  member_list_ = R"({"status":"failed","retcode":1400,"data":null,"wording":"Group not found"})";
  r = a->Perform(Sync());
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(r.error, "retcode 1400: Group not found");
  // Ingest busy: tried again later.
  member_list_ = json{{"status", "ok"}, {"retcode", 0}, {"data", MemberList(3)}}.dump();
  sink_.status = Status(Code::kResourceExhausted, "queue full");
  r = a->Perform(Sync());
  EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
  EXPECT_NE(r.error.find("queue full"), std::string::npos) << r.error;
  // Every member refused (the group belongs to another community): nothing was done.
  sink_.status = Status::Ok();
  sink_.refuse_all = true;
  r = a->Perform(Sync());
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(r.error.find("3 of 3 members refused"), std::string::npos) << r.error;
  EXPECT_TRUE(std::all_of(sink_.events.begin(), sink_.events.end(),
                          [](const Event& e) { return e.type == EventType::kMemberSynced; }));
  // An empty group is a sync that took nothing in, and done.
  member_list_ = R"({"status":"ok","retcode":0,"data":[]})";
  EXPECT_EQ(a->Perform(Sync()).kind, PerformResult::Kind::kDone);
}

// A sink whose batches wait until the test lets them through.
class GatedSink : public EventSink {
 public:
  void Submit(std::vector<Event> batch, Done done) override {
    std::unique_lock lock(mu);
    ++submitted;
    cv.notify_all();
    cv.wait(lock, [&] { return open; });
    done(SinkResult{.accepted = static_cast<int64_t>(batch.size())});
  }
  std::mutex mu;
  std::condition_variable cv;
  int submitted = 0;
  bool open = false;
};

TEST_F(OneBotAdapterTest, StopWaitsForTheSyncBatchUnderWayAndItSubmitsNoMore) {
  member_list_ = json{{"status", "ok"}, {"retcode", 0}, {"data", MemberList(600)}}.dump();  // two batches
  GatedSink gated;
  auto a = Make();
  ASSERT_TRUE(a->Start(gated).ok());
  auto sync = std::async(std::launch::async, [&] { return a->Perform(Sync()); });
  {
    std::unique_lock lock(gated.mu);
    ASSERT_TRUE(gated.cv.wait_for(lock, std::chrono::seconds(10), [&] { return gated.submitted == 1; }));
  }
  auto stopped = std::async(std::launch::async, [&] { a->Stop(); });
  EXPECT_EQ(stopped.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "Stop returned while a batch was still being submitted";
  {
    std::lock_guard lock(gated.mu);
    gated.open = true;
    gated.cv.notify_all();
  }
  stopped.get();
  const PerformResult r = sync.get();
  EXPECT_EQ(r.kind, PerformResult::Kind::kRetry) << "the rest waits for the next start";
  EXPECT_EQ(r.error, "stopped during a member sync");
  std::lock_guard lock(gated.mu);
  EXPECT_EQ(gated.submitted, 1) << "nothing reached the sink after Stop";
}

}  // namespace
}  // namespace qz
