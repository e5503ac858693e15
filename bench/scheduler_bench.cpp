// The scheduler at scale: resident memory for N pending timers, and the cost of one firing, for
// N = 10k, 100k and 1M with 16-, 46- and 200-byte timers (key + payload). Plain main: the
// figures are process-wide (VmRSS, VmHWM), which a Google Benchmark loop would blur; each case
// runs in a child process of its own. Every case runs against two stores:
//
//   gen     an in-memory store that computes each timer from its id; it keeps only an 8-byte due
//           per timer, allocated before the baseline reading. RSS growth = the scheduler's own
//           memory; ns per firing = the scheduler's work plus building the records it reads.
//   sqlite  the real SQLite store (sync normal by default) in a temporary directory, filled and
//           trimmed before the baseline reading. RSS growth also counts the store's read and
//           side connections (a read connection's page cache grows up to 64 MiB); ns per firing
//           includes GetTimers and one compare-and-set commit (UpdateTimerDue) per firing.
//
// Ingest is a no-op in both: writing the timer events to the log is not measured here.
//
//   qz_scheduler_bench [--timers 1000000] [--fire 5000] [--rounds 11] [--store gen|sqlite|both]
//                      [--sync normal|full] [--cache-mib 256] [--dir /tmp]

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/ingest.hpp"
#include "engine/scheduler.hpp"
#include "model/action.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

constexpr TimeMs kBase = 1772323200000;  // 2026-03-01T00:00:00Z
constexpr TimeMs kHour = 3'600'000;
const std::array<std::string, 4> kRules = {"every 1h", "every 2h", "every 3h", "every 1d"};

[[noreturn]] void Die(std::string_view what, const Status& status) {
  fmt::print(stderr, "{}: {}\n", what, status.ToString());
  std::exit(1);
}

// Timer i (0-based; id i + 1) of n, as a community's would look: key "welcome:u<n>" (16 bytes),
// a JSON payload that brings key + payload to `text_bytes` (16: no payload; 46: a small object;
// larger: the object padded), 16 communities, 4 rules, dues spread evenly over one hour.
TimerRecord MakeTimer(int64_t i, int64_t n, int text_bytes) {
  TimerRecord t;
  t.id = i + 1;
  t.community_id = 1 + i % 16;
  t.community = fmt::format("community-{}", i % 16);
  t.key = fmt::format("welcome:u{}", 1000000 + i);
  t.rule = kRules[static_cast<size_t>(i) % kRules.size()];
  t.due = kBase + i * kHour / n;
  t.cause_event = "bench";
  const int payload = text_bytes - static_cast<int>(t.key.size());
  if (payload > 0) {
    t.payload = fmt::format(R"({{"member":"u{}","step":2}})", 1000000 + i);
    if (payload > static_cast<int>(t.payload.size())) {
      t.payload.pop_back();
      t.payload += R"(,"pad":")";
      const int pad = payload - static_cast<int>(t.payload.size()) - 2;  // 2: the closing "}
      t.payload.append(static_cast<size_t>(std::max(0, pad)), 'x');
      t.payload += R"("})";
    }
  }
  return t;
}

// Answers the scheduler's reads by computing each timer from its id; keeps only the dues (for the
// compare-and-set). One thread: the benchmark calls RunDue directly, never Start.
class GenStore final : public TimerStore {
 public:
  GenStore(int64_t n, int text_bytes)
      : n_(n), text_bytes_(text_bytes), dues_(static_cast<size_t>(n)) {
    for (int64_t i = 0; i < n; ++i) {
      dues_[static_cast<size_t>(i)] = MakeTimer(i, n, text_bytes).due;
    }
  }

  // Open's scan, in (due, id) order: the generated dues grow with the id, and Open reads them
  // before any firing has moved one, so id order is due order.
  Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) override {
    std::vector<TimerDue> out;
    for (int64_t id = after ? after->id + 1 : 1; id <= n_ && static_cast<int>(out.size()) < limit;
         ++id) {
      const TimeMs due = dues_[static_cast<size_t>(id - 1)];
      if (due != 0) out.push_back({id, due});
    }
    return out;
  }
  Result<std::vector<TimerRecord>> FindTimers(CommunityId, std::string_view) override {
    return Unused();
  }
  Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) override {
    std::vector<int64_t> sorted(ids.begin(), ids.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    std::vector<TimerRecord> out;
    out.reserve(sorted.size());
    for (int64_t id : sorted) {
      if (id >= 1 && id <= n_) out.push_back(Get(id));
    }
    return out;
  }
  Status UpdateTimerDues(std::span<const DueChange> changes, std::vector<bool>& applied) override {
    applied.assign(changes.size(), false);
    for (size_t i = 0; i < changes.size(); ++i) {
      const DueChange& c = changes[i];
      if (c.id < 1 || c.id > n_ || dues_[static_cast<size_t>(c.id - 1)] != c.expected) continue;
      dues_[static_cast<size_t>(c.id - 1)] = c.due;
      applied[i] = true;
    }
    return Status::Ok();
  }


 private:
  static Status Unused() { return Status::Internal("not used by the benchmark"); }
  TimerRecord Get(int64_t id) const {
    TimerRecord t = MakeTimer(id - 1, n_, text_bytes_);
    t.due = dues_[static_cast<size_t>(id - 1)];
    return t;
  }

  const int64_t n_;
  const int text_bytes_;
  std::vector<TimeMs> dues_;
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
  Status SetPlaybook(std::shared_ptr<const Playbook>, std::string) override { return Status::Ok(); }
  Status OpenTask(std::string, std::string, std::string) override { return Status::Ok(); }
  std::shared_ptr<const PlaybookSet> playbooks() const override { return nullptr; }
  const IngestMetrics& metrics() const override { return metrics_; }
  double state_load_seconds() const override { return 0; }
  int64_t events() const { return events_; }

 private:
  IngestMetrics metrics_;
  int64_t events_ = 0;
};

int64_t StatusKiB(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field)) return std::strtoll(line.c_str() + field.size(), nullptr, 10);
  }
  return -1;
}
int64_t RssKiB() { return StatusKiB("VmRSS:"); }
int64_t HwmKiB() { return StatusKiB("VmHWM:"); }
// Resets VmHWM to the current RSS (Linux >= 4.0); false where that is not allowed.
bool ResetHwm() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

struct Options {
  int64_t fire = 5000;
  int rounds = 11;
  SyncMode sync = SyncMode::kNormal;
  int cache_mib = SqliteOptions{}.cache_mib;  // a read connection's page cache: up to 64 of it
  std::string dir = "/tmp";
};

struct Figures {
  double open_mib = 0;  // RSS growth once Open returned: the index of N timers
  double peak_mib = -1;  // VmHWM growth during Open (-1: unknown)
  double end_mib = 0;    // RSS growth after the firing rounds
  double open_s = 0;
  double fire_ns_median = 0;  // per firing, median over rounds
  double fire_ns_mean = 0;
  // Baselines, the store's share of a firing measured alone, per timer: GetTimers of 4,096
  // timers with consecutive ids (as the rounds fire them) and spread over the whole table, and
  // one UpdateTimerDue advancing a due by an hour.
  double get_ns = 0;
  double get_spread_ns = 0;
  double cas_ns = 0;
};

// Fills a fresh SQLite store with n timers, in transactions of 50,000.
std::unique_ptr<Store> FillSqlite(const std::string& dir, int64_t n, int text_bytes,
                                  const Options& o) {
  auto opened =
      OpenSqliteStore({.path = dir + "/bench.db", .sync = o.sync, .cache_mib = o.cache_mib});
  if (!opened.ok()) Die("open store", opened.status());
  std::unique_ptr<Store> store = std::move(*opened);
  for (int64_t i = 0; i < n;) {
    auto txn = store->Begin();
    if (!txn.ok()) Die("begin", txn.status());
    for (int64_t j = 0; j < 50000 && i < n; ++j, ++i) {
      TimerRecord t = MakeTimer(i, n, text_bytes);
      if (Status st = (*txn)->PutTimer(t); !st.ok()) Die("put timer", st);
    }
    if (Status st = (*txn)->Commit(); !st.ok()) Die("commit", st);
  }
  return store;
}

Figures Run(TimerStore& store, int64_t n, const Options& o) {
  NullIngest ingest;
  ManualClock clock(kBase);
#if defined(__GLIBC__)
  malloc_trim(0);  // what filling the store freed must not be reused unseen by the index
#endif
  const int64_t rss_before = RssKiB();
  const bool hwm = ResetHwm();
  Figures f;
  const auto open_start = std::chrono::steady_clock::now();
  auto opened = Scheduler::Open(store, ingest, clock);
  if (!opened.ok()) Die("open scheduler", opened.status());
  f.open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - open_start).count();
  Scheduler& s = **opened;
  f.open_mib = (RssKiB() - rss_before) / 1024.0;
  if (hwm) f.peak_mib = (HwmKiB() - rss_before) / 1024.0;
  if (s.metrics().pending.load() != n) {
    fmt::print(stderr, "loaded {} of {} timers\n", s.metrics().pending.load(), n);
    std::exit(1);
  }

  double total_ns = 0;
  std::vector<double> per_firing;
  const int64_t before = ingest.events();
  for (int r = 0; r < o.rounds; ++r) {
    // The next `fire` timers by due: the window of the hour they occupy. Recurring timers, so
    // every round pops from and pushes into a heap of N.
    clock.Set(kBase + ((r + 1) * o.fire - 1) * kHour / n);
    const auto start = std::chrono::steady_clock::now();
    const auto result = s.RunDue();
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (result.fired == 0) {
      fmt::print(stderr, "round {}: nothing fired\n", r);
      std::exit(1);
    }
    total_ns += ns;
    per_firing.push_back(ns / static_cast<double>(result.fired));
  }
  const int64_t fired = ingest.events() - before;
  f.fire_ns_mean = total_ns / static_cast<double>(fired);
  std::sort(per_firing.begin(), per_firing.end());
  f.fire_ns_median = per_firing[per_firing.size() / 2];
  f.end_mib = (RssKiB() - rss_before) / 1024.0;
  if (s.metrics().pending.load() != n) {
    fmt::print(stderr, "pending {} != {}\n", s.metrics().pending.load(), n);
    std::exit(1);
  }

  // The baselines, on timers the rounds did not touch (from the middle of the hour on).
  auto get = [&](std::vector<int64_t> ids) {
    std::sort(ids.begin(), ids.end());  // distinct: fewer than 4,096 timers repeat ids
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    const auto start = std::chrono::steady_clock::now();
    auto got = store.GetTimers(ids);
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    if (!got.ok()) Die("get timers", got.status());
    if (got->size() != ids.size()) Die("get timers", Status::Internal("timers missing"));
    return std::pair(ns / static_cast<double>(ids.size()), std::move(*got));
  };
  std::vector<int64_t> spread, consecutive;
  for (int64_t k = 0; k < 4096; ++k) {
    spread.push_back(1 + k * n / 4096);
    consecutive.push_back(1 + (n / 2 + k) % n);
  }
  f.get_spread_ns = get(spread).first;
  auto [get_ns, batch] = get(consecutive);
  f.get_ns = get_ns;
  const size_t advances = std::min<size_t>(batch.size(), 2000);
  const auto cas_start = std::chrono::steady_clock::now();
  for (size_t k = 0; k < advances; ++k) {
    const TimerRecord& t = batch[k];
    auto applied = store.UpdateTimerDue(t.id, t.due, t.due + kHour);
    if (!applied.ok() || !*applied) Die("advance", applied.status());
  }
  f.cas_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - cas_start)
                 .count() /
             static_cast<double>(advances);
  return f;
}

int64_t Flag(int argc, char** argv, std::string_view name, int64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::strtoll(argv[i + 1], nullptr, 10);
  }
  return fallback;
}
std::string_view TextFlag(int argc, char** argv, std::string_view name, std::string_view fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  const int64_t large = qz::Flag(argc, argv, "--timers", 1'000'000);
  qz::Options o;
  o.fire = qz::Flag(argc, argv, "--fire", 5'000);
  o.rounds = static_cast<int>(qz::Flag(argc, argv, "--rounds", 11));
  o.sync = qz::TextFlag(argc, argv, "--sync", "normal") == "full" ? qz::SyncMode::kFull
                                                                   : qz::SyncMode::kNormal;
  o.cache_mib = static_cast<int>(qz::Flag(argc, argv, "--cache-mib", o.cache_mib));
  o.dir = std::string(qz::TextFlag(argc, argv, "--dir", "/tmp"));
  const std::string_view which = qz::TextFlag(argc, argv, "--store", "both");
  std::vector<std::string_view> stores;
  if (which == "gen" || which == "both") stores.push_back("gen");
  if (which == "sqlite" || which == "both") stores.push_back("sqlite");

  fmt::print(
      "scheduler: {} rounds of {} firings each; ingest is a no-op. RSS growth from just before\n"
      "Scheduler::Open. gen = in-memory store computing timers from ids (growth = the scheduler\n"
      "alone); sqlite = real store, sync {}, cache {} MiB (growth also counts its connections\n"
      "and page caches; a firing includes GetTimers and one UpdateTimerDue commit). Baselines\n"
      "alone, per timer: get = GetTimers of 4096 consecutive ids, get spread = of 4096 ids\n"
      "spread over the table, cas = UpdateTimerDue advancing one timer\n",
      o.rounds, o.fire, o.sync == qz::SyncMode::kFull ? "full" : "normal", o.cache_mib);
  fmt::print("{:>6} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>7} {:>14} {:>12} {:>7} {:>10} {:>7}\n",
             "store", "timers", "text B", "open MiB", "B/timer", "peak MiB", "after MiB",
             "open s", "fire ns median", "fire ns mean", "get ns", "get spread", "cas ns");
  std::fflush(stdout);
  for (std::string_view store_kind : stores) {
    for (const int64_t n : {large / 100, large / 10, large}) {
      for (const int text_bytes : {16, 46, 200}) {
        // Each case in a fresh child process, so its RSS growth is not blurred by memory an
        // earlier case freed.
        const pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
          qz::Figures f;
          if (store_kind == "gen") {
            qz::GenStore store(n, text_bytes);
            f = qz::Run(store, n, o);
          } else {
            std::string dir = o.dir + "/qz-scheduler-bench-XXXXXX";
            if (mkdtemp(dir.data()) == nullptr) return 1;
            auto store = qz::FillSqlite(dir, n, text_bytes, o);
            f = qz::Run(*store, n, o);
            store.reset();
            std::filesystem::remove_all(dir);
          }
          fmt::print(
              "{:>6} {:>8} {:>6} {:>9.1f} {:>9.1f} {:>9} {:>9.1f} {:>7.2f} {:>14.0f} {:>12.0f} "
              "{:>7.0f} {:>10.0f} {:>7.0f}\n",
              store_kind, n, text_bytes, f.open_mib, f.open_mib * 1024 * 1024 / n,
              f.peak_mib < 0 ? std::string("n/a") : fmt::format("{:.1f}", f.peak_mib), f.end_mib,
              f.open_s, f.fire_ns_median, f.fire_ns_mean, f.get_ns, f.get_spread_ns, f.cas_ns);
          std::fflush(stdout);
          std::_Exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
      }
    }
  }
  return 0;
}
