// Black-box tests of the qunzhu binary: each test starts the real executable (QZ_BINARY) in a
// fresh temporary data directory, talks HTTP to it on 127.0.0.1 or runs its CLI, and checks the
// answers (status codes, JSON fields, exit codes, output). Nothing here links the product's code.
// On a failure the stdout/stderr of every process the test started are printed.
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

#include "core/image/qr.hpp"
#include "http_client.hpp"
#include "process.hpp"

#ifndef QZ_BINARY
#error "QZ_BINARY must be defined as the path of the qunzhu binary"
#endif

namespace qzbb {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kBinary = QZ_BINARY;
constexpr auto kStartTimeout = 60s;  // generous: sanitizer builds on a loaded 2-core machine
constexpr const char* kPlatform = "sandbox";
constexpr size_t kMaxBody = size_t{16} << 20;

// ---------------------------------------------------------------------------------------------
// Events

// 2026-03-01T00:00:00+08:00 plus `sec` seconds (less than 27 days), written with the offset.
std::string TimeAt(int64_t sec) {
  sec %= 27 * 86400;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-03-%02dT%02d:%02d:%02d+08:00",
                static_cast<int>(1 + sec / 86400), static_cast<int>(sec / 3600 % 24),
                static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
  return buf;
}

std::string MemberKey(int m) { return "u" + std::to_string(m); }
// Display names; unique per member, and a query for one matches only a few others.
std::string MemberName(int m) { return "成员-" + MemberKey(m); }

json BaseEvent(const std::string& id, const std::string& type, int member, int group, int64_t sec) {
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
json MixedEvent(const std::string& id, int64_t n, int members = 300, int groups = 4) {
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

bool IsMessage(const json& e) { return e.at("type") == "message"; }

// `e` (a message) as JSON text with invalid UTF-8 bytes inside its "text" (nlohmann would refuse).
std::string WithInvalidUtf8Text(const json& e) {
  std::string text = e.dump();
  const std::string marker = "条消息";
  text.replace(text.find(marker), marker.size(), "\xff\xfe\xc3");
  return text;
}

std::string ToNdjson(const std::vector<json>& events) {
  std::string out;
  for (const auto& e : events) out += e.dump() + "\n";
  return out;
}

json Array(const std::vector<json>& events, size_t from = 0, size_t to = SIZE_MAX) {
  json a = json::array();
  for (size_t i = from; i < std::min(to, events.size()); ++i) a.push_back(events[i]);
  return a;
}

// The last line of a program's output.
std::string LastLine(std::string out) {
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

// `ingested N events (D duplicates, R rejected) in S s: X events/s`, exactly.
struct IngestSummary {
  long long accepted = -1, duplicates = -1, rejected = -1;
};
std::optional<IngestSummary> ParseIngestSummary(const std::string& line) {
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
::testing::AssertionResult IsIngestAnswer(const HttpResponse& r, int64_t accepted,
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
::testing::AssertionResult IsError(const HttpResponse& r, int status, const std::string& code) {
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
Split SplitBatches(const std::vector<Streamer::Batch>& batches) {
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
Totals PostAll(const Server& s, const std::vector<json>& events, size_t chunk = 500) {
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

// ---------------------------------------------------------------------------------------------
// 1. kill -9 while events stream in: every acknowledged event survives, none is applied twice.

class KillNine : public Blackbox {
 protected:
  void Scenario(const std::vector<std::string>& serve_args);
};

void KillNine::Scenario(const std::vector<std::string>& serve_args) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, serve_args));

  Streamer streamer(server.port, server.token, /*threads=*/2, /*batch_size=*/100, "k9");
  streamer.Start();
  const auto start = Clock::now();
  // Stream for ~1.5 s (or 40 acknowledged batches), and at least until a few batches are acked.
  while ((streamer.acked_batches() < 40 && Clock::now() - start < 1500ms) ||
         (streamer.acked_batches() < 4 && Clock::now() - start < 30s)) {
    std::this_thread::sleep_for(5ms);
  }
  const bool mid_stream = streamer.finished_threads() == 0;
  const ExitStatus killed = server.process->Kill();
  streamer.Stop();
  EXPECT_TRUE(mid_stream) << "a streaming thread stopped before the kill";
  EXPECT_FALSE(killed.exited) << killed.ToString();
  EXPECT_EQ(killed.signal, SIGKILL) << killed.ToString();
  for (const auto& e : streamer.errors()) ADD_FAILURE() << e;

  const auto batches = streamer.batches();
  const Split split = SplitBatches(batches);
  ASSERT_GE(split.acked.size(), 400u) << "too few batches acknowledged before the kill";
  std::printf("[          ] %zu events acknowledged, %zu in flight at the kill\n",
              split.acked.size(), split.unacked.size());

  // Per member: messages acknowledged, and messages sent at all (acknowledged or in flight).
  std::map<int, int64_t> acked_messages, sent_messages;
  std::map<int, std::set<std::string>> acked_ids;
  int64_t sent_message_total = 0;
  auto member_of = [](const json& e) {
    return std::stoi(e.at("member").get<std::string>().substr(1));
  };
  for (const auto& e : split.acked) {
    acked_ids[member_of(e)].insert(e["id"].get<std::string>());
    if (IsMessage(e)) ++acked_messages[member_of(e)];
  }
  for (const auto* list : {&split.acked, &split.unacked}) {
    for (const auto& e : *list) {
      if (IsMessage(e)) {
        ++sent_messages[member_of(e)];
        ++sent_message_total;
      }
    }
  }

  // Restart on the same data directory.
  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data, serve_args));
  const json stats = Stats(restarted);
  ASSERT_FALSE(stats.empty());
  EXPECT_GE(stats["events"].get<int64_t>(), static_cast<int64_t>(split.acked.size()));
  EXPECT_LE(stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));

  // Every acknowledged event is in the log: sending it again is a duplicate, nothing is applied.
  const Totals again = PostAll(restarted, split.acked);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, static_cast<int64_t>(split.acked.size()));
  EXPECT_EQ(again.rejected, 0);
  EXPECT_EQ(Stats(restarted), stats);

  // Members: the message counter equals the messages the log holds for them, each event once.
  std::vector<int> checked;
  for (const auto& [m, n] : acked_messages) {
    if (checked.size() < 10 && n > 0 && (m % 3 == 0 || acked_messages.size() < 30))
      checked.push_back(m);
  }
  ASSERT_FALSE(checked.empty());
  std::map<int, int64_t> member_ids;
  for (const int m : checked) {
    SCOPED_TRACE("member " + MemberKey(m));
    const int64_t id = FindMember(restarted, m);
    ASSERT_NE(id, 0);
    member_ids[m] = id;
    const json profile = Profile(restarted, id);
    ASSERT_FALSE(profile.empty());
    const MemberLog log = ReadMemberLog(restarted, id);
    ASSERT_TRUE(log.ok) << log.error;
    EXPECT_EQ(profile["counters"]["messages"].get<int64_t>(), log.messages);
    EXPECT_GE(log.messages, acked_messages[m]);
    EXPECT_LE(log.messages, sent_messages[m]);
    for (const auto& id_text : log.ids)
      EXPECT_EQ(log.ids.count(id_text), 1u) << id_text << " twice in the log";
    for (const auto& acked_id : acked_ids[m]) {
      EXPECT_EQ(log.ids.count(acked_id), 1u)
          << "acknowledged event " << acked_id << " is not in the member's log";
    }
  }

  // Now the batches that were in flight at the kill: each of their events is new or a duplicate
  // (if its batch had committed), and afterwards every event sent is applied exactly once.
  const Totals rest = PostAll(restarted, split.unacked);
  ASSERT_TRUE(rest.ok);
  EXPECT_EQ(rest.rejected, 0);
  EXPECT_EQ(rest.accepted + rest.duplicates, static_cast<int64_t>(split.unacked.size()));
  EXPECT_EQ(rest.accepted, static_cast<int64_t>(split.acked.size() + split.unacked.size()) -
                               stats["events"].get<int64_t>());
  const json final_stats = Stats(restarted);
  EXPECT_EQ(final_stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));
  for (const int m : checked) {
    SCOPED_TRACE("member " + MemberKey(m));
    const json profile = Profile(restarted, member_ids[m]);
    ASSERT_FALSE(profile.empty());
    EXPECT_EQ(profile["counters"]["messages"].get<int64_t>(), sent_messages[m]);
  }
  const HttpResponse groups = restarted.Get("/api/v1/groups");
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  int64_t group_messages = 0;
  const json group_list = groups.Json();
  ASSERT_TRUE(group_list.contains("groups")) << groups.Describe();
  for (const auto& g : group_list["groups"]) group_messages += g.at("messages").get<int64_t>();
  EXPECT_EQ(group_messages, sent_message_total);

  // A graceful stop, then the log replayed from scratch gives the same state.
  const ExitStatus stopped = restarted.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

// The default, --sync full: a commit is fsynced before the answer.
TEST_F(KillNine, DefaultSyncLosesNoAcknowledgedEventAndAppliesNoneTwice) { Scenario({}); }

// --sync normal is documented to survive a crash of the process (not of the machine).
TEST_F(KillNine, SyncNormalLosesNoAcknowledgedEventAndAppliesNoneTwice) {
  Scenario({"--sync", "normal"});
}

// A graceful stop (SIGTERM) under load: in-flight requests finish, every acknowledged event is
// durable, and the process exits 0.
TEST_F(Blackbox, SigtermUnderLoadKeepsEveryAcknowledgedEvent) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, {"--sync", "normal"}));
  Streamer streamer(server.port, server.token, 2, 50, "term");
  streamer.Start();
  const auto start = Clock::now();
  while (streamer.acked_batches() < 4 && Clock::now() - start < 30s)
    std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(300ms);
  const ExitStatus stopped = server.process->Terminate(60s);
  streamer.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  for (const auto& e : streamer.errors()) ADD_FAILURE() << e;
  const Split split = SplitBatches(streamer.batches());
  ASSERT_GE(split.acked.size(), 200u);

  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  const Totals again = PostAll(restarted, split.acked);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, static_cast<int64_t>(split.acked.size()));
  const json stats = Stats(restarted);
  ASSERT_FALSE(stats.empty());
  EXPECT_GE(stats["events"].get<int64_t>(), static_cast<int64_t>(split.acked.size()));
  EXPECT_LE(stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));
}

// ---------------------------------------------------------------------------------------------
// 2. Idempotence

TEST_F(Blackbox, SameBatchTwiceIsAppliedOnce) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int64_t n = 0; n < 60; ++n)
    events.push_back(MixedEvent("idem-" + std::to_string(n), n, 20, 2));

  ASSERT_TRUE(IsIngestAnswer(server.Post(Array(events)), 60, 0, 0));
  const json stats = Stats(server);
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats["events"], 60);
  EXPECT_EQ(stats["groups"], 2);
  EXPECT_EQ(stats["communities"], 1);
  const int64_t id = FindMember(server, 6 * 7919 % 20);  // event 6 (a message) is about him
  ASSERT_NE(id, 0);
  const json profile = Profile(server, id);
  ASSERT_FALSE(profile.empty());
  EXPECT_GT(profile["counters"]["messages"].get<int64_t>(), 0);

  // The same batch again, as JSON and as NDJSON: all duplicates, nothing changes.
  EXPECT_TRUE(IsIngestAnswer(server.Post(Array(events)), 0, 60, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_TRUE(IsIngestAnswer(server.PostNdjson(ToNdjson(events)), 0, 60, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_EQ(Profile(server, id), profile);

  // A known (platform, id) is a duplicate whatever its body says.
  json changed = events[6];
  changed["member"] = "someone-else";
  changed["text"] = "a different body";
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({changed})), 0, 1, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_EQ(Profile(server, id), profile);

  // The same new event twice in one batch is applied once.
  const json fresh = MixedEvent("idem-fresh", 6, 20, 2);
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({fresh, fresh})), 1, 1, 0));
  json after = Stats(server);
  EXPECT_EQ(after["events"], 61);
  EXPECT_EQ(Profile(server, id)["counters"]["messages"].get<int64_t>(),
            profile["counters"]["messages"].get<int64_t>() + 1);

  // The same id on another platform is another event.
  json other = fresh;
  other["platform"] = "qq";
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({other})), 1, 0, 0));
  EXPECT_EQ(Stats(server)["events"], 62);
}

// The same batch from several clients at once (a platform retrying while the first attempt is
// still in flight): the copies may land in one group commit; each event is applied exactly once.
TEST_F(Blackbox, ConcurrentCopiesOfABatchAreAppliedOnce) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  constexpr int kClients = 4, kRounds = 5, kEvents = 200;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<json> events;
    for (int64_t n = 0; n < kEvents; ++n) {
      events.push_back(MixedEvent("conc-" + std::to_string(round) + "-" + std::to_string(n),
                                  round * kEvents + n, 40, 3));
    }
    const std::string body = Array(events).dump();
    std::vector<HttpResponse> answers(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        answers[static_cast<size_t>(c)] =
            qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
      });
    }
    for (auto& t : clients) t.join();
    int64_t accepted = 0, duplicates = 0;
    for (const auto& r : answers) {
      ASSERT_EQ(r.status, 200) << r.Describe();
      const json j = r.Json();
      accepted += j.value("accepted", int64_t{-1});
      duplicates += j.value("duplicates", int64_t{-1});
      EXPECT_TRUE(j.contains("rejected") && j["rejected"].empty()) << r.body;
    }
    EXPECT_EQ(accepted, kEvents) << "round " << round;
    EXPECT_EQ(duplicates, (kClients - 1) * kEvents) << "round " << round;
  }
  EXPECT_EQ(Stats(server)["events"], kRounds * kEvents);
  const ExitStatus stopped = server.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
}

// Paging through /api/v1/members with `cursor` visits every member once, in ascending id order;
// `group` and `q` filter.
TEST_F(Blackbox, MembersPageWithCursorAndFilter) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int m = 0; m < 45; ++m) {
    events.push_back(BaseEvent("page-" + std::to_string(m), "message", m, m % 3, m));
  }
  ASSERT_TRUE(IsIngestAnswer(server.Post(Array(events)), 45, 0, 0));
  std::vector<int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    const HttpResponse r = server.Get("/api/v1/members?limit=7" + cursor);
    ASSERT_EQ(r.status, 200) << r.Describe();
    const json j = r.Json();
    ASSERT_TRUE(j.contains("members") && j.contains("next_cursor")) << r.body;
    EXPECT_LE(j["members"].size(), 7u);
    for (const auto& m : j["members"]) ids.push_back(m.at("id").get<int64_t>());
    if (j["next_cursor"].is_null()) break;
    cursor = "&cursor=" + (j["next_cursor"].is_string() ? j["next_cursor"].get<std::string>()
                                                        : j["next_cursor"].dump());
  }
  EXPECT_EQ(ids.size(), 45u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size());

  // group: the members active in g1 (members 1, 4, 7, …: 15 of them).
  const HttpResponse groups = server.Get("/api/v1/groups");
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  int64_t g1 = 0;
  const json group_list = groups.Json();
  for (const auto& g : group_list["groups"]) {
    if (g.value("external_id", "") == "g1") g1 = g["id"].get<int64_t>();
  }
  ASSERT_NE(g1, 0) << groups.body;
  const HttpResponse in_g1 = server.Get("/api/v1/members?limit=1000&group=" + std::to_string(g1));
  ASSERT_EQ(in_g1.status, 200) << in_g1.Describe();
  const json in_g1_list = in_g1.Json();
  EXPECT_EQ(in_g1_list["members"].size(), 15u) << in_g1.body;
  for (const auto& m : in_g1_list["members"]) {
    const std::string name = m.value("display_name", "");
    const int k = std::stoi(name.substr(name.rfind('u') + 1));
    EXPECT_EQ(k % 3, 1) << name;
  }
  // q: a substring of display names and of platform ids. "u4" matches u4 and u40…u44.
  const HttpResponse q = server.Get("/api/v1/members?limit=1000&q=u4");
  ASSERT_EQ(q.status, 200) << q.Describe();
  EXPECT_EQ(q.Json()["members"].size(), 6u) << q.body;
  const HttpResponse none = server.Get("/api/v1/members?q=" + UrlEncode("没有这个人"));
  ASSERT_EQ(none.status, 200) << none.Describe();
  EXPECT_TRUE(none.Json()["members"].empty()) << none.body;
}

// docs/events.md: the log keeps each event in canonical form with its original offset and every
// unknown key; /members/{id}/events gives them back newest first with their seq.
TEST_F(Blackbox, MemberEventsComeBackInCanonicalForm) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  json first = BaseEvent("canon-1", "message", 5, 0, 0);
  first["time"] = "2026-03-01T08:00:00.250-05:00";
  first["text"] = "引号 \" 反斜杠 \\ 换行\n";
  first["x_meta"] = {{"nested", json::array({1, 2, 3})}, {"flag", true}};
  json second = BaseEvent("canon-2", "order", 5, 0, 60);
  second["amount"] = "9.9";
  ASSERT_TRUE(IsIngestAnswer(server.Post(json::array({first, second})), 2, 0, 0));
  const int64_t id = FindMember(server, 5);
  ASSERT_NE(id, 0);
  const HttpResponse r = server.Get("/api/v1/members/" + std::to_string(id) + "/events");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const json events = r.Json().value("events", json::array());
  ASSERT_EQ(events.size(), 2u) << r.body;
  EXPECT_GT(events[0].value("seq", 0), events[1].value("seq", 0));  // newest first
  const json& order = events[0];
  const json& message = events[1];
  EXPECT_EQ(order.value("id", ""), "canon-2");
  EXPECT_EQ(order.value("amount", ""), "9.90") << order.dump();
  EXPECT_EQ(order.value("currency", ""), "CNY") << order.dump();
  EXPECT_EQ(message.value("id", ""), "canon-1");
  EXPECT_EQ(message.value("time", ""), "2026-03-01T08:00:00.250-05:00") << message.dump();
  EXPECT_EQ(message.value("text", ""), first["text"].get<std::string>());
  EXPECT_EQ(message.value("x_meta", json()), first["x_meta"]) << message.dump();
  EXPECT_EQ(message.value("kind", ""), "text");
  const json profile = Profile(server, id);
  EXPECT_EQ(profile["counters"].value("orders", 0), 1) << profile.dump();
  EXPECT_EQ(profile["counters"].value("order_amount", ""), "9.90") << profile.dump();
  EXPECT_EQ(profile["counters"].value("messages", 0), 1) << profile.dump();
}

// ---------------------------------------------------------------------------------------------
// 3. Bad input

TEST_F(Blackbox, MalformedBodyIs400AndTheServerKeepsServing) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  for (const std::string body : {"this is not json", "[{\"id\":\"a\"}, {\"id\":\"b\"}] trailing",
                                 "[", "[{\"id\":\"a\"},", "\"just a string\"", "42"}) {
    SCOPED_TRACE(body);
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
    EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
    const json j = r.Json();
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      EXPECT_EQ(j["error"].value("field", ""), "body") << r.body;
    }
  }
  // An empty body and an empty array carry no events.
  EXPECT_TRUE(
      IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", ""), 400,
              "invalid_argument"));
  EXPECT_TRUE(IsError(server.Post(json::array()), 400, "invalid_argument"));
  const HttpResponse health = qzbb::Get(server.port, "/healthz", "");
  EXPECT_EQ(health.status, 200) << health.Describe();
  EXPECT_EQ(health.Json().value("status", ""), "ok") << health.body;
  EXPECT_EQ(Stats(server)["events"], 0);
}

// A body cut off inside an element is not a JSON array either: the same 400 as any other body
// that is not JSON, not a 200 that reports the fragment as a rejected event.
TEST_F(Blackbox, TruncatedJsonArrayIs400) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  const std::string good = MixedEvent("trunc-1", 6).dump();
  for (const std::string& body : std::vector<std::string>{
           "[{\"id\":\"a\",\"type\":\"message\",", "[" + good + ", {\"id\":", "{\"id\":\"a\","}) {
    SCOPED_TRACE(body);
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
    EXPECT_TRUE(IsError(r, 400, "invalid_argument"));
  }
  EXPECT_EQ(Stats(server)["events"], 0) << "part of a malformed body was applied";
}

TEST_F(Blackbox, BadEventsInABatchAreRejectedByIndexAndTheGoodOnesApplied) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  auto good = [](int n) { return MixedEvent("bad-batch-" + std::to_string(n), n, 10, 1).dump(); };
  json wrong_type = MixedEvent("x", 6);
  wrong_type["id"] = 123;
  json missing_id = MixedEvent("x", 7);
  missing_id.erase("id");
  const std::string bad_utf8 = WithInvalidUtf8Text(MixedEvent("bad-utf8", 8));
  json bad_time = MixedEvent("bad-time", 9);
  bad_time["time"] = "2026-03-01 08:00";  // no offset
  json amount_number = MixedEvent("bad-amount", 3);
  amount_number["amount"] = 9.9;
  json bad_type = MixedEvent("bad-type", 10);
  bad_type["type"] = "bogus";
  json no_group = MixedEvent("no-group", 11);
  no_group["type"] = "member_joined";  // a message without a group is a private chat; a join needs one
  no_group.erase("group");
  json bad_via = MixedEvent("bad-via", 0);
  bad_via["via"]["who"] = "u1";

  const std::vector<std::string> items = {
      good(6),               // 0
      wrong_type.dump(),     // 1 id
      good(1),               // 2
      missing_id.dump(),     // 3 id
      bad_utf8,              // 4 text
      good(3),               // 5
      bad_time.dump(),       // 6 time
      amount_number.dump(),  // 7 amount
      bad_type.dump(),       // 8 type
      no_group.dump(),       // 9 group
      good(4),               // 10
      bad_via.dump(),        // 11 via.who
      "42",                  // 12 not an object
  };
  const std::map<size_t, std::string> expected_fields = {{1, "id"},    {3, "id"},       {4, ""},
                                                         {6, "time"},  {7, "amount"},   {8, "type"},
                                                         {9, "group"}, {11, "via.who"}, {12, ""}};
  std::string body = "[";
  for (size_t i = 0; i < items.size(); ++i) body += (i ? ",\n" : "") + items[i];
  body += "]";

  const HttpResponse r =
      qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
  ASSERT_TRUE(IsIngestAnswer(r, 4, 0, expected_fields.size()));
  const json rejected = r.Json()["rejected"];
  auto it = expected_fields.begin();
  for (const auto& rej : rejected) {
    ASSERT_NE(it, expected_fields.end());
    SCOPED_TRACE(rej.dump());
    EXPECT_EQ(rej.value("index", -1), static_cast<int>(it->first)) << "rejections not by index";
    const std::string error = rej.value("error", "");
    EXPECT_FALSE(error.empty());
    if (!it->second.empty()) {
      EXPECT_EQ(error.rfind(it->second + ": ", 0), 0u)
          << "the error does not name the field " << it->second;
      EXPECT_EQ(rej.value("field", ""), it->second);
    }
    if (it->first == 4) {  // which field: see InvalidUtf8IsRejectedNamingTheField
      EXPECT_NE(error.find("UTF-8"), std::string::npos);
    }
    ++it;
  }
  EXPECT_EQ(Stats(server)["events"], 4);

  // NDJSON: the same per-line treatment.
  const std::string ndjson = good(21) + "\n{\"id\": oops\n\n" + good(22) + "\n";
  const HttpResponse nd = server.PostNdjson(ndjson);
  ASSERT_TRUE(IsIngestAnswer(nd, 2, 0, 1));
  EXPECT_EQ(nd.Json()["rejected"][0].value("index", -1), 1) << nd.body;
  EXPECT_EQ(Stats(server)["events"], 6);

  // A batch of nothing but bad events: 200, all rejected, nothing applied.
  const HttpResponse all_bad = server.Post(json::array({bad_time, bad_type}));
  ASSERT_TRUE(IsIngestAnswer(all_bad, 0, 0, 2));
  EXPECT_EQ(Stats(server)["events"], 6);
}

// docs/events.md: "Every error names the field"; invalid UTF-8 is an error. A client sending a
// batch of thousands needs to know which field of which event was wrong.
TEST_F(Blackbox, InvalidUtf8IsRejectedNamingTheField) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  const std::string good = MixedEvent("utf8-good", 6).dump();
  const std::string bad = WithInvalidUtf8Text(MixedEvent("utf8-bad", 8));
  for (const std::string content_type : {"application/json", "application/x-ndjson"}) {
    SCOPED_TRACE(content_type);
    const std::string body = content_type == "application/json" ? "[" + good + "," + bad + "]"
                                                                : good + "\n" + bad + "\n";
    const HttpResponse r =
        qzbb::Post(server.port, "/api/v1/events", server.token, content_type, body);
    ASSERT_TRUE(IsIngestAnswer(r, content_type == "application/json" ? 1 : 0,
                               content_type == "application/json" ? 0 : 1, 1));
    const json rej = r.Json()["rejected"][0];
    EXPECT_EQ(rej.value("index", -1), 1);
    EXPECT_EQ(rej.value("field", ""), "text") << rej.dump();
    EXPECT_EQ(rej.value("error", "").rfind("text: ", 0), 0u) << rej.dump();
  }
  EXPECT_EQ(Stats(server)["events"], 1);
}

TEST_F(Blackbox, ContentTypeBodyLimitAuthAndRoutes) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  const std::string one = json::array({MixedEvent("ct-1", 6)}).dump();

  // Content-Type
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "text/plain", one),
                      415, "unsupported_media_type"));
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", server.token, "", one), 415,
                      "unsupported_media_type"));
  EXPECT_TRUE(IsIngestAnswer(qzbb::Post(server.port, "/api/v1/events", server.token,
                                        "Application/JSON; charset=utf-8", one),
                             1, 0, 0));

  // A body over 16 MiB: 413, and the server goes on serving.
  {
    std::string huge = "[" + std::string(kMaxBody, ' ') + "]";
    HttpRequest req;
    req.method = "POST";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token},
                   {"Content-Type", "application/json"}};
    req.body = std::move(huge);
    const HttpResponse r = Send(server.port, req);
    EXPECT_EQ(r.status, 413) << r.Describe();
    if (r.status == 413 && !r.body.empty()) {
      EXPECT_TRUE(IsError(r, 413, "payload_too_large"));
    }
  }
  EXPECT_EQ(qzbb::Get(server.port, "/healthz", "").status, 200);
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({MixedEvent("ct-2", 7)})), 1, 0, 0));
  // Just under the limit is fine (padding whitespace is valid JSON).
  {
    std::string big = one;
    big.insert(1, std::string(kMaxBody - one.size() - 10, ' '));
    EXPECT_TRUE(IsIngestAnswer(
        qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", big), 0, 1, 0));
  }

  // Authentication
  for (const std::string& auth :
       std::vector<std::string>{"", "Bearer wrong-token", "Basic " + server.token, "Bearer",
                                "Bearer " + server.token + "x"}) {
    SCOPED_TRACE("Authorization: " + auth);
    HttpRequest req;
    req.target = "/api/v1/stats";
    if (!auth.empty()) req.headers.emplace_back("Authorization", auth);
    const HttpResponse r = Send(server.port, req);
    EXPECT_TRUE(IsError(r, 401, "unauthenticated"));
    EXPECT_EQ(r.Header("WWW-Authenticate").rfind("Bearer", 0), 0u) << r.Header("WWW-Authenticate");
  }
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", "", "application/json",
                                 json::array({MixedEvent("no-auth", 8)}).dump()),
                      401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/events", "not-the-token", "application/json",
                                 json::array({MixedEvent("bad-auth", 8)}).dump()),
                      401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Get(server.port, "/metrics", ""), 401, "unauthenticated"));
  EXPECT_TRUE(IsError(qzbb::Get(server.port, "/api/v1/members/1", "nope"), 401, "unauthenticated"));
  EXPECT_EQ(Stats(server)["events"], 2) << "an unauthenticated POST changed the state";

  // A token made with `qunzhu token create` while the server runs works at once.
  const RunResult created = Cli({"token", "create", "--data", data, "--name", "blackbox"});
  ASSERT_EQ(created.status.code, 0) << created.Describe();
  std::string new_token = created.out.substr(0, created.out.find('\n'));
  ASSERT_FALSE(new_token.empty()) << created.Describe();
  EXPECT_EQ(qzbb::Get(server.port, "/api/v1/stats", new_token).status, 200);

  // Metrics
  const HttpResponse metrics = server.Get("/metrics");
  EXPECT_EQ(metrics.status, 200) << metrics.Describe();
  EXPECT_NE(metrics.Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(metrics.body.find("\nqunzhu_module_failures_total{module=\"welcome\"} 0\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nqunzhu_events_ingested_total 2\n"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("\nqunzhu_events_duplicate_total 1\n"), std::string::npos)
      << metrics.body;

  // Routes
  EXPECT_TRUE(IsError(server.Get("/api/v1/nope"), 404, "not_found"));
  // "/" is the operator console (or, when it is not built, a note on building it): public.
  const HttpResponse root = qzbb::Get(server.port, "/", "");
  EXPECT_EQ(root.status, 200) << root.Describe();
  EXPECT_EQ(root.Header("X-Content-Type-Options"), "nosniff");
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/999999"), 404, "not_found"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/1/nope"), 404, "not_found"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members/abc"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?limit=0"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?limit=1001"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/members?q=%zz"), 400, "invalid_argument"));
  {
    HttpRequest req;
    req.method = "DELETE";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token}};
    const HttpResponse r = Send(server.port, req);
    EXPECT_EQ(r.status, 405) << r.Describe();
    EXPECT_EQ(r.Header("Allow"), "POST");
  }
  const HttpResponse get_events = server.Get("/api/v1/events");
  EXPECT_EQ(get_events.status, 405) << get_events.Describe();
  EXPECT_EQ(qzbb::Get(server.port, "/healthz", "").status, 200);
}

// HTTP framing: an upload cut short (the client dies after half the body) applies nothing; a
// chunked request body is read like any other.
TEST_F(Blackbox, CutShortUploadAppliesNothingAndChunkedBodiesWork) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int64_t n = 0; n < 40; ++n) events.push_back(MixedEvent("cut-" + std::to_string(n), n));
  const std::string body = Array(events).dump();
  {
    HttpRequest req;
    req.method = "POST";
    req.target = "/api/v1/events";
    req.headers = {{"Authorization", "Bearer " + server.token},
                   {"Content-Type", "application/json"},
                   {"Content-Length", std::to_string(body.size())}};
    req.body = body.substr(0, body.size() / 2);
    req.shutdown_after_send = true;
    req.timeout = 30s;
    const HttpResponse r = Send(server.port, req);
    // No answer at all, or an error; never a 200.
    EXPECT_TRUE(!r.ok() || r.status >= 400) << r.Describe();
  }
  EXPECT_EQ(Stats(server)["events"], 0) << "part of a cut-short upload was applied";

  HttpRequest chunked;
  chunked.method = "POST";
  chunked.target = "/api/v1/events";
  chunked.headers = {{"Authorization", "Bearer " + server.token},
                     {"Content-Type", "application/x-ndjson"},
                     {"Transfer-Encoding", "chunked"}};
  const std::string ndjson = ToNdjson(events);
  const size_t half = ndjson.size() / 2;  // split mid-line: framing must not depend on chunks
  for (const std::string& part : {ndjson.substr(0, half), ndjson.substr(half)}) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    chunked.body += size + part + "\r\n";
  }
  chunked.body += "0\r\n\r\n";
  EXPECT_TRUE(IsIngestAnswer(Send(server.port, chunked), 40, 0, 0));
  EXPECT_EQ(Stats(server)["events"], 40);
}

// ---------------------------------------------------------------------------------------------
// 4. CLI

TEST_F(Blackbox, CliHelp) {
  const RunResult help = Cli({"--help"});
  EXPECT_EQ(help.status.code, 0) << help.Describe();
  for (const char* word : {"serve", "ingest", "replay", "demo", "init", "token"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word << " missing from --help:\n"
                                                      << help.out;
  }
  const RunResult sub = Cli({"ingest", "--help"});
  EXPECT_EQ(sub.status.code, 0) << sub.Describe();
  EXPECT_NE(sub.out.find("--data"), std::string::npos) << sub.out;
  const RunResult bad = Cli({"no-such-command"});
  EXPECT_NE(bad.status.code, 0) << bad.Describe();
  EXPECT_TRUE(bad.status.exited) << bad.Describe();
}

TEST_F(Blackbox, CliIngestReportsCountsAndRejectedLines) {
  const std::string data = tmp_ / "data";
  const std::string file = tmp_ / "events.ndjson";
  const json a = MixedEvent("cli-a", 6), b = MixedEvent("cli-b", 1), d = MixedEvent("cli-d", 3);
  json c = MixedEvent("cli-c", 7);
  c.erase("member");
  const std::string text = a.dump() + "\n" +    // 1
                           b.dump() + "\r\n" +  // 2 (CRLF is fine)
                           "{\"id\": oops\n" +  // 3 malformed
                           "\n" +               // 4 blank: ignored
                           a.dump() + "\n" +    // 5 duplicate of line 1
                           c.dump() + "\n" +    // 6 no member
                           d.dump();            // 7 no final newline
  ASSERT_TRUE(WriteFile(file, text));

  const RunResult first = Cli({"ingest", "--data", data, file});
  EXPECT_EQ(first.status.code, 0) << first.Describe();
  const std::optional<IngestSummary> s1 = ParseIngestSummary(LastLine(first.out));
  ASSERT_TRUE(s1.has_value()) << first.Describe();
  EXPECT_EQ(s1->accepted, 3);
  EXPECT_EQ(s1->duplicates, 1);
  EXPECT_EQ(s1->rejected, 2);
  // Rejected lines are reported with their line number (and the reason naming the field).
  EXPECT_NE(first.err.find("line 3: "), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("line 6: member"), std::string::npos) << first.err;
  for (const char* good_line : {"line 1:", "line 2:", "line 4:", "line 5:", "line 7:"}) {
    EXPECT_EQ(first.err.find(good_line), std::string::npos) << first.err;
  }

  // Again, from standard input: everything is a duplicate now.
  const RunResult second = Cli({"ingest", "--data", data, "-"}, 120s, file);
  EXPECT_EQ(second.status.code, 0) << second.Describe();
  const std::optional<IngestSummary> s2 = ParseIngestSummary(LastLine(second.out));
  ASSERT_TRUE(s2.has_value()) << second.Describe();
  EXPECT_EQ(s2->accepted, 0);
  EXPECT_EQ(s2->duplicates, 4);
  EXPECT_EQ(s2->rejected, 2);

  const RunResult missing = Cli({"ingest", "--data", data, tmp_ / "no-such-file.ndjson"});
  EXPECT_TRUE(missing.status.exited && missing.status.code != 0) << missing.Describe();

  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();

  // The server sees what the CLI ingested.
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  EXPECT_EQ(Stats(server)["events"], 3);
}

TEST_F(Blackbox, CliDemoThenReplayMatches) {
  const std::string data = tmp_ / "demo";
  const RunResult demo = Cli({"demo", "--data", data, "--members", "300", "--days", "7"});
  ASSERT_EQ(demo.status.code, 0) << demo.Describe();
  long long events = -1, demo_duplicates = -1, demo_rejected = -1;
  const size_t at = demo.out.find("demo community loaded: ");
  ASSERT_NE(at, std::string::npos) << demo.Describe();
  ASSERT_EQ(std::sscanf(demo.out.c_str() + at,
                        "demo community loaded: %lld events (%lld duplicates, %lld rejected)",
                        &events, &demo_duplicates, &demo_rejected),
            3)
      << demo.Describe();
  EXPECT_EQ(demo_rejected, 0);
  const std::string duplicates = std::to_string(demo_duplicates);
  EXPECT_GT(events, 300);

  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
  EXPECT_NE(replay.out.find("replayed " + std::to_string(events) + " events"), std::string::npos)
      << replay.Describe();

  // The same seed writes the same NDJSON; ingesting it elsewhere gives the same number of events.
  const std::string out1 = tmp_ / "demo1.ndjson", out2 = tmp_ / "demo2.ndjson";
  const RunResult w1 = Cli({"demo", "--members", "300", "--days", "7", "--out", out1});
  const RunResult w2 = Cli({"demo", "--members", "300", "--days", "7", "--out", out2});
  ASSERT_EQ(w1.status.code, 0) << w1.Describe();
  ASSERT_EQ(w2.status.code, 0) << w2.Describe();
  const std::string nd = ReadFile(out1);
  EXPECT_FALSE(nd.empty());
  EXPECT_TRUE(nd == ReadFile(out2)) << "demo --out is not deterministic";
  const RunResult ingest = Cli({"ingest", "--data", tmp_ / "from-ndjson", out1});
  EXPECT_EQ(ingest.status.code, 0) << ingest.Describe();
  EXPECT_NE(ingest.out.find("ingested " + std::to_string(events) + " events (" + duplicates +
                            " duplicates, 0 rejected)"),
            std::string::npos)
      << ingest.Describe();

  // The server agrees with the demo's count.
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  const json stats = Stats(server);
  EXPECT_EQ(stats["events"], events);
  EXPECT_EQ(stats["communities"], 2);  // the camp and the fan community
  EXPECT_GT(stats["members"].get<int64_t>(), 0);
  EXPECT_GE(stats["groups"].get<int64_t>(),
            4);  // at least one WeCom/QQ camp and Telegram/QQ fan group
}

TEST_F(Blackbox, AGroupIsBoundToACommunityAndReplayAgrees) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  auto put = [&](const std::string& target, const std::string& body,
                 const std::string& type = "application/json") {
    HttpRequest r;
    r.method = "PUT";
    r.target = target;
    r.headers = {{"Authorization", "Bearer " + server.token}, {"Content-Type", type}};
    r.body = body;
    return qzbb::Send(server.port, r);
  };
  // The group is seen first (in the default community), then bound to camp.
  const json seen = json::array(
      {{{"id", "m1"}, {"type", "message"}, {"time", "2026-03-01T08:00:00+08:00"},
        {"platform", "qq"}, {"group", "g9"}, {"member", "u1"}, {"name", "小明"}, {"text", "你好"}}});
  ASSERT_TRUE(IsIngestAnswer(server.Post(seen), 1, 0, 0));
  ASSERT_EQ(put("/api/v1/communities/camp/playbook",
                "[community]\nslug = \"camp\"\nname = \"Camp\"\n", "application/toml")
                .status,
            200);
  // Bad input names the field and binds nothing.
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":"nowhere"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":1})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":"camp","x":1})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", "[]"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/QQ/g9", R"({"community":"camp"})"), 400, "invalid_argument"));
  HttpRequest anonymous;
  anonymous.method = "PUT";
  anonymous.target = "/api/v1/groups/qq/g9";
  anonymous.headers = {{"Content-Type", "application/json"}};
  anonymous.body = R"({"community":"camp"})";
  EXPECT_EQ(qzbb::Send(server.port, anonymous).status, 401);

  const HttpResponse bound = put("/api/v1/groups/qq/g9", R"({"community":"camp"})");
  ASSERT_EQ(bound.status, 200) << bound.Describe();
  const json communities = server.Get("/api/v1/communities").Json()["communities"];
  int64_t camp = 0;
  for (const json& c : communities) {
    if (c["slug"] == "camp") camp = c["id"];
  }
  ASSERT_NE(camp, 0) << communities.dump();
  EXPECT_EQ(bound.Json()["community_id"], camp);
  EXPECT_EQ(bound.Json()["member_count"], 1);
  EXPECT_EQ(bound.Json()["bot_present"], true);
  // The group's next event belongs to camp; its member came along.
  const json next = json::array(
      {{{"id", "m2"}, {"type", "message"}, {"time", "2026-03-01T09:00:00+08:00"},
        {"platform", "qq"}, {"group", "g9"}, {"member", "u1"}, {"text", "我在"}}});
  ASSERT_TRUE(IsIngestAnswer(server.Post(next), 1, 0, 0));
  const json members =
      server.Get("/api/v1/members?community=" + std::to_string(camp)).Json()["members"];
  ASSERT_EQ(members.size(), 1u) << members.dump();
  EXPECT_EQ(members[0]["display_name"], "小明");
  // A group not seen yet can be bound before the bot joins it.
  const HttpResponse early = put("/api/v1/groups/qq/g10", R"({"community":"camp"})");
  ASSERT_EQ(early.status, 200) << early.Describe();
  EXPECT_EQ(early.Json()["community_id"], camp);

  ASSERT_TRUE(server.process->Terminate(60s).ok());
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

// ---------------------------------------------------------------------------------------------
// 5. Restart

TEST_F(Blackbox, GracefulRestartKeepsTheState) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  std::vector<json> events;
  for (int64_t n = 0; n < 600; ++n)
    events.push_back(MixedEvent("restart-" + std::to_string(n), n, 50, 3));
  const Totals t = PostAll(server, events, 200);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.accepted, 600);

  const json stats = Stats(server);
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats["events"], 600);
  const int64_t id = FindMember(server, 7);
  ASSERT_NE(id, 0);
  const json profile = Profile(server, id);
  ASSERT_FALSE(profile.empty());
  const HttpResponse member_events =
      server.Get("/api/v1/members/" + std::to_string(id) + "/events?limit=5");
  const HttpResponse groups = server.Get("/api/v1/groups");
  const HttpResponse communities = server.Get("/api/v1/communities");
  const HttpResponse members = server.Get("/api/v1/members?limit=1000");
  ASSERT_EQ(member_events.status, 200) << member_events.Describe();
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  ASSERT_EQ(communities.status, 200) << communities.Describe();
  ASSERT_EQ(members.status, 200) << members.Describe();
  int64_t max_id = 0;
  const json member_list = members.Json();
  for (const auto& mem : member_list["members"])
    max_id = std::max(max_id, mem["id"].get<int64_t>());
  EXPECT_EQ(member_list["members"].size(), stats["members"].get<size_t>());
  const std::string token_before = ReadFile(data + "/admin.token");

  const ExitStatus stopped = server.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();

  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  EXPECT_EQ(ReadFile(data + "/admin.token"), token_before);
  EXPECT_EQ(Stats(restarted), stats);
  EXPECT_EQ(Profile(restarted, id), profile);
  EXPECT_EQ(restarted.Get("/api/v1/members/" + std::to_string(id) + "/events?limit=5").Json(),
            member_events.Json());
  EXPECT_EQ(restarted.Get("/api/v1/groups").Json(), groups.Json());
  EXPECT_EQ(restarted.Get("/api/v1/communities").Json(), communities.Json());
  EXPECT_EQ(restarted.Get("/api/v1/members?limit=1000").Json(), members.Json());

  // The reloaded state carries on: counters continue, new ids follow the old ones.
  json next = BaseEvent("restart-next", "message", 7, 0, 99999);
  next["text"] = "after the restart";
  json newcomer = BaseEvent("restart-newcomer", "member_joined", 1000, 0, 99999);
  ASSERT_TRUE(IsIngestAnswer(restarted.Post(json::array({next, newcomer})), 2, 0, 0));
  EXPECT_EQ(Profile(restarted, id)["counters"]["messages"].get<int64_t>(),
            profile["counters"]["messages"].get<int64_t>() + 1);
  const int64_t newcomer_id = FindMember(restarted, 1000);
  EXPECT_EQ(newcomer_id, max_id + 1);
  const json after = Stats(restarted);
  EXPECT_EQ(after["events"], 602);
  EXPECT_EQ(after["members"].get<int64_t>(), stats["members"].get<int64_t>() + 1);

  const ExitStatus stopped2 = restarted.process->Terminate(60s);
  EXPECT_TRUE(stopped2.ok()) << stopped2.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

// ---------------------------------------------------------------------------------------------
// The first module end to end: a member joins a sandbox group through the API, and the bot's
// welcome (from the playbook given at start) appears in the group's conversation, delivered
// through the outbox by the background delivery thread.

constexpr const char* kWelcomePlaybook = R"([community]
slug = "camp"
name = "7天成长营"
rules = "1. 不发广告 2. 改群昵称"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "成长营1群"

[welcome]
text = "欢迎 {member.name} 加入{group.name}！群规：{group.rules}"
)";

// Polls the sandbox conversation of `group` until a bot message appears (or ~20 s pass).
json WaitForBotMessage(const Server& s, const std::string& group) {
  for (int i = 0; i < 200; ++i) {
    const HttpResponse r = s.Get("/api/v1/sandbox/groups/" + group + "/messages?limit=1000");
    const json j = r.Json();
    if (r.status == 200 && j.contains("messages")) {
      for (const json& m : j["messages"]) {
        if (m.value("kind", "") == "bot") return m;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  return json();
}

TEST_F(Blackbox, SandboxJoinIsWelcomedThroughTheOutbox) {
  const std::string playbook = tmp_ / "camp.toml";
  ASSERT_TRUE(WriteFile(playbook, kWelcomePlaybook));
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, {"--playbook", playbook}));

  const HttpResponse join =
      qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token,
                 "application/json", R"({"member":"u1","name":"小明"})");
  ASSERT_EQ(join.status, 200) << join.Describe();
  EXPECT_EQ(join.Json()["accepted"], 1) << join.body;

  const json welcome = WaitForBotMessage(server, "camp-1");
  ASSERT_TRUE(welcome.is_object()) << "no welcome appeared in camp-1";
  EXPECT_EQ(welcome["text"], "欢迎 小明 加入成长营1群！群规：1. 不发广告 2. 改群昵称");

  // The action is recorded with its cause and becomes done. The sandbox shows the message as
  // soon as the platform call returns; the outbox row is marked done right after: wait for it.
  HttpResponse actions;
  json list = json::array();
  for (int i = 0; i < 200 && list.empty(); ++i) {
    actions = server.Get("/api/v1/actions?status=done");
    ASSERT_EQ(actions.status, 200) << actions.Describe();
    list = actions.Json()["actions"];
    if (list.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(list.size(), 1u) << actions.body;
  EXPECT_EQ(list[0]["type"], "send_message");
  EXPECT_EQ(list[0]["action"]["rule"], "welcome");
  EXPECT_EQ(list[0]["action"]["cause_event"], "sandbox:" + join.Json()["event"]["id"].get<std::string>());

  // A malformed sandbox request names the field.
  const HttpResponse bad = qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/messages",
                                      server.token, "application/json", R"({"member":"u1"})");
  EXPECT_TRUE(IsError(bad, 400, "invalid_argument")) << bad.body;
  EXPECT_EQ(bad.Json()["error"]["field"], "text") << bad.body;

  // After a restart the playbook is still in force and new sandbox events are new (their ids
  // do not repeat the first run's), so the next member is welcomed too.
  server.process->Terminate();
  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  const HttpResponse second =
      qzbb::Post(restarted.port, "/api/v1/sandbox/groups/camp-1/join", restarted.token,
                 "application/json", R"({"member":"u2","name":"小红"})");
  ASSERT_EQ(second.status, 200) << second.Describe();
  EXPECT_EQ(second.Json()["accepted"], 1) << second.body;
  bool welcomed = false;
  for (int i = 0; i < 200 && !welcomed; ++i) {
    const json j = restarted.Get("/api/v1/sandbox/groups/camp-1/messages?limit=1000").Json();
    for (const json& m : j.value("messages", json::array())) {
      if (m.value("kind", "") == "bot" && m.value("text", "").find("欢迎 小红") == 0) welcomed = true;
    }
    if (!welcomed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(welcomed) << "the member who joined after the restart was not welcomed";
}

}  // namespace
}  // namespace qzbb

namespace qzbb {
namespace {

constexpr const char* kInvitesPlaybook = R"([community]
slug = "default"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "营1"
type = "core_user"
capacity = 1
invite = "https://t.me/+camp1"

[[groups]]
platform = "sandbox"
id = "camp-2"
name = "营2"
type = "core_user"
capacity = 1
invite = "https://t.me/+camp2"

[invites]
base_url = "https://qz.example.com"

[[invites.live]]
code = "camp"
name = "成长营"
group_type = "core_user"
overflow = "营{n}"

[[invites.keywords]]
keywords = ["入群"]
live = "camp"
)";

TEST_F(Blackbox, InviteCodesRecordJoinsDrawQrCodesAndLiveCodesOverflow) {
  const std::string playbook = tmp_ / "invites.toml";
  ASSERT_TRUE(WriteFile(playbook, kInvitesPlaybook));
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data", {"--playbook", playbook}));
  auto post = [&](const std::string& body) {
    return qzbb::Post(server.port, "/api/v1/invites", server.token, "application/json", body);
  };

  // A channel code for a group of this community.
  const HttpResponse created = post(R"({"group":"sandbox:camp-1","channel":"海报","operator":"ops"})");
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string code = created.Json()["code"];
  EXPECT_EQ(code.size(), 10u);
  EXPECT_EQ(created.Json()["url"], "https://qz.example.com/j/" + code);
  EXPECT_EQ(created.Json()["channel"], "海报");
  EXPECT_EQ(created.Json()["joins"], 0);
  // Bad input names the field and leaves nothing behind.
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:nowhere"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","colour":"red"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","code":"a b"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","code":"camp"})"), 409, "already_exists"));
  EXPECT_EQ(qzbb::Post(server.port, "/api/v1/invites", "", "application/json", "{}").status, 401);

  // A join by the code is recorded with its channel.
  const HttpResponse join = qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token,
                                       "application/json", R"({"member":"u1","name":"小明","code":")" + code + "\"}");
  ASSERT_EQ(join.status, 200) << join.Describe();
  json got;
  for (int i = 0; i < 100; ++i) {
    got = server.Get("/api/v1/invites/" + code).Json();
    if (got.value("joins", 0) == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(got["joins"], 1) << got.dump();
  ASSERT_EQ(got["join_list"].size(), 1u) << got.dump();
  EXPECT_EQ(got["join_list"][0]["member"], "sandbox:u1");
  EXPECT_EQ(got["join_list"][0]["name"], "小明");
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/nosuchcode"), 404, "not_found"));
  // Joins page by member.
  ASSERT_EQ(qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token, "application/json",
                       R"({"member":"u3","name":"小李","code":")" + code + "\"}")
                .status,
            200);
  for (int i = 0; i < 100 && server.Get("/api/v1/invites/" + code).Json().value("joins", 0) < 2; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  const json first = server.Get("/api/v1/invites/" + code + "?limit=1").Json();
  ASSERT_EQ(first["join_list"].size(), 1u) << first.dump();
  EXPECT_EQ(first["next_cursor"], "sandbox:u1");
  const json second = server.Get("/api/v1/invites/" + code + "?limit=1&cursor=sandbox:u1").Json();
  ASSERT_EQ(second["join_list"].size(), 1u) << second.dump();
  EXPECT_EQ(second["join_list"][0]["member"], "sandbox:u3");
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/" + code + "?limit=0"), 400, "invalid_argument"));

  // Its QR code, read back from the PNG; the SVG draws it too.
  const HttpResponse png = server.Get("/api/v1/invites/" + code + "/qr?format=png");
  ASSERT_EQ(png.status, 200) << png.Describe();
  EXPECT_EQ(png.headers.at("content-type"), "image/png");
  auto decoded = qz::DecodeQrCodes(png.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0], "https://qz.example.com/j/" + code);
  const HttpResponse svg = server.Get("/api/v1/invites/" + code + "/qr?format=svg");
  EXPECT_EQ(svg.headers.at("content-type"), "image/svg+xml");
  EXPECT_EQ(svg.body.rfind("<svg", 0), 0u);
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/" + code + "/qr?format=gif"), 400, "invalid_argument"));

  // The public landing address needs no token: a 302 to the group's link.
  const HttpResponse land = qzbb::Get(server.port, "/j/" + code, "");
  EXPECT_EQ(land.status, 302) << land.Describe();
  EXPECT_EQ(land.headers.at("location"), "https://t.me/+camp1");

  // 关键词拉群 in a private chat with the bot: camp-1 is full, so the keyword hands out camp-2.
  const HttpResponse dm = qzbb::Post(server.port, "/api/v1/sandbox/direct", server.token, "application/json",
                                     R"({"member":"u9","name":"阿九","text":" 入 群！"})");
  ASSERT_EQ(dm.status, 200) << dm.Describe();
  EXPECT_EQ(dm.Json()["event"].count("group"), 0u) << dm.body;
  json chat;
  for (int i = 0; i < 100; ++i) {
    chat = server.Get("/api/v1/sandbox/direct/u9").Json();
    if (chat.value("messages", json::array()).size() >= 2) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(chat["messages"].size(), 2u) << chat.dump();
  EXPECT_EQ(chat["messages"][0]["text"], " 入 群！");
  EXPECT_EQ(chat["messages"][1]["kind"], "direct");
  EXPECT_NE(chat["messages"][1]["text"].get<std::string>().find("https://t.me/+camp2"), std::string::npos)
      << chat.dump();
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/sandbox/direct", server.token, "application/json",
                                 R"({"member":"u9"})"),
                      400, "invalid_argument"));

  // The live code: camp-1 is full (u1), so camp-2; then both full: a page and an operator task.
  {
    const HttpResponse second = qzbb::Get(server.port, "/j/camp", "");
    EXPECT_EQ(second.status, 302) << second.Describe();
    if (second.status == 302) {
      EXPECT_EQ(second.headers.at("location"), "https://t.me/+camp2");
    }
  }
  ASSERT_EQ(qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-2/join", server.token, "application/json",
                       R"({"member":"u2","name":"小红","code":"camp"})")
                .status,
            200);
  HttpResponse full;
  for (int i = 0; i < 100; ++i) {
    full = qzbb::Get(server.port, "/j/camp", "");
    if (full.status == 503) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(full.status, 503) << full.Describe();
  EXPECT_NE(full.body.find("营3"), std::string::npos) << full.body;
  const json live = server.Get("/api/v1/invites/camp").Json();
  EXPECT_EQ(live["kind"], "live");
  EXPECT_EQ(live["hands_out"], nullptr);
  EXPECT_EQ(live["next_overflow"], "营3");
  EXPECT_EQ(live["groups"].size(), 2u);
  const json tasks = server.Get("/api/v1/tasks").Json();
  int asked = 0;
  for (const json& t : tasks.value("tasks", json::array())) {
    if (t.value("reason", "").find("create group 营3") != std::string::npos) ++asked;
  }
  EXPECT_EQ(asked, 1) << tasks.dump();
}

}  // namespace
}  // namespace qzbb

namespace qzbb {
namespace {

TEST_F(Blackbox, BroadcastsGoToEachGroupAndShowTheirDelivery) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  auto post = [&](const std::string& target, const std::string& body) {
    return qzbb::Post(server.port, target, server.token, "application/json", body);
  };
  for (const char* g : {"g1", "g2"}) {
    ASSERT_EQ(post(std::string("/api/v1/sandbox/groups/") + g + "/join", R"({"member":"u1","name":"小明"})").status, 200);
  }
  // Bad input names the field and creates nothing.
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"groups":["sandbox:g1"]})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["g1"]})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"tag":"a"})"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"at":"tomorrow"})"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"colour":1})"), 400,
                      "invalid_argument"));

  const HttpResponse now = post("/api/v1/broadcasts", R"({"text":{"zh":"通知：今晚直播","en":"Live tonight"},"groups":["sandbox:g1","sandbox:g2"]})");
  ASSERT_EQ(now.status, 201) << now.Describe();
  EXPECT_EQ(now.Json()["status"], "sent");
  EXPECT_EQ(now.Json()["groups"], 2);
  const std::string id = now.Json()["id"];
  json got;
  for (int i = 0; i < 100; ++i) {
    got = server.Get("/api/v1/broadcasts/" + id).Json();
    if (got["delivery"].value("done", 0) == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(got["delivery"]["done"], 2) << got.dump();
  ASSERT_EQ(got["deliveries"].size(), 2u) << got.dump();
  EXPECT_EQ(got["deliveries"][0]["group"], "sandbox:g1");
  EXPECT_EQ(got["deliveries"][0]["status"], "done");
  const json bot = WaitForBotMessage(server, "g2");
  ASSERT_TRUE(bot.is_object());
  EXPECT_EQ(bot["text"], "通知：今晚直播");

  // A scheduled one can be cancelled once.
  const HttpResponse later = post("/api/v1/broadcasts", R"({"text":"明天见","groups":["sandbox:g1"],"at":"2099-01-01T08:00:00+08:00"})");
  ASSERT_EQ(later.status, 201) << later.Describe();
  EXPECT_EQ(later.Json()["status"], "scheduled");
  const std::string later_id = later.Json()["id"];
  const HttpResponse cancelled = post("/api/v1/broadcasts/" + later_id + "/cancel", "{}");
  ASSERT_EQ(cancelled.status, 200) << cancelled.Describe();
  EXPECT_EQ(cancelled.Json()["status"], "cancelled");
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts/" + later_id + "/cancel", "{}"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/broadcasts/nope"), 404, "not_found"));
}

}  // namespace
}  // namespace qzbb
