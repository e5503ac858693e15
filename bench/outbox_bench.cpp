// qz_outbox_bench: draining the outbox (issue target: 100k queued actions delivered against the
// sandbox at >= 20k actions/s when no rate limit applies).
//
// Real SQLite store in a scratch directory, the real Ingest (the outcome events go through the
// writer into the log), the sandbox adapter, the real Delivery. N send_message rows are inserted
// with a StoreTxn::AddAction loop (not timed as delivery), then Delivery::Open + RunDue until
// the queue is empty is timed. Baselines in the same run, each on its own fresh store:
//   perform   N sandbox Perform calls alone (the adapter's own cost)
//   update    the outbox rows alone: per batch, one transaction with StoreTxn::UpdateActions
//             of the batch's "sending" and "done" over consecutive ids (the row updates delivery
//             makes)
//   ingest    the N action_done events alone, one SubmitAndWait per batch
// The three add up to a rough lower bound for delivery; and
//   writes    the store writes and ingest as delivery makes them (one SubmitAndWait per batch
//             with the previous batch's "done" rows and events and this batch's "sending"
//             marks), without delivery's own work: the floor of this design;
//   2 txns    the same rows and events in two transactions per batch (the rows, then the
//             events), as delivery did before outcomes rode with their events.
// Each figure is wall time and CPU time of the whole process (all threads); on a machine shared
// with other work the wall time includes waiting for a CPU, the CPU time does not.
//
//   qz_outbox_bench [--actions 100000] [--groups 1000] [--batch 512] [--threads 1]
//                   [--sync normal|full] [--rounds 3] [--baselines no]
// Each measurement is taken --rounds times (fresh stores each time); the median is reported.
// Scratch files go under $QZ_BENCH_TMP (default /tmp). Exits 1 if delivery left anything undone.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "engine/delivery.hpp"
#include "engine/ingest.hpp"
#include "model/action.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

struct Config {
  int64_t actions = 100'000;
  int64_t groups = 1000;
  size_t batch = 512;
  int threads = 1;
  SyncMode sync = SyncMode::kNormal;
  int rounds = 3;
  bool baselines = true;
};

std::string Flag(int argc, char** argv, std::string_view name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU seconds used by the whole process (all threads: the writer, SQLite's checkpointer...).
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

// Wall and CPU time of one measurement. On a machine shared with other work the wall time
// includes waiting for a CPU; the CPU time does not.
struct Timing {
  double wall = 0;
  double cpu = 0;
};
class Stopwatch {
 public:
  Timing Elapsed() const { return {Seconds(wall_), CpuSeconds() - cpu_}; }

 private:
  std::chrono::steady_clock::time_point wall_ = std::chrono::steady_clock::now();
  double cpu_ = CpuSeconds();
};

[[noreturn]] void Die(const Status& status, std::string_view what) {
  std::fprintf(stderr, "qz_outbox_bench: %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               status.ToString().c_str());
  std::exit(1);
}

class ScratchDir {
 public:
  ScratchDir() {
    const char* parent = std::getenv("QZ_BENCH_TMP");
    std::string tmpl =
        (std::filesystem::path(parent != nullptr ? parent : "/tmp") / "qz-outbox-bench-XXXXXX")
            .string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path_ = tmpl;
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<Store> OpenStore(const ScratchDir& dir, const Config& c, std::string_view name) {
  auto store = OpenSqliteStore({.path = fmt::format("{}/{}.db", dir.path(), name), .sync = c.sync});
  if (!store.ok()) Die(store.status(), "open store");
  return std::move(*store);
}

std::vector<OutboxRecord> MakeRecords(const Config& c, TimeMs now) {
  std::vector<OutboxRecord> out;
  out.reserve(static_cast<size_t>(c.actions));
  for (int64_t i = 0; i < c.actions; ++i) {
    OutboxRecord r;
    r.action.type = ActionType::kSendMessage;
    r.action.community = "bench";
    r.action.platform = "sandbox";
    r.action.group = fmt::format("g{}", i % c.groups);
    r.action.text = fmt::format("welcome, member {} — please read the group rules first", i);
    r.action.cause_event = fmt::format("sandbox:m:{}", i);
    r.action.rule = "welcome";
    r.idempotency_key = fmt::format("{}#welcome#0", r.action.cause_event);
    r.next_attempt_at = now;
    r.created_at = r.updated_at = now;
    out.push_back(std::move(r));
  }
  return out;
}

// Inserts the records in transactions of 10k; assigns their ids.
Timing Insert(Store& store, std::vector<OutboxRecord>& records) {
  Stopwatch watch;
  for (size_t from = 0; from < records.size(); from += 10'000) {
    auto txn = store.Begin();
    if (!txn.ok()) Die(txn.status(), "begin");
    for (size_t i = from; i < std::min(records.size(), from + 10'000); ++i) {
      if (Status st = (*txn)->AddAction(records[i]); !st.ok()) Die(st, "add action");
    }
    if (Status st = (*txn)->Commit(); !st.ok()) Die(st, "commit");
  }
  return watch.Elapsed();
}

struct DeliveryRun {
  Timing insert;
  Timing open;
  Timing drain;
  int64_t runs = 0;
};

DeliveryRun RunDelivery(const Config& c) {
  ScratchDir dir;
  SystemClock clock;
  auto store = OpenStore(dir, c, "delivery");
  auto ingest = Ingest::Start(*store);
  if (!ingest.ok()) Die(ingest.status(), "start ingest");
  SandboxPlatform sandbox(clock);  // declares no rate limit
  auto records = MakeRecords(c, clock.Now());
  DeliveryRun run;
  run.insert = Insert(*store, records);
  records.clear();
  records.shrink_to_fit();

  DeliveryOptions options;
  options.max_batch = c.batch;
  options.threads = c.threads;
  Stopwatch open_watch;
  auto delivery = Delivery::Open(*store, **ingest, clock, {{"sandbox", &sandbox}}, options);
  if (!delivery.ok()) Die(delivery.status(), "open delivery");
  run.open = open_watch.Elapsed();
  Stopwatch drain_watch;
  while (true) {
    ++run.runs;
    if ((*delivery)->RunDue().next_due == 0) break;
  }
  run.drain = drain_watch.Elapsed();

  auto counts = store->CountActions();
  if (!counts.ok()) Die(counts.status(), "count actions");
  auto stats = store->Stats();
  if (!stats.ok()) Die(stats.status(), "stats");
  if (counts->done != c.actions || stats->events != c.actions ||
      sandbox.perform_calls() != c.actions) {
    std::fprintf(stderr,
                 "qz_outbox_bench: check failed: %lld done, %lld events, %lld performs; "
                 "expected %lld each\n",
                 static_cast<long long>(counts->done), static_cast<long long>(stats->events),
                 static_cast<long long>(sandbox.perform_calls()),
                 static_cast<long long>(c.actions));
    std::exit(1);
  }
  return run;
}

Timing RunPerformOnly(const Config& c) {
  SystemClock clock;
  SandboxPlatform sandbox(clock);  // declares no rate limit
  auto records = MakeRecords(c, clock.Now());
  for (size_t i = 0; i < records.size(); ++i) records[i].id = static_cast<int64_t>(i) + 1;
  Stopwatch watch;
  for (const OutboxRecord& r : records) {
    if (sandbox.Perform(r).kind != PerformResult::Kind::kDone) {
      std::fprintf(stderr, "qz_outbox_bench: a sandbox perform failed\n");
      std::exit(1);
    }
  }
  return watch.Elapsed();
}

// One committed transaction with `updates`.
void WriteUpdates(Store& store, std::span<const OutboxUpdate> updates) {
  auto txn = store.Begin();
  if (!txn.ok()) Die(txn.status(), "begin");
  std::vector<int64_t> missing;
  if (Status st = (*txn)->UpdateActions(updates, missing); !st.ok()) Die(st, "update actions");
  if (!missing.empty()) Die(Status::Internal("rows missing"), "update actions");
  if (Status st = (*txn)->Commit(); !st.ok()) Die(st, "commit");
}

Timing RunUpdatesOnly(const Config& c) {
  ScratchDir dir;
  SystemClock clock;
  auto store = OpenStore(dir, c, "updates");
  auto records = MakeRecords(c, clock.Now());
  Insert(*store, records);
  std::vector<OutboxUpdate> updates;
  Stopwatch watch;
  for (size_t from = 0; from < records.size(); from += c.batch) {
    const size_t to = std::min(records.size(), from + c.batch);
    const TimeMs now = clock.Now();
    updates.clear();
    for (size_t i = from; i < to; ++i) {
      updates.push_back({.id = records[i].id,
                         .status = ActionStatus::kSending,
                         .attempts = 1,
                         .next_attempt_at = records[i].next_attempt_at,
                         .updated_at = now});
    }
    const size_t marks = updates.size();
    for (size_t k = 0; k < marks; ++k) {
      OutboxUpdate u = updates[k];
      u.status = ActionStatus::kDone;
      u.platform_ref = fmt::format("bot:{}", u.id);
      updates.push_back(std::move(u));
    }
    WriteUpdates(*store, updates);
  }
  return watch.Elapsed();
}

Timing RunIngestOnly(const Config& c) {
  ScratchDir dir;
  SystemClock clock;
  auto store = OpenStore(dir, c, "ingest");
  auto ingest = Ingest::Start(*store);
  if (!ingest.ok()) Die(ingest.status(), "start ingest");
  Stopwatch watch;
  for (int64_t from = 0; from < c.actions; from += static_cast<int64_t>(c.batch)) {
    const int64_t to = std::min(c.actions, from + static_cast<int64_t>(c.batch));
    IngestBatch batch;
    for (int64_t i = from; i < to; ++i) {
      Event e;
      e.id = fmt::format("qunzhu:action:{}:done", i + 1);
      e.type = EventType::kActionDone;
      e.time = clock.Now();
      e.platform = "sandbox";
      e.community = "bench";
      e.group = fmt::format("g{}", i % c.groups);
      e.action = std::to_string(i + 1);
      e.action_type = "send_message";
      batch.json.push_back(EventToJson(e));
      batch.events.push_back(std::move(e));
      batch.indexes.push_back(static_cast<size_t>(i - from));
    }
    IngestResult r = (*ingest)->SubmitAndWait(std::move(batch));
    if (!r.status.ok()) Die(r.status, "ingest");
  }
  return watch.Elapsed();
}

// The store writes and the ingest of delivery, one batch after the other as delivery makes
// them (the previous batch's "done" rows and events with this batch's "sending" marks), without
// delivery itself: the floor for this design. With `two_txns`, the rows go in a transaction of
// their own before the events (the design before).
Timing RunWritesAndIngest(const Config& c, bool two_txns) {
  ScratchDir dir;
  SystemClock clock;
  auto store = OpenStore(dir, c, "writes");
  auto ingest = Ingest::Start(*store);
  if (!ingest.ok()) Die(ingest.status(), "start ingest");
  auto records = MakeRecords(c, clock.Now());
  Insert(*store, records);
  std::vector<OutboxUpdate> updates;
  Stopwatch watch;
  size_t prev_from = 0, prev_to = 0;
  for (size_t from = 0;; from += c.batch) {
    const size_t to = std::min(records.size(), from + c.batch);
    const TimeMs now = clock.Now();
    updates.clear();
    for (size_t i = prev_from; i < prev_to; ++i) {
      updates.push_back({.id = records[i].id,
                         .status = ActionStatus::kDone,
                         .attempts = 1,
                         .next_attempt_at = records[i].next_attempt_at,
                         .platform_ref = fmt::format("bot:{}", i),
                         .updated_at = now});
    }
    for (size_t i = from; i < to; ++i) {
      updates.push_back({.id = records[i].id,
                         .status = ActionStatus::kSending,
                         .attempts = 1,
                         .next_attempt_at = records[i].next_attempt_at,
                         .updated_at = now});
    }
    if (updates.empty()) break;
    IngestBatch batch;
    if (two_txns) {
      WriteUpdates(*store, updates);
    } else {
      batch.outbox_updates = updates;
    }
    for (size_t i = prev_from; i < prev_to; ++i) {
      Event e;
      e.id = fmt::format("qunzhu:action:{}:done", records[i].id);
      e.type = EventType::kActionDone;
      e.time = now;
      e.platform = "sandbox";
      e.community = "bench";
      e.group = records[i].action.group;
      e.action = std::to_string(records[i].id);
      e.action_type = "send_message";
      batch.json.push_back(EventToJson(e));
      batch.events.push_back(std::move(e));
      batch.indexes.push_back(i - prev_from);
    }
    if (!batch.events.empty() || !batch.outbox_updates.empty()) {
      IngestResult r = (*ingest)->SubmitAndWait(std::move(batch));
      if (!r.status.ok()) Die(r.status, "ingest");
    }
    prev_from = std::min(from, records.size());
    prev_to = to;
  }
  return watch.Elapsed();
}

// The median by wall time (its CPU time with it).
Timing Median(std::vector<Timing> v) {
  std::sort(v.begin(), v.end(), [](const Timing& a, const Timing& b) { return a.wall < b.wall; });
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  Config c;
  c.actions = std::strtoll(Flag(argc, argv, "--actions", "100000").c_str(), nullptr, 10);
  c.groups =
      std::max<int64_t>(1, std::strtoll(Flag(argc, argv, "--groups", "1000").c_str(), nullptr, 10));
  c.batch = static_cast<size_t>(
      std::max<int64_t>(1, std::strtoll(Flag(argc, argv, "--batch", "512").c_str(), nullptr, 10)));
  c.threads = std::max(1, std::atoi(Flag(argc, argv, "--threads", "1").c_str()));
  c.sync = Flag(argc, argv, "--sync", "normal") == "full" ? SyncMode::kFull : SyncMode::kNormal;
  c.rounds = std::max(1, std::atoi(Flag(argc, argv, "--rounds", "3").c_str()));
  c.baselines = Flag(argc, argv, "--baselines", "yes") != "no";
  if (c.actions <= 0) {
    std::fprintf(stderr, "qz_outbox_bench: --actions must be positive\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  std::printf(
      "outbox bench: %lld actions over %lld groups, batch %zu, %d thread(s), sync %s, "
      "median of %d rounds (by wall time)\n",
      static_cast<long long>(c.actions), static_cast<long long>(c.groups), c.batch, c.threads,
      c.sync == SyncMode::kFull ? "full" : "normal", c.rounds);

  std::vector<Timing> insert, open, drain, total, perform, update, ingest, floor, before;
  int64_t runs = 0;
  for (int round = 0; round < c.rounds; ++round) {
    const DeliveryRun d = RunDelivery(c);
    insert.push_back(d.insert);
    open.push_back(d.open);
    drain.push_back(d.drain);
    total.push_back({d.open.wall + d.drain.wall, d.open.cpu + d.drain.cpu});
    runs = d.runs;
    if (!c.baselines) continue;
    perform.push_back(RunPerformOnly(c));
    update.push_back(RunUpdatesOnly(c));
    ingest.push_back(RunIngestOnly(c));
    floor.push_back(RunWritesAndIngest(c, false));
    before.push_back(RunWritesAndIngest(c, true));
  }
  const double n = static_cast<double>(c.actions);
  std::printf("  %-36s %9s %12s %9s %12s\n", "", "wall s", "actions/s", "cpu s", "per cpu-s");
  auto line = [&](std::string_view what, Timing t) {
    std::printf("  %-36.*s %9.3f %12.0f %9.3f %12.0f\n", static_cast<int>(what.size()), what.data(),
                t.wall, n / t.wall, t.cpu, n / t.cpu);
  };
  line("insert rows (AddAction; setup)", Median(insert));
  line("delivery: Open (load)", Median(open));
  line("delivery: RunDue until empty", Median(drain));
  const Timing delivery = Median(total);
  line("delivery: Open + drain", delivery);
  std::printf("  (%lld RunDue calls)\n", static_cast<long long>(runs));
  if (!c.baselines) return 0;
  std::printf("baselines:\n");
  const Timing p = Median(perform), u = Median(update), i = Median(ingest);
  line("sandbox Perform alone", p);
  line("outbox row updates alone", u);
  line("ingest action_done events alone", i);
  const Timing sum{p.wall + u.wall + i.wall, p.cpu + u.cpu + i.cpu};
  line("sum of the three", sum);
  const Timing f = Median(floor);
  line("store writes + ingest as delivery", f);
  line("...the same in 2 txns (before)", Median(before));
  const double rate = n / delivery.wall;
  std::printf(
      "result: %.0f actions/s wall (target >= 20000: %s), %.0f per CPU-second; delivery takes "
      "%.2fx the wall time of the summed baselines, %.2fx that of its own store writes + "
      "ingest\n",
      rate, rate >= 20000 ? "met" : "NOT met", n / delivery.cpu, delivery.wall / sum.wall,
      delivery.wall / f.wall);
  return 0;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) { return qz::Main(argc, argv); }
