// Black-box test of POST /api/v1/actions/{id}/retry (issue 11): a failed action goes back to
// pending and the real binary's delivery attempts it again, also when its id is below the open
// actions delivery loaded at start; any other status is 409 "not_retryable".
//
// How an action fails here: the sandbox is configured to fail every send (transient failures:
// the welcomes stay pending), then the node restarts without a sandbox (a QQ account only), and
// delivery fails the sandbox's open actions at start ("no adapter for platform sandbox").
#include <string>
#include <vector>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

constexpr const char* kPlaybook = R"([community]
slug = "camp"
name = "成长营"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "成长营1群"

[welcome]
text = "欢迎 {member.name}"
)";

constexpr const char* kFailingSandbox = R"([platforms.sandbox]
failures = { percent = 100, retry_after_ms = 500, seed = 1 }
)";

class ConsoleRetry : public ConsoleApi {
 protected:
  json Actions(const std::string& query = "") {
    const HttpResponse r = Get("/api/v1/actions" + query);
    EXPECT_EQ(r.status, 200) << r.Describe();
    return r.Json().value("actions", json::array());
  }
  json Action(int64_t id) {
    for (const json& a : Actions("?limit=1000")) {
      if (a["id"] == id) return a;
    }
    return json();
  }
  // A simulated member joins camp-1 (so the bot welcomes them).
  void Join(const std::string& member, const std::string& name) {
    const HttpResponse r =
        Post("/api/v1/sandbox/groups/camp-1/join", {{"member", member}, {"name", name}});
    ASSERT_EQ(r.status, 200) << r.Describe();
  }
  // The bot's messages in camp-1 as (action id, text).
  std::vector<std::pair<int64_t, std::string>> BotMessages() {
    std::vector<std::pair<int64_t, std::string>> out;
    const json j = Get("/api/v1/sandbox/groups/camp-1/messages?limit=1000").Json();
    for (const json& m : j.value("messages", json::array())) {
      if (m.value("kind", "") == "bot") out.emplace_back(m["action_id"].get<int64_t>(), m["text"]);
    }
    return out;
  }
};

TEST_F(ConsoleRetry, AFailedActionIsRetriedAndDelivered) {
  const std::string playbook = File("camp.toml", kPlaybook);
  const std::string failing = File("failing.toml", kFailingSandbox);
  const std::string qq_token = File("qq.token", "qq-access-token\n");
  const std::string qq_only =
      File("qq.toml",
           "[platforms.qq]\nself_id = \"10001\"\naccess_token = { file = \"" + qq_token + "\" }\n");

  // 1. Two welcomes that the sandbox refuses (transient: they stay pending, retried).
  ASSERT_NO_FATAL_FAILURE(Serve({"--config", failing, "--playbook", playbook}));
  ASSERT_NO_FATAL_FAILURE(Join("u1", "小明"));
  ASSERT_NO_FATAL_FAILURE(Join("u2", "小红"));
  ASSERT_TRUE(WaitFor([&] {
    const json open = Actions("?status=pending");
    return open.size() == 2 && open[0]["attempts"].get<int>() >= 1;
  })) << Get("/api/v1/actions").body;
  const int64_t first = Actions()[0]["id"];
  const int64_t second = Actions()[1]["id"];
  ASSERT_NO_FATAL_FAILURE(Stop());

  // 2. No sandbox: delivery fails them at start.
  ASSERT_NO_FATAL_FAILURE(Serve({"--config", qq_only}));
  const json failed = Actions("?status=failed");
  ASSERT_EQ(failed.size(), 2u) << failed.dump();
  EXPECT_NE(failed[0]["last_error"].get<std::string>().find("no adapter"), std::string::npos)
      << failed.dump();
  ASSERT_NO_FATAL_FAILURE(Stop());

  // 3. The failing sandbox again: a third welcome, open at the next start, with a higher id
  //    than the failed ones (delivery then loads it; the retried ids are below it).
  ASSERT_NO_FATAL_FAILURE(Serve({"--config", failing}));
  ASSERT_NO_FATAL_FAILURE(Join("u3", "小刚"));
  // Its status flips between pending and sending while the sandbox refuses it: look at all.
  ASSERT_TRUE(WaitFor([&] { return Actions().size() == 3; })) << Get("/api/v1/actions").body;
  const int64_t third = Actions()[2]["id"];
  ASSERT_GT(third, second);
  ASSERT_NO_FATAL_FAILURE(Stop());

  // 4. A working sandbox: the open welcome is delivered by itself; the failed ones wait for an
  //    operator.
  ASSERT_NO_FATAL_FAILURE(Serve());
  ASSERT_TRUE(WaitFor([&] { return Action(third).value("status", "") == "done"; }))
      << Get("/api/v1/actions").body;
  EXPECT_EQ(Action(first)["status"], "failed");

  const std::string retry = "/api/v1/actions/" + std::to_string(first) + "/retry";
  const std::string viewer = MakeToken("dash", "viewer");
  const std::string assistant = MakeToken("desk", "assistant");
  EXPECT_EQ(Call("POST", retry, viewer).status, 403);
  EXPECT_EQ(Call("POST", retry, assistant).status, 403);
  const HttpResponse retried = Call("POST", retry, token_);
  ASSERT_EQ(retried.status, 200) << retried.Describe();
  const json answer = retried.Json()["action"];
  EXPECT_EQ(answer["id"], first);
  EXPECT_EQ(answer["status"], "pending");
  EXPECT_EQ(answer["attempts"], 0);

  // Delivery attempts it again: the welcome reaches the group and the row is done.
  ASSERT_TRUE(WaitFor([&] { return Action(first).value("status", "") == "done"; }))
      << Get("/api/v1/actions").body;
  bool welcomed = false;
  for (const auto& [action, text] : BotMessages()) {
    if (action == first) welcomed = text == "欢迎 小明";
    EXPECT_NE(action, second) << "the action nobody retried stays failed";
  }
  EXPECT_TRUE(welcomed) << Get("/api/v1/sandbox/groups/camp-1/messages").body;
  EXPECT_EQ(Action(second)["status"], "failed");

  // Only failed and possibly_sent actions go back.
  const HttpResponse done_again = Call("POST", retry, token_);
  EXPECT_EQ(done_again.status, 409) << done_again.Describe();
  EXPECT_EQ(ErrorCode(done_again), "not_retryable") << done_again.body;
  EXPECT_NE(done_again.body.find("done"), std::string::npos) << done_again.body;
  EXPECT_EQ(Call("POST", "/api/v1/actions/999999/retry", token_).status, 404);
  EXPECT_EQ(Call("POST", "/api/v1/actions/0/retry", token_).status, 400);
}

}  // namespace
}  // namespace qzbb
