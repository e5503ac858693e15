// qz_morning_bench: 10,000 groups whose scheduled posts all come due at the same minute (07:30
// 早安), issue 9's target: every post fired within 2 s wall-clock with the default --sync full,
// memory below 200 MB. A real node (src/app/node.hpp: SQLite store in a temporary directory,
// ingest, the writer with every module, the scheduler) on a manual clock: the playbook lists the
// groups (each starting today) with `--schedules` daily 07:30 schedules and `--timelines` SOP
// timelines whose day-0 step is at 07:30, for every learning group (one timer per group each);
// the clock is set to 07:30 and Scheduler::RunDue is timed until every timer event is durable
// with its send action in the outbox, every schedule advanced to tomorrow and every step done. Delivery is
// not run (the outbox spreads the sends under the platform's limits; issue 3's benchmark).
//
// The baseline in the same invocation: the compare-and-set that advances a fired timer, done
// one commit per timer (how each firing was completed before batching), on the same store for
// the same number of timers.
//
// Then, on the same node: --joins member_joined events spread over one minute into
// --join-groups groups with [welcome] merge_window = "1m": the welcome messages each group gets
// and the shortest gap between two (the target: at most one message per group per window).
//
//   qz_morning_bench [--groups 10000] [--schedules 1] [--timelines 1] [--sync full|normal] [--dir /tmp]
//                    [--joins 1000] [--join-groups 10]

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "app/node.hpp"
#include "app/platforms.hpp"
#include "core/clock.hpp"
#include "engine/recurrence.hpp"
#include "engine/scheduler.hpp"
#include "store/store.hpp"

namespace qz {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double RssMb() {
  std::ifstream in("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  in >> pages >> resident;
  return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

double PeakMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

[[noreturn]] void Die(std::string_view what, const Status& status) {
  fmt::print(stderr, "{}: {}\n", what, status.ToString());
  std::exit(1);
}

std::string Playbook(int groups, int schedules, int timelines) {
  std::string pb = "[community]\nslug = \"bench\"\nname = \"晨读营\"\n";
  pb.reserve(static_cast<size_t>(groups) * 80 + 1024);
  for (int g = 0; g < groups; ++g) {
    fmt::format_to(std::back_inserter(pb),
                   "[[groups]]\nplatform = \"sandbox\"\nid = \"g{}\"\ntype = \"learning\"\nstart = \"2026-03-01\"\n", g);
  }
  for (int t = 0; t < timelines; ++t) {
    fmt::format_to(std::back_inserter(pb),
                   "[[timelines]]\nname = \"sop{}\"\ngroup_type = \"learning\"\n[[timelines.steps]]\nday = 0\n"
                   "at = \"07:30\"\ntext = \"开营第一天：{{group.name}} 的伙伴们，今晚 20:00 开班仪式\"\n",
                   t);
  }
  for (int s = 0; s < schedules; ++s) {
    fmt::format_to(std::back_inserter(pb),
                   "[[schedules]]\nname = \"morning{}\"\nrule = \"daily 07:30\"\ngroup_type = \"learning\"\n"
                   "text = \"早安！今天是 {{date}}，{{group.name}} 的伙伴们回复「打卡」开始新的一天\"\n",
                   s);
  }
  return pb;
}

// 1,000 joins in one minute into a few groups with merge_window = "1m": counts the welcomes each
// group gets and the shortest gap between two of them (the target: at most one per window).
void MergedWelcomes(Node& node, ManualClock& clock, int joins, int groups) {
  const std::string pb =
      "[community]\nslug = \"welcome\"\n[welcome]\ntext = \"欢迎 {member.name} 加入！\"\nmerge_window = \"1m\"\n";
  if (Status st = node.ApplyPlaybook(pb, "welcome.toml"); !st.ok()) Die("welcome playbook", st);
  auto before = node.store().LoadOpenActions();
  if (!before.ok()) Die("outbox", before.status());
  const int64_t first_action = before->empty() ? 0 : before->back().id;
  const TimeMs t0 = clock.Now();
  const auto w0 = Clock::now();
  for (int i = 0; i < joins; ++i) {
    clock.Set(t0 + static_cast<TimeMs>(i) * 60'000 / joins);  // spread over one minute
    Event e;
    e.id = fmt::format("join-{}", i);
    e.type = EventType::kMemberJoined;
    e.time = clock.Now();
    e.platform = "sandbox";
    e.community = "welcome";
    e.group = fmt::format("w{}", i % groups);
    e.member = fmt::format("m{}", i);
    e.name = fmt::format("新人{}", i);
    IngestBatch batch;
    batch.json.push_back(EventToJson(e));
    batch.events.push_back(std::move(e));
    batch.indexes.push_back(0);
    if (IngestResult r = node.ingest().SubmitAndWait(std::move(batch)); !r.status.ok()) Die("join", r.status);
    (void)node.scheduler().RunDue();
  }
  for (int s = 0; s < 180; ++s) {  // the windows' ends, a second at a time
    clock.Set(clock.Now() + 1000);
    (void)node.scheduler().RunDue();
  }
  const auto w1 = Clock::now();
  auto open = node.store().LoadOpenActions();
  if (!open.ok()) Die("outbox", open.status());
  std::map<std::string, std::vector<TimeMs>> sent;  // group → when its welcomes were queued
  size_t named = 0;
  for (const OutboxRecord& r : *open) {
    if (r.id <= first_action || r.action.community != "welcome") continue;
    sent[r.action.group].push_back(r.created_at);
    for (size_t at = 0; (at = r.action.text.find("新人", at)) != std::string::npos; at += 1) ++named;
  }
  size_t most = 0;
  TimeMs min_gap = 0;
  for (auto& [group, times] : sent) {
    std::sort(times.begin(), times.end());
    most = std::max(most, times.size());
    for (size_t i = 1; i < times.size(); ++i) {
      const TimeMs gap = times[i] - times[i - 1];
      if (min_gap == 0 || gap < min_gap) min_gap = gap;
    }
  }
  fmt::print("merged welcomes: {} joins in 60 s into {} groups -> {} welcome messages ({} per group at most, "
             "shortest gap in a group {:.0f} s; {} names shown); {:.2f} s wall-clock\n",
             joins, groups, [&] { size_t n = 0; for (auto& [g, t] : sent) n += t.size(); return n; }(), most,
             static_cast<double>(min_gap) / 1000.0, named, Seconds(w1 - w0));
}

int Run(int argc, char** argv) {
  int groups = 10000;
  int schedules = 1;
  int timelines = 1;
  int joins = 1000;
  int join_groups = 10;
  SyncMode sync = SyncMode::kFull;
  std::string base = std::filesystem::temp_directory_path().string();
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--groups") {
      groups = std::stoi(value);
    } else if (flag == "--schedules") {
      schedules = std::stoi(value);
    } else if (flag == "--timelines") {
      timelines = std::stoi(value);
    } else if (flag == "--joins") {
      joins = std::stoi(value);
    } else if (flag == "--join-groups") {
      join_groups = std::stoi(value);
    } else if (flag == "--sync") {
      sync = value == "normal" ? SyncMode::kNormal : SyncMode::kFull;
    } else if (flag == "--dir") {
      base = value;
    } else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);
  std::string dir = base + "/qz-morning-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) return 1;
  const int64_t timers = static_cast<int64_t>(groups) * (schedules + timelines);
  fmt::print("{} groups x ({} daily 07:30 schedules + {} timelines with a step at 07:30) = {} timers; --sync {}; {}\n",
             groups, schedules, timelines, timers, sync == SyncMode::kFull ? "full" : "normal", dir);

  auto start = LocalToUtc("2026-03-01 07:00", "Asia/Shanghai");
  auto due = LocalToUtc("2026-03-01 07:30", "Asia/Shanghai");
  if (!start.ok() || !due.ok()) Die("time", Status::Internal("tz"));
  ManualClock clock(*start);
  const double rss0 = RssMb();
  {
    NodeOptions options;
    options.data_dir = dir;
    options.sync = sync;
    options.clock = &clock;
    options.background = false;
    auto adapters = CreateAdapters(kDefaultPlatforms, "bench", AdapterEnv{clock, dir});
    if (!adapters.ok()) Die("adapters", adapters.status());
    options.adapters = std::move(*adapters);
    auto node = Node::Open(std::move(options));
    if (!node.ok()) Die("open", node.status());
    const std::string pb = Playbook(groups, schedules, timelines);
    const auto a0 = Clock::now();
    if (Status st = (*node)->ApplyPlaybook(pb, "bench.toml"); !st.ok()) Die("playbook", st);
    const auto a1 = Clock::now();
    fmt::print("playbook ({:.0f} KB): applied in {:.2f} s; RSS {:.1f} MB (+{:.1f} since start)\n",
               static_cast<double>(pb.size()) / 1024.0, Seconds(a1 - a0), RssMb(), RssMb() - rss0);

    clock.Set(*due);
    const auto f0 = Clock::now();
    const Scheduler::RunResult fired = (*node)->scheduler().RunDue();
    const auto f1 = Clock::now();
    auto open = (*node)->store().LoadOpenActions();
    if (!open.ok()) Die("outbox", open.status());
    auto left = (*node)->store().ScanTimerDues(std::nullopt, 1);
    if (!left.ok()) Die("timers", left.status());
    // Schedules move on to tomorrow; the timelines' one-shot steps are done (no longer pending).
    const bool all_advanced = schedules == 0 ? left->empty() : !left->empty() && left->front().due > *due;
    fmt::print("07:30: fired {} of {} timers in {:.3f} s wall-clock ({:.0f} timers/s); {} sends in the outbox; "
               "earliest pending due {} ({}); RSS {:.1f} MB, peak {:.1f} MB\n",
               fired.fired, timers, Seconds(f1 - f0), static_cast<double>(fired.fired) / Seconds(f1 - f0),
               open->size(), left->empty() ? std::string("none") : *UtcToLocal(left->front().due, "Asia/Shanghai", "%Y-%m-%d %H:%M"),
               all_advanced ? "all advanced to tomorrow" : "NOT all advanced", RssMb(), PeakMb());

    // The baseline: the same number of compare-and-set commits, one per timer.
    std::vector<TimerDue> dues;
    for (std::optional<TimerDue> after;;) {
      auto page = (*node)->store().ScanTimerDues(after, 4096);
      if (!page.ok()) Die("scan", page.status());
      if (page->empty()) break;
      after = page->back();
      dues.insert(dues.end(), page->begin(), page->end());
    }
    const auto b0 = Clock::now();
    int64_t applied = 0;
    for (const TimerDue& t : dues) {
      auto r = (*node)->store().UpdateTimerDue(t.id, t.due, t.due + 1);
      if (!r.ok()) Die("update", r.status());
      applied += *r ? 1 : 0;
    }
    const auto b1 = Clock::now();
    fmt::print("baseline: {} compare-and-set commits one by one in {:.3f} s ({:.0f}/s, {:.3f} ms each)\n", applied,
               Seconds(b1 - b0), static_cast<double>(applied) / Seconds(b1 - b0),
               Seconds(b1 - b0) * 1000 / static_cast<double>(std::max<int64_t>(1, applied)));
    MergedWelcomes(**node, clock, joins, join_groups);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) { return qz::Run(argc, argv); }
