#include "platform/http/http_client.hpp"

#include "platform/http/test_peer.hpp"

#include <gtest/gtest.h>

#include <optional>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qz {
namespace {

using testing::TestPeer;

std::string Ok(std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + std::string(extra) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

TEST(ParseHttpUrlTest, SplitsAndDefaults) {
  auto u = ParseHttpUrl("https://api.telegram.org/bot123:abc/getMe?x=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "api.telegram.org");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/bot123:abc/getMe?x=1");
  u = ParseHttpUrl("http://[::1]:8081");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "8081");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(ParseHttpUrl("http://h?q")->target, "/?q");
}

TEST(ParseHttpUrlTest, RefusesWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* bad : {"ftp://h/", "//h/", "http://", "http://:80/", "http://h:0/", "http://h:99999/",
                          "http://h:/", "http://u:p@h/", "http://h/a b", "http://[::1/", "h/x"}) {
    auto u = ParseHttpUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().field(), "url") << bad;
    }
  }
}

TEST(HttpClientTest, PostsABodyAndReadsTheAnswer) {
  TestPeer peer([](const TestPeer::Request& r) {
    EXPECT_NE(r.head.find("POST /bot1/sendMessage HTTP/1.1"), std::string::npos) << r.head;
    EXPECT_NE(r.head.find("Content-Type: application/json"), std::string::npos) << r.head;
    return Ok(R"({"ok":true,"echo":)" + r.body + "}", "X-Extra: Yes\r\n");
  });
  HttpClient client;
  auto res = client.Send({.method = "POST", .url = peer.Url("/bot1/sendMessage"),
                          .headers = {{"Content-Type", "application/json"}}, .body = R"({"text":"你好"})"});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, R"({"ok":true,"echo":{"text":"你好"}})");
  EXPECT_EQ(res->Header("x-extra"), "Yes");
}

TEST(HttpClientTest, ReusesAKeptAliveConnection) {
  TestPeer peer([](const TestPeer::Request&) { return Ok("{}"); });
  HttpClient client;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client.Send({.url = peer.Url("/x")}).ok());
  EXPECT_EQ(peer.connections(), 1);
}

TEST(HttpClientTest, SendsAgainWhenTheKeptConnectionWasClosed) {
  TestPeer peer([](const TestPeer::Request&) { return Ok("{}"); });
  HttpClient client;
  ASSERT_TRUE(client.Send({.url = peer.Url("/x")}).ok());
  peer.DropConnections();
  auto res = client.Send({.method = "POST", .url = peer.Url("/y"), .body = "{}"});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(peer.connections(), 2);
}

TEST(HttpClientTest, ReadsAChunkedBodyAndErrorStatuses) {
  TestPeer peer([](const TestPeer::Request&) {
    return std::string("HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\n{\"ok\"\r\n7\r\n:false}\r\n0\r\n\r\n");
  });
  HttpClient client;
  auto res = client.Send({.url = peer.Url("/x")});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->body, R"({"ok":false})");
}

TEST(HttpClientTest, ATooLargeAnswerIsAnError) {
  TestPeer peer([](const TestPeer::Request&) { return Ok(std::string(2000, 'x')); });
  HttpClient client({.max_response_bytes = 1000});
  auto res = client.Send({.url = peer.Url("/x")});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kPayloadTooLarge);
}

TEST(HttpClientTest, TimesOutWithoutNamingThePath) {
  TestPeer peer([](const TestPeer::Request&) { return std::string("hang"); });
  HttpClient client;
  auto res = client.Send({.url = peer.Url("/bot123:SECRET/getUpdates"), .timeout = std::chrono::milliseconds(200)});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnavailable);
  EXPECT_NE(res.status().message().find("timed out"), std::string::npos) << res.status().ToString();
  EXPECT_EQ(res.status().message().find("SECRET"), std::string::npos) << res.status().ToString();
}

TEST(HttpClientTest, CancelAllEndsALongPoll) {
  TestPeer peer([](const TestPeer::Request&) { return std::string("hang"); });
  HttpClient client;
  std::optional<Result<HttpClientResponse>> res;
  std::thread poller([&] { res.emplace(client.Send({.url = peer.Url("/poll"), .timeout = std::chrono::seconds(60)})); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  client.CancelAll();
  poller.join();
  ASSERT_TRUE(res.has_value());
  ASSERT_FALSE(res->ok());
  EXPECT_NE(res->status().message().find("cancelled"), std::string::npos) << res->status().ToString();
}

TEST(HttpClientTest, RefusedConnectionAndBadInputAreErrors) {
  HttpClient client;
  int port;
  {
    TestPeer peer([](const TestPeer::Request&) { return Ok("{}"); });
    port = std::stoi(peer.Url("").substr(17));
  }
  auto res = client.Send({.url = "http://127.0.0.1:" + std::to_string(port) + "/"});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Code::kUnavailable);
  EXPECT_EQ(client.Send({.url = "nope"}).status().field(), "url");
  EXPECT_EQ(client.Send({.method = "FETCH", .url = "http://127.0.0.1/"}).status().field(), "method");
}

TEST(HttpClientTest, ManyThreadsAtOnce) {
  TestPeer peer([](const TestPeer::Request& r) { return Ok(r.body); });
  HttpClient client;
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string body = std::to_string(t * 100 + i);
        auto res = client.Send({.method = "POST", .url = peer.Url("/x"), .body = body});
        if (res.ok() && res->body == body) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
  EXPECT_LE(peer.connections(), 16);
}

}  // namespace
}  // namespace qz
