// Black-box tests of the console's settings API (issue 11): accounts made with a generated
// password shown once, roles changed under the owner and last-owner rules, passwords reset,
// API tokens listed, made and deleted, through the real binary as signed-in browsers and with
// tokens. Secrets appear in their one answer and nowhere in the server's output.
#include <string>
#include <vector>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

class ConsoleAccounts : public ConsoleApi {};

TEST_F(ConsoleAccounts, CreateChangeAndResetUnderTheRules) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  ASSERT_EQ(admin_password_.size(), 24u);
  const std::string xiaoming_path = "/api/v1/accounts/" + UrlEncode("小明");
  const Browser owner = SignIn("admin", admin_password_);

  // The owner makes an admin; the password is in this answer only.
  const HttpResponse made =
      FromBrowser(owner, "POST", "/api/v1/accounts", {{"name", "ops"}, {"role", "admin"}});
  ASSERT_EQ(made.status, 201) << made.Describe();
  EXPECT_EQ(made.Header("Cache-Control"), "no-store");
  const std::string ops_password = made.Json()["password"];
  EXPECT_EQ(ops_password.size(), 24u);
  EXPECT_EQ(made.Json()["account"], json({{"name", "ops"},
                                          {"role", "admin"},
                                          {"created_at", made.Json()["account"]["created_at"]},
                                          {"disabled", false},
                                          {"communities", json::object()}}));
  EXPECT_TRUE(made.Json()["account"]["created_at"].is_string());
  const Browser ops = SignIn("ops", ops_password);

  // The admin makes an operator, not an owner, and cannot touch the owner.
  const HttpResponse op =
      FromBrowser(ops, "POST", "/api/v1/accounts", {{"name", "小明"}, {"role", "operator"}});
  ASSERT_EQ(op.status, 201) << op.Describe();
  const std::string op_password = op.Json()["password"];
  const HttpResponse no_owner =
      FromBrowser(ops, "POST", "/api/v1/accounts", {{"name", "boss"}, {"role", "owner"}});
  EXPECT_EQ(no_owner.status, 403) << no_owner.Describe();
  EXPECT_EQ(ErrorCode(no_owner), "owner_only");
  for (const json& change : {json{{"role", "viewer"}}, json{{"disabled", true}}}) {
    const HttpResponse r = FromBrowser(ops, "PATCH", "/api/v1/accounts/admin", change);
    EXPECT_EQ(r.status, 403) << change.dump() << ": " << r.Describe();
    EXPECT_EQ(ErrorCode(r), "owner_only");
  }
  EXPECT_EQ(ErrorCode(FromBrowser(ops, "POST", "/api/v1/accounts/admin/password")), "owner_only");
  const HttpResponse promote_self =
      FromBrowser(ops, "PATCH", "/api/v1/accounts/ops", {{"role", "owner"}});
  EXPECT_EQ(promote_self.status, 403) << promote_self.Describe();

  // Nobody disables or demotes themselves; the last enabled owner stays.
  const HttpResponse self = FromBrowser(ops, "PATCH", "/api/v1/accounts/ops", {{"disabled", true}});
  EXPECT_EQ(self.status, 409) << self.Describe();
  EXPECT_EQ(ErrorCode(self), "self_change");
  EXPECT_EQ(ErrorCode(FromBrowser(owner, "PATCH", "/api/v1/accounts/admin", {{"role", "admin"}})),
            "self_change");
  const HttpResponse last =
      Call("PATCH", "/api/v1/accounts/admin", token_, {{"disabled", true}});  // the owner token
  EXPECT_EQ(last.status, 409) << last.Describe();
  EXPECT_EQ(ErrorCode(last), "last_owner");

  // Bad input names the field.
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"name", "x"}, {"role", "boss"}}, "role"},
      {{{"name", "a b"}, {"role", "viewer"}}, "name"},
      {{{"role", "viewer"}}, "name"},
      {{{"name", "y"}, {"role", "viewer"}, {"password", "p"}}, "password"},
  };
  for (const auto& [body, field] : bad) {
    const HttpResponse r = FromBrowser(ops, "POST", "/api/v1/accounts", body);
    EXPECT_EQ(r.status, 400) << body.dump() << ": " << r.Describe();
    EXPECT_EQ(ErrorField(r), field) << r.body;
  }
  EXPECT_EQ(ErrorCode(FromBrowser(ops, "POST", "/api/v1/accounts",
                                  {{"name", "小明"}, {"role", "viewer"}})),
            "already_exists");
  EXPECT_EQ(FromBrowser(ops, "PATCH", xiaoming_path, json::object()).status, 400);
  EXPECT_EQ(ErrorField(FromBrowser(ops, "PATCH", xiaoming_path, {{"disabled", "yes"}})),
            "disabled");
  EXPECT_EQ(FromBrowser(ops, "PATCH", "/api/v1/accounts/nobody", {{"disabled", true}}).status, 404);

  // An operator cannot see the settings.
  const Browser xiaoming = SignIn("小明", op_password);
  EXPECT_EQ(FromBrowser(xiaoming, "GET", "/api/v1/accounts").status, 403);
  EXPECT_EQ(FromBrowser(xiaoming, "GET", "/api/v1/tokens").status, 403);

  // A role change applies to the open session at once; a reset ends it.
  const HttpResponse demoted = FromBrowser(ops, "PATCH", xiaoming_path, {{"role", "viewer"}});
  ASSERT_EQ(demoted.status, 200) << demoted.Describe();
  EXPECT_EQ(demoted.Json()["account"]["role"], "viewer");
  EXPECT_EQ(FromBrowser(xiaoming, "GET", "/api/v1/session").Json()["role"], "viewer");
  const HttpResponse reset = FromBrowser(ops, "POST", xiaoming_path + "/password");
  ASSERT_EQ(reset.status, 200) << reset.Describe();
  EXPECT_EQ(reset.Header("Cache-Control"), "no-store");
  EXPECT_EQ(reset.Json()["sessions_ended"], 1);
  const std::string new_password = reset.Json()["password"];
  EXPECT_NE(new_password, op_password);
  EXPECT_EQ(FromBrowser(xiaoming, "GET", "/api/v1/session").status, 401);
  SignIn("小明", new_password);

  // Disabling ends the sessions; the list shows it.
  const HttpResponse disabled =
      FromBrowser(owner, "PATCH", "/api/v1/accounts/ops", {{"disabled", true}});
  ASSERT_EQ(disabled.status, 200) << disabled.Describe();
  EXPECT_EQ(disabled.Json()["sessions_ended"], 1);
  EXPECT_EQ(FromBrowser(ops, "GET", "/api/v1/session").status, 401);
  const json list = FromBrowser(owner, "GET", "/api/v1/accounts").Json()["accounts"];
  ASSERT_EQ(list.size(), 3u) << list.dump();
  EXPECT_EQ(list[1]["name"], "ops");
  EXPECT_EQ(list[1]["disabled"], true);
  EXPECT_EQ(list.dump().find("argon2"), std::string::npos);

  ASSERT_NO_FATAL_FAILURE(Stop());
  const std::string log = server_->Stderr() + server_->Stdout();
  for (const std::string& secret : {ops_password, op_password, new_password}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "a password in the server's output";
  }
}

TEST_F(ConsoleAccounts, TokensAreListedMadeAndDeleted) {
  ASSERT_NO_FATAL_FAILURE(Serve());
  const std::string admin = MakeToken("ci", "admin");

  const HttpResponse listed = Get("/api/v1/tokens", admin);
  ASSERT_EQ(listed.status, 200) << listed.Describe();
  const json tokens = listed.Json()["tokens"];
  ASSERT_EQ(tokens.size(), 2u) << tokens.dump();
  EXPECT_EQ(tokens[0]["name"], "admin");
  EXPECT_EQ(tokens[0]["role"], "owner");
  EXPECT_EQ(tokens[1]["name"], "ci");
  for (const json& t : tokens) {
    EXPECT_EQ(t.size(), 3u) << "name, role, created_at only: " << t.dump();
  }
  EXPECT_EQ(listed.body.find(token_), std::string::npos);

  const HttpResponse made = Post("/api/v1/tokens", {{"name", "看板"}, {"role", "viewer"}}, admin);
  ASSERT_EQ(made.status, 201) << made.Describe();
  EXPECT_EQ(made.Header("Cache-Control"), "no-store");
  const std::string secret = made.Json()["token"];
  EXPECT_EQ(secret.rfind("qz_", 0), 0u) << made.body;
  EXPECT_EQ(made.Json()["role"], "viewer");
  EXPECT_EQ(Get("/api/v1/stats", secret).status, 200) << "the new token works at once";
  EXPECT_EQ(Post("/api/v1/tasks/1/close", json::object(), secret).status, 403) << "as a viewer";

  const HttpResponse twice = Post("/api/v1/tokens", {{"name", "看板"}, {"role", "viewer"}}, admin);
  EXPECT_EQ(twice.status, 409) << twice.Describe();
  const HttpResponse owner = Post("/api/v1/tokens", {{"name", "root"}, {"role", "owner"}}, admin);
  EXPECT_EQ(owner.status, 403) << owner.Describe();
  EXPECT_EQ(ErrorCode(owner), "owner_only");
  EXPECT_EQ(ErrorField(Post("/api/v1/tokens", {{"name", "x"}}, admin)), "role");
  EXPECT_EQ(ErrorField(Post("/api/v1/tokens", {{"name", ""}, {"role", "viewer"}}, admin)), "name");
  EXPECT_EQ(Post("/api/v1/tokens", {{"name", "y"}, {"role", "viewer"}}, secret).status, 403);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/admin", admin).status, 403) << "an owner token";

  // A deleted token is refused at once, also one the server has just used (and cached).
  const HttpResponse spare = Post("/api/v1/tokens", {{"name", "spare"}, {"role", "viewer"}}, admin);
  ASSERT_EQ(spare.status, 201);
  EXPECT_EQ(Get("/api/v1/stats", spare.Json()["token"]).status, 200);
  const HttpResponse deleted = Call("DELETE", "/api/v1/tokens/spare", admin);
  ASSERT_EQ(deleted.status, 200) << deleted.Describe();
  EXPECT_EQ(deleted.Json()["deleted"], 1);
  EXPECT_EQ(Get("/api/v1/stats", spare.Json()["token"]).status, 401);
  EXPECT_EQ(Call("DELETE", "/api/v1/tokens/spare", admin).status, 404);
  const json after = Get("/api/v1/tokens", admin).Json()["tokens"];
  EXPECT_EQ(after.size(), 3u) << after.dump();

  ASSERT_NO_FATAL_FAILURE(Stop());
  EXPECT_EQ((server_->Stderr() + server_->Stdout()).find(secret), std::string::npos);
}

}  // namespace
}  // namespace qzbb
