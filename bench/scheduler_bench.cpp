// The scheduler's in-memory index at scale: resident memory for N pending timers, and the cost
// of one firing (heap pop, timer event built, next due computed, heap push) with the store and
// ingest replaced by no-ops, for N = 10k and N = 1M in the same run. Plain main: the figures
// are process-wide (VmRSS), which a Google Benchmark loop would blur.
//
//   qz_scheduler_bench [--timers 1000000] [--small 10000] [--fire 5000] [--rounds 11]

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ingest.hpp"
#include "engine/scheduler.hpp"
#include "model/action.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

// Nothing to load; every compare-and-set applies. Everything else is unused by the scheduler.
class NullStore final : public Store {
 public:
  Result<std::unique_ptr<StoreTxn>> Begin() override { return Unused(); }
  Result<StateSnapshot> LoadState() override { return Unused(); }
  Result<std::vector<TimerRecord>> LoadTimers() override { return std::vector<TimerRecord>{}; }
  Result<std::vector<TimerRecord>> ScanTimers(int64_t, int) override {
    return std::vector<TimerRecord>{};
  }
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t>) override {
    return std::vector<TimerRecord>{};
  }
  Result<bool> UpdateTimerDue(int64_t, TimeMs, TimeMs) override { return true; }
  Result<StoreStats> Stats() override { return Unused(); }
  Result<std::vector<Community>> ListCommunities() override { return Unused(); }
  Result<std::vector<Group>> ListGroups(std::optional<CommunityId>) override { return Unused(); }
  Result<std::vector<Member>> ListMembers(const MemberQuery&) override { return Unused(); }
  Result<MemberProfile> GetMember(MemberId) override { return Unused(); }
  Result<std::vector<StoredEvent>> MemberEvents(MemberId, int64_t, int) override {
    return Unused();
  }
  Result<std::vector<StoredEvent>> ScanEvents(int64_t, int) override { return Unused(); }
  Result<std::optional<StoredEvent>> FindEvent(const std::string&, const std::string&) override {
    return Unused();
  }
  Result<std::vector<OutboxRecord>> LoadOpenActions() override { return Unused(); }
  Status UpdateActions(std::span<const OutboxUpdate>) override { return Unused(); }
  Result<std::vector<OutboxRecord>> ListActions(const ActionQuery&) override { return Unused(); }
  Result<ActionCounts> CountActions() override { return Unused(); }
  Result<std::vector<OperatorTask>> ListTasks(const TaskQuery&) override { return Unused(); }
  Status PutPlaybook(const StoredPlaybook&) override { return Unused(); }
  Result<std::vector<StoredPlaybook>> LoadPlaybooks() override { return Unused(); }
  Status PutToken(const ApiToken&) override { return Unused(); }
  Result<bool> HasToken(const std::string&) override { return Unused(); }

 private:
  static Status Unused() { return Status::Internal("not used by the benchmark"); }
};

// Accepts every batch at once, on the caller's thread.
class NullIngest final : public Ingest {
 public:
  void Submit(IngestBatch batch, Done done) override {
    IngestResult r;
    r.accepted = static_cast<int64_t>(batch.events.size());
    events_ += r.accepted;
    done(std::move(r));
  }
  void SetCommitListener(CommitListener) override {}
  Status SetPlaybook(std::shared_ptr<const Playbook>) override { return Status::Ok(); }
  std::shared_ptr<const PlaybookSet> playbooks() const override { return nullptr; }
  const IngestMetrics& metrics() const override { return metrics_; }
  double state_load_seconds() const override { return 0; }
  int64_t events() const { return events_; }

 private:
  IngestMetrics metrics_;
  int64_t events_ = 0;
};

int64_t RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

constexpr TimeMs kBase = 1772323200000;  // 2026-03-01T00:00:00Z
constexpr TimeMs kHour = 3'600'000;

struct Figures {
  double rss_bytes_per_timer = 0;
  double rss_mib = 0;
  double text_bytes_per_timer = 0;  // key + payload, the timers' own content
  double add_ns = 0;                // per timer
  double fire_ns_median = 0;        // per firing, median over rounds
  double fire_ns_mean = 0;
};

// N timers spread evenly over one hour, recurring hourly: firing keeps N pending, so every round
// pops from and pushes into a heap of N. Keys, payloads, communities and rules look like a
// community's: "welcome:u<n>", a small JSON object, 16 communities, 4 distinct rules.
Figures Run(int64_t n, int64_t fire, int rounds, bool payloads) {
  NullStore store;
  NullIngest ingest;
  ManualClock clock(kBase);
  const int64_t rss_before = RssKiB();
  auto opened = Scheduler::Open(store, ingest, clock);
  if (!opened.ok()) {
    fmt::print(stderr, "open: {}\n", opened.status().ToString());
    std::exit(1);
  }
  Scheduler& s = **opened;
  static const std::array<std::string, 4> kRules = {"every 1h", "every 2h", "every 3h", "every 1d"};
  Figures f;
  int64_t text_bytes = 0;
  const auto add_start = std::chrono::steady_clock::now();
  std::vector<TimerRecord> chunk;
  for (int64_t i = 0; i < n;) {
    chunk.clear();
    for (int64_t j = 0; j < 10000 && i < n; ++j, ++i) {
      TimerRecord t;
      t.id = i + 1;
      t.community_id = 1 + i % 16;
      t.community = fmt::format("community-{}", i % 16);
      t.key = fmt::format("welcome:u{}", 1000000 + i);
      t.rule = kRules[i % kRules.size()];
      t.due = kBase + i * kHour / n;
      if (payloads) t.payload = fmt::format(R"({{"member":"u{}","step":2}})", 1000000 + i);
      text_bytes += static_cast<int64_t>(t.key.size() + t.payload.size());
      chunk.push_back(std::move(t));
    }
    s.Add(chunk);
  }
  chunk = {};
  f.add_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - add_start)
                 .count() /
             n;
  const int64_t rss_after = RssKiB();
  f.rss_bytes_per_timer = (rss_after - rss_before) * 1024.0 / n;
  f.rss_mib = (rss_after - rss_before) / 1024.0;
  f.text_bytes_per_timer = static_cast<double>(text_bytes) / n;

  double total_ns = 0;
  std::vector<double> per_firing;
  const int64_t before = ingest.events();
  for (int r = 0; r < rounds; ++r) {
    // The next `fire` timers by due: the window of the hour they occupy.
    clock.Set(kBase + ((r + 1) * fire - 1) * kHour / n);
    const auto start = std::chrono::steady_clock::now();
    const auto result = s.RunDue();
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (result.fired == 0) {
      fmt::print(stderr, "round {}: nothing fired\n", r);
      std::exit(1);
    }
    total_ns += ns;
    per_firing.push_back(ns / result.fired);
  }
  const int64_t fired = ingest.events() - before;
  f.fire_ns_mean = total_ns / fired;
  std::sort(per_firing.begin(), per_firing.end());
  f.fire_ns_median = per_firing[per_firing.size() / 2];
  if (s.metrics().pending.load() != n) {
    fmt::print(stderr, "pending {} != {}\n", s.metrics().pending.load(), n);
    std::exit(1);
  }
  return f;
}

int64_t Flag(int argc, char** argv, std::string_view name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::strtoll(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int64_t large = qz::Flag(argc, argv, "--timers", 1'000'000);
  const int64_t small = qz::Flag(argc, argv, "--small", 10'000);
  const int64_t fire = qz::Flag(argc, argv, "--fire", 5'000);
  const int rounds = static_cast<int>(qz::Flag(argc, argv, "--rounds", 11));
  fmt::print("scheduler: {} rounds of {} firings each; store and ingest are no-ops\n", rounds,
             fire);
  fmt::print("{:>9} {:>8} {:>9} {:>11} {:>11} {:>10} {:>14} {:>12}\n", "timers", "payload",
             "RSS MiB", "RSS B/timer", "text B/tmr", "Add ns", "fire ns median", "fire ns mean");
  struct Case {
    int64_t n;
    bool payloads;
  };
  std::fflush(stdout);
  // Each case in a fresh child process, so its RSS growth is not blurred by memory an earlier
  // case freed.
  for (const Case c :
       {Case{small, true}, Case{large / 10, true}, Case{large, true}, Case{large, false}}) {
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      const auto f = qz::Run(c.n, fire, rounds, c.payloads);
      fmt::print("{:>9} {:>8} {:>9.1f} {:>11.1f} {:>11.1f} {:>10.0f} {:>14.0f} {:>12.0f}\n", c.n,
                 c.payloads ? "yes" : "no", f.rss_mib, f.rss_bytes_per_timer,
                 f.text_bytes_per_timer, f.add_ns, f.fire_ns_median, f.fire_ns_mean);
      std::fflush(stdout);
      std::_Exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  return 0;
}
