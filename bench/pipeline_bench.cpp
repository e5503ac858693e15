// The engine pipeline with modules, against itself without them, in one run: the same demo
// events are ingested through Ingest (parse → queue → writer → SQLite) four times into fresh
// stores: no modules (the Foundation I pipeline), an empty module list that still runs the
// module machinery (a no-op module), five trivial modules, and the real `activity` module (a
// row per group and day, read and written on every join, leave and message). Prints events/s
// and the ratios.
//
// The four configurations run interleaved for `--rounds` rounds (A B C D A B C D …) and the best
// round of each is reported, so warm-up and drifting load do not favour one of them.
//
//   qz_pipeline_bench [--events N] [--rounds R] [--sync normal|full] [--dir DIR]
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <filesystem>
#include <string>
#include <vector>

#include "demo/demo.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "engine/state.hpp"
#include "modules/activity/activity.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

// Does nothing: measures the cost of running the module machinery itself.
class NoopModule final : public Module {
 public:
  std::string_view name() const override { return "noop"; }
  Status OnEvent(ModuleContext&) override { return Status::Ok(); }
};

// The trivial modules' durable counter: one row per community.
struct CheckinCount {
  static constexpr std::string_view kTable = "checkins";
  int64_t id = 0;
  int64_t count = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("id", id);
    v.Value("count", count);
  }
};

// Trivial but real work a module does on every event: read the event, the member and the
// playbook, and on one event type in a hundred keep a counter in its durable state.
class TrivialModule final : public Module {
 public:
  explicit TrivialModule(int n) : name_(fmt::format("trivial{}", n)) {}
  std::string_view name() const override { return name_; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<CheckinCount>()}; }
  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const Member* m = ctx.member();
    if (m == nullptr || !ctx.playbook().community.empty()) return Status::Ok();
    if (e.type == EventType::kCheckin && m->checkins % 100 == 1) {
      CheckinCount c = ctx.Find(CheckinCount{}).value_or(CheckinCount{});
      ++c.count;
      ctx.Put(c);
    }
    return Status::Ok();
  }

 private:
  std::string name_;
};

struct Run {
  double seconds = 0;
  int64_t events = 0;
};

Run IngestAll(const std::vector<IngestBatch>& batches, const std::string& path, SyncMode sync,
              const ModuleRegistry* modules) {
  std::filesystem::remove(path);
  auto store = OpenSqliteStore({.path = path, .sync = sync});
  if (!store.ok()) {
    fmt::print(stderr, "{}\n", store.status().ToString());
    std::exit(1);
  }
  EngineOptions engine;
  engine.modules = modules;
  auto ingest = Ingest::Start(**store, {}, std::move(engine));
  if (!ingest.ok()) std::exit(1);
  const auto start = std::chrono::steady_clock::now();
  std::atomic<int64_t> accepted{0};
  std::atomic<int> in_flight{0};
  for (const IngestBatch& b : batches) {
    while (in_flight.load() >= 4) std::this_thread::yield();
    ++in_flight;
    (*ingest)->Submit(b, [&](IngestResult r) {
      accepted += r.accepted;
      --in_flight;
    });
  }
  while (in_flight.load() > 0) std::this_thread::yield();
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.events = accepted.load();
  return run;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  using namespace qz;
  int64_t events = 300000;
  int rounds = 3;
  std::string sync_name = "normal";
  std::string dir = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--events") events = std::stoll(argv[i + 1]);
    else if (flag == "--sync") sync_name = argv[i + 1];
    else if (flag == "--rounds") rounds = std::max(1, std::stoi(argv[i + 1]));
    else if (flag == "--dir") dir = argv[i + 1];
  }
  spdlog::set_level(spdlog::level::warn);
  const SyncMode sync = sync_name == "full" ? SyncMode::kFull : SyncMode::kNormal;

  // Parsed and serialised once, outside the timing: all three runs ingest the same batches.
  DemoGenerator gen({.seed = 42, .members = 20000, .days = 90});
  std::vector<IngestBatch> batches;
  Event e;
  int64_t n = 0;
  while (n < events && gen.Next(e)) {
    if (batches.empty() || batches.back().events.size() >= 8192) batches.emplace_back();
    IngestBatch& b = batches.back();
    b.json.push_back(EventToJson(e));
    b.indexes.push_back(b.events.size());
    b.events.push_back(e);
    ++n;
  }
  ModuleRegistry noop;
  if (!noop.Add(std::make_unique<NoopModule>()).ok()) return 1;
  ModuleRegistry five;
  for (int i = 0; i < 5; ++i) {
    if (!five.Add(std::make_unique<TrivialModule>(i)).ok()) return 1;
  }
  ModuleRegistry activity;  // a real module that writes on most events
  if (!activity.Add(MakeActivityModule()).ok()) return 1;
  const std::string path = dir + "/qz-pipeline-bench.db";
  Run base, one, many, counted;
  auto keep_best = [](Run& best, const Run& r) {
    if (best.seconds == 0 || r.seconds < best.seconds) best = r;
  };
  for (int r = 0; r < rounds; ++r) {
    keep_best(base, IngestAll(batches, path, sync, nullptr));
    keep_best(one, IngestAll(batches, path, sync, &noop));
    keep_best(many, IngestAll(batches, path, sync, &five));
    keep_best(counted, IngestAll(batches, path, sync, &activity));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);

  auto rate = [](const Run& r) { return r.events / r.seconds; };
  fmt::print("events: {} (sync={}, best of {} interleaved rounds)\n", n, sync_name, rounds);
  fmt::print("no modules       : {:>9.0f} events/s ({:.2f} s)\n", rate(base), base.seconds);
  fmt::print("no-op module     : {:>9.0f} events/s ({:.2f} s)  {:.2f}x of no modules\n", rate(one),
             one.seconds, rate(one) / rate(base));
  fmt::print("5 trivial modules: {:>9.0f} events/s ({:.2f} s)  {:.2f}x of no modules\n", rate(many),
             many.seconds, rate(many) / rate(base));
  fmt::print("activity module  : {:>9.0f} events/s ({:.2f} s)  {:.2f}x of no modules\n",
             rate(counted), counted.seconds, rate(counted) / rate(base));
  return base.events == n && one.events == n && many.events == n && counted.events == n ? 0 : 1;
}
