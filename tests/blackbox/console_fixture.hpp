// Black-box test support for the console's API (issue 11): a fixture that starts the real qunzhu
// binary (QZ_BINARY) on port 0 in a temporary data directory, runs its CLI, and sends requests
// with a token or as a signed-in browser. Nothing here links the product's code. On a failure the
// output of every process the test started is printed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "process.hpp"

#ifndef QZ_BINARY
#error "QZ_BINARY must be defined as the path of the qunzhu binary"
#endif

namespace qzbb {

using json = nlohmann::json;

// A browser signed in with the session cookie and its CSRF token.
struct Browser {
  std::string cookie;  // "qz_session=<secret>"
  std::string csrf;
};

class ConsoleApi : public ::testing::Test {
 protected:
  static constexpr auto kStartTimeout = std::chrono::seconds(60);  // sanitizer builds, 2 cores

  void TearDown() override {
    if (server_ && server_->running()) server_->Terminate();
    if (!HasFailure()) return;
    for (const std::string& prefix : logs_) {
      for (const char* stream : {".stdout", ".stderr"}) {
        std::string text = ReadFile(prefix + stream);
        if (text.empty()) continue;
        constexpr size_t kTail = 20000;
        if (text.size() > kTail) text = "…" + text.substr(text.size() - kTail);
        std::fprintf(stderr, "===== %s%s =====\n%s\n", prefix.c_str(), stream, text.c_str());
      }
    }
  }

  std::string LogPrefix(const std::string& name) {
    logs_.push_back(tmp_ / (name + "-" + std::to_string(logs_.size())));
    return logs_.back();
  }

  // Writes `text` to a file in the test's directory and returns its path.
  std::string File(const std::string& name, const std::string& text) {
    const std::string path = tmp_ / name;
    EXPECT_TRUE(WriteFile(path, text)) << path;
    return path;
  }

  // `qunzhu serve` on data_ with `extra` arguments, port 0; returns once it listens (a fatal
  // failure otherwise). Reads the admin token (owner) and, on the first start, the password of
  // the first account `admin` (owner).
  void Serve(const std::vector<std::string>& extra = {}) {
    const std::string port_file = tmp_ / ("port-" + std::to_string(logs_.size()));
    std::vector<std::string> argv = {QZ_BINARY,  "serve",       "--data",      data_,
                                     "--listen", "127.0.0.1:0", "--port-file", port_file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    server_ = Process::Start(argv, LogPrefix("serve"), "", &error);
    ASSERT_TRUE(server_.has_value()) << error;
    auto port = WaitForPortFile(port_file, *server_, kStartTimeout);
    if (!port) server_->Kill();
    ASSERT_TRUE(port.has_value()) << "the server did not start: " << server_->Describe();
    port_ = *port;
    std::istringstream(ReadFile(data_ + "/admin.token")) >> token_;
    ASSERT_FALSE(token_.empty());
    constexpr std::string_view kLine =
        "created the console account 'admin' (role owner); its password, shown only this once: ";
    const std::string out = server_->Stdout();
    if (const size_t at = out.find(kLine); at != std::string::npos) {
      const size_t from = at + kLine.size();
      admin_password_ = out.substr(from, out.find('\n', from) - from);
    }
  }

  // SIGTERM and wait; the stop must be clean.
  void Stop() {
    ASSERT_TRUE(server_.has_value());
    const ExitStatus st = server_->Terminate();
    EXPECT_TRUE(st.ok()) << server_->Describe();
  }

  // The binary with `args` run to its end, `stdin_text` on its standard input.
  RunResult Cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    const std::string in = tmp_ / ("stdin-" + std::to_string(logs_.size()));
    EXPECT_TRUE(WriteFile(in, stdin_text));
    std::vector<std::string> argv = {QZ_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return qzbb::Run(argv, LogPrefix(args.at(0)), std::chrono::seconds(300), in);
  }

  // `qunzhu token create --role <role>` on data_: the secret.
  std::string MakeToken(const std::string& name, const std::string& role) {
    const RunResult r = Cli({"token", "create", "--name", name, "--role", role, "--data", data_});
    EXPECT_TRUE(r.status.ok()) << r.Describe();
    return r.out.substr(0, r.out.find('\n'));
  }

  // A request with `token` ("" for none); a JSON body when `body` is not null.
  HttpResponse Call(const std::string& method, const std::string& target, const std::string& token,
                    const json& body = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.is_null()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body.dump();
    }
    return Send(port_, r);
  }
  HttpResponse Get(const std::string& target, const std::string& token = "") {
    return Call("GET", target, token.empty() ? token_ : token);
  }
  HttpResponse Post(const std::string& target, const json& body, const std::string& token = "") {
    return Call("POST", target, token.empty() ? token_ : token, body);
  }

  // Signs in; a failure when it is refused.
  Browser SignIn(const std::string& name, const std::string& password) {
    HttpRequest r;
    r.method = "POST";
    r.target = "/api/v1/session";
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json({{"name", name}, {"password", password}}).dump();
    const HttpResponse res = Send(port_, r);
    EXPECT_EQ(res.status, 200) << res.Describe();
    const std::string set = res.Header("Set-Cookie");
    const json j = res.Json();
    return {set.substr(0, set.find(';')), j.is_object() ? j.value("csrf", "") : ""};
  }

  // A request as `browser` (its cookie, and its CSRF token on a write).
  HttpResponse FromBrowser(const Browser& browser, const std::string& method,
                           const std::string& target, const json& body = nullptr) {
    HttpRequest r;
    r.method = method;
    r.target = target;
    r.headers = {{"Cookie", browser.cookie}};
    if (method != "GET") r.headers.emplace_back("X-CSRF-Token", browser.csrf);
    if (!body.is_null()) {
      r.headers.emplace_back("Content-Type", "application/json");
      r.body = body.dump();
    }
    return Send(port_, r);
  }

  // {"error":{"code":...}}'s code, "" when the answer is no error.
  static std::string ErrorCode(const HttpResponse& r) {
    const json j = r.Json();
    return j.is_object() && j.contains("error") ? j["error"].value("code", "") : "";
  }
  static std::string ErrorField(const HttpResponse& r) {
    const json j = r.Json();
    return j.is_object() && j.contains("error") ? j["error"].value("field", "") : "";
  }

  // Polls `probe` every 50 ms until it returns true or `timeout` passes.
  template <typename Probe>
  static bool WaitFor(Probe probe, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (probe()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return probe();
  }

  TempDir tmp_{"qz-console-api"};
  const std::string data_ = tmp_ / "data";
  std::vector<std::string> logs_;
  std::optional<Process> server_;
  uint16_t port_ = 0;
  std::string token_;           // the admin token (owner)
  std::string admin_password_;  // the first account's, from the first start's output
};

}  // namespace qzbb
