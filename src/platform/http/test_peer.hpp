// Test support: a blocking HTTP/1.1 peer on 127.0.0.1 for tests of HTTP clients and of the
// adapters built on them (a fake platform API). Header-only; tests only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace qz::testing {

// A blocking HTTP/1.1 peer on 127.0.0.1:<port>, one thread per connection, answering each
// request with what `answer` returns (a whole raw response), or closing the connection when it
// returns "close", or never answering when it returns "hang".
class TestPeer {
 public:
  struct Request {
    std::string head;  // request line and headers
    std::string body;
    // The request line's target, e.g. "/bot1:x/getUpdates".
    std::string Target() const {
      const size_t a = head.find(' ');
      const size_t b = head.find(' ', a + 1);
      return a == std::string::npos || b == std::string::npos ? std::string() : head.substr(a + 1, b - a - 1);
    }
  };
  using Answer = std::function<std::string(const Request&)>;

  explicit TestPeer(Answer answer) : answer_(std::move(answer)) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listener_, 16), 0);
    socklen_t len = sizeof addr;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accepter_ = std::thread([this] { Accept(); });
  }
  ~TestPeer() {
    stopping_ = true;
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    accepter_.join();
    std::lock_guard lock(mutex_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
  }
  std::string Url(std::string_view path) const { return "http://127.0.0.1:" + std::to_string(port_) + std::string(path); }
  int connections() const { return connections_; }
  // Closes every connection the peer holds open (as a server dropping idle keep-alives).
  void DropConnections() {
    std::lock_guard lock(mutex_);
    for (int fd : open_) shutdown(fd, SHUT_RDWR);
  }

 private:
  void Accept() {
    while (!stopping_) {
      const int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      std::lock_guard lock(mutex_);
      open_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
      size_t head_end;
      while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      Request r;
      r.head = in.substr(0, head_end);
      in.erase(0, head_end + 4);
      size_t length = 0;
      if (const size_t at = r.head.find("Content-Length: "); at != std::string::npos) {
        length = std::stoul(r.head.substr(at + 16));
      }
      while (in.size() < length) {
        const ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) return;
        in.append(buf, static_cast<size_t>(n));
      }
      r.body = in.substr(0, length);
      in.erase(0, length);
      const std::string out = answer_(r);
      if (out == "close") {
        shutdown(fd, SHUT_RDWR);
        return;
      }
      if (out == "hang") {
        while (read(fd, buf, sizeof buf) > 0) {
        }
        return;
      }
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) return;
    }
  }

  Answer answer_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accepter_;
  std::mutex mutex_;
  std::vector<int> open_;
  std::vector<std::thread> workers_;
};

// A 200 answer with a JSON body.
inline std::string JsonAnswer(std::string_view body, int status = 200) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

}  // namespace qz::testing
