// Black-box tests of the console's accounts: the real qunzhu binary prints the first account's
// password once, signs in with it, holds cookie-authenticated writes to their CSRF token, and
// refuses a viewer made with `qunzhu user create` what only an admin may do. Nothing here links
// the product's code. On a failure the output of every process the test started is printed.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "http_client.hpp"
#include "process.hpp"

namespace qzbb {
namespace {

using json = nlohmann::json;

const std::string kBinary = QZ_BINARY;
constexpr auto kStartTimeout = 60s;  // generous: sanitizer builds on a loaded machine
constexpr const char* kPasswordLine =
    "created the console account 'admin' (role owner); its password, shown only this once: ";
constexpr const char* kPlaybook = "[community]\nslug = \"camp\"\nname = \"成长营\"\n";

// A signed-in browser: the cookie the server set and the CSRF token it answered.
struct Browser {
  std::string cookie;  // "qz_session=<secret>"
  std::string csrf;
};

class Accounts : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!HasFailure()) return;
    for (const std::string& prefix : logs_) {
      for (const char* stream : {".stdout", ".stderr"}) {
        const std::string text = ReadFile(prefix + stream);
        if (!text.empty()) std::fprintf(stderr, "===== %s%s =====\n%s\n", prefix.c_str(), stream, text.c_str());
      }
    }
  }

  std::string LogPrefix(const std::string& name) {
    logs_.push_back(tmp_ / (name + "-" + std::to_string(logs_.size())));
    return logs_.back();
  }

  // `qunzhu serve` on data_, port 0; returns once it listens.
  void Serve() {
    const std::string port_file = tmp_ / ("port-" + std::to_string(logs_.size()));
    std::string error;
    server_ = Process::Start({kBinary, "serve", "--data", data_, "--listen", "127.0.0.1:0",
                              "--port-file", port_file},
                             LogPrefix("serve"), "", &error);
    ASSERT_TRUE(server_.has_value()) << error;
    auto port = WaitForPortFile(port_file, *server_, kStartTimeout);
    if (!port) server_->Kill();
    ASSERT_TRUE(port.has_value()) << "the server did not start: " << server_->Describe();
    port_ = *port;
    std::istringstream(ReadFile(data_ + "/admin.token")) >> token_;
    ASSERT_FALSE(token_.empty());
  }

  RunResult Cli(const std::vector<std::string>& args, const std::string& stdin_text) {
    const std::string in = tmp_ / ("stdin-" + std::to_string(logs_.size()));
    EXPECT_TRUE(WriteFile(in, stdin_text));
    std::vector<std::string> argv = {kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    return qzbb::Run(argv, LogPrefix(args.at(0)), 120s, in);
  }

  HttpResponse SignIn(const std::string& name, const std::string& password) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/v1/session";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json({{"name", name}, {"password", password}}).dump();
    return Send(port_, r);
  }

  Browser SignedIn(const std::string& name, const std::string& password) {
    const HttpResponse r = SignIn(name, password);
    EXPECT_EQ(r.status, 200) << r.Describe();
    const std::string set = r.Header("Set-Cookie");
    EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
    EXPECT_NE(set.find("SameSite=Strict"), std::string::npos) << set;
    const json j = r.Json();
    return {set.substr(0, set.find(';')), j.is_object() ? j.value("csrf", "") : ""};
  }

  // A request authenticated by the browser's cookie alone; with its CSRF token when `csrf`.
  HttpResponse FromBrowser(const Browser& b, const std::string& method, const std::string& target,
                           bool csrf, const std::string& body = "",
                           const std::string& content_type = "application/toml") {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers = {{"Cookie", b.cookie}};
    if (!body.empty()) r.headers.emplace_back("Content-Type", content_type);
    if (csrf) r.headers.emplace_back("X-CSRF-Token", b.csrf);
    r.body = body;
    return Send(port_, r);
  }

  static std::string ErrorCode(const HttpResponse& r) {
    const json j = r.Json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }

  TempDir tmp_{"qz-accounts"};
  const std::string data_ = tmp_ / "data";
  std::vector<std::string> logs_;
  std::optional<Process> server_;
  uint16_t port_ = 0;
  std::string token_;
};

TEST_F(Accounts, FirstPasswordSignInCsrfAndAViewerRefusedAPlaybook) {
  ASSERT_NO_FATAL_FAILURE(Serve());

  // The first start made `admin` and printed its password once, on standard output only.
  const std::string out = server_->Stdout();
  const size_t at = out.find(kPasswordLine);
  ASSERT_NE(at, std::string::npos) << out;
  const size_t from = at + std::string(kPasswordLine).size();
  const std::string password = out.substr(from, out.find('\n', from) - from);
  ASSERT_EQ(password.size(), 24u) << out;
  EXPECT_EQ(out.find(kPasswordLine, from), std::string::npos) << "printed once: " << out;
  EXPECT_EQ(server_->Stderr().find(password), std::string::npos) << "never in the log";

  // One answer for a wrong password and an unknown name.
  const HttpResponse wrong = SignIn("admin", password + "x");
  const HttpResponse unknown = SignIn("nobody", password);
  EXPECT_EQ(wrong.status, 401) << wrong.Describe();
  EXPECT_EQ(unknown.status, 401) << unknown.Describe();
  EXPECT_EQ(wrong.body, unknown.body);

  const Browser admin = SignedIn("admin", password);
  ASSERT_EQ(admin.csrf.size(), 32u);
  const HttpResponse who = FromBrowser(admin, "GET", "/api/v1/session", false);
  EXPECT_EQ(who.status, 200) << who.Describe();
  EXPECT_EQ(who.Json().value("role", ""), "owner") << who.body;

  // A cookie write without its CSRF token is refused; with it, done.
  const std::string playbook = "/api/v1/communities/camp/playbook";
  const HttpResponse no_csrf = FromBrowser(admin, "PUT", playbook, false, kPlaybook);
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.Describe();
  EXPECT_EQ(ErrorCode(no_csrf), "permission_denied") << no_csrf.body;
  EXPECT_NE(no_csrf.body.find("CSRF"), std::string::npos) << no_csrf.body;
  EXPECT_EQ(Get(port_, playbook, token_).status, 404) << "the refused PUT stored nothing";
  const HttpResponse with_csrf = FromBrowser(admin, "PUT", playbook, true, kPlaybook);
  EXPECT_EQ(with_csrf.status, 200) << with_csrf.Describe();

  // A viewer made with the CLI while the server runs (no lock: like `token create`).
  const RunResult created =
      Cli({"user", "create", "小明", "--role", "viewer", "--data", data_}, "viewer-pass-1\n");
  ASSERT_TRUE(created.status.ok()) << created.Describe();
  EXPECT_EQ(created.out.find("viewer-pass-1"), std::string::npos) << "a given password is not echoed";
  const Browser viewer = SignedIn("小明", "viewer-pass-1");
  EXPECT_EQ(FromBrowser(viewer, "GET", playbook, false).status, 200) << "a viewer reads";
  const HttpResponse refused =
      FromBrowser(viewer, "PUT", playbook, true, "[community]\nslug = \"camp\"\nname = \"x\"\n");
  EXPECT_EQ(refused.status, 403) << refused.Describe();
  EXPECT_EQ(ErrorCode(refused), "permission_denied") << refused.body;
  EXPECT_NE(refused.body.find("needs the role admin"), std::string::npos) << refused.body;
  const HttpResponse kept = Get(port_, playbook, token_);
  EXPECT_NE(kept.body.find("成长营"), std::string::npos) << "unchanged: " << kept.Describe();

  // Tokens have roles too: a viewer token reads and is refused the playbook.
  const RunResult token =
      Cli({"token", "create", "--name", "dashboard", "--role", "viewer", "--data", data_}, "");
  ASSERT_TRUE(token.status.ok()) << token.Describe();
  const std::string viewer_token = token.out.substr(0, token.out.find('\n'));
  EXPECT_EQ(Get(port_, playbook, viewer_token).status, 200);
  HttpRequest put;
  put.method = "PUT";
  put.target = playbook;
  put.headers = {{"Authorization", "Bearer " + viewer_token}, {"Content-Type", "application/toml"}};
  put.body = kPlaybook;
  const HttpResponse token_refused = Send(port_, put);
  EXPECT_EQ(token_refused.status, 403) << token_refused.Describe();
  EXPECT_NE(token_refused.body.find("the token 'dashboard' has the role viewer"), std::string::npos)
      << token_refused.body;

  // The admin token (owner) still works, without any CSRF token.
  EXPECT_EQ(Get(port_, "/api/v1/stats", token_).status, 200);
  const HttpResponse accounts = Get(port_, "/api/v1/accounts", token_);
  EXPECT_EQ(accounts.status, 200) << accounts.Describe();
  EXPECT_EQ(accounts.body.find("argon2"), std::string::npos) << accounts.body;
  EXPECT_EQ(FromBrowser(viewer, "GET", "/api/v1/accounts", false).status, 403);

  // Signing out ends the session.
  EXPECT_EQ(FromBrowser(viewer, "DELETE", "/api/v1/session", true).status, 200);
  EXPECT_EQ(FromBrowser(viewer, "GET", "/api/v1/stats", false).status, 401);

  const RunResult list = Cli({"user", "list", "--data", data_}, "");
  ASSERT_TRUE(list.status.ok()) << list.Describe();
  EXPECT_NE(list.out.find("admin"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("owner"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("小明"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("argon2"), std::string::npos) << list.out;

  // A second start has accounts: no new password.
  EXPECT_TRUE(server_->Terminate().ok());
  ASSERT_NO_FATAL_FAILURE(Serve());
  EXPECT_EQ(server_->Stdout().find(kPasswordLine), std::string::npos) << server_->Stdout();
  EXPECT_EQ(SignIn("admin", password).status, 200) << "the first password still works";
  EXPECT_TRUE(server_->Terminate().ok());
}

TEST_F(Accounts, UserCommandsCheckTheirInput) {
  const RunResult bad_role = Cli({"user", "create", "ops", "--role", "boss", "--data", data_}, "");
  EXPECT_EQ(bad_role.status.code, 2) << bad_role.Describe();
  const RunResult bad_name = Cli({"user", "create", "a b", "--role", "viewer", "--data", data_}, "");
  EXPECT_EQ(bad_name.status.code, 2) << bad_name.Describe();
  const RunResult short_password =
      Cli({"user", "create", "ops", "--role", "operator", "--data", data_}, "short\n");
  EXPECT_EQ(short_password.status.code, 2) << short_password.Describe();
  // An empty standard input: a password is made and printed once.
  const RunResult generated = Cli({"user", "create", "ops", "--role", "operator", "--data", data_}, "");
  ASSERT_TRUE(generated.status.ok()) << generated.Describe();
  EXPECT_NE(generated.out.find("password of 'ops' (shown only this once): "), std::string::npos)
      << generated.out;
  const RunResult again = Cli({"user", "create", "ops", "--role", "viewer", "--data", data_}, "");
  EXPECT_EQ(again.status.code, 1) << again.Describe();
  const RunResult passwd = Cli({"user", "passwd", "nobody", "--data", data_}, "new-password\n");
  EXPECT_EQ(passwd.status.code, 1) << passwd.Describe();
}

}  // namespace
}  // namespace qzbb
