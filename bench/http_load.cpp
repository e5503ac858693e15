// qz_http_load: a small load generator for POST /api/v1/events (docs/benchmarks.md, target 2).
//
// Plain POSIX sockets and one thread per connection; HTTP/1.1 keep-alive, one request in flight
// per connection. Two modes:
//   --rate 0  closed loop: every connection sends its next request as soon as it has the answer
//             to the previous one (throughput). Latency = answer received - request sent.
//   --rate R  open loop: request k is *scheduled* at start + k/R whatever happened before; a
//             free connection waits for the schedule, then sends. Latency is measured from the
//             scheduled time, so a slow answer that delays later requests shows up in their
//             latency too (no coordinated omission). Use enough connections to absorb stalls.
// Every event has a unique id (--prefix plus a counter), so nothing is a duplicate.
//
// Bounded: it stops at --duration seconds or after --requests requests, whichever is first, and
// sockets time out after 30 s. It refuses any target that is not a loopback address.
//
// Exit status: 0 when every request got 200 with all its events accepted; 1 otherwise (and the
// first failures are printed). The last line is machine-readable:
//   RESULT requests=.. events=.. seconds=.. rps=.. eps=.. p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..
//          non200=.. errors=..
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string target = "127.0.0.1:8080";
  std::string token;
  std::string path = "/api/v1/events";
  int connections = 32;
  double duration_s = 10;
  int64_t max_requests = 0;  // 0 = only the duration bounds the run
  int events_per_request = 100;
  double rate = 0;  // requests/s; 0 = closed loop
  double warmup_s = 0;
  bool json = false;  // JSON array body instead of NDJSON
  std::string prefix;
  int members = 10000;
  int groups = 10;
  // Webhook mode: one platform update per request, posted as the platform would.
  std::string webhook;  // "", "telegram" or "qq"
  std::string secret;   // Telegram's secret token, or the OneBot account's signing key
  std::string self_id = "10001";
};

[[noreturn]] void Usage(const char* error = nullptr) {
  if (error != nullptr) std::fprintf(stderr, "qz_http_load: %s\n", error);
  std::fprintf(stderr, R"(usage: qz_http_load --target 127.0.0.1:PORT (--token T | --token-file F) [options]
  --connections N        keep-alive connections, one thread each (default 32)
  --duration S           stop after S seconds (default 10, at most 600)
  --requests N           stop after N requests (default: no count limit)
  --events-per-request N events in each POST (default 100)
  --rate R               open loop at R requests/s, latency from the scheduled time
                         (default 0: closed loop, as fast as possible)
  --warmup S             leave the first S seconds out of the figures (default 0)
  --format ndjson|json   request body (default ndjson)
  --prefix P             event id prefix (default: unique per run)
  --members N --groups N pool of member and group ids the events name (10000, 10)
  --path P               (default /api/v1/events)
  --webhook telegram|qq  post one platform update per request instead, to --path (e.g.
                         /webhooks/telegram/main or /webhooks/qq), as the platform would:
                         Telegram with X-Telegram-Bot-Api-Secret-Token: --secret; OneBot
                         with X-Self-ID: --self-id and X-Signature: HMAC-SHA1 keyed --secret
  --secret S --self-id N (webhook mode)
)");
  std::exit(2);
}

// ---- Request bodies ----

void AppendTime(std::string& out, int64_t n) {
  // 2026-03-01T00:00:00+08:00 plus n seconds (wrapping after ~30 days), with an offset.
  const std::time_t t = 1772294400 + static_cast<std::time_t>(n % (30 * 86400));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  out += buf;
}

void AppendEvent(std::string& out, const Options& o, int64_t n) {
  char num[32];
  out += R"({"id":")";
  out += o.prefix;
  std::snprintf(num, sizeof num, "-%" PRId64, n);
  out += num;
  out += R"(","type":"message","time":")";
  AppendTime(out, n);
  out += R"(","platform":"bench","group":"g)";
  out += std::to_string(n % o.groups);
  out += R"(","member":"u)";
  const int64_t member = (n * 7919) % o.members;
  out += std::to_string(member);
  out += R"(","name":"用户)";
  out += std::to_string(member);
  out += R"(","kind":"text","text":"load test message )";
  out += num + 1;
  out += R"( 你好"})";
}

std::string Body(const Options& o, int64_t request) {
  std::string body;
  body.reserve(static_cast<size_t>(o.events_per_request) * 220 + 2);
  const int64_t first = request * o.events_per_request;
  if (o.json) body += '[';
  for (int i = 0; i < o.events_per_request; ++i) {
    if (o.json && i > 0) body += ',';
    AppendEvent(body, o, first + i);
    if (!o.json) body += '\n';
  }
  if (o.json) body += ']';
  return body;
}

// One platform update with unique ids (webhook mode).
std::string WebhookBody(const Options& o, int64_t n) {
  const int64_t member = (n * 7919) % o.members;
  const int64_t group = n % o.groups;
  char buf[640];
  if (o.webhook == "telegram") {
    std::snprintf(buf, sizeof buf,
                  R"({"update_id":%)" PRId64 R"(,"message":{"message_id":%)" PRId64
                  R"(,"date":%)" PRId64 R"(,"chat":{"id":-100%)" PRId64
                  R"(,"type":"supergroup","title":"压测群"},"from":{"id":%)" PRId64
                  R"(,"is_bot":false,"first_name":"用户%)" PRId64 R"("},"text":"load test message %)" PRId64
                  R"( 你好"}})",
                  n + 1, n + 1, int64_t{1772294400} + n % (30 * 86400), group + 1, member + 1, member, n);
  } else {
    std::snprintf(buf, sizeof buf,
                  R"({"time":%)" PRId64 R"(,"self_id":%s,"post_type":"message","message_type":"group",)"
                  R"("sub_type":"normal","message_id":%)" PRId64 R"(,"group_id":%)" PRId64
                  R"(,"user_id":%)" PRId64 R"(,"message":[{"type":"text","data":{"text":"load test message %)" PRId64
                  R"( 你好"}}],"raw_message":"","font":0,"sender":{"user_id":%)" PRId64
                  R"(,"nickname":"用户","role":"member"}})",
                  int64_t{1772294400} + n % (30 * 86400), o.self_id.c_str(), n + 1, 600000 + group, 700000 + member,
                  n, 700000 + member);
  }
  return buf;
}

std::string HmacSha1Hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

// ---- One connection ----

class Conn {
 public:
  explicit Conn(sockaddr_in addr) : addr_(addr) {}
  ~Conn() { Close(); }

  bool Open(std::string& error) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(error, "socket");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{.tv_sec = 30, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) {
      return Fail(error, "connect");
    }
    buf_.clear();
    return true;
  }
  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data, std::string& error) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(error, "send");
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response. Sets status, body and whether the server will close the connection.
  bool Receive(int& status, std::string& body, bool& close, std::string& error) {
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(error)) return false;
    }
    const std::string_view head(buf_.data(), header_end);
    if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
      error = "malformed status line";
      return false;
    }
    status = std::atoi(std::string(head.substr(9, 3)).c_str());
    int64_t length = -1;
    bool chunked = false;
    close = head.substr(0, 8) == "HTTP/1.0";
    size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      std::string line(head.substr(pos + 2, (next == std::string_view::npos ? head.size() : next) -
                                                pos - 2));
      std::transform(line.begin(), line.end(), line.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (line.starts_with("content-length:")) length = std::atoll(line.c_str() + 15);
      if (line.starts_with("transfer-encoding:") && line.find("chunked") != std::string::npos) {
        chunked = true;
      }
      if (line.starts_with("connection:") && line.find("close") != std::string::npos) close = true;
      pos = next;
    }
    buf_.erase(0, header_end + 4);
    body.clear();
    if (chunked) {
      while (true) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!Fill(error)) return false;
        }
        const size_t size = std::strtoul(buf_.c_str(), nullptr, 16);
        while (buf_.size() < eol + 2 + size + 2) {
          if (!Fill(error)) return false;
        }
        body.append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;  // (trailers are not used by our server)
      }
    } else if (length >= 0) {
      while (buf_.size() < static_cast<size_t>(length)) {
        if (!Fill(error)) return false;
      }
      body.assign(buf_, 0, static_cast<size_t>(length));
      buf_.erase(0, static_cast<size_t>(length));
    } else {
      error = "response without Content-Length";
      return false;
    }
    return true;
  }

 private:
  bool Fill(std::string& error) {
    char tmp[16384];
    while (true) {
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) {
        buf_.append(tmp, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) {
        error = "connection closed by the server";
        return false;
      }
      if (errno == EINTR) continue;
      return Fail(error, errno == EAGAIN ? "recv timed out (30 s)" : "recv");
    }
  }
  bool Fail(std::string& error, const char* what) {
    error = std::string(what) + ": " + std::strerror(errno);
    Close();
    return false;
  }

  sockaddr_in addr_;
  int fd_ = -1;
  std::string buf_;
};

// Reads `"key":N` from a small JSON answer; -1 when absent.
int64_t JsonInt(const std::string& body, const char* key) {
  const std::string needle = std::string("\"") + key + "\":";
  const size_t pos = body.find(needle);
  if (pos == std::string::npos) return -1;
  return std::atoll(body.c_str() + pos + needle.size());
}

// ---- Shared results ----

struct Shared {
  std::atomic<int64_t> next{0};
  std::atomic<bool> abort{false};
  std::mutex mu;  // guards everything below
  std::vector<int64_t> latencies_ns;
  std::vector<int64_t> service_ns;  // open loop: from the actual send to the answer
  int64_t requests = 0, events = 0, errors = 0, reconnects = 0;
  std::map<int, int64_t> non200;
  std::vector<std::string> failures;  // the first few, printed at the end
  Clock::time_point last_done{};
  void Failure(std::string what) {
    std::lock_guard lock(mu);
    if (failures.size() < 5) failures.push_back(std::move(what));
  }
};

void Worker(const Options& o, const sockaddr_in& addr, Clock::time_point start,
            Clock::time_point measure_from, Clock::time_point deadline, Shared& shared) {
  Conn conn(addr);
  std::string error, head, body, answer;
  const std::string host = o.target;
  std::vector<int64_t> latencies, service;
  int64_t requests = 0, events = 0, errors = 0, reconnects = 0;
  std::map<int, int64_t> non200;
  Clock::time_point last_done{};
  const auto interval = o.rate > 0 ? std::chrono::duration<double>(1.0 / o.rate)
                                   : std::chrono::duration<double>(0);
  std::this_thread::sleep_until(start);  // every connection starts together
  while (!shared.abort.load(std::memory_order_relaxed)) {
    const int64_t k = shared.next.fetch_add(1, std::memory_order_relaxed);
    if (o.max_requests > 0 && k >= o.max_requests) break;
    Clock::time_point scheduled = start;
    if (o.rate > 0) {
      scheduled = start + std::chrono::duration_cast<Clock::duration>(interval * k);
      if (scheduled >= deadline) break;
    } else if (Clock::now() >= deadline) {
      break;
    }
    if (o.webhook.empty()) {
      body = Body(o, k);
      head = "POST " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " +
             o.token + "\r\nContent-Type: " +
             (o.json ? "application/json" : "application/x-ndjson") +
             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    } else {
      body = WebhookBody(o, k);
      head = "POST " + o.path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\n" +
             (o.webhook == "telegram" ? "X-Telegram-Bot-Api-Secret-Token: " + o.secret
                                      : "X-Self-ID: " + o.self_id + "\r\nX-Signature: sha1=" + HmacSha1Hex(o.secret, body)) +
             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    }
    head += body;
    Clock::time_point sent;
    if (o.rate > 0) {
      std::this_thread::sleep_until(scheduled);
      sent = Clock::now();
    } else {
      scheduled = sent = Clock::now();  // closed loop: latency from the actual send
    }
    int status = 0;
    bool close = false;
    bool ok = false;
    for (int attempt = 0; attempt < 2 && !ok; ++attempt) {
      // A keep-alive connection the server closed while idle is reopened once.
      if (!conn.open()) {
        if (!conn.Open(error)) break;
        if (requests > 0 || attempt > 0) ++reconnects;
      }
      ok = conn.Send(head, error) && conn.Receive(status, answer, close, error);
      if (!ok) conn.Close();
    }
    const auto done = Clock::now();
    if (close) conn.Close();
    if (!ok) {
      ++errors;
      shared.Failure("request " + std::to_string(k) + ": " + error);
      // Without a connection this worker is of no use; the run reports the failure.
      if (!conn.open()) {
        std::string ignored;
        if (!conn.Open(ignored)) break;
      }
      continue;
    }
    if (scheduled < measure_from) continue;  // warm-up
    ++requests;
    last_done = std::max(last_done, done);
    latencies.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - scheduled).count());
    service.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(done - sent).count());
    if (status != 200) {
      ++non200[status];
      shared.Failure("request " + std::to_string(k) + ": HTTP " + std::to_string(status) + ": " +
                     answer.substr(0, 300));
      continue;
    }
    // A webhook answers 200 only once its update is durable.
    const int64_t accepted = o.webhook.empty() ? JsonInt(answer, "accepted") : 1;
    if (accepted != o.events_per_request) {
      ++errors;
      shared.Failure("request " + std::to_string(k) + ": 200 but not every event accepted: " +
                     answer.substr(0, 300));
    }
    events += std::max<int64_t>(accepted, 0);
  }
  std::lock_guard lock(shared.mu);
  shared.latencies_ns.insert(shared.latencies_ns.end(), latencies.begin(), latencies.end());
  shared.service_ns.insert(shared.service_ns.end(), service.begin(), service.end());
  shared.requests += requests;
  shared.events += events;
  shared.errors += errors;
  shared.reconnects += reconnects;
  for (auto [code, n] : non200) shared.non200[code] += n;
  shared.last_done = std::max(shared.last_done, last_done);
}

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1,
                            static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[i]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string format = "ndjson";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage("missing value");
      return argv[++i];
    };
    if (arg == "--target") o.target = value();
    else if (arg == "--token") o.token = value();
    else if (arg == "--token-file") {
      std::ifstream in(value());
      std::getline(in, o.token);
      if (o.token.empty()) Usage("empty or unreadable --token-file");
    }
    else if (arg == "--connections") o.connections = std::atoi(value().c_str());
    else if (arg == "--duration") o.duration_s = std::atof(value().c_str());
    else if (arg == "--requests") o.max_requests = std::atoll(value().c_str());
    else if (arg == "--events-per-request") o.events_per_request = std::atoi(value().c_str());
    else if (arg == "--rate") o.rate = std::atof(value().c_str());
    else if (arg == "--warmup") o.warmup_s = std::atof(value().c_str());
    else if (arg == "--format") format = value();
    else if (arg == "--prefix") o.prefix = value();
    else if (arg == "--webhook") o.webhook = value();
    else if (arg == "--secret") o.secret = value();
    else if (arg == "--self-id") o.self_id = value();
    else if (arg == "--members") o.members = std::atoi(value().c_str());
    else if (arg == "--groups") o.groups = std::atoi(value().c_str());
    else if (arg == "--path") o.path = value();
    else Usage(("unknown option " + std::string(arg)).c_str());
  }
  if (format != "ndjson" && format != "json") Usage("--format is ndjson or json");
  o.json = format == "json";
  if (o.token.empty() && o.webhook.empty()) Usage("--token or --token-file is required");
  if (!o.webhook.empty()) {
    if (o.webhook != "telegram" && o.webhook != "qq") Usage("--webhook is telegram or qq");
    if (o.secret.empty()) Usage("--webhook needs --secret");
    o.events_per_request = 1;
  }
  if (o.connections < 1 || o.connections > 1024) Usage("--connections is 1..1024");
  if (!(o.duration_s > 0 && o.duration_s <= 600)) Usage("--duration is (0, 600] seconds");
  if (o.events_per_request < 1 || o.events_per_request > 100000) Usage("bad --events-per-request");
  if (o.rate < 0 || o.warmup_s < 0 || o.warmup_s >= o.duration_s) Usage("bad --rate or --warmup");
  if (o.members < 1 || o.groups < 1) Usage("bad --members or --groups");
  if (o.prefix.empty()) {
    o.prefix = "hl" + std::to_string(::getpid()) + "x" +
               std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  }

  // Loopback only.
  const size_t colon = o.target.rfind(':');
  if (colon == std::string::npos) Usage("--target is HOST:PORT");
  std::string host = o.target.substr(0, colon);
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(o.target.c_str() + colon + 1)));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1 ||
      (ntohl(addr.sin_addr.s_addr) >> 24) != 127 || addr.sin_port == 0) {
    Usage("--target must be a loopback address 127.x.x.x:PORT (or localhost:PORT)");
  }

  std::printf("http_load: %s%s, %d connections, %d events/request (%s), %s, %.0f s, warm-up %.0f s (not counted)\n",
              o.target.c_str(), o.path.c_str(), o.connections, o.events_per_request,
              format.c_str(),
              o.rate > 0 ? ("open loop at " + std::to_string(static_cast<int64_t>(o.rate)) +
                            " requests/s").c_str()
                         : "closed loop",
              o.duration_s, o.warmup_s);
  std::fflush(stdout);

  Shared shared;
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  const auto to = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const auto measure_from = start + to(o.warmup_s);
  const auto deadline = start + to(o.duration_s);
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back(Worker, std::cref(o), std::cref(addr), start, measure_from, deadline,
                         std::ref(shared));
  }
  for (auto& t : threads) t.join();

  auto& lat = shared.latencies_ns;
  std::sort(lat.begin(), lat.end());
  const double seconds =
      shared.last_done > measure_from
          ? std::chrono::duration<double>(shared.last_done - measure_from).count()
          : 0;
  const double rps = seconds > 0 ? static_cast<double>(shared.requests) / seconds : 0;
  const double eps = seconds > 0 ? static_cast<double>(shared.events) / seconds : 0;
  int64_t non200 = 0;
  for (auto [code, n] : shared.non200) non200 += n;
  std::printf("  %" PRId64 " requests, %" PRId64 " events accepted in %.2f s: %.0f requests/s, %.0f events/s\n",
              shared.requests, shared.events, seconds, rps, eps);
  std::printf("  latency%s: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              o.rate > 0 ? " (from the scheduled send time)" : "", Percentile(lat, 50),
              Percentile(lat, 90), Percentile(lat, 99),
              lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1e6);
  if (o.rate > 0) {
    // The part of the latency after the request actually left: what the server (and the
    // machine's scheduler) added, without the wait for a free connection or a late wake-up.
    auto& svc = shared.service_ns;
    std::sort(svc.begin(), svc.end());
    std::printf("  from the actual send: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                Percentile(svc, 50), Percentile(svc, 90), Percentile(svc, 99),
                svc.empty() ? 0.0 : static_cast<double>(svc.back()) / 1e6);
  }
  if (o.rate > 0 && seconds > 0 && rps < 0.95 * o.rate) {
    std::printf("  WARNING: achieved %.0f requests/s, below the target %.0f\n", rps, o.rate);
  }
  if (shared.reconnects > 0) std::printf("  %" PRId64 " reconnects\n", shared.reconnects);
  for (auto [code, n] : shared.non200) std::printf("  HTTP %d: %" PRId64 " responses\n", code, n);
  for (const auto& f : shared.failures) std::printf("  FAILURE %s\n", f.c_str());
  std::printf("RESULT requests=%" PRId64 " events=%" PRId64 " seconds=%.3f rps=%.1f eps=%.1f "
              "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non200=%" PRId64 " errors=%" PRId64 "\n",
              shared.requests, shared.events, seconds, rps, eps, Percentile(lat, 50),
              Percentile(lat, 90), Percentile(lat, 99),
              lat.empty() ? 0.0 : static_cast<double>(lat.back()) / 1e6, non200, shared.errors);
  if (non200 > 0 || shared.errors > 0 || shared.requests == 0) {
    std::fprintf(stderr, "qz_http_load: FAILED: %" PRId64 " non-200 responses, %" PRId64
                         " errors, %" PRId64 " requests counted\n",
                 non200, shared.errors, shared.requests);
    return 1;
  }
  return 0;
}
