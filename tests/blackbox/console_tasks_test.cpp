// Black-box tests of the console's task workflow (issue 11): operator tasks are assigned to an
// account and closed with a note through the real binary's API, with each route's least role,
// and `qunzhu replay` still finds the rebuilt state equal (the workflow is the operators' own
// state, not the log's).
#include <string>
#include <vector>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

// A welcome for a group on a platform this node has no adapter for (the default node serves
// only the sandbox): every join opens a task "degraded:send_message" instead of a send.
constexpr const char* kPlaybook = R"([community]
slug = "camp"
name = "成长营"

[[groups]]
platform = "telegram"
id = "tg-1"
name = "成长营1群"

[welcome]
text = "欢迎 {member.name}"
)";

json Join(int n) {
  return {{"id", "join-" + std::to_string(n)},
          {"type", "member_joined"},
          {"time", "2026-03-01T10:00:0" + std::to_string(n) + "+08:00"},
          {"platform", "telegram"},
          {"group", "tg-1"},
          {"member", "u" + std::to_string(n)},
          {"name", "成员" + std::to_string(n)}};
}

class ConsoleTasks : public ConsoleApi {
 protected:
  // The ids of GET /api/v1/tasks`query`, in order.
  std::vector<int64_t> TaskIds(const std::string& query) {
    const HttpResponse r = Get("/api/v1/tasks" + query);
    EXPECT_EQ(r.status, 200) << r.Describe();
    std::vector<int64_t> ids;
    for (const json& t : r.Json().value("tasks", json::array())) ids.push_back(t["id"]);
    return ids;
  }
};

TEST_F(ConsoleTasks, AssignAndCloseWithRolesAndReplayStillMatches) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--playbook", File("camp.toml", kPlaybook)}));
  json joins = json::array();
  for (int n = 1; n <= 3; ++n) joins.push_back(Join(n));
  const HttpResponse ingested = Post("/api/v1/events", joins);
  ASSERT_EQ(ingested.status, 200) << ingested.Describe();
  std::vector<int64_t> ids;
  ASSERT_TRUE(WaitFor([&] { return (ids = TaskIds("")).size() == 3; }))
      << Get("/api/v1/tasks").body;

  // A fresh task: open, nobody's, no closing.
  const json first = Get("/api/v1/tasks").Json()["tasks"][0];
  EXPECT_EQ(first["kind"], "degraded:send_message") << first.dump();
  EXPECT_EQ(first["open"], true);
  for (const char* field : {"assignee", "closed_at", "closed_by", "note"}) {
    EXPECT_TRUE(first.contains(field) && first[field].is_null()) << field << ": " << first.dump();
  }

  ASSERT_TRUE(Cli({"user", "create", "helper", "--role", "assistant", "--data", data_},
                  "helper-password-1\n")
                  .status.ok());
  ASSERT_TRUE(
      Cli({"user", "create", "gone", "--role", "operator", "--data", data_}, "gone-password-1\n")
          .status.ok());
  ASSERT_TRUE(Cli({"user", "disable", "gone", "--data", data_}).status.ok());
  const std::string viewer = MakeToken("dash", "viewer");
  const std::string assistant = MakeToken("desk", "assistant");
  const std::string operator_token = MakeToken("lead", "operator");
  const std::string assign = "/api/v1/tasks/" + std::to_string(ids[0]) + "/assign";
  const std::string close = "/api/v1/tasks/" + std::to_string(ids[0]) + "/close";

  // Assigning is an operator's; closing an assistant's.
  EXPECT_EQ(Post(assign, {{"assignee", "helper"}}, viewer).status, 403);
  EXPECT_EQ(Post(assign, {{"assignee", "helper"}}, assistant).status, 403);
  EXPECT_EQ(Post(close, json::object(), viewer).status, 403);

  // The assignee must be an enabled account.
  for (const char* who : {"nobody", "gone", "bad name"}) {
    const HttpResponse r = Post(assign, {{"assignee", who}}, operator_token);
    EXPECT_EQ(r.status, 422) << who << ": " << r.Describe();
    EXPECT_EQ(ErrorCode(r), "invalid_assignee") << r.body;
    EXPECT_EQ(ErrorField(r), "assignee") << r.body;
  }
  for (const json& bad : {json::object(), json{{"assignee", 5}}, json{{"who", "helper"}}}) {
    const HttpResponse r = Post(assign, bad, operator_token);
    EXPECT_EQ(r.status, 400) << bad.dump() << ": " << r.Describe();
  }
  EXPECT_EQ(Post("/api/v1/tasks/999999/assign", {{"assignee", "helper"}}, operator_token).status,
            404);

  const HttpResponse assigned = Post(assign, {{"assignee", "helper"}}, operator_token);
  ASSERT_EQ(assigned.status, 200) << assigned.Describe();
  EXPECT_EQ(assigned.Json()["task"]["assignee"], "helper") << assigned.body;
  EXPECT_EQ(TaskIds("?assignee=helper"), std::vector<int64_t>{ids[0]});
  EXPECT_EQ(TaskIds("?assignee="), (std::vector<int64_t>{ids[1], ids[2]})) << "the unassigned";

  // The assistant closes it, with a note; the closer is the token's name.
  const HttpResponse too_long = Post(close, {{"note", std::string(2001, 'x')}}, assistant);
  EXPECT_EQ(too_long.status, 400) << too_long.Describe();
  EXPECT_EQ(ErrorField(too_long), "note");
  const std::string note = "已私聊欢迎 " + std::string(1990, 'x');  // 1996 characters
  const HttpResponse closed = Post(close, {{"note", note}}, assistant);
  ASSERT_EQ(closed.status, 200) << closed.Describe();
  const json task = closed.Json()["task"];
  EXPECT_EQ(task["open"], false);
  EXPECT_EQ(task["closed_by"], "desk");
  EXPECT_EQ(task["note"], note);
  EXPECT_EQ(task["assignee"], "helper");
  EXPECT_TRUE(task["closed_at"].is_string()) << task.dump();
  const HttpResponse again = Post(close, json::object(), assistant);
  EXPECT_EQ(again.status, 409) << again.Describe();
  EXPECT_EQ(ErrorCode(again), "already_closed") << again.body;
  EXPECT_EQ(Post(assign, {{"assignee", ""}}, operator_token).status, 409) << "closed stays closed";
  EXPECT_EQ(Post("/api/v1/tasks/999999/close", json::object(), assistant).status, 404);

  // An empty body closes too; the answer names the closer.
  const HttpResponse bare =
      Call("POST", "/api/v1/tasks/" + std::to_string(ids[1]) + "/close", assistant);
  ASSERT_EQ(bare.status, 200) << bare.Describe();
  EXPECT_TRUE(bare.Json()["task"]["note"].is_null()) << bare.body;

  EXPECT_EQ(TaskIds(""), std::vector<int64_t>{ids[2]}) << "open tasks by default";
  EXPECT_EQ(TaskIds("?open=false"), ids);

  // Closing from the console: a signed-in assistant account, with its CSRF token.
  const Browser browser = SignIn("helper", "helper-password-1");
  const HttpResponse by_account = FromBrowser(
      browser, "POST", "/api/v1/tasks/" + std::to_string(ids[2]) + "/close", {{"note", "好"}});
  ASSERT_EQ(by_account.status, 200) << by_account.Describe();
  EXPECT_EQ(by_account.Json()["task"]["closed_by"], "helper");

  // The workflow is no part of the log: replay rebuilds the state and finds it equal, and a
  // restart keeps what the operators did.
  ASSERT_NO_FATAL_FAILURE(Stop());
  const RunResult replay = Cli({"replay", "--data", data_});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
  ASSERT_NO_FATAL_FAILURE(Serve());
  const json after = Get("/api/v1/tasks?open=false").Json();
  ASSERT_EQ(after["tasks"].size(), 3u) << after.dump();
  EXPECT_EQ(after["tasks"][0]["note"], note);
  EXPECT_EQ(after["tasks"][0]["assignee"], "helper");
  EXPECT_TRUE(TaskIds("").empty());
}

}  // namespace
}  // namespace qzbb
