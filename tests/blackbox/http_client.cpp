#include "http_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>

namespace qzbb {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

enum class Parse { kIncomplete, kDone, kBad };

// Decodes a chunked body starting at `data`; kDone with `out` filled when complete.
Parse DecodeChunked(std::string_view data, std::string& out) {
  out.clear();
  size_t pos = 0;
  while (true) {
    const size_t eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) return Parse::kIncomplete;
    const std::string size_text(data.substr(pos, eol - pos));
    char* end = nullptr;
    const unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) return Parse::kBad;
    pos = eol + 2;
    if (size == 0) {
      // Trailers (none expected) end with an empty line.
      const size_t fin = data.find("\r\n", pos);
      return fin == std::string_view::npos ? Parse::kIncomplete : Parse::kDone;
    }
    if (data.size() < pos + size + 2) return Parse::kIncomplete;
    out.append(data.substr(pos, size));
    pos += size + 2;
  }
}

// Tries to parse a complete response from `raw`; `eof` says the peer closed.
Parse TryParse(const std::string& raw, bool eof, HttpResponse& r) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return eof && !raw.empty() ? Parse::kBad : Parse::kIncomplete;
  const std::string_view head(raw.data(), head_end);
  const size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  if (status_line.substr(0, 5) != "HTTP/") return Parse::kBad;
  const size_t sp = status_line.find(' ');
  if (sp == std::string_view::npos) return Parse::kBad;
  r.status = std::atoi(std::string(status_line.substr(sp + 1, 3)).c_str());
  r.headers.clear();
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view line = head.substr(pos, eol - pos);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string value(line.substr(colon + 1));
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      r.headers[Lower(std::string(line.substr(0, colon)))] = value;
    }
    pos = eol + 2;
  }
  const std::string_view rest(raw.data() + head_end + 4, raw.size() - head_end - 4);
  if (Lower(r.Header("transfer-encoding")).find("chunked") != std::string::npos) {
    const Parse p = DecodeChunked(rest, r.body);
    return p == Parse::kIncomplete && eof ? Parse::kBad : p;
  }
  const std::string length = r.Header("content-length");
  if (!length.empty()) {
    const size_t n = std::strtoull(length.c_str(), nullptr, 10);
    if (rest.size() < n) return eof ? Parse::kBad : Parse::kIncomplete;
    r.body.assign(rest.substr(0, n));
    return Parse::kDone;
  }
  if (r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200)) {
    r.body.clear();
    return Parse::kDone;
  }
  if (!eof) return Parse::kIncomplete;
  r.body.assign(rest);
  return Parse::kDone;
}

}  // namespace

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

nlohmann::json HttpResponse::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string HttpResponse::Describe() const {
  if (!error.empty()) return "no response: " + error;
  std::string b = body.size() > 2000
                      ? body.substr(0, 2000) + "…(" + std::to_string(body.size()) + " bytes)"
                      : body;
  return std::to_string(status) + " " + b;
}

HttpResponse Send(uint16_t port, const HttpRequest& req) {
  HttpResponse r;
  const auto deadline = std::chrono::steady_clock::now() + req.timeout;
  Socket sock(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (sock.fd() < 0) {
    r.error = std::string("socket: ") + std::strerror(errno);
    return r;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(sock.fd(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      r.error = std::string("connect: ") + std::strerror(errno);
      return r;
    }
    pollfd p{sock.fd(), POLLOUT, 0};
    if (::poll(&p, 1, RemainingMs(deadline)) <= 0) {
      r.error = "connect: timed out";
      return r;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      r.error = std::string("connect: ") + std::strerror(err);
      return r;
    }
  }
  const int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  std::string head = req.method + " " + req.target +
                     " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nConnection: close\r\n";
  bool has_length = false;
  for (const auto& [k, v] : req.headers) {
    head += k + ": " + v + "\r\n";
    if (Lower(k) == "content-length" || Lower(k) == "transfer-encoding") has_length = true;
  }
  if (!has_length && (!req.body.empty() || req.method == "POST" || req.method == "PUT")) {
    head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  }
  head += "\r\n";

  // Write, watching for an early answer (or close) from the server.
  const std::string_view parts[2] = {head, req.body};
  size_t part = 0, off = 0;
  bool write_failed = false;
  while (part < 2) {
    if (off >= parts[part].size()) {
      ++part;
      off = 0;
      continue;
    }
    pollfd p{sock.fd(), POLLOUT | POLLIN, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.error = "timed out sending the request";
      return r;
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) break;  // answered early, or gone
    const size_t chunk = std::min<size_t>(parts[part].size() - off, 256 << 10);
    const ssize_t w = ::send(sock.fd(), parts[part].data() + off, chunk, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      write_failed = true;  // EPIPE / ECONNRESET: maybe an answer is waiting anyway
      break;
    }
    off += static_cast<size_t>(w);
  }

  if (req.shutdown_after_send && !write_failed) ::shutdown(sock.fd(), SHUT_WR);

  std::string raw;
  char buf[64 << 10];
  while (true) {
    const Parse parsed = TryParse(raw, false, r);
    if (parsed == Parse::kDone) return r;
    if (parsed == Parse::kBad) {
      r.status = 0;
      r.error = "malformed response: " + raw.substr(0, 200);
      return r;
    }
    pollfd p{sock.fd(), POLLIN, 0};
    const int n = ::poll(&p, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      r.status = 0;
      r.error =
          "timed out waiting for the response (" + std::to_string(raw.size()) + " bytes so far)";
      return r;
    }
    const ssize_t got = ::recv(sock.fd(), buf, sizeof buf, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (got <= 0) {
      const int e = errno;
      if (TryParse(raw, true, r) == Parse::kDone) return r;
      r.status = 0;
      r.error = got == 0 ? "connection closed before a complete response"
                         : std::string("recv: ") + std::strerror(e);
      if (write_failed) r.error += " (sending the request failed too)";
      r.error += " (" + std::to_string(raw.size()) + " bytes received)";
      return r;
    }
    raw.append(buf, static_cast<size_t>(got));
  }
}

HttpResponse Get(uint16_t port, const std::string& target, const std::string& token) {
  HttpRequest req;
  req.method = "GET";
  req.target = target;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  return Send(port, req);
}

HttpResponse Post(uint16_t port, const std::string& target, const std::string& token,
                  const std::string& content_type, std::string body) {
  HttpRequest req;
  req.method = "POST";
  req.target = target;
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  req.body = std::move(body);
  return Send(port, req);
}

HttpResponse PostJson(uint16_t port, const std::string& token, const nlohmann::json& events) {
  return Post(port, "/api/v1/events", token, "application/json", events.dump());
}

std::string UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace qzbb
