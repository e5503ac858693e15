// The Telegram adapter against a fake Bot API built from the documented payloads: what the
// emulator of the end-to-end test (tests/e2e) lacks: offsets honoured as Telegram does, restrict,
// ban, invite links, 429, 403 and migration, join requests, the bot's own membership and
// administrator syncs.
#include "platform/telegram/telegram_adapter.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "core/toml_reader.hpp"
#include "platform/http/test_peer.hpp"

namespace qz {
namespace {

using nlohmann::json;
using testing::JsonAnswer;
using testing::TestPeer;

constexpr std::string_view kToken = "4242:fake-key";
constexpr std::string_view kOtherToken = "5353:other-key";  // a second bot (calls only)

// Telegram's side: a queue of updates served from the caller's offset (those below it are
// forgotten, as Telegram does), and every other call recorded with the bot that made it and
// answered from `answers` (by method; default ok).
class FakeBotApi {
 public:
  FakeBotApi()
      : peer_([this](const TestPeer::Request& r) { return Answer(r); }) {}

  std::string root() const { return peer_.Url(""); }

  void AddUpdate(json update) {
    std::lock_guard lock(mutex_);
    update["update_id"] = next_update_++;
    updates_.push_back(std::move(update));
  }
  // The next call of `method` gets this answer instead of ok.
  void AnswerOnce(const std::string& method, std::string raw) {
    std::lock_guard lock(mutex_);
    once_[method] = std::move(raw);
  }
  std::vector<std::pair<std::string, json>> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<int64_t> offsets() {
    std::lock_guard lock(mutex_);
    return offsets_;
  }
  // The bodies of the calls of `method`.
  std::vector<json> calls(std::string_view method) {
    std::vector<json> out;
    for (auto& [m, body] : calls()) {
      if (m == method) out.push_back(std::move(body));
    }
    return out;
  }
  // The bot (its id) that made each of calls().
  std::vector<std::string> callers() {
    std::lock_guard lock(mutex_);
    return callers_;
  }
  json allowed_updates() {
    std::lock_guard lock(mutex_);
    return allowed_updates_;
  }

 private:
  std::string Answer(const TestPeer::Request& r) {
    const std::string target = r.Target();
    std::string bot;
    for (std::string_view token : {kToken, kOtherToken}) {
      if (target.starts_with("/bot" + std::string(token) + "/")) bot = token.substr(0, token.find(':'));
    }
    if (bot.empty()) return JsonAnswer(R"({"ok":false,"error_code":401,"description":"Unauthorized"})", 401);
    const std::string method = target.substr(target.find('/', 1) + 1);
    const json body = json::parse(r.body, nullptr, false);
    std::lock_guard lock(mutex_);
    if (method == "getUpdates") {
      const int64_t offset = body.value("offset", int64_t{0});
      offsets_.push_back(offset);
      allowed_updates_ = body.value("allowed_updates", json::array());
      json result = json::array();
      std::erase_if(updates_, [&](const json& u) { return u["update_id"].get<int64_t>() < offset; });
      for (const json& u : updates_) result.push_back(u);
      return JsonAnswer(json{{"ok", true}, {"result", result}}.dump());
    }
    calls_.emplace_back(method, body);
    callers_.push_back(bot);
    if (auto it = once_.find(method); it != once_.end()) {
      std::string raw = std::move(it->second);
      once_.erase(it);
      return raw;
    }
    if (method == "sendMessage") {
      return JsonAnswer(json{{"ok", true},
                             {"result", {{"message_id", 900 + calls_.size()}, {"date", 1},
                                         {"chat", {{"id", body["chat_id"]}, {"type", "supergroup"}}}}}}
                            .dump());
    }
    if (method == "createChatInviteLink") {
      return JsonAnswer(R"({"ok":true,"result":{"invite_link":"https://t.me/+AbCd","creator":{"id":4242,"is_bot":true,"first_name":"b"},"creates_join_request":false,"is_primary":false,"is_revoked":false}})");
    }
    return JsonAnswer(R"({"ok":true,"result":true})");
  }

  std::mutex mutex_;
  int64_t next_update_ = 100;
  std::vector<json> updates_;
  std::map<std::string, std::string> once_;
  std::vector<std::pair<std::string, json>> calls_;
  std::vector<std::string> callers_;
  std::vector<int64_t> offsets_;
  json allowed_updates_;
  TestPeer peer_;  // last: stops (joins its threads) before the state it calls goes
};

// Collects what the adapter submits; can refuse a batch as a full queue would.
class CollectingSink : public EventSink {
 public:
  void Submit(std::vector<Event> events, Done done) override {
    SinkResult r;
    {
      std::lock_guard lock(mutex_);
      if (refuse_ > 0) {
        --refuse_;
        r.status = Status(Code::kUnavailable, "queue full");
      } else {
        for (Event& e : events) events_.push_back(std::move(e));
        r.accepted = static_cast<int64_t>(events.size());
      }
    }
    done(std::move(r));
  }
  std::vector<Event> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<Event> events(EventType type) {
    std::vector<Event> out = events();
    std::erase_if(out, [&](const Event& e) { return e.type != type; });
    return out;
  }
  void RefuseNext(int n) {
    std::lock_guard lock(mutex_);
    refuse_ = n;
  }

 private:
  std::mutex mutex_;
  std::vector<Event> events_;
  int refuse_ = 0;
};

json GroupMessage(int64_t message_id, const std::string& text) {
  return {{"message",
           {{"message_id", message_id},
            {"date", 1772323200},
            {"chat", {{"id", -100777}, {"type", "supergroup"}, {"title", "群"}}},
            {"from", {{"id", 5001}, {"is_bot", false}, {"first_name", "Alice"}}},
            {"text", text}}}};
}

template <class F>
bool Eventually(F f) {
  for (int i = 0; i < 400; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class TelegramAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("qz-telegram-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<TelegramAdapter> Make(bool two_bots = false) {
    TelegramOptions o;
    o.api_root = api_.root();
    o.bots.push_back({.name = "main", .token = Secret(std::string(kToken))});
    if (two_bots) o.bots.push_back({.name = "other", .token = Secret(std::string(kOtherToken))});
    o.idle_wait_ms = 20;
    o.max_backoff_ms = 50;
    o.data_dir = dir_.string();
    return std::make_unique<TelegramAdapter>(clock_, std::move(o));
  }

  OutboxRecord Record(ActionType type) {
    OutboxRecord r;
    r.id = 1;
    r.action.type = type;
    r.action.platform = "telegram";
    r.action.group = "-100777";
    r.action.member = "5001";
    r.action.text = "请遵守群规";
    r.action.reply_to = "-100777:11";
    r.action.duration_s = 3600;
    return r;
  }

  ManualClock clock_{1772323200000};
  FakeBotApi api_;
  CollectingSink sink_;
  std::filesystem::path dir_;
};

TEST_F(TelegramAdapterTest, PollsSubmitsAndKeepsTheOffsetAcrossARestart) {
  api_.AddUpdate(GroupMessage(11, "大家好"));
  api_.AddUpdate(GroupMessage(12, "今天作业是什么"));
  {
    auto adapter = Make();
    ASSERT_TRUE(adapter->Start(sink_).ok());
    ASSERT_TRUE(Eventually([&] { return sink_.events().size() == 2; }));
    ASSERT_TRUE(Eventually([&] { return !api_.offsets().empty() && api_.offsets().back() == 102; }));
    const auto health = adapter->health();
    ASSERT_EQ(health.size(), 1u);
    EXPECT_EQ(health[0].name, "main");
    EXPECT_EQ(health[0].state, "connected");
    EXPECT_EQ(health[0].events, 2);
    EXPECT_EQ(health[0].last_event, clock_.Now());
    adapter->Stop();
    EXPECT_EQ(adapter->health()[0].state, "stopped");
  }
  std::ifstream offset(dir_ / "telegram-4242.offset");
  int64_t saved = 0;
  offset >> saved;
  EXPECT_EQ(saved, 102);
  EXPECT_EQ(sink_.events()[0].id, "-100777:11");
  EXPECT_EQ(sink_.events()[1].text, "今天作业是什么");

  // A new process starts from the saved offset: nothing is submitted twice, nothing lost.
  api_.AddUpdate(GroupMessage(13, "第三条"));
  auto again = Make();
  ASSERT_TRUE(again->Start(sink_).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.events().size() == 3; }));
  again->Stop();
  EXPECT_EQ(api_.offsets().front(), 0);
  EXPECT_EQ(sink_.events()[2].id, "-100777:13");
  EXPECT_EQ(sink_.events().size(), 3u);
}

TEST_F(TelegramAdapterTest, ABatchTheSinkRefusesIsFetchedAgain) {
  sink_.RefuseNext(2);
  api_.AddUpdate(GroupMessage(11, "hello"));
  auto adapter = Make();
  ASSERT_TRUE(adapter->Start(sink_).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.events().size() == 1; }));
  EXPECT_EQ(adapter->health()[0].errors, 2);
  EXPECT_NE(adapter->health()[0].last_error.find("queue full"), std::string::npos);
  adapter->Stop();
  const auto offsets = api_.offsets();
  ASSERT_GE(offsets.size(), 3u);
  EXPECT_EQ(offsets[0], 0);
  EXPECT_EQ(offsets[1], 0) << "not advanced past a refused batch";
}

TEST_F(TelegramAdapterTest, StopEndsALongPollAtOnce) {
  TelegramOptions o;
  TestPeer hanging([](const TestPeer::Request&) { return std::string("hang"); });
  o.api_root = hanging.Url("");
  o.bots.push_back({.token = Secret(std::string(kToken))});
  o.data_dir = dir_.string();
  TelegramAdapter adapter(clock_, std::move(o));
  ASSERT_TRUE(adapter.Start(sink_).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  adapter.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(TelegramAdapterTest, WebhookModeRegistersAndChecksTheSecretToken) {
  TelegramOptions o;
  o.api_root = api_.root();
  o.bots.push_back({.name = "main", .token = Secret(std::string(kToken))});
  o.mode = TelegramOptions::Mode::kWebhook;
  o.public_url = "https://bot.example.com";
  o.webhook_secret = Secret("s3cret-Token_1");
  o.data_dir = dir_.string();
  TelegramAdapter adapter(clock_, std::move(o));
  EXPECT_EQ(adapter.webhook_names(), std::vector<std::string>{"main"});
  ASSERT_TRUE(adapter.Start(sink_).ok());
  ASSERT_TRUE(Eventually([&] { return !api_.calls().empty(); }));
  EXPECT_EQ(api_.calls()[0].first, "setWebhook");
  EXPECT_EQ(api_.calls()[0].second["url"], "https://bot.example.com/webhooks/telegram/main");
  EXPECT_EQ(api_.calls()[0].second["secret_token"], "s3cret-Token_1");

  auto post = [&](std::string name, std::string secret, std::string body) {
    std::promise<WebhookResponse> answer;
    WebhookRequest request{.name = std::move(name), .headers = {}, .body = std::move(body)};
    if (!secret.empty()) request.headers.emplace_back("x-telegram-bot-api-secret-token", std::move(secret));
    adapter.HandleWebhook(std::move(request), [&](WebhookResponse r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  };
  json update = GroupMessage(21, "webhook hello");
  update["update_id"] = 7;
  EXPECT_EQ(post("main", "", update.dump()).status, 401);
  EXPECT_EQ(post("main", "s3cret-Token_2", update.dump()).status, 401);
  EXPECT_EQ(post("other", "s3cret-Token_1", update.dump()).status, 404);
  EXPECT_TRUE(sink_.events().empty()) << "nothing ingested without the secret";
  EXPECT_EQ(post("main", "s3cret-Token_1", "{not json").status, 200) << "a bad update is not redelivered";
  EXPECT_EQ(post("main", "s3cret-Token_1", update.dump()).status, 200);
  ASSERT_EQ(sink_.events().size(), 1u);
  EXPECT_EQ(sink_.events()[0].text, "webhook hello");
  sink_.RefuseNext(1);
  update["update_id"] = 8;
  EXPECT_EQ(post("main", "s3cret-Token_1", update.dump()).status, 503) << "not taken: Telegram sends it again";
  adapter.Stop();
  EXPECT_EQ(post("main", "s3cret-Token_1", update.dump()).status, 503);
}

TEST_F(TelegramAdapterTest, ActionsBecomeBotApiCalls) {
  auto adapter = Make();
  EXPECT_EQ(adapter->Perform(Record(ActionType::kWarn)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kDeleteMessage)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kMute)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kRemoveMember)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kUnban)).kind, PerformResult::Kind::kDone);
  const PerformResult invite = adapter->Perform(Record(ActionType::kCreateInvite));
  EXPECT_EQ(invite.platform_ref, "https://t.me/+AbCd");
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0].first, "sendMessage");
  EXPECT_EQ(calls[0].second["reply_parameters"]["message_id"], 11);
  EXPECT_EQ(calls[1].first, "deleteMessage");
  EXPECT_EQ(calls[1].second["message_id"], 11);
  EXPECT_EQ(calls[2].first, "restrictChatMember");
  EXPECT_EQ(calls[2].second["until_date"], 1772323200 + 3600);
  EXPECT_EQ(calls[2].second["permissions"]["can_send_messages"], false);
  EXPECT_EQ(calls[3].first, "banChatMember");
  EXPECT_EQ(calls[4].first, "unbanChatMember");
  EXPECT_EQ(calls[4].second["only_if_banned"], true);
  EXPECT_EQ(calls[5].first, "createChatInviteLink");
}

TEST_F(TelegramAdapterTest, FloodControlIsARetryAfterTheGivenTime) {
  auto adapter = Make();
  api_.AnswerOnce("sendMessage", JsonAnswer(R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}})", 429));
  const PerformResult r = adapter->Perform(Record(ActionType::kSendMessage));
  EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(r.retry_after_ms, 3000);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kDone);
}

TEST_F(TelegramAdapterTest, AfterA403NothingMoreIsSentToThatGroup) {
  auto adapter = Make();
  api_.AnswerOnce("sendMessage", JsonAnswer(R"({"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"})", 403));
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kFailed);
  const PerformResult again = adapter->Perform(Record(ActionType::kSendMessage));
  EXPECT_EQ(again.kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(api_.calls().size(), 1u) << "the second was not even sent";
}

TEST_F(TelegramAdapterTest, AMigratedGroupIsSentToAsItsSupergroup) {
  auto adapter = Make();
  api_.AnswerOnce("sendMessage", JsonAnswer(R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009999}})", 400));
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kDone);
  const auto calls = api_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1].second["chat_id"], -1009999);
}

TEST_F(TelegramAdapterTest, AnUnreachableApiIsARetry) {
  TelegramOptions o;
  o.api_root = "http://127.0.0.1:1";
  o.bots.push_back({.token = Secret(std::string(kToken))});
  TelegramAdapter adapter(clock_, std::move(o));
  const PerformResult r = adapter.Perform(Record(ActionType::kSendMessage));
  EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(r.error.find("fake-key"), std::string::npos) << r.error;
}

json MyChatMember(int64_t chat, std::string_view type, std::string_view before, std::string_view after,
                  int64_t date = 1772323200) {
  const json bot = {{"id", 4242}, {"is_bot", true}, {"first_name", "QunzhuBot"}};
  return {{"my_chat_member",
           {{"chat", {{"id", chat}, {"type", type}, {"title", "群"}, {"first_name", "Alice"}}},
            {"from", {{"id", 5001}, {"is_bot", false}, {"first_name", "Alice"}}},
            {"date", date},
            {"old_chat_member", {{"status", before}, {"user", bot}}},
            {"new_chat_member", {{"status", after}, {"user", bot}}}}}};
}

json Migration(int64_t chat, std::string_view type, std::string_view key, int64_t other) {
  return {{"message",
           {{"message_id", 1},
            {"date", 1772323200},
            {"chat", {{"id", chat}, {"type", type}, {"title", "群"}}},
            {"from", {{"id", 5001}, {"is_bot", false}, {"first_name", "Alice"}}},
            {key, other}}}};
}

TEST_F(TelegramAdapterTest, TheBotsOwnMembershipAndMigrationsReachTheEngine) {
  api_.AddUpdate(MyChatMember(-100777, "supergroup", "administrator", "kicked"));
  api_.AddUpdate(MyChatMember(5001, "private", "member", "kicked"));  // blocked by a person
  api_.AddUpdate(Migration(-4001, "group", "migrate_to_chat_id", -100888));
  api_.AddUpdate(Migration(-100888, "supergroup", "migrate_from_chat_id", -4001));
  auto adapter = Make();
  ASSERT_TRUE(adapter->Start(sink_).ok());
  ASSERT_TRUE(Eventually([&] { return api_.offsets().size() >= 2 && api_.offsets().back() == 104; }));
  const json allowed = api_.allowed_updates();
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), "my_chat_member"), allowed.end()) << allowed;
  EXPECT_NE(std::find(allowed.begin(), allowed.end(), "chat_join_request"), allowed.end()) << allowed;

  const auto removed = sink_.events(EventType::kBotRemoved);
  ASSERT_EQ(removed.size(), 1u) << "none for the private chat";
  EXPECT_EQ(removed[0].id, "bot_removed:-100777:4242:1772323200");
  EXPECT_EQ(removed[0].group, "-100777");
  EXPECT_EQ(removed[0].member, "5001");
  const auto migrated = sink_.events(EventType::kGroupMigrated);
  ASSERT_EQ(migrated.size(), 2u);
  for (const Event& e : migrated) {
    EXPECT_EQ(e.id, "migrate:-4001") << "both reports are one event";
    EXPECT_EQ(e.group, "-4001");
    EXPECT_EQ(e.to, "-100888");
  }
  // The adapter acts on the facts itself as before.
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kFailed);
  OutboxRecord old_group = Record(ActionType::kSendMessage);
  old_group.action.group = "-4001";
  EXPECT_EQ(adapter->Perform(old_group).kind, PerformResult::Kind::kDone);
  const auto sent = api_.calls("sendMessage");
  ASSERT_EQ(sent.size(), 1u) << "nothing was sent to the group the bot was removed from";
  EXPECT_EQ(sent[0]["chat_id"], -100888);

  // Added again: a bot_added event, and the group is sent to again.
  api_.AddUpdate(MyChatMember(-100777, "supergroup", "left", "member", 1772323260));
  ASSERT_TRUE(Eventually([&] { return sink_.events(EventType::kBotAdded).size() == 1; }));
  EXPECT_EQ(sink_.events(EventType::kBotAdded)[0].id, "bot_added:-100777:4242:1772323260");
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kDone);
  adapter->Stop();
}

TEST_F(TelegramAdapterTest, AJoinRequestIsSubmittedAndAnsweredThroughTheBotThatGotIt) {
  api_.AddUpdate({{"chat_join_request",
                   {{"chat", {{"id", -100777}, {"type", "supergroup"}, {"title", "群"}}},
                    {"from", {{"id", 6001}, {"is_bot", false}, {"first_name", "Erin"}}},
                    {"user_chat_id", 6001},
                    {"date", 1772323200},
                    {"bio", "想加入学习"},
                    {"invite_link", {{"invite_link", "https://t.me/+Req"}, {"name", "poster"},
                                     {"creator", {{"id", 4242}, {"is_bot", true}, {"first_name", "b"}}},
                                     {"creates_join_request", true}, {"is_primary", false},
                                     {"is_revoked", false}}}}}});
  auto adapter = Make();
  ASSERT_TRUE(adapter->Start(sink_).ok());
  ASSERT_TRUE(Eventually([&] { return sink_.events(EventType::kJoinRequest).size() == 1; }));
  adapter->Stop();
  const Event request = sink_.events(EventType::kJoinRequest)[0];
  EXPECT_EQ(request.id, "4242:join_request:-100777:6001:1772323200");
  EXPECT_EQ(request.group, "-100777");
  EXPECT_EQ(request.member, "6001");
  EXPECT_EQ(request.text, "想加入学习");
  EXPECT_EQ(request.via_code, "poster");
  EXPECT_EQ(request.request, "4242:-100777:6001");

  // Answered through the bot the handle names, whichever bot last saw the group.
  auto two = Make(/*two_bots=*/true);
  OutboxRecord answer = Record(ActionType::kAnswerJoinRequest);
  answer.action.member = "6001";
  answer.action.request = "5353:-100777:6001";
  answer.action.approve = true;
  EXPECT_EQ(two->Perform(answer).kind, PerformResult::Kind::kDone);
  answer.action.approve = false;
  answer.action.request = request.request;
  EXPECT_EQ(two->Perform(answer).kind, PerformResult::Kind::kDone);
  answer.action.request.clear();  // no handle (an operator's action): the group's bot
  EXPECT_EQ(two->Perform(answer).kind, PerformResult::Kind::kDone);
  api_.AnswerOnce("approveChatJoinRequest",
                  JsonAnswer(R"({"ok":false,"error_code":400,"description":"Bad Request: USER_ALREADY_PARTICIPANT"})", 400));
  answer.action.approve = true;
  EXPECT_EQ(two->Perform(answer).kind, PerformResult::Kind::kDone) << "they are in already";
  auto calls = api_.calls();
  auto callers = api_.callers();
  calls.erase(calls.begin(), calls.end() - 4);
  callers.erase(callers.begin(), callers.end() - 4);
  EXPECT_EQ(calls[0].first, "approveChatJoinRequest");
  EXPECT_EQ(calls[0].second, json::parse(R"({"chat_id":-100777,"user_id":6001})"));
  EXPECT_EQ(callers[0], "5353");
  EXPECT_EQ(calls[1].first, "declineChatJoinRequest");
  EXPECT_EQ(callers[1], "4242");
  EXPECT_EQ(calls[2].first, "declineChatJoinRequest");
  EXPECT_EQ(callers[2], "4242");
  EXPECT_EQ(calls[3].first, "approveChatJoinRequest");
}

TEST_F(TelegramAdapterTest, A403InAGroupAlsoReportsTheBotsRemoval) {
  constexpr std::string_view kKicked =
      R"({"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"})";
  auto adapter = Make();
  // Not started: the action fails; there is no sink to tell (and no crash).
  api_.AnswerOnce("sendMessage", JsonAnswer(kKicked, 403));
  EXPECT_EQ(adapter->Perform(Record(ActionType::kSendMessage)).kind, PerformResult::Kind::kFailed);
  ASSERT_TRUE(adapter->Start(sink_).ok());
  OutboxRecord send = Record(ActionType::kSendMessage);
  send.id = 7;
  send.action.group = "-100778";
  api_.AnswerOnce("sendMessage", JsonAnswer(kKicked, 403));
  const PerformResult failed = adapter->Perform(send);
  EXPECT_EQ(failed.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(failed.error.find("kicked"), std::string::npos) << failed.error;
  const auto removed = sink_.events(EventType::kBotRemoved);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].id, "forbidden:-100778:7");
  EXPECT_EQ(removed[0].group, "-100778");
  EXPECT_EQ(removed[0].platform, "telegram");
  // A person who blocked the bot is no group.
  OutboxRecord direct = Record(ActionType::kSendDirect);
  direct.action.group.clear();
  api_.AnswerOnce("sendMessage", JsonAnswer(R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"})", 403));
  EXPECT_EQ(adapter->Perform(direct).kind, PerformResult::Kind::kFailed);
  EXPECT_EQ(sink_.events(EventType::kBotRemoved).size(), 1u);
  // A migration learned from an answer is the engine's too (the same id as the updates').
  OutboxRecord old_group = Record(ActionType::kSendMessage);
  old_group.action.group = "-4002";
  api_.AnswerOnce("sendMessage", JsonAnswer(R"({"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1009999}})", 400));
  EXPECT_EQ(adapter->Perform(old_group).kind, PerformResult::Kind::kRetry);
  const auto migrated = sink_.events(EventType::kGroupMigrated);
  ASSERT_EQ(migrated.size(), 1u);
  EXPECT_EQ(migrated[0].id, "migrate:-4002");
  EXPECT_EQ(migrated[0].to, "-1009999");
  adapter->Stop();
}

TEST_F(TelegramAdapterTest, SyncMembersBringsTheAdministratorsIn) {
  constexpr std::string_view kAdmins = R"({"ok":true,"result":[
    {"status":"creator","is_anonymous":false,"user":{"id":5001,"is_bot":false,"first_name":"Alice"}},
    {"status":"administrator","can_invite_users":true,"user":{"id":4242,"is_bot":true,"first_name":"QunzhuBot"}},
    {"status":"administrator","can_invite_users":false,"user":{"id":5002,"is_bot":false,"first_name":"Bob"}}]})";
  auto adapter = Make();
  const OutboxRecord sync = Record(ActionType::kSyncMembers);
  // Before Start the answer has nowhere to go: not even asked.
  EXPECT_EQ(adapter->Perform(sync).kind, PerformResult::Kind::kRetry);
  EXPECT_TRUE(api_.calls("getChatAdministrators").empty());

  ASSERT_TRUE(adapter->Start(sink_).ok());
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(kAdmins));
  const PerformResult done = adapter->Perform(sync);
  EXPECT_EQ(done.kind, PerformResult::Kind::kDone) << done.error;
  const auto asked = api_.calls("getChatAdministrators");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], json::parse(R"({"chat_id":-100777})"));
  const auto synced = sink_.events(EventType::kMemberSynced);
  ASSERT_EQ(synced.size(), 2u) << "the bot is no member";
  EXPECT_EQ(synced[0].id, "sync:-100777:5001:owner:1772323200000");
  EXPECT_EQ(synced[0].member, "5001");
  EXPECT_EQ(synced[0].name, "Alice");
  EXPECT_EQ(synced[0].role, Role::kOwner);
  EXPECT_EQ(synced[1].id, "sync:-100777:5002:admin:1772323200000");
  EXPECT_EQ(synced[1].role, Role::kAdmin);
  EXPECT_EQ(synced[1].time, clock_.Now());

  // Ingest did not take them: asked again later.
  sink_.RefuseNext(1);
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(kAdmins));
  const PerformResult refused = adapter->Perform(sync);
  EXPECT_EQ(refused.kind, PerformResult::Kind::kRetry);
  EXPECT_NE(refused.error.find("queue full"), std::string::npos) << refused.error;
  EXPECT_EQ(sink_.events(EventType::kMemberSynced).size(), 2u);
  // Errors as for every call.
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}})", 429));
  const PerformResult flood = adapter->Perform(sync);
  EXPECT_EQ(flood.kind, PerformResult::Kind::kRetry);
  EXPECT_EQ(flood.retry_after_ms, 5000);
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(R"({"ok":false,"error_code":500,"description":"Internal Server Error"})", 500));
  EXPECT_EQ(adapter->Perform(sync).kind, PerformResult::Kind::kRetry);
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(R"({"ok":false,"error_code":400,"description":"Bad Request: chat not found"})", 400));
  EXPECT_EQ(adapter->Perform(sync).kind, PerformResult::Kind::kFailed);
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(R"({"ok":true,"result":[{"status":"member","user":{"id":1,"first_name":"A"}}]})"));
  const PerformResult malformed = adapter->Perform(sync);
  EXPECT_EQ(malformed.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(malformed.error.find("result[0].status"), std::string::npos) << malformed.error;
  api_.AnswerOnce("getChatAdministrators", JsonAnswer(R"({"ok":false,"error_code":403,"description":"Forbidden: bot is not a member of the supergroup chat"})", 403));
  OutboxRecord kicked = sync;
  kicked.id = 9;
  EXPECT_EQ(adapter->Perform(kicked).kind, PerformResult::Kind::kFailed);
  ASSERT_EQ(sink_.events(EventType::kBotRemoved).size(), 1u);
  EXPECT_EQ(sink_.events(EventType::kBotRemoved)[0].id, "forbidden:-100777:9");
  EXPECT_EQ(sink_.events(EventType::kMemberSynced).size(), 2u);

  adapter->Stop();
  OutboxRecord after = sync;
  after.action.group = "-100780";
  EXPECT_EQ(adapter->Perform(after).kind, PerformResult::Kind::kRetry) << "stopped: nowhere to bring it";
  EXPECT_EQ(api_.calls("getChatAdministrators").size(), 7u) << "not asked after Stop";
}

// The factory reads [platforms.telegram]; problems name the key and never quote the token.
std::string CreateProblems(const std::string& toml) {
  auto doc = ParseToml(toml, "node.toml", 1 << 20);
  EXPECT_TRUE(doc.ok());
  ConfigProblems problems{"node.toml"};
  TableReader section(*doc, "platforms.telegram", problems);
  ManualClock clock(0);
  AdapterEnv env{clock, "/tmp"};
  auto adapter = MakeTelegramFactory()->Create(section, env);
  section.Done();
  EXPECT_EQ(adapter == nullptr, !problems.ToStatus().ok());
  return problems.ToStatus().ok() ? "" : problems.ToStatus().ToString();
}

TEST(TelegramFactoryTest, ReadsOneOrSeveralBotsAndRefusesBadSections) {
  ::setenv("QZ_TEST_TG_A", "111:aaa", 1);
  ::setenv("QZ_TEST_TG_B", "222:bbb", 1);
  ::setenv("QZ_TEST_TG_BAD", "not-a-token", 1);
  EXPECT_EQ(CreateProblems("token = { env = \"QZ_TEST_TG_A\" }\n"), "");
  EXPECT_EQ(CreateProblems("api_root = \"http://127.0.0.1:9000\"\n[[bots]]\nname = \"a\"\ntoken = { env = "
                           "\"QZ_TEST_TG_A\" }\n[[bots]]\nname = \"b\"\ntoken = { env = \"QZ_TEST_TG_B\" }\n"),
            "");
  EXPECT_NE(CreateProblems("").find("token"), std::string::npos);
  const std::string literal = CreateProblems("token = \"111:aaa\"\n");
  EXPECT_NE(literal.find("token"), std::string::npos);
  EXPECT_EQ(literal.find("111:aaa"), std::string::npos) << literal;
  const std::string bad = CreateProblems("token = { env = \"QZ_TEST_TG_BAD\" }\n");
  EXPECT_NE(bad.find("not a Bot API token"), std::string::npos) << bad;
  EXPECT_EQ(bad.find("not-a-token"), std::string::npos) << bad;
  EXPECT_NE(CreateProblems("api_root = \"ftp://x\"\ntoken = { env = \"QZ_TEST_TG_A\" }\n").find("api_root"),
            std::string::npos);
  EXPECT_NE(CreateProblems("[[bots]]\ntoken = { env = \"QZ_TEST_TG_A\" }\n[[bots]]\ntoken = { env = "
                           "\"QZ_TEST_TG_A\" }\n")
                .find("twice"),
            std::string::npos);
  EXPECT_NE(CreateProblems("token = { env = \"QZ_TEST_TG_A\" }\npoll_timeout_s = 99\n").find("poll_timeout_s"),
            std::string::npos);
}

}  // namespace
}  // namespace qz
