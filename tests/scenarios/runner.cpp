// The scenario runner: reads one .qzt file (see README.md), drives a real node on virtual time
// with simulated platforms, and checks the bot's behaviour. Exit 0 when every expectation held;
// else prints "file:line: expected …, got …" and exits 1.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "app/node.hpp"
#include "engine/recurrence.hpp"
#include "engine/replay.hpp"
#include "platform/sandbox/sandbox.hpp"

namespace qz {
namespace {

namespace fs = std::filesystem;

struct Failure {
  std::string message;
};

// What the simulation reports itself (an approved applicant's join, a member list) as events of
// the simulated platform: the sandbox names itself "sandbox", as the member side does (Ingest).
class RenamingSink final : public EventSink {
 public:
  RenamingSink(std::string platform, EventSink& sink)
      : platform_(std::move(platform)), sink_(sink) {}
  void Submit(std::vector<Event> events, Done done) override {
    if (platform_ != "sandbox") {
      for (Event& e : events) {
        e.id = platform_ + e.id.substr(e.id.find(':'));
        e.platform = platform_;
      }
    }
    sink_.Submit(std::move(events), std::move(done));
  }

 private:
  std::string platform_;
  EventSink& sink_;
};

// The node's adapter for a simulated platform. The simulation (a SandboxPlatform) belongs to
// the runner and outlives the node, as a real platform outlives a restart; each node owns one
// of these, which declares the scenario's capabilities (fewer than the sandbox's, e.g. a WeCom
// customer group that cannot remove members) and rate limits (`limit`), and forwards actions.
class SimulatedPlatform final : public PlatformAdapter {
 public:
  SimulatedPlatform(std::string name, Capabilities caps, RateLimits limits, SandboxPlatform& sandbox)
      : name_(std::move(name)), caps_(caps), limits_(limits), sandbox_(sandbox) {}
  std::string_view platform() const override { return name_; }
  Capabilities capabilities() const override { return caps_; }
  RateLimits rate_limits() const override { return limits_; }
  // The members' events come from the scenario's directives; what the platform reports after
  // an action goes to this node until it stops.
  Status Start(EventSink& sink) override {
    sink_ = std::make_unique<RenamingSink>(name_, sink);
    return sandbox_.Start(*sink_);
  }
  void Stop() override { sandbox_.Stop(); }
  PerformResult Perform(const OutboxRecord& record) override { return sandbox_.Perform(record); }

 private:
  std::string name_;
  Capabilities caps_;
  RateLimits limits_;
  SandboxPlatform& sandbox_;
  std::unique_ptr<RenamingSink> sink_;
};

struct Platform {
  std::unique_ptr<SandboxPlatform> sandbox;
  Capabilities caps;
};

// Splits a directive into words; "quoted strings" (with \" and \n) are one word each, and a
// word of the form key="value" keeps its key.
std::vector<std::string> Words(std::string_view line) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size() || line[i] == '#') break;
    std::string word;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (line[i] == '"') {
        ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            word += line[i] == 'n' ? '\n' : line[i];
          } else {
            word += line[i];
          }
          ++i;
        }
        ++i;  // closing quote
      } else {
        word += line[i++];
      }
    }
    words.push_back(std::move(word));
  }
  return words;
}

TimeMs ParseDuration(const std::string& text) {
  if (text.size() < 2) throw Failure{fmt::format("'{}' is not a duration like 90s, 10m, 2h, 1d", text)};
  const char unit = text.back();
  // The whole number before the unit ("15h59m" is no duration: not 15 minutes).
  int64_t n = 0;
  const char* end = text.data() + text.size() - 1;
  const auto [stop, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || stop != end) {
    throw Failure{fmt::format("'{}' is not a duration like 90s, 10m, 2h, 1d", text)};
  }
  switch (unit) {
    case 's': return n * 1000;
    case 'm': return n * 60 * 1000;
    case 'h': return n * 3600 * 1000;
    case 'd': return n * 86400 * 1000;
  }
  throw Failure{fmt::format("'{}': the unit must be s, m, h or d", text)};
}

class Runner {
 public:
  Runner(std::string file, std::string source_dir)
      : file_(std::move(file)), source_dir_(std::move(source_dir)), clock_(0) {
    std::string tmpl = (fs::temp_directory_path() / "qz-scenario-XXXXXX").string();
    data_dir_ = mkdtemp(tmpl.data());
  }
  ~Runner() {
    node_.reset();
    std::error_code ec;
    fs::remove_all(data_dir_, ec);
  }

  int Run() {
    std::ifstream in(file_);
    if (!in) {
      std::cerr << file_ << ": cannot read\n";
      return 1;
    }
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    size_t i = 0;
    try {
      for (; i < lines.size(); ++i) {
        line_ = i + 1;
        raw_line_ = lines[i];
        auto w = Words(lines[i]);
        if (w.empty()) continue;
        if (w[0] == "playbook" && w.size() == 2 && w[1] == "<<") {
          std::string text;
          for (++i; i < lines.size() && lines[i] != ">>"; ++i) text += lines[i] + "\n";
          if (i >= lines.size()) throw Failure{"playbook << without a closing >> line"};
          Playbook(text, fmt::format("{}:{}", file_, line_));
          continue;
        }
        Step(w);
      }
      EnsureNode();
      node_->RunDue();
    } catch (const Failure& f) {
      std::cerr << file_ << ":" << line_ << ": " << f.message << "\n";
      return 1;
    }
    std::cout << file_ << ": " << expectations_ << " expectations held\n";
    return 0;
  }

 private:
  void EnsureNode() {
    if (node_) return;
    if (clock_.Now() == 0) clock_.Set(Local("2026-03-01 08:00"));
    if (!platforms_.contains("sandbox")) AddPlatform("sandbox", Capabilities::All(), true);
    NodeOptions o;
    o.data_dir = data_dir_;
    o.sync = SyncMode::kNormal;
    o.clock = &clock_;
    o.background = false;
    for (auto& [name, p] : platforms_) {
      o.adapters.push_back(std::make_unique<SimulatedPlatform>(name, p.caps, limits_[name], *p.sandbox));
    }
    auto node = Node::Open(std::move(o));
    if (!node.ok()) throw Failure{"cannot start the node: " + node.status().ToString()};
    node_ = std::move(*node);
  }

  void AddPlatform(const std::string& name, Capabilities caps, bool dedupe) {
    if (node_) throw Failure{"platforms must be declared before the first event"};
    Platform p;
    p.sandbox = std::make_unique<SandboxPlatform>(clock_);
    p.caps = caps;
    p.caps.dedupes_sends = dedupe;
    platforms_[name] = std::move(p);
  }

  Platform& PlatformOf(const std::string& name) {
    auto it = platforms_.find(name);
    if (it == platforms_.end()) throw Failure{fmt::format("unknown platform '{}'", name)};
    return it->second;
  }

  TimeMs Local(const std::string& text) {
    auto t = LocalToUtc(text, tz_);
    if (!t.ok()) throw Failure{t.status().ToString()};
    return *t;
  }

  void Playbook(const std::string& toml, const std::string& source) {
    EnsureNode();
    Status st = node_->ApplyPlaybook(toml, source);
    if (!st.ok()) throw Failure{"playbook rejected: " + st.message()};
    RunUntil(clock_.Now());
  }

  // Moves the clock to `target`, firing timers and delivering actions at each due time on the
  // way, as a running node would.
  void RunUntil(TimeMs target) {
    EnsureNode();
    for (int guard = 0; guard < 1000000; ++guard) {
      auto r = node_->RunDue();
      if (r.next_due == 0 || r.next_due > target) break;
      clock_.Set(std::max(clock_.Now(), r.next_due));
    }
    if (target > clock_.Now()) clock_.Set(target);
    node_->RunDue();
  }

  static std::map<std::string, std::string> Options(const std::vector<std::string>& w, size_t from) {
    std::map<std::string, std::string> o;
    for (size_t i = from; i < w.size(); ++i) {
      const size_t eq = w[i].find('=');
      if (eq == std::string::npos) throw Failure{fmt::format("expected key=value, got '{}'", w[i])};
      o[w[i].substr(0, eq)] = w[i].substr(eq + 1);
    }
    return o;
  }

  void Ingest(Result<Event> event, const std::string& platform) {
    if (!event.ok()) throw Failure{"the platform refused: " + event.status().ToString()};
    Event e = std::move(*event);
    if (platform != "sandbox") {
      e.id = platform + e.id.substr(e.id.find(':'));
      e.platform = platform;
    }
    IngestBatch batch;
    batch.json.push_back(EventToJson(e));
    batch.events.push_back(std::move(e));
    batch.indexes.push_back(0);
    Submit(std::move(batch));
  }

  void Submit(IngestBatch batch) {
    auto r = node_->ingest().SubmitAndWait(std::move(batch));
    if (!r.status.ok()) throw Failure{"ingest failed: " + r.status.ToString()};
    if (!r.rejected.empty()) throw Failure{"event rejected: " + r.rejected[0].error.ToString()};
    last_duplicates_ = r.duplicates;
    RunUntil(clock_.Now());
  }

  void Step(const std::vector<std::string>& w) {
    const std::string& d = w[0];
    if (d == "tz" && w.size() == 2) {
      tz_ = w[1];
    } else if (d == "playbook" && w.size() == 2) {
      std::ifstream in(fs::path(source_dir_) / w[1]);
      if (!in) throw Failure{fmt::format("cannot read playbook {}", w[1])};
      std::stringstream text;
      text << in.rdbuf();
      Playbook(text.str(), w[1]);
    } else if (d == "platform" && w.size() >= 3) {
      auto o = Options(w, 2);
      Capabilities caps;
      std::stringstream list(o["caps"]);
      for (std::string name; std::getline(list, name, ',');) {
        auto t = ParseActionType(name);
        if (!t) throw Failure{fmt::format("unknown action type '{}' in caps", name)};
        caps.Add(*t);
      }
      AddPlatform(w[1], caps, o["dedupe"] != "no");
    } else if (d == "limit" && w.size() >= 3) {
      if (node_) throw Failure{"limits must be set before the first event"};
      auto o = Options(w, 2);
      RateLimits& l = limits_[w[1]];
      if (o.contains("per_second")) l.per_second = std::stod(o["per_second"]);
      if (o.contains("per_chat_per_second")) l.per_chat_per_second = std::stod(o["per_chat_per_second"]);
      if (o.contains("per_chat_per_minute")) l.per_chat_per_minute = std::stod(o["per_chat_per_minute"]);
    } else if (d == "fail" && w.size() >= 3) {
      SandboxFailures f;
      f.fail_percent = std::stoi(w[2]);
      auto o = Options(w, 3);
      if (o.contains("retry_after")) f.retry_after_ms = ParseDuration(o["retry_after"]);
      PlatformOf(w[1]).sandbox->SetFailures(f);
    } else if (d == "at" && w.size() >= 3) {
      const TimeMs t = Local(w[1] + " " + w[2]);
      if (!node_) {
        clock_.Set(t);
      } else if (t < clock_.Now()) {
        throw Failure{"time cannot go backwards"};
      } else {
        RunUntil(t);
      }
    } else if (d == "advance" && w.size() == 2) {
      EnsureNode();
      RunUntil(clock_.Now() + ParseDuration(w[1]));
    } else if (d == "join" && w.size() >= 3) {
      EnsureNode();
      auto o = Options(w, 3);
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      Ingest(PlatformOf(platform).sandbox->Join(w[1], w[2], o.contains("name") ? o["name"] : w[2],
                                                o["inviter"], o["code"], o["community"]),
             platform);
    } else if (d == "say" && w.size() >= 4) {
      EnsureNode();
      auto o = Options(w, 4);
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      Ingest(PlatformOf(platform).sandbox->PostMessage(w[1], w[2], o.contains("name") ? o["name"] : w[2],
                                                       w[3], o["community"]),
             platform);
    } else if (d == "dm" && w.size() >= 3) {
      EnsureNode();
      auto o = Options(w, 3);
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      Ingest(PlatformOf(platform).sandbox->PostDirect(w[1], o.contains("name") ? o["name"] : w[1],
                                                      w[2], o["community"]),
             platform);
    } else if (d == "request" && w.size() >= 3) {
      // request GROUP MEMBER ["what they wrote"] [name=…] [community=…] [platform=…]
      EnsureNode();
      const bool has_text = w.size() >= 4 && !w[3].starts_with("name=") &&
                            !w[3].starts_with("community=") && !w[3].starts_with("platform=");
      auto o = Options(w, has_text ? 4 : 3);
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      const std::string name = o.contains("name") ? o["name"] : w[2];
      Ingest(PlatformOf(platform).sandbox->Request(w[1], w[2], name, has_text ? w[3] : "",
                                                   o["community"]),
             platform);
    } else if (d == "role" && w.size() >= 4) {
      // role GROUP MEMBER ROLE [platform=…]: given on the platform, unseen by the bot (no event)
      EnsureNode();
      auto o = Options(w, 4);
      const auto role = ParseRole(w[3]);
      if (!role) throw Failure{fmt::format("'{}' is not owner, admin, assistant or member", w[3])};
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      Status st = PlatformOf(platform).sandbox->SetRole(w[1], w[2], *role);
      if (!st.ok()) throw Failure{"the platform refused: " + st.ToString()};
    } else if (d == "leave" && w.size() >= 3) {
      EnsureNode();
      auto o = Options(w, 3);
      const std::string platform = o.contains("platform") ? o["platform"] : "sandbox";
      Ingest(PlatformOf(platform).sandbox->Leave(w[1], w[2], o["community"]), platform);
    } else if (d == "event" && w.size() >= 2) {
      EnsureNode();
      const size_t brace = raw_line_.find('{');
      if (brace == std::string::npos) throw Failure{"event needs a JSON object"};
      const std::string json = raw_line_.substr(brace);
      EventParser parser;
      std::vector<RawItem> items{{json, Status::Ok()}};
      IngestBatch batch = ParseBatch(items, parser);
      if (!batch.rejected.empty()) throw Failure{"bad event: " + batch.rejected[0].error.ToString()};
      Submit(std::move(batch));
    } else if (d == "down" && w.size() == 2) {
      // The node is down for a while: timers that come due meanwhile meet the catch-up rule.
      EnsureNode();
      node_.reset();
      clock_.Set(clock_.Now() + ParseDuration(w[1]));
      EnsureNode();
      RunUntil(clock_.Now());
    } else if (d == "restart" && w.size() == 1) {
      EnsureNode();
      node_.reset();
      EnsureNode();
      RunUntil(clock_.Now());
    } else if (d == "expect" && w.size() >= 2) {
      EnsureNode();
      ++expectations_;
      Expect(w);
    } else {
      throw Failure{fmt::format("unknown or malformed directive '{}'", d)};
    }
  }

  struct Seen {
    std::string platform;
    SandboxEntry entry;
  };

  // Bot entries (not members' own posts, joins or leaves) of a group not yet expected, across
  // the simulated platforms, in time order.
  std::vector<Seen> Unseen(const std::string& group) {
    std::vector<Seen> out;
    for (auto& [name, p] : platforms_) {
      const int64_t after = seen_[name + "\x1f" + group];
      for (SandboxEntry& e : p.sandbox->Conversation(group, after, 100000)) {
        // The members' own entries: posts, joins, leaves, join requests.
        if (e.kind == "message" || e.kind == "join" || e.kind == "leave" || e.kind == "request") {
          continue;
        }
        out.push_back({name, std::move(e)});
      }
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Seen& a, const Seen& b) { return a.entry.time < b.entry.time; });
    return out;
  }

  static std::string Describe(const SandboxEntry& e) {
    return fmt::format("{} in {}{}{}{}", e.kind, e.group, e.member.empty() ? "" : " to " + e.member,
                       e.text.empty() ? "" : fmt::format(" \"{}\"", e.text),
                       e.duration_s ? fmt::format(" for {}s", e.duration_s) : "");
  }

  static bool TextMatches(const std::string& pattern, const std::string& text) {
    if (pattern.empty()) return true;
    if (pattern[0] == '~') return text.find(pattern.substr(1)) != std::string::npos;
    if (pattern[0] == '=') return text == pattern.substr(1);
    return text.find(pattern) != std::string::npos;
  }

  void Expect(const std::vector<std::string>& w) {
    const std::string& what = w[1];
    if (what == "nothing") {
      std::vector<std::string> groups;
      if (w.size() >= 3) {
        groups.push_back(w[2]);
      } else {
        for (auto& [name, p] : platforms_) {
          for (auto& g : p.sandbox->Groups()) groups.push_back(g);
        }
      }
      for (const auto& g : groups) {
        auto unseen = Unseen(g);
        if (!unseen.empty()) {
          throw Failure{"expected nothing more from the bot, got " + Describe(unseen[0].entry)};
        }
      }
    } else if (what == "task") {
      auto tasks = node_->store().ListTasks({.open_only = false, .limit = 1000, .after_id = task_cursor_});
      if (!tasks.ok()) throw Failure{tasks.status().ToString()};
      const std::string pattern = w.size() >= 3 ? w[2] : "";
      if (tasks->empty()) throw Failure{fmt::format("expected an operator task {}, got none", pattern)};
      const OperatorTask& t = tasks->front();
      task_cursor_ = t.id;
      if (!TextMatches(pattern, t.reason)) {
        throw Failure{fmt::format("expected a task {}, got \"{}\" ({})", pattern, t.reason, t.kind)};
      }
    } else if (what == "outbox" && w.size() == 4) {
      auto counts = node_->store().CountActions();
      if (!counts.ok()) throw Failure{counts.status().ToString()};
      const std::map<std::string, int64_t> by = {{"pending", counts->pending + counts->sending},
                                                 {"done", counts->done},
                                                 {"failed", counts->failed},
                                                 {"possibly_sent", counts->possibly_sent}};
      auto it = by.find(w[2]);
      if (it == by.end()) throw Failure{"unknown outbox status " + w[2]};
      if (it->second != std::stoll(w[3])) {
        throw Failure{fmt::format("expected {} {} actions, got {}", w[3], w[2], it->second)};
      }
    } else if (what == "sent-once") {
      auto actions = node_->store().ListActions({.limit = 1000});
      if (!actions.ok()) throw Failure{actions.status().ToString()};
      for (const auto& a : *actions) {
        for (auto& [name, p] : platforms_) {
          if (p.sandbox->RecordedCount(a.idempotency_key) > 1) {
            throw Failure{fmt::format("action {} ({}) was performed {} times", a.id, a.idempotency_key,
                                      p.sandbox->RecordedCount(a.idempotency_key))};
          }
        }
      }
    } else if (what == "stats") {
      auto stats = node_->store().Stats();
      if (!stats.ok()) throw Failure{stats.status().ToString()};
      for (auto& [key, value] : Options(w, 2)) {
        const int64_t want = std::stoll(value);
        const int64_t got = key == "events" ? stats->events : key == "members" ? stats->members
                          : key == "groups" ? stats->groups : key == "communities" ? stats->communities : -1;
        if (got == -1) throw Failure{"unknown stat " + key};
        if (got != want) throw Failure{fmt::format("expected {}={}, got {}", key, want, got)};
      }
    } else if (what == "sends" && w.size() == 4) {
      auto unseen = Unseen(w[2]);
      const size_t want = std::stoul(w[3]);
      if (unseen.size() != want) {
        throw Failure{fmt::format("expected {} bot entries in {}, got {}", want, w[2], unseen.size())};
      }
      for (const Seen& s : unseen) seen_[s.platform + "\x1f" + w[2]] = s.entry.seq;
    } else if ((what == "tag" || what == "no-tag") && w.size() == 4) {
      // expect tag MEMBER TAG / expect no-tag MEMBER TAG
      const MemberProfile p = Profile(w[2]);
      const bool has = std::any_of(p.tags.begin(), p.tags.end(),
                                   [&](const MemberTag& t) { return t.tag == w[3]; });
      if (has != (what == "tag")) {
        throw Failure{fmt::format("expected member {} {}to have tag '{}'", w[2],
                                  has ? "not " : "", w[3])};
      }
    } else if (what == "role" && w.size() == 5) {
      // expect role GROUP MEMBER ROLE: the member's role in the group, as the engine has it
      auto groups = node_->store().ListGroups(std::nullopt);
      if (!groups.ok()) throw Failure{groups.status().ToString()};
      auto group = std::find_if(groups->begin(), groups->end(),
                                [&](const Group& g) { return g.external_id == w[2]; });
      if (group == groups->end()) throw Failure{fmt::format("no group {}", w[2])};
      const MemberProfile p = Profile(w[3]);
      auto m = std::find_if(p.memberships.begin(), p.memberships.end(),
                            [&](const Membership& ms) { return ms.group_id == group->id; });
      if (m == p.memberships.end()) throw Failure{fmt::format("{} is not in {}", w[3], w[2])};
      if (RoleName(m->role) != w[4]) {
        throw Failure{fmt::format("expected {} to be {} in {}, got {}", w[3], w[4], w[2],
                                  RoleName(m->role))};
      }
    } else if (what == "points" && w.size() == 4) {
      const MemberProfile p = Profile(w[2]);
      if (p.member.points != std::stoll(w[3])) {
        throw Failure{fmt::format("expected member {} to have {} points, got {}", w[2], w[3],
                                  p.member.points)};
      }
    } else if (what == "state" && (w.size() == 4 || w.size() == 5)) {
      // expect state MODULE.TABLE KEY [~"part of the row"|none]
      auto state = node_->store().LoadState();
      if (!state.ok()) throw Failure{state.status().ToString()};
      const ModuleStateEntry* row = nullptr;
      for (const ModuleStateEntry& e : state->module_state) {
        if (e.module == w[2] && e.key == w[3]) row = &e;
      }
      const std::string pattern = w.size() == 5 ? w[4] : "";
      if (pattern == "none") {
        if (row != nullptr) throw Failure{fmt::format("expected no row {} {}, got {}", w[2], w[3], row->value)};
      } else if (row == nullptr) {
        throw Failure{fmt::format("expected a row {} {}, got none", w[2], w[3])};
      } else if (!TextMatches(pattern, row->value)) {
        throw Failure{fmt::format("expected row {} {} {}, got {}", w[2], w[3], pattern, row->value)};
      }
    } else if (what == "replay" && w.size() == 2) {
      // The log rebuilds the state exactly, module state included.
      const std::string scratch_path = fmt::format("{}/replay-{}.db", data_dir_, line_);
      auto scratch = OpenSqliteStore({.path = scratch_path, .sync = SyncMode::kNormal});
      if (!scratch.ok()) throw Failure{scratch.status().ToString()};
      auto report = Replay(node_->store(), **scratch, &node_->modules());
      if (!report.ok()) throw Failure{"replay failed: " + report.status().ToString()};
      if (!report->differences.empty()) {
        throw Failure{fmt::format("replay found {} differences, the first: {}",
                                  report->differences.size(), report->differences[0])};
      }
    } else if (what == "duplicates" && w.size() == 3) {
      if (last_duplicates_ != std::stoll(w[2])) {
        throw Failure{fmt::format("expected {} duplicates, got {}", w[2], last_duplicates_)};
      }
    } else if (w.size() >= 3) {
      // expect KIND GROUP [MEMBER] [~"text"]
      const std::string& group = w[2];
      std::string member, pattern;
      for (size_t i = 3; i < w.size(); ++i) {
        if (!w[i].empty() && (w[i][0] == '~' || w[i][0] == '=')) {
          pattern = w[i];
        } else {
          member = w[i];
        }
      }
      auto unseen = Unseen(group);
      const std::string kind = what == "send" ? "bot" : what;
      const std::string wanted = fmt::format("{} in {}{}{}", what, group, member.empty() ? "" : " to " + member,
                                             pattern.empty() ? "" : " " + pattern);
      if (unseen.empty()) throw Failure{fmt::format("expected {}, got nothing from the bot", wanted)};
      const SandboxEntry& e = unseen.front().entry;
      const bool kind_ok = e.kind == kind || (what == "reply" && e.kind == "bot" && !e.reply_to.empty());
      if (!kind_ok || (!member.empty() && e.member != member) || !TextMatches(pattern, e.text)) {
        throw Failure{fmt::format("expected {}, got {}", wanted, Describe(e))};
      }
      // Everything of that platform up to this entry is now accounted for.
      seen_[unseen.front().platform + "\x1f" + group] = e.seq;
    } else {
      throw Failure{"malformed expect"};
    }
  }

  // The profile of the member with this external id (on any platform).
  MemberProfile Profile(const std::string& external_id) {
    auto members = node_->store().ListMembers({.q = external_id, .limit = 1000});
    if (!members.ok()) throw Failure{members.status().ToString()};
    for (const Member& m : *members) {
      auto p = node_->store().GetMember(m.id);
      if (!p.ok()) throw Failure{p.status().ToString()};
      for (const Identity& i : p->identities) {
        if (i.external_id == external_id) return std::move(*p);
      }
    }
    throw Failure{fmt::format("no member {}", external_id)};
  }

  std::string file_;
  std::string source_dir_;
  std::string data_dir_;
  std::string tz_ = "Asia/Shanghai";
  ManualClock clock_;
  std::map<std::string, Platform> platforms_;
  std::map<std::string, RateLimits> limits_;  // by platform (`limit`): what its adapter declares
  std::unique_ptr<Node> node_;
  std::map<std::string, int64_t> seen_;  // per platform and group: the last bot entry expected
  int64_t task_cursor_ = 0;
  int64_t last_duplicates_ = 0;
  size_t line_ = 0;
  int expectations_ = 0;
  std::string raw_line_;
};

}  // namespace
}  // namespace qz

// Runs each file on a node of its own (a fresh data directory and clock); the files of one
// folder share the process, so what a process builds once (the moderation lexicons' compiled
// database: seconds under the sanitizers) is built once per folder, not once per file.
int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: qz_scenario_runner SOURCE_DIR FILE.qzt...\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> failed;
  for (int i = 2; i < argc; ++i) {
    qz::Runner runner(argv[i], argv[1]);
    if (runner.Run() != 0) failed.emplace_back(argv[i]);
  }
  if (!failed.empty()) {
    std::cerr << failed.size() << " of " << (argc - 2) << " scenarios failed:\n";
    for (const std::string& f : failed) std::cerr << "  " << f << "\n";
    return 1;
  }
  return 0;
}
