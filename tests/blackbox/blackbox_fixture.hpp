// The black-box tests' shared parts: events to send, a running server, the fixture that starts
// the real qunzhu binary (QZ_BINARY) in a fresh temporary data directory and prints every
// process's output on a failure, and a streamer of events from background threads. Nothing here
// links the product's code.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <set>
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
using Clock = std::chrono::steady_clock;

inline const std::string kBinary = QZ_BINARY;
constexpr auto kStartTimeout = 60s;  // generous: sanitizer builds on a loaded 2-core machine
constexpr const char* kPlatform = "sandbox";
constexpr size_t kMaxBody = size_t{16} << 20;

// ---------------------------------------------------------------------------------------------
// Events

// 2026-03-01T00:00:00+08:00 plus `sec` seconds (less than 27 days), written with the offset.
inline std::string TimeAt(int64_t sec) {
  sec %= 27 * 86400;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-03-%02dT%02d:%02d:%02d+08:00",
                static_cast<int>(1 + sec / 86400), static_cast<int>(sec / 3600 % 24),
                static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
  return buf;
}

inline std::string MemberKey(int m) { return "u" + std::to_string(m); }
// Display names; unique per member, and a query for one matches only a few others.
inline std::string MemberName(int m) { return "成员-" + MemberKey(m); }

inline json BaseEvent(const std::string& id, const std::string& type, int member, int group, int64_t sec) {
  return {{"id", id},
          {"type", type},
          {"time", TimeAt(sec)},
          {"platform", kPlatform},
          {"group", "g" + std::to_string(group)},
          {"group_name", "测试群 " + std::to_string(group)},
          {"member", MemberKey(member)},
          {"name", MemberName(member)}};
}

// A deterministic mix of every event type; mostly messages. Event `n` is about member
// (n * 7919) % members in group (n / 7) % groups.
inline json MixedEvent(const std::string& id, int64_t n, int members = 300, int groups = 4) {
  const int m = static_cast<int>(n * 7919 % members);
  const int g = static_cast<int>(n / 7 % groups);
  json e;
  switch (n % 20) {
    case 0:
      e = BaseEvent(id, "member_joined", m, g, n);
      e["via"] = {{"code", "ch-" + std::to_string(n % 3)}};
      if (n % 40 == 0) e["via"]["inviter"] = MemberKey((m + 1) % members);
      return e;
    case 1:
      e = BaseEvent(id, "checkin", m, g, n);
      e["text"] = "打卡 day " + std::to_string(n % 7);
      return e;
    case 2:
      e = BaseEvent(id, "link_click", m, g, n);
      e["url"] = "https://example.com/p/" + std::to_string(n % 11);
      return e;
    case 3:
      e = BaseEvent(id, "order", m, g, n);
      e["amount"] = "19.90";
      e["product"] = "course";
      return e;
    case 4:
      e = BaseEvent(id, "tag_changed", m, g, n);
      e["tag"] = "vip";
      e["op"] = n % 80 == 4 ? "remove" : "add";
      return e;
    case 5:
      if (n % 40 == 5) {
        e = BaseEvent(id, "member_left", m, g, n);
        e["reason"] = n % 80 == 5 ? "removed" : "left";
        return e;
      }
      [[fallthrough]];
    default:
      e = BaseEvent(id, "message", m, g, n);
      e["kind"] = n % 9 == 0 ? "image" : "text";
      e["text"] = "第 " + std::to_string(n) + " 条消息, hello";
      e["x_source"] = {{"n", n}};  // an unknown key: kept
      return e;
  }
}

inline bool IsMessage(const json& e) { return e.at("type") == "message"; }

// `e` (a message) as JSON text with invalid UTF-8 bytes inside its "text" (nlohmann would refuse).
inline std::string WithInvalidUtf8Text(const json& e) {
  std::string text = e.dump();
  const std::string marker = "条消息";
  text.replace(text.find(marker), marker.size(), "\xff\xfe\xc3");
  return text;
}

inline std::string ToNdjson(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events) out += e.dump() + "\n";
  return out;
}

inline json Array(const std::vector<json>& events, size_t from = 0, size_t to = SIZE_MAX) {
  json a = json::array();
  for (size_t i = from; i < std::min(to, events.size()); ++i) a.push_back(events[i]);
  return a;
}

// The last line of a program's output.
inline std::string LastLine(std::string out) {
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// `ingested N events (D duplicates, R rejected) in S s: X events/s`, exactly.
struct IngestSummary {
  long long accepted = -1, duplicates = -1, rejected = -1;
};
inline std::optional<IngestSummary> ParseIngestSummary(const std::string& line) {
  IngestSummary s;
  double secs = -1, rate = -1;
  int end = -1;
  const int n =
      std::sscanf(line.c_str(),
                  "ingested %lld events (%lld duplicates, %lld rejected) in %lf s: %lf events/s%n",
                  &s.accepted, &s.duplicates, &s.rejected, &secs, &rate, &end);
  if (n != 5 || end != static_cast<int>(line.size()) || secs < 0 || rate < 0) return std::nullopt;
  return s;
}

// ---------------------------------------------------------------------------------------------
// A running server

struct Server {
  std::optional<Process> process;
  std::string data_dir;
  uint16_t port = 0;
  std::string token;

  HttpResponse Get(const std::string& target) const { return qzbb::Get(port, target, token); }
  HttpResponse Post(const json& events) const { return PostJson(port, token, events); }
  HttpResponse PostNdjson(const std::string& body) const {
    return qzbb::Post(port, "/api/v1/events", token, "application/x-ndjson", body);
  }
};

// Checks a 200 answer to POST /api/v1/events and returns its JSON (null when it is not one).
inline ::testing::AssertionResult IsIngestAnswer(const HttpResponse& r, int64_t accepted,
                                          int64_t duplicates, size_t rejected) {
  if (r.status != 200) return ::testing::AssertionFailure() << "expected 200, got " << r.Describe();
  const json j = r.Json();
  if (!j.is_object() || !j.contains("accepted") || !j.contains("duplicates") ||
      !j.contains("rejected") || !j["rejected"].is_array()) {
    return ::testing::AssertionFailure() << "not an ingest answer: " << r.body;
  }
  if (j["accepted"] != accepted || j["duplicates"] != duplicates ||
      j["rejected"].size() != rejected) {
    return ::testing::AssertionFailure()
           << "expected accepted=" << accepted << " duplicates=" << duplicates
           << " rejected=" << rejected << ", got " << r.body;
  }
  return ::testing::AssertionSuccess();
}

// Checks an error answer: the status and {"error":{"code","message",...}}.
inline ::testing::AssertionResult IsError(const HttpResponse& r, int status, const std::string& code) {
  if (r.status != status) {
    return ::testing::AssertionFailure() << "expected " << status << ", got " << r.Describe();
  }
  const json j = r.Json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) {
    return ::testing::AssertionFailure() << "no error object in " << r.Describe();
  }
  const json& e = j["error"];
  if (!e.contains("code") || e["code"] != code) {
    return ::testing::AssertionFailure() << "expected error code " << code << " in " << r.body;
  }
  if (!e.contains("message") || !e["message"].is_string() ||
      e["message"].get<std::string>().empty()) {
    return ::testing::AssertionFailure() << "no error message in " << r.body;
  }
  if (r.Header("Content-Type").find("application/json") == std::string::npos) {
    return ::testing::AssertionFailure()
           << "error answer is not application/json: " << r.Header("Content-Type");
  }
  return ::testing::AssertionSuccess();
}

// A member's events as the log holds them (all pages of /members/{id}/events).
struct MemberLog {
  int64_t messages = 0;
  std::multiset<std::string> ids;  // event ids; a duplicate id would be a double application
  bool ok = false;
  std::string error;
};

// ---------------------------------------------------------------------------------------------
// The fixture: a temporary directory for data dirs and logs; every process's output is printed
// when the test fails.

class Blackbox : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& prefix : logs_) {
        for (const char* stream : {".stdout", ".stderr"}) {
          std::string text = ReadFile(prefix + stream);
          if (text.empty()) continue;
          constexpr size_t kTail = 20000;
          if (text.size() > kTail) text = "…" + text.substr(text.size() - kTail);
          std::fprintf(stderr, "===== %s%s =====\n%s\n", prefix.c_str(), stream, text.c_str());
        }
      }
    }
  }

  std::string LogPrefix(const std::string& name) {
    std::string prefix = tmp_ / (name + "-" + std::to_string(logs_.size()));
    logs_.push_back(prefix);
    return prefix;
  }

  // Runs the binary with `args` to its end.
  RunResult Cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 120s,
                const std::string& stdin_path = "") {
    std::vector<std::string> argv = {kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    return qzbb::Run(argv, LogPrefix(args.empty() ? "qunzhu" : args[0]), timeout, stdin_path);
  }

  // `qunzhu serve` on `data_dir`, port 0; returns once it listens. Fatal failure otherwise.
  void StartServer(Server& s, const std::string& data_dir,
                   const std::vector<std::string>& extra = {}) {
    const std::string port_file = tmp_ / ("port-" + std::to_string(logs_.size()));
    std::vector<std::string> argv = {kBinary,    "serve",       "--data",      data_dir,
                                     "--listen", "127.0.0.1:0", "--port-file", port_file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    s.process = Process::Start(argv, LogPrefix("serve"), "", &error);
    ASSERT_TRUE(s.process.has_value()) << error;
    auto port = WaitForPortFile(port_file, *s.process, kStartTimeout);
    if (!port) s.process->Kill();
    ASSERT_TRUE(port.has_value()) << "the server did not write its port: " << s.process->Describe();
    s.port = *port;
    s.data_dir = data_dir;
    std::istringstream token_file(ReadFile(data_dir + "/admin.token"));
    std::getline(token_file, s.token);
    ASSERT_FALSE(s.token.empty()) << "no token in " << data_dir << "/admin.token";
    const HttpResponse health = qzbb::Get(s.port, "/healthz", "");
    ASSERT_EQ(health.status, 200) << health.Describe();
  }

  // GET /api/v1/stats as JSON; a failure (and {}) when the answer is not as documented.
  json Stats(const Server& s) {
    const HttpResponse r = s.Get("/api/v1/stats");
    const json j = r.Json();
    for (const char* key : {"events", "members", "groups", "communities"}) {
      if (r.status != 200 || !j.is_object() || !j.contains(key) || !j[key].is_number_integer()) {
        ADD_FAILURE() << "GET /api/v1/stats: " << r.Describe();
        return json::object();
      }
    }
    return j;
  }

  // The id of the member with display name MemberName(m); 0 (and a failure) if none.
  int64_t FindMember(const Server& s, int m) {
    const std::string name = MemberName(m);
    const HttpResponse r = s.Get("/api/v1/members?limit=1000&q=" + UrlEncode(name));
    const json j = r.Json();
    if (r.status != 200 || !j.is_object() || !j.contains("members") || !j["members"].is_array()) {
      ADD_FAILURE() << "GET /api/v1/members?q=" << name << ": " << r.Describe();
      return 0;
    }
    int64_t id = 0;
    for (const auto& member : j["members"]) {
      if (member.value("display_name", "") == name) {
        EXPECT_EQ(id, 0) << "two members named " << name << ": " << r.body;
        id = member.at("id").get<int64_t>();
      }
    }
    EXPECT_NE(id, 0) << "no member named " << name << " in " << r.Describe();
    return id;
  }

  json Profile(const Server& s, int64_t id) {
    const HttpResponse r = s.Get("/api/v1/members/" + std::to_string(id));
    const json j = r.Json();
    if (r.status != 200 || !j.is_object() || !j.contains("counters") || j.value("id", 0) != id) {
      ADD_FAILURE() << "GET /api/v1/members/" << id << ": " << r.Describe();
      return json::object();
    }
    return j;
  }

  MemberLog ReadMemberLog(const Server& s, int64_t id) {
    MemberLog log;
    std::string before;
    int64_t last_seq = INT64_MAX;
    for (int page = 0; page < 1000; ++page) {
      const HttpResponse r =
          s.Get("/api/v1/members/" + std::to_string(id) + "/events?limit=200" + before);
      const json j = r.Json();
      if (r.status != 200 || !j.is_object() || !j.contains("events") || !j["events"].is_array()) {
        log.error = "GET /api/v1/members/" + std::to_string(id) + "/events: " + r.Describe();
        return log;
      }
      for (const auto& e : j["events"]) {
        const int64_t seq = e.value("seq", int64_t{0});
        if (seq >= last_seq) {
          log.error = "events not newest first: " + r.body.substr(0, 500);
          return log;
        }
        last_seq = seq;
        log.ids.insert(e.value("id", std::string()));
        if (e.value("type", "") == "message") ++log.messages;
      }
      if (!j.contains("next_before") || j["next_before"].is_null()) {
        log.ok = true;
        return log;
      }
      before = "&before=" + std::to_string(j["next_before"].get<int64_t>());
    }
    log.error = "too many pages";
    return log;
  }

  TempDir tmp_;
  std::vector<std::string> logs_;
};

// ---------------------------------------------------------------------------------------------
// Streams batches of unique events from background threads and records which were acknowledged
// (answered 200). Stops on its own when the server goes away.

class Streamer {
 public:
  struct Batch {
    std::vector<json> events;
    bool acked = false;
    std::string outcome;
  };

  Streamer(uint16_t port, std::string token, int threads, int batch_size, std::string prefix)
      : port_(port),
        token_(std::move(token)),
        threads_(threads),
        batch_size_(batch_size),
        prefix_(std::move(prefix)),
        batches_(static_cast<size_t>(threads)) {}
  ~Streamer() { Stop(); }

  void Start() {
    for (int t = 0; t < threads_; ++t) workers_.emplace_back([this, t] { Run(t); });
  }
  void Stop() {
    stop_ = true;
    for (auto& w : workers_) w.join();
    workers_.clear();
  }
  int acked_batches() const { return acked_; }
  int finished_threads() const { return finished_; }

  // After Stop().
  std::vector<Batch> batches() const {
    std::vector<Batch> all;
    for (const auto& per_thread : batches_)
      all.insert(all.end(), per_thread.begin(), per_thread.end());
    return all;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }

 private:
  void Run(int t) {
    int64_t k = 0;
    while (!stop_) {
      Batch b;
      json body = json::array();
      for (int i = 0; i < batch_size_; ++i, ++k) {
        const int64_t n = k * threads_ + t;
        b.events.push_back(
            MixedEvent(prefix_ + "-" + std::to_string(t) + "-" + std::to_string(k), n));
        body.push_back(b.events.back());
      }
      HttpRequest req;
      req.method = "POST";
      req.target = "/api/v1/events";
      req.headers = {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}};
      req.body = body.dump();
      const HttpResponse r = Send(port_, req);
      b.outcome = r.Describe();
      bool gone = false;
      if (r.status == 200) {
        b.acked = true;
        const json j = r.Json();
        if (!j.is_object() || j.value("accepted", -1) != batch_size_ ||
            j.value("duplicates", -1) != 0 || !j.contains("rejected") || !j["rejected"].empty()) {
          std::lock_guard lock(mu_);
          errors_.push_back("unexpected answer to a batch of " + std::to_string(batch_size_) +
                            " new events: " + r.body);
        }
      } else if (!r.ok()) {
        gone = true;  // the server was killed or stopped
      } else if (r.status != 429 && r.status != 503) {
        std::lock_guard lock(mu_);
        errors_.push_back("unexpected answer: " + r.Describe());
      }
      batches_[static_cast<size_t>(t)].push_back(std::move(b));
      if (r.status == 200) ++acked_;
      if (gone) break;
    }
    ++finished_;
  }

  const uint16_t port_;
  const std::string token_;
  const int threads_, batch_size_;
  const std::string prefix_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0}, finished_{0};
  std::vector<std::vector<Batch>> batches_;  // per thread
  mutable std::mutex mu_;
  std::vector<std::string> errors_;
  std::vector<std::thread> workers_;
};

struct Split {
  std::vector<json> acked, unacked;
};
inline Split SplitBatches(const std::vector<Streamer::Batch>& batches) {
  Split s;
  for (const auto& b : batches) {
    auto& into = b.acked ? s.acked : s.unacked;
    into.insert(into.end(), b.events.begin(), b.events.end());
  }
  return s;
}

// POSTs `events` in chunks; returns the summed {accepted, duplicates, rejected}.
struct Totals {
  int64_t accepted = 0, duplicates = 0, rejected = 0;
  bool ok = true;
};
inline Totals PostAll(const Server& s, const std::vector<json>& events, size_t chunk = 500) {
  Totals t;
  for (size_t i = 0; i < events.size(); i += chunk) {
    const HttpResponse r = s.Post(Array(events, i, i + chunk));
    const json j = r.Json();
    if (r.status != 200 || !j.is_object() || !j.contains("accepted")) {
      ADD_FAILURE() << "POST /api/v1/events: " << r.Describe();
      t.ok = false;
      return t;
    }
    t.accepted += j["accepted"].get<int64_t>();
    t.duplicates += j["duplicates"].get<int64_t>();
    t.rejected += static_cast<int64_t>(j["rejected"].size());
  }
  return t;
}

}  // namespace qzbb
