// Tests of the console's accounts on the API: sign-in, the session cookie and its CSRF token,
// sign-out, the limit on failed sign-ins, the role every route requires, and roles per community
// (the gate of Scope::kCommunity routes, Call::RequireRole, the account API's "communities").
// Through the real HttpServer over the in-memory fakes (server/testing/).
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "server/auth.hpp"
#include "server/http_server.hpp"
#include "server/module_api.hpp"
#include "server/testing/server_fixture.hpp"

namespace qz {
namespace {

using namespace server_testing;  // NOLINT: the fixture's fakes and client

constexpr const char* kPassword = "right password 1";
constexpr TimeMs kHour = 60 * 60 * 1000;

class SessionTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    auto hash = HashPassword(kPassword);
    ASSERT_TRUE(hash.ok());
    for (const AccountRole role : kAccountRoles) {
      ASSERT_TRUE(store_.CreateAccount({.name = std::string(AccountRoleName(role)),
                                        .password_hash = *hash,
                                        .role = role,
                                        .created_at = 1700000000000})
                      .ok());
    }
    ASSERT_TRUE(store_.CreateAccount({.name = "gone", .password_hash = *hash,
                                      .role = AccountRole::kOwner, .disabled = true})
                    .ok());
    StartServer();
  }

  // Echoes who called, for the tests of Call::principal().
  Status AddRoutes(RouteTable& table) override {
    auto echo = [](Call& c) {
      const Principal& p = c.principal();
      c.RespondJson({{"kind", static_cast<int>(p.kind)},
                     {"name", p.name},
                     {"role", AccountRoleName(p.role)}});
      return Status::Ok();
    };
    QZ_RETURN_IF_ERROR(table.Add({"GET", "/test/whoami", echo}));
    QZ_RETURN_IF_ERROR(table.Add({"POST", "/test/act", echo}));  // non-GET: operator by default
    // Acts inside the community whose id is `?community=` (0: outside any), as the routes of
    // decisions, tasks and actions do once they know theirs.
    QZ_RETURN_IF_ERROR(table.Add({"POST", "/test/community",
                                  [echo](Call& c) {
                                    QZ_ASSIGN_OR_RETURN(const int64_t id,
                                                        c.query().NonNegative("community"));
                                    QZ_RETURN_IF_ERROR(
                                        RequireRoleIn(c, id, AccountRole::kOperator));
                                    return echo(c);
                                  },
                                  RunOn::kBlockingPool, Access::kSignedIn,
                                  AccountRole::kOperator, Scope::kCommunity}));
    // A handler of a community route that answers without checking the community: a bug.
    return table.Add({"POST", "/test/forgetful", echo, RunOn::kIoThread, Access::kSignedIn,
                      AccountRole::kOperator, Scope::kCommunity});
  }

  Reply SignIn(const std::string& name, const std::string& password, Client* from = nullptr) {
    Req q;
    q.method = "POST";
    q.target = "/api/v1/session";
    q.token.clear();
    q.content_type = "application/json";
    q.body = json({{"name", name}, {"password", password}}).dump();
    if (from != nullptr) return from->Send(q);
    return Send(q);
  }

  // The cookie a sign-in set ("qz_session=<secret>"), as a browser sends it back.
  static std::string CookieOf(const Reply& r) {
    const std::string set = r.header("Set-Cookie");
    return set.substr(0, set.find(';'));
  }

  // A request authenticated by `cookie` only (no token), with `csrf` unless empty.
  Reply WithCookie(std::string method, std::string target, const std::string& cookie,
                   const std::string& csrf, std::string body = "",
                   std::string content_type = "application/json") {
    Req q;
    q.method = std::move(method);
    q.target = std::move(target);
    q.token.clear();
    q.body = std::move(body);
    q.content_type = std::move(content_type);
    q.headers.emplace_back("Cookie", "theme=dark; " + cookie);
    if (!csrf.empty()) q.headers.emplace_back("X-CSRF-Token", csrf);
    return Send(q);
  }

  struct Signed {
    std::string cookie, csrf;
  };
  Signed SignedIn(const std::string& name) {
    Reply r = SignIn(name, kPassword);
    EXPECT_EQ(r.status, 200) << r.raw.body();
    return {CookieOf(r), r.body.is_object() ? r.body.value("csrf", "") : ""};
  }
};

TEST_F(SessionTest, SignInSetsAStrictHttpOnlyCookieAndAnswersTheCsrfToken) {
  Reply r = SignIn("operator", kPassword);
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_EQ(r.body["account"], "operator");
  EXPECT_EQ(r.body["role"], "operator");
  ASSERT_TRUE(r.body["csrf"].is_string());
  EXPECT_EQ(r.body["csrf"].get<std::string>().size(), 32u);
  EXPECT_EQ(r.body["expires_at"], "2023-11-15T10:13:20Z") << "12 h after the sign-in";
  const std::string set = r.header("Set-Cookie");
  EXPECT_TRUE(set.starts_with("qz_session=")) << set;
  EXPECT_NE(set.find("; HttpOnly"), std::string::npos) << set;
  EXPECT_NE(set.find("; SameSite=Strict"), std::string::npos) << set;
  EXPECT_NE(set.find("; Path=/"), std::string::npos) << set;
  EXPECT_NE(set.find("; Max-Age=43200"), std::string::npos) << set;
  EXPECT_EQ(set.find("Secure"), std::string::npos) << "plain http by default: " << set;
  EXPECT_EQ(r.header("Cache-Control"), "no-store");
  EXPECT_EQ(r.raw.body().find(CookieOf(r).substr(11)), std::string::npos)
      << "the secret is in the cookie only";

  // The cookie authenticates; GET needs no CSRF token.
  Reply who = WithCookie("GET", "/api/v1/session", CookieOf(r), "");
  ASSERT_EQ(who.status, 200) << who.raw.body();
  EXPECT_EQ(who.body["account"], "operator");
  EXPECT_EQ(who.body["role"], "operator");
  EXPECT_EQ(who.body["csrf"], r.body["csrf"]) << "a reloaded page finds its token again";
  EXPECT_EQ(WithCookie("GET", "/api/v1/stats", CookieOf(r), "").status, 200);
  Reply me = WithCookie("GET", "/test/whoami", CookieOf(r), "");
  EXPECT_EQ(me.body, json({{"kind", static_cast<int>(Principal::Kind::kAccount)},
                           {"name", "operator"},
                           {"role", "operator"}}));
}

TEST_F(SessionTest, SecureCookiesWhenConfigured) {
  ServerOptions options;
  options.auth.secure_cookies = true;
  StartServer(options);
  Reply r = SignIn("viewer", kPassword);
  ASSERT_EQ(r.status, 200) << r.raw.body();
  EXPECT_TRUE(r.header("Set-Cookie").ends_with("; Secure"))
      << r.header("Set-Cookie");
}

TEST_F(SessionTest, EveryFailedSignInIsTheSame401) {
  ServerOptions options;
  options.auth.max_failed_sign_ins = 100;  // this test is not about the limit
  StartServer(options);
  Reply wrong_password = SignIn("admin", "wrong password");
  ExpectError(wrong_password, 401, "unauthenticated");
  EXPECT_TRUE(wrong_password.header("Set-Cookie").empty());
  for (const auto& [name, password] : std::vector<std::pair<std::string, std::string>>{
           {"nobody", kPassword},     // no such account
           {"gone", kPassword},       // disabled
           {"a b/c", kPassword},      // not even a valid name
           {"admin", ""},             // empty password
           {"Admin", kPassword}}) {   // names compare exactly
    Reply r = SignIn(name, password);
    EXPECT_EQ(r.status, 401) << name;
    EXPECT_EQ(r.raw.body(), wrong_password.raw.body()) << name << ": one message for all";
  }
  EXPECT_EQ(store_.session_count(), 0u);
  // Malformed requests are 400 and name the field.
  Req q;
  q.method = "POST";
  q.target = "/api/v1/session";
  q.token.clear();
  q.content_type = "application/json";
  q.body = R"({"name":"admin"})";
  ExpectError(Send(q), 400, "invalid_argument", "password");
  q.body = R"({"name":"admin","password":"x","remember":true})";
  ExpectError(Send(q), 400, "invalid_argument", "remember");
  q.content_type = "text/plain";
  ExpectError(Send(q), 415, "unsupported_media_type");
}

TEST_F(SessionTest, CookieWritesNeedTheSessionsCsrfTokenBearerWritesDoNot) {
  const Signed s = SignedIn("operator");
  const std::string batch = R"([{"id":"c1","type":"checkin","time":"2026-03-01T09:00:00+08:00","platform":"wecom","group":"g1","member":"u2"}])";
  Reply none = WithCookie("POST", "/api/v1/events", s.cookie, "", batch);
  ExpectError(none, 403, "permission_denied", "X-CSRF-Token");
  EXPECT_NE(none.body["error"]["message"].get<std::string>().find("CSRF"), std::string::npos);
  Reply wrong = WithCookie("POST", "/api/v1/events", s.cookie, std::string(32, '0'), batch);
  ExpectError(wrong, 403, "permission_denied", "X-CSRF-Token");
  // Another session's token does not do either.
  const Signed other = SignedIn("admin");
  ExpectError(WithCookie("POST", "/api/v1/events", s.cookie, other.csrf, batch), 403,
              "permission_denied", "X-CSRF-Token");
  EXPECT_TRUE(ingest_.events().empty()) << "nothing reached ingest";
  Reply right = WithCookie("POST", "/api/v1/events", s.cookie, s.csrf, batch);
  EXPECT_EQ(right.status, 200) << right.raw.body();
  EXPECT_EQ(ingest_.events().size(), 1u);
  // A bearer token is not sent by browsers on their own: no CSRF token needed.
  Reply bearer = Send("POST", "/api/v1/events", R"([{"id":"c2","type":"checkin","time":"2026-03-01T09:00:00+08:00","platform":"wecom","group":"g1","member":"u2"}])");
  EXPECT_EQ(bearer.status, 200) << bearer.raw.body();
}

TEST_F(SessionTest, ExpiredForgedAndSignedOutSessionsAre401) {
  const Signed s = SignedIn("viewer");
  EXPECT_EQ(WithCookie("GET", "/api/v1/stats", s.cookie, "").status, 200);
  ExpectError(WithCookie("GET", "/api/v1/stats", "qz_session=" + RandomHex(32), ""), 401,
              "unauthenticated");
  ExpectError(WithCookie("GET", "/api/v1/stats", "qz_session=", ""), 401, "unauthenticated");
  clock_.Advance(12 * kHour - 1);
  EXPECT_EQ(WithCookie("GET", "/api/v1/stats", s.cookie, "").status, 200)
      << "valid until its end; using it does not extend it";
  clock_.Advance(1);
  ExpectError(WithCookie("GET", "/api/v1/stats", s.cookie, ""), 401, "unauthenticated");

  // Sign out: the session is gone and the cookie cleared.
  const Signed t = SignedIn("viewer");
  ExpectError(WithCookie("DELETE", "/api/v1/session", t.cookie, ""), 403, "permission_denied",
              "X-CSRF-Token");
  Reply out = WithCookie("DELETE", "/api/v1/session", t.cookie, t.csrf);
  ASSERT_EQ(out.status, 200) << out.raw.body();
  EXPECT_TRUE(out.header("Set-Cookie").starts_with("qz_session=; "));
  EXPECT_NE(out.header("Set-Cookie").find("Max-Age=0"), std::string::npos);
  ExpectError(WithCookie("GET", "/api/v1/stats", t.cookie, ""), 401, "unauthenticated");
  ExpectError(Send("DELETE", "/api/v1/session", ""), 400, "invalid_argument", "Authorization");

  // A disabled account's open session stops working.
  const Signed u = SignedIn("assistant");
  ASSERT_TRUE(store_.UpdateAccount({.name = "assistant", .password_hash = "$x",
                                    .role = AccountRole::kAssistant, .disabled = true})
                  .ok());
  ExpectError(WithCookie("GET", "/api/v1/stats", u.cookie, ""), 401, "unauthenticated");
}

TEST_F(SessionTest, AnAuthorizationHeaderIsJudgedAloneCookieOrNot) {
  const Signed s = SignedIn("viewer");
  Req q;
  q.target = "/api/v1/stats";
  q.token = "not-a-token";
  q.headers.emplace_back("Cookie", s.cookie);
  ExpectError(Send(q), 401, "unauthenticated");
  q.token = std::string(kToken);
  Reply r = Send(q);
  EXPECT_EQ(r.status, 200);
  Reply me = Get("/test/whoami");
  EXPECT_EQ(me.body, json({{"kind", static_cast<int>(Principal::Kind::kToken)},
                           {"name", "test"},
                           {"role", "owner"}}));
}

TEST_F(SessionTest, FailedSignInsAreLimitedPerAccountAndPerAddress) {
  for (int i = 0; i < 5; ++i) ExpectError(SignIn("admin", "wrong " + std::to_string(i)), 401, "unauthenticated");
  Reply limited = SignIn("admin", kPassword);
  ExpectError(limited, 429, "resource_exhausted");
  EXPECT_EQ(limited.header("Retry-After"), "60");
  EXPECT_EQ(store_.session_count(), 0u) << "the right password waits too";
  // From another address the account is still limited.
  Client elsewhere(server_->port(), "127.0.0.2");
  ExpectError(SignIn("admin", kPassword, &elsewhere), 429, "resource_exhausted");
  // 127.0.0.1 is limited for every account now (5 failures from it), 127.0.0.2 is not.
  ExpectError(SignIn("viewer", kPassword), 429, "resource_exhausted");
  Client elsewhere2(server_->port(), "127.0.0.2");
  EXPECT_EQ(SignIn("viewer", kPassword, &elsewhere2).status, 200);
  clock_.Advance(30 * 1000);
  Client elsewhere3(server_->port(), "127.0.0.2");
  Reply still = SignIn("admin", kPassword, &elsewhere3);
  ExpectError(still, 429, "resource_exhausted");
  EXPECT_EQ(still.header("Retry-After"), "30");
  clock_.Advance(30 * 1000);
  Reply again = SignIn("admin", kPassword);
  EXPECT_EQ(again.status, 200) << "the window has passed: " << again.raw.body();
}

TEST_F(SessionTest, EveryRouteChecksItsRole) {
  const std::string toml = "[community]\nslug = \"default\"\nname = \"D\"\n";
  const std::string bind = R"({"community":"default"})";
  // Configuration (playbook, group binding, the account list) is admin; operator's writes are
  // operator; reading is viewer.
  struct Case {
    std::string method, target, body, content_type;
    AccountRole needs;
  };
  const std::vector<Case> cases = {
      {"GET", "/api/v1/stats", "", "", AccountRole::kViewer},
      {"GET", "/api/v1/session", "", "", AccountRole::kViewer},
      {"POST", "/test/act", "", "", AccountRole::kOperator},
      {"PUT", "/api/v1/communities/default/playbook", toml, "application/toml", AccountRole::kAdmin},
      {"PUT", "/api/v1/groups/wecom/g-ext", bind, "application/json", AccountRole::kAdmin},
      {"GET", "/api/v1/accounts", "", "", AccountRole::kAdmin},
  };
  for (const AccountRole role : kAccountRoles) {
    const std::string name(AccountRoleName(role));
    const Signed s = SignedIn(name);
    for (const Case& c : cases) {
      Reply r = WithCookie(c.method, c.target, s.cookie, s.csrf, c.body, c.content_type);
      if (RoleAllows(role, c.needs)) {
        EXPECT_NE(r.status, 403) << name << " " << c.method << " " << c.target << ": " << r.raw.body();
        EXPECT_NE(r.status, 401) << name << " " << c.method << " " << c.target;
      } else {
        ExpectError(r, 403, "permission_denied");
        const std::string message = r.body["error"]["message"];
        EXPECT_NE(message.find("needs the role " + std::string(AccountRoleName(c.needs))),
                  std::string::npos)
            << name << " " << c.target << ": " << message;
      }
    }
  }
  // Tokens have roles too: a viewer token may read and not configure.
  ASSERT_TRUE(store_.PutToken({.hash = Sha256Hex("viewer-token"), .name = "dashboard",
                               .role = AccountRole::kViewer})
                  .ok());
  Req q;
  q.token = "viewer-token";
  q.target = "/api/v1/stats";
  EXPECT_EQ(Send(q).status, 200);
  q.method = "PUT";
  q.target = "/api/v1/communities/default/playbook";
  q.body = toml;
  q.content_type = "application/toml";
  Reply refused = Send(q);
  ExpectError(refused, 403, "permission_denied");
  EXPECT_NE(refused.raw.body().find("the token 'dashboard' has the role viewer"), std::string::npos)
      << refused.raw.body();
  // 404 and 405 come before the role: nothing to refuse.
  q.method = "GET";
  q.target = "/api/v1/nope";
  ExpectError(Send(q), 404, "not_found");
}

TEST_F(SessionTest, TheAccountListNeverShowsPasswordHashes) {
  const Signed s = SignedIn("admin");
  Reply r = WithCookie("GET", "/api/v1/accounts", s.cookie, "");
  ASSERT_EQ(r.status, 200) << r.raw.body();
  ASSERT_EQ(r.body["accounts"].size(), 6u);
  EXPECT_EQ(r.body["accounts"][0],
            json({{"name", "admin"}, {"role", "admin"}, {"created_at", "2023-11-14T22:13:20Z"},
                  {"disabled", false}, {"communities", json::object()}}));
  EXPECT_EQ(r.raw.body().find("argon2"), std::string::npos);
  EXPECT_EQ(r.raw.body().find("password"), std::string::npos);
}

// Roles per community. Communities 1 "default" and 2 "camp"; "scoped" is a viewer who is an
// operator in default (and an assistant in community 9, which does not exist), "limited" an
// operator who is a viewer in default.
class CommunityRoleTest : public SessionTest {
 protected:
  void SetUp() override {
    SessionTest::SetUp();
    // Before the first request: the fake's communities are not guarded.
    store_.communities.push_back({2, "camp", "Camp", "Asia/Shanghai", 1700000000000});
    auto hash = HashPassword(kPassword);
    ASSERT_TRUE(hash.ok());
    for (const auto& [name, role] : {std::pair{"scoped", AccountRole::kViewer},
                                     std::pair{"limited", AccountRole::kOperator}}) {
      ASSERT_TRUE(store_.CreateAccount({.name = name, .password_hash = *hash, .role = role}).ok());
    }
    ASSERT_TRUE(store_
                    .ChangeCommunityRoles("scoped", {{1, AccountRole::kOperator},
                                                     {9, AccountRole::kAssistant}})
                    .ok());
    ASSERT_TRUE(store_.ChangeCommunityRoles("limited", {{1, AccountRole::kViewer}}).ok());
  }

  Reply Act(const Signed& s, const std::string& target, const std::string& body = "") {
    return WithCookie("POST", target, s.cookie, s.csrf, body);
  }
  // The error message of a 403 permission_denied (a failure otherwise).
  std::string Refused(const Reply& r) {
    ExpectError(r, 403, "permission_denied");
    return r.body.is_object() ? r.body["error"].value("message", "") : "";
  }
};

TEST_F(CommunityRoleTest, TheGateAdmitsTheBestRoleAndTheHandlerChecksItsCommunity) {
  const Signed scoped = SignedIn("scoped");
  EXPECT_EQ(Act(scoped, "/test/community?community=1").status, 200) << "an operator in default";
  const std::string in_camp = Refused(Act(scoped, "/test/community?community=2"));
  EXPECT_NE(in_camp.find("needs the role operator (or higher) in the community 'camp'; the "
                         "account 'scoped' has the role viewer there"),
            std::string::npos)
      << in_camp;
  const std::string outside = Refused(Act(scoped, "/test/community?community=0"));
  EXPECT_NE(outside.find("outside any community"), std::string::npos) << outside;
  // Every other route compares the base role.
  EXPECT_NE(Refused(Act(scoped, "/test/act")).find("has the role viewer"), std::string::npos);

  // Without a role that high anywhere, the gate refuses before the handler runs.
  const std::string gate = Refused(Act(SignedIn("viewer"), "/test/community?community=1"));
  EXPECT_NE(gate.find("POST /test/community needs the role operator (or higher) in the community "
                      "it acts in; the account 'viewer' has the role viewer"),
            std::string::npos)
      << gate;

  // A role per community may be lower than the base role.
  const Signed limited = SignedIn("limited");
  EXPECT_NE(Refused(Act(limited, "/test/community?community=1")).find("'default'"),
            std::string::npos);
  EXPECT_EQ(Act(limited, "/test/community?community=2").status, 200);
  EXPECT_EQ(Act(limited, "/test/community?community=0").status, 200);
  EXPECT_EQ(Act(limited, "/test/act").status, 200) << "the base role, outside communities";

  // Tokens have no roles per community: their role counts everywhere.
  EXPECT_EQ(Send("POST", "/test/community?community=2", "").status, 200);
  ASSERT_TRUE(store_.PutToken({.hash = Sha256Hex("viewer-token"), .name = "dashboard",
                               .role = AccountRole::kViewer})
                  .ok());
  Req q;
  q.method = "POST";
  q.target = "/test/community?community=1";
  q.token = "viewer-token";
  EXPECT_NE(Refused(Send(q)).find("the token 'dashboard' has the role viewer"), std::string::npos);

  // A change applies to the open session at once.
  ASSERT_TRUE(store_.ChangeCommunityRoles("scoped", {{1, std::nullopt}}).ok());
  Refused(Act(scoped, "/test/community?community=1"));
}

TEST_F(CommunityRoleTest, ACommunityRouteThatAnswersWithoutTheCheckFails) {
  Reply r = Send("POST", "/test/forgetful", "");  // the owner token: the gate admits it
  ExpectError(r, 500, "internal");
}

TEST_F(CommunityRoleTest, TheSessionSaysTheRolesPerCommunityBySlug) {
  Reply signed_in = SignIn("scoped", kPassword);
  ASSERT_EQ(signed_in.status, 200) << signed_in.raw.body();
  EXPECT_EQ(signed_in.body["communities"], json({{"default", "operator"}}))
      << "a role in a community that does not exist is left out";
  Reply who = WithCookie("GET", "/api/v1/session", CookieOf(signed_in), "");
  EXPECT_EQ(who.body["communities"], json({{"default", "operator"}})) << who.raw.body();
  EXPECT_EQ(who.body["role"], "viewer");
  EXPECT_EQ(Get("/api/v1/session").body["communities"], json::object()) << "a token has none";
}

TEST_F(CommunityRoleTest, TaskWorkIsCheckedInTheTasksCommunity) {
  // The fake's tasks are in community 1 (default) and it keeps no workflow: a write that gets
  // past the role is 503.
  const Signed scoped = SignedIn("scoped");
  const Signed limited = SignedIn("limited");
  for (const char* verb : {"close", "assign"}) {
    const std::string target = std::string("/api/v1/tasks/1/") + verb;
    const std::string body = std::string(verb) == "assign" ? R"({"assignee":""})" : "";
    EXPECT_EQ(Act(scoped, target, body).status, 503) << verb;
    const std::string refused = Refused(Act(limited, target, body));
    EXPECT_NE(refused.find("in the community 'default'"), std::string::npos) << refused;
    EXPECT_EQ(Act(scoped, std::string("/api/v1/tasks/99/") + verb, body).status, 404);
  }
}

TEST_F(CommunityRoleTest, AdminsSetAndRemoveRolesPerCommunityBySlug) {
  const Signed admin = SignedIn("admin");
  auto patch = [&](const std::string& name, const json& body) {
    return WithCookie("PATCH", "/api/v1/accounts/" + name, admin.cookie, admin.csrf, body.dump());
  };
  Reply set = patch("viewer", {{"communities", {{"camp", "operator"}, {"default", "admin"}}}});
  ASSERT_EQ(set.status, 200) << set.raw.body();
  EXPECT_EQ(set.body["account"]["communities"], json({{"camp", "operator"}, {"default", "admin"}}));
  EXPECT_EQ(set.body["account"]["role"], "viewer");
  Reply removed = patch("viewer", {{"communities", {{"default", nullptr}}}});
  ASSERT_EQ(removed.status, 200) << removed.raw.body();
  EXPECT_EQ(removed.body["account"]["communities"], json({{"camp", "operator"}}));

  // One bad entry and nothing is applied; the field names it.
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"communities", {{"default", "admin"}, {"nope", "viewer"}}}}, "communities.nope"},
      {{{"communities", {{"camp", "owner"}}}}, "communities.camp"},
      {{{"communities", {{"camp", "boss"}}}}, "communities.camp"},
      {{{"communities", {{"camp", 3}}}}, "communities.camp"},
      {{{"communities", "camp"}}, "communities"},
      {{{"role", "admin"}, {"communities", {{"x", "viewer"}}}}, "communities.x"},
  };
  for (const auto& [body, field] : bad) ExpectError(patch("viewer", body), 400, "invalid_argument", field);
  Reply listed = WithCookie("GET", "/api/v1/accounts", admin.cookie, "");
  for (const json& a : listed.body["accounts"]) {
    if (a["name"] == "viewer") {
      EXPECT_EQ(a["communities"], json({{"camp", "operator"}}));
      EXPECT_EQ(a["role"], "viewer");
    }
    if (a["name"] == "scoped") {
      EXPECT_EQ(a["communities"], json({{"default", "operator"}}));
    }
  }

  // The rules: an owner's roles are the owners'; nobody lowers their own; operators change none.
  Reply owner = patch("owner", {{"communities", {{"camp", "admin"}}}});
  ExpectError(owner, 403, "owner_only");
  Reply self = patch("admin", {{"communities", {{"camp", "viewer"}}}});
  ExpectError(self, 409, "self_change");
  EXPECT_EQ(patch("admin", {{"communities", {{"camp", "admin"}}}}).status, 200)
      << "not lower than before";
  const Signed op = SignedIn("operator");
  ExpectError(WithCookie("PATCH", "/api/v1/accounts/viewer", op.cookie, op.csrf,
                         R"({"communities":{"camp":"viewer"}})"),
              403, "permission_denied");
}

TEST(RouteRoleTest, ReadingIsViewerActingIsOperatorUnlessStated) {
  const Handler h = [](Call&) { return Status::Ok(); };
  EXPECT_EQ((Route{"GET", "/x", h}).required_role(), AccountRole::kViewer);
  for (const char* method : {"POST", "PUT", "PATCH", "DELETE"}) {
    EXPECT_EQ((Route{method, "/x", h}).required_role(), AccountRole::kOperator) << method;
  }
  EXPECT_EQ((Route{"GET", "/x", h, RunOn::kIoThread, Access::kSignedIn, AccountRole::kAdmin})
                .required_role(),
            AccountRole::kAdmin);
  EXPECT_EQ((Route{"DELETE", "/x", h, RunOn::kIoThread, Access::kSignedIn, AccountRole::kViewer})
                .required_role(),
            AccountRole::kViewer);
  EXPECT_EQ(HttpStatus(Code::kPermissionDenied), 403);
}

TEST(SignInLimiterTest, SlidingWindowPerKey) {
  SignInLimiter limiter(3, 1000);
  EXPECT_EQ(limiter.RetryAfter({"a", "b"}, 0), 0);
  limiter.RecordFailure({"a"}, 0);
  limiter.RecordFailure({"a", "b"}, 100);
  limiter.RecordFailure({"a"}, 200);
  EXPECT_EQ(limiter.RetryAfter({"a"}, 300), 700) << "until the oldest of 3 leaves the window";
  EXPECT_EQ(limiter.RetryAfter({"b"}, 300), 0);
  EXPECT_EQ(limiter.RetryAfter({"b", "a"}, 300), 700);
  EXPECT_EQ(limiter.RetryAfter({"a"}, 1000), 0);
  limiter.RecordFailure({"a"}, 1000);
  EXPECT_EQ(limiter.RetryAfter({"a"}, 1000), 100);
  limiter.Clear("a");
  EXPECT_EQ(limiter.RetryAfter({"a"}, 1000), 0);
}

TEST(CookieTest, FindsTheNamedCookieAmongOthers) {
  ApiRequest r;
  r.headers = {{"cookie", "a=1; qz_session=abc ;b=2"}};
  EXPECT_EQ(api_internal::CookieValue(r, "qz_session"), "abc");
  EXPECT_EQ(api_internal::CookieValue(r, "b"), "2");
  EXPECT_EQ(api_internal::CookieValue(r, "qz"), "");
  r.headers = {{"cookie", "x_qz_session=no"}, {"cookie", "qz_session=\"quoted\""}};
  EXPECT_EQ(api_internal::CookieValue(r, "qz_session"), "quoted");
  r.headers = {{"cookie", "qz_session="}};
  EXPECT_EQ(api_internal::CookieValue(r, "qz_session"), "");
  EXPECT_EQ(SessionCookie("s", 43200000, false),
            "qz_session=s; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200");
  EXPECT_EQ(ClearedSessionCookie(true),
            "qz_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; Secure");
}

}  // namespace
}  // namespace qz
