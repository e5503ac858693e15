// Moderation's cost, against its own baselines in one run (issue 8's targets):
//
//  (a) decision: the whole per-message decision — normalise + match + classify (Prepare) and
//      the policy (the module's OnEvent through the real ModuleRunner over an in-memory State) —
//      on one core: messages/s, p50/p99/max latency. Target >= 200k messages/s, p99 < 1 ms.
//  (b) ingest: the same chat events through Ingest (Prepare on the submitting thread, the writer,
//      SQLite) with [moderation] on and off, interleaved rounds, best of each; again over the
//      messages (a) let through. Target: on >= 70% of off.
//  (c) writer: the writer's CPU time per event (ShardWriter::ApplyBatch on this thread, with the
//      batches prepared beforehand as Submit does), moderation on and off, over all messages and
//      again over the ones (a) let through (ordinary chat). Target: grows < 1 µs.
//      (b) and (c) start from a store whose 20,000 members are settled (SettleMembers, not
//      timed), as (a)'s are: the newcomer rules judge a community's first hours otherwise.
//  (e) the matcher alone over the corpus repeated: 10k literals, 50 regexes, both.
//  (f) the matcher message by message with 10k literals, and the files a peer needs to do the
//      same (bench/peers/run.sh runs the npm mint-filter on them, side by side). Not in the
//      default sections.
//  (d) memory: the compiled rule set (+ model) of the default playbook. Target < 50 MB.
//
// The corpus is /work/shared/data/ads-zh-game/train.txt's texts when --corpus points at a
// label<TAB>text file, else synthetic chat generated here (deterministic).
//
//   qz_moderation_bench [--corpus FILE] [--events N] [--rounds R] [--model MODEL] [--dir DIR]
//                       [--sections abcdef] [--decision-only] [--peer-dir DIR]
//                       [--writer on|off [--ordinary|--mixed]]
//                       [--live] [--acted-share P]
//
// (b) and (c) run the modules in import mode (state and decisions recorded, no action routed);
// --live routes every action as in production (platform actions become outbox rows). They run
// over three streams: all messages (this corpus is a quarter ads), the ones (a) let through
// (ordinary chat), and those with (a)'s acted-on messages mixed back in, evenly spread, at P% of
// the stream (default 2: a group where acting is the exception, not a quarter of the traffic).
//
// --writer on|off runs only (c)'s writer over all messages (with --ordinary: over those (a) lets
// through; with --mixed: the mixed stream) with moderation on or off, once: a
// run to profile (valgrind --tool=callgrind --toggle-collect='qz::ShardWriter::ApplyBatch*'
// counts the writer's instructions, which the VM's noise does not move). With `on` it then
// times the writer's start on the store it wrote: LoadState against LoadStateWithout the cold
// tables (the decisions).
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "app/modules.hpp"
#include "core/text/matcher.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "engine/module_runner.hpp"
#include "engine/shard_writer.hpp"
#include "modules/moderation/config.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz::embedded {
extern const std::string_view kModerationLexicons;
extern const std::string_view kModerationPatterns;
}  // namespace qz::embedded

namespace qz {
namespace {

using bench::LoadCorpus;
using bench::RssKb;

// Chat-length messages: ordinary phrases, numbers, a few links and ads, deterministic.
std::vector<std::string> SyntheticCorpus(size_t n) {
  static const char* kParts[] = {
      "今天",        "作业",   "什么时候", "交",     "老师",    "好的",
      "哈哈哈",      "明天见", "这题",     "怎么做", "我觉得",  "可以",
      "打卡",        "第三天", "完成了",   "加油",   "see you", "thanks",
      "图片",        "链接",   "出元宝",   "加微信", "便宜",    "https://example.com/a",
      "13812345678", "一起",   "上课",     "复习"};
  std::mt19937 rng(7);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    std::string s;
    const int words = 2 + static_cast<int>(rng() % 6);
    for (int w = 0; w < words; ++w) s += kParts[rng() % std::size(kParts)];
    out.push_back(std::move(s));
  }
  return out;
}

std::string PlaybookToml(bool moderation, const std::string& model) {
  std::string pb = "[community]\nslug = \"bench\"\nrules = \"不发广告\"\n";
  for (int g = 0; g < 10; ++g)
    pb += fmt::format("[[groups]]\nplatform = \"sandbox\"\nid = \"g{}\"\n", g);
  if (moderation) {
    pb += "[moderation]\n";
    if (!model.empty()) pb += fmt::format("model = \"{}\"\n", model);
  }
  return pb;
}

std::vector<Event> Messages(const std::vector<std::string>& corpus, int64_t n) {
  std::vector<Event> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Event e;
    e.id = fmt::format("m{}", i);
    e.type = EventType::kMessage;
    e.time = 1772323200000 + i * 50;
    e.platform = "sandbox";
    e.community = "bench";
    const int64_t member = (i * 7919) % 20000;
    e.group = fmt::format("g{}", member % 10);  // the group SettleMembers settled them in
    e.member = fmt::format("u{}", member);
    e.text = corpus[static_cast<size_t>(i) % corpus.size()];
    out.push_back(std::move(e));
  }
  return out;
}

// Settled members: before the measured messages, every member posts four greetings two days
// earlier (past moderation's newcomer rules: first day, first three messages), as (a)'s
// in-memory members are. Applied before timing starts, in both runs of a pair.
std::vector<Event> SettleMembers() {
  std::vector<Event> out;
  for (int round = 0; round < 4; ++round) {
    for (int m = 0; m < 20000; ++m) {
      Event e;
      e.id = fmt::format("s{}-{}", round, m);
      e.type = EventType::kMessage;
      e.time = 1772323200000 - 2 * 86400000 + (round * 20000 + m) * 10;
      e.platform = "sandbox";
      e.community = "bench";
      e.group = fmt::format("g{}", m % 10);
      e.member = fmt::format("u{}", m);
      e.text = "大家好";
      out.push_back(std::move(e));
    }
  }
  return out;
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::shared_ptr<const PlaybookSet> Books(const ModuleRegistry& modules, bool moderation,
                                         const std::string& model) {
  auto pb = ParsePlaybook(PlaybookToml(moderation, model), "bench.toml", modules);
  if (!pb.ok()) {
    fmt::print(stderr, "{}\n", pb.status().ToString());
    std::exit(1);
  }
  return PlaybookSet().With(std::make_shared<const Playbook>(std::move(*pb)));
}

std::unique_ptr<Store> Fresh(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  auto store = OpenSqliteStore({.path = path, .sync = SyncMode::kNormal});
  if (!store.ok()) {
    fmt::print(stderr, "{}\n", store.status().ToString());
    std::exit(1);
  }
  return std::move(*store);
}

std::vector<IngestBatch> Batches(const std::vector<Event>& events) {
  std::vector<IngestBatch> out;
  for (const Event& e : events) {
    if (out.empty() || out.back().events.size() >= 8192) out.emplace_back();
    out.back().json.push_back(EventToJson(e));
    out.back().indexes.push_back(out.back().events.size());
    out.back().events.push_back(e);
  }
  return out;
}

// (b) and (c) run the modules in import mode (state and decisions recorded, nothing sent) unless
// --live: then every action is routed as in production (platform actions to the outbox).
bool g_live = false;

EngineOptions BenchEngine(const ModuleRegistry& modules, std::shared_ptr<const PlaybookSet> books) {
  EngineOptions engine;
  engine.modules = &modules;
  engine.module_mode = g_live ? ModuleMode::kLive : ModuleMode::kImport;
  engine.playbooks = std::move(books);
  engine.capabilities.emplace("sandbox", Capabilities::All());
  return engine;
}

// (b): through Ingest, submitted from this thread.
double IngestRate(const ModuleRegistry& modules, std::shared_ptr<const PlaybookSet> books,
                  const std::vector<IngestBatch>& settle, const std::vector<IngestBatch>& batches,
                  const std::string& path) {
  auto store = Fresh(path);
  auto ingest = Ingest::Start(*store, {}, BenchEngine(modules, std::move(books)));
  if (!ingest.ok()) std::exit(1);
  std::atomic<int64_t> accepted{0};
  std::atomic<int> in_flight{0};
  auto submit_all = [&](const std::vector<IngestBatch>& all) {
    for (const IngestBatch& b : all) {
      while (in_flight.load() >= 4) std::this_thread::yield();
      ++in_flight;
      (*ingest)->Submit(b, [&](IngestResult r) {
        accepted += r.accepted;
        --in_flight;
      });
    }
    while (in_flight.load() > 0) std::this_thread::yield();
  };
  submit_all(settle);
  accepted = 0;
  const auto start = std::chrono::steady_clock::now();
  submit_all(batches);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return static_cast<double>(accepted.load()) / s;
}

// (c): the writer's own CPU per event, with the preparation done beforehand, and how many
// decisions moderation recorded.
struct WriterRun {
  double micros_per_event = 0;
  size_t decisions = 0;
  double rss_growth_mb = 0;  // while the writer applied the timed batches (its state's growth)
};
WriterRun WriterMicrosPerEvent(const ModuleRegistry& modules, std::shared_ptr<const PlaybookSet> books,
                            std::vector<IngestBatch> settle, std::vector<IngestBatch> batches,
                            const std::string& path) {
  auto store = Fresh(path);
  auto writer = ShardWriter::Open(*store, BenchEngine(modules, books));
  if (!writer.ok()) std::exit(1);
  auto apply_all = [&](std::vector<IngestBatch>& all) {
    int64_t events = 0;
    for (IngestBatch& b : all) {
      std::vector<WriteItem> items;
      for (size_t i = 0; i < b.events.size(); ++i)
        items.push_back({&b.events[i], &b.json[i], &b.prepared[i]});
      if (!(*writer)->ApplyBatch(items).ok()) std::exit(1);
      events += static_cast<int64_t>(items.size());
    }
    return events;
  };
  for (std::vector<IngestBatch>* all : {&settle, &batches}) {
    for (IngestBatch& b : *all) {
      b.prepared.resize(b.events.size());
      for (size_t i = 0; i < b.events.size(); ++i)
        b.prepared[i] = PrepareEvent(modules, *books, b.events[i]);
    }
  }
  apply_all(settle);
  const long rss0 = RssKb();
  const double cpu0 = ThreadCpuSeconds();
  const int64_t events = apply_all(batches);
  const double cpu = ThreadCpuSeconds() - cpu0;
  const long rss1 = RssKb();
  if ((*writer)->runner()->prepared_on_writer() != 0) {
    fmt::print(stderr, "warning: {} events prepared on the writer\n",
               (*writer)->runner()->prepared_on_writer());
  }
  WriterRun out{cpu * 1e6 / static_cast<double>(events), 0, static_cast<double>(rss1 - rss0) / 1024.0};
  auto state = store->LoadState();
  if (!state.ok()) std::exit(1);
  for (const ModuleStateEntry& row : state->module_state) out.decisions += row.module == "moderation.decisions";
  return out;
}

// The writer's start on the store a --writer run left: the whole state (LoadState, what the
// writer read before cold tables were left out) against LoadStateWithout the cold tables, each
// timed and with the memory its snapshot holds, alternately.
void StartUpLoads(const std::string& path, const ModuleRegistry& modules) {
  auto store = OpenSqliteStore({.path = path, .sync = SyncMode::kNormal});
  if (!store.ok()) std::exit(1);
  for (int round = 0; round < 3; ++round) {
    for (const bool all : {true, false}) {
      malloc_trim(0);
      const long rss0 = RssKb();
      const auto t0 = std::chrono::steady_clock::now();
      auto snapshot = all ? (*store)->LoadState()
                          : (*store)->LoadStateWithout([&](std::string_view t) { return modules.IsCold(t); });
      const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!snapshot.ok()) std::exit(1);
      fmt::print("start-up load, {}: {} module rows in {:.1f} ms, the snapshot holding +{:.1f} MB\n",
                 all ? "LoadState (everything)" : "LoadStateWithout (cold tables left out)",
                 snapshot->module_state.size(), ms, static_cast<double>(RssKb() - rss0) / 1024.0);
    }
  }
}

// (e): the matcher alone: 10,000 lexicon entries (the shipped lexicons' first 10,000 lines) and
// 50 regexes (the shipped patterns, then variants of them), over `corpus` repeated to >= 10 MB.
// The shipped lexicons' first `n` terms, as caseless literals.
std::vector<text::Pattern> LexiconLiterals(size_t n) {
  std::vector<text::Pattern> patterns;
  std::string_view bundle = embedded::kModerationLexicons;
  for (size_t pos = 0; pos < bundle.size() && patterns.size() < n;) {
    size_t nl = bundle.find('\n', pos);
    if (nl == std::string_view::npos) nl = bundle.size();
    std::string_view line = bundle.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#' || line[0] == '@') continue;
    line = line.substr(0, line.find('\t'));
    patterns.push_back({text::Pattern::Kind::kLiteral, std::string(line), 0, true, "lexicon"});
  }
  return patterns;
}

// (f): the matcher message by message over the corpus with the same 10,000 terms a peer gets:
// `dump_dir` receives lexicon.txt and corpus.txt (one per line) for bench/peers/run.sh.
void PeerSideBySide(const std::vector<std::string>& corpus, const std::string& dump_dir) {
  const std::vector<text::Pattern> patterns = LexiconLiterals(10000);
  std::vector<std::string> lines;  // a line break inside a message would split it for the peer
  size_t bytes = 0;
  for (const std::string& c : corpus) {
    if (c.find_first_of("\r\n") != std::string::npos) continue;
    lines.push_back(c);
    bytes += c.size();
  }
  {
    std::ofstream lexicon(dump_dir + "/lexicon.txt");
    for (const text::Pattern& p : patterns) lexicon << p.expression << '\n';
    std::ofstream out(dump_dir + "/corpus.txt");
    for (const std::string& l : lines) out << l << '\n';
  }
  auto db = text::MatcherDatabase::Compile(patterns);
  if (!db.ok()) {
    fmt::print(stderr, "{}\n", db.status().ToString());
    std::exit(1);
  }
  std::vector<text::Match> matches;
  double best = 1e9;
  size_t with_match = 0;
  for (int r = 0; r < 5; ++r) {
    with_match = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& l : lines) {
      matches.clear();
      (*db)->Scan(l, matches);
      with_match += matches.empty() ? 0 : 1;
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  fmt::print("(f) qunzhu matcher, {} terms, message by message: {:.0f} messages/s, {:.1f} MB/s; {} of {} "
             "messages matched (best of 5)\n",
             patterns.size(), static_cast<double>(lines.size()) / best, static_cast<double>(bytes) / 1e6 / best,
             with_match, lines.size());
}

void MatcherAlone(const std::vector<std::string>& corpus) {
  std::vector<text::Pattern> patterns = LexiconLiterals(10000);
  std::vector<std::string> regexes;
  std::string_view tsv = embedded::kModerationPatterns;
  for (size_t pos = 0; pos < tsv.size();) {
    size_t nl = tsv.find('\n', pos);
    if (nl == std::string_view::npos) nl = tsv.size();
    std::string_view line = tsv.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    regexes.emplace_back(line.substr(line.rfind('\t') + 1));
  }
  std::vector<std::string> unanchored;
  for (const auto& r : regexes) {
    if (r.find('^') == std::string::npos && r.find('$') == std::string::npos)
      unanchored.push_back(r);
  }
  for (size_t i = 0; regexes.size() < 50; ++i) {
    regexes.push_back(unanchored[i % unanchored.size()] + fmt::format("(x{})?", i));
  }
  for (const auto& r : regexes)
    patterns.push_back({text::Pattern::Kind::kRegex, r, 0, true, "patterns"});
  std::string text;
  while (text.size() < 10'000'000) {
    for (const auto& c : corpus) {
      text += c;
      text += '\n';
    }
  }
  const size_t literals = patterns.size() - regexes.size();
  auto run = [&](std::string_view what, std::span<const text::Pattern> set) {
    auto db = text::MatcherDatabase::Compile(set);
    if (!db.ok()) {
      fmt::print(stderr, "{}\n", db.status().ToString());
      std::exit(1);
    }
    std::vector<text::Match> matches;
    double best = 1e9;
    for (int r = 0; r < 3; ++r) {
      matches.clear();
      const auto start = std::chrono::steady_clock::now();
      for (size_t at = 0; at < text.size(); at += 1 << 20) {
        (*db)->Scan(std::string_view(text).substr(at, 1 << 20), matches);
      }
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    fmt::print(
        "(e) matcher alone, {}: over {:.1f} MB: {:.0f} MB/s ({} matches), database {:.1f} MB\n",
        what, static_cast<double>(text.size()) / 1e6, static_cast<double>(text.size()) / 1e6 / best,
        matches.size(), static_cast<double>((*db)->memory_bytes()) / 1e6);
  };
  const std::span<const text::Pattern> all(patterns);
  run(fmt::format("{} literals", literals), all.subspan(0, literals));
  run(fmt::format("{} regexes", regexes.size()), all.subspan(literals));
  run(fmt::format("{} literals + {} regexes", literals, regexes.size()), all);
}

// (a): Prepare + the runner, message by message, over an in-memory State, on this thread.
// `acted` gets, per message, whether moderation acted on it.
struct DecisionRun {
  double seconds = 0;
  std::vector<double> latency;  // µs, sorted
  std::vector<bool> acted;
};
DecisionRun DecideAll(const ModuleRegistry& modules, const PlaybookSet& on,
                      const std::vector<Event>& messages) {
  State state;
  Community c;
  c.slug = "bench";
  const CommunityId cid = state.AddCommunity(c).id;
  std::vector<GroupId> groups;
  for (int g = 0; g < 10; ++g) {
    Group gr;
    gr.community_id = cid;
    gr.platform = "sandbox";
    gr.external_id = fmt::format("g{}", g);
    groups.push_back(state.AddGroup(gr).id);
  }
  std::vector<MemberId> members;
  for (int m = 0; m < 20000; ++m) {
    Member mem;
    mem.community_id = cid;
    mem.messages = 100;  // settled members: the newcomer rules do not apply
    members.push_back(state.AddMember(mem).id);
  }
  ModuleRunner runner(modules, ModuleMode::kImport, nullptr);
  DecisionRun run;
  run.latency.reserve(messages.size());
  run.acted.reserve(messages.size());
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const PreparedEvent prepared = PrepareEvent(modules, on, messages[i]);
    EventRefs refs{cid, groups[i % 10], members[(i * 7919) % 20000], 0};
    ModuleEmissions out = runner.Run(state, on, messages[i], refs, messages[i].time, &prepared);
    run.acted.push_back(!out.actions.empty());
    run.latency.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(run.latency.begin(), run.latency.end());
  return run;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  using namespace qz;
  std::string corpus_path, model, dir = std::filesystem::temp_directory_path().string();
  int64_t events = 200000;
  int rounds = 3;
  std::string sections = "abcde";
  std::string dump_dir;
  std::string writer_only;  // "on" | "off": (c)'s writer alone, once
  // With --writer: the stream, "all", "ordinary" (the messages (a) lets through) or "mixed".
  std::string writer_stream = "all";
  double acted_share = 0.02;   // (b) and (c)'s mixed stream: the share of acted-on messages
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--decision-only") {
      sections = "ade";
    } else if (flag == "--corpus" && has_value) {
      corpus_path = argv[++i];
    } else if (flag == "--events" && has_value) {
      events = std::stoll(argv[++i]);
    } else if (flag == "--rounds" && has_value) {
      rounds = std::max(1, std::stoi(argv[++i]));
    } else if (flag == "--model" && has_value) {
      model = argv[++i];
    } else if (flag == "--dir" && has_value) {
      dir = argv[++i];
    } else if (flag == "--sections" && has_value) {
      sections = argv[++i];
    } else if (flag == "--peer-dir" && has_value) {
      dump_dir = argv[++i];
    } else if (flag == "--ordinary" || flag == "--mixed") {
      writer_stream = flag.substr(2);
    } else if (flag == "--acted-share" && has_value) {
      acted_share = std::clamp(std::stod(argv[++i]) / 100, 0.0, 0.99);
    } else if (flag == "--live") {
      g_live = true;
    } else if (flag == "--writer" && has_value && (std::string_view(argv[i + 1]) == "on" ||
                                                   std::string_view(argv[i + 1]) == "off")) {
      writer_only = argv[++i];
      sections = "c";
    } else {
      fmt::print(stderr,
                 "usage: qz_moderation_bench [--corpus FILE] [--events N] [--rounds N] [--model M]\n"
                 "         [--dir D] [--sections abcdef] [--decision-only (= --sections ade)]\n"
                 "         [--peer-dir DIR (section f writes lexicon.txt and corpus.txt there)]\n"
                 "         [--writer on|off (section c's writer alone, once, to profile) [--ordinary|--mixed]]\n"
                 "         [--live (b and c route every action, as in production; default: import mode)]\n"
                 "         [--acted-share P (b and c also over ordinary chat with P% acted-on messages\n"
                 "          mixed back in; default 2, 0 to skip)]\n");
      return 2;
    }
  }
  auto run = [&](char section) { return sections.find(section) != std::string::npos; };
  spdlog::set_level(spdlog::level::warn);
  std::vector<std::string> corpus =
      corpus_path.empty() ? std::vector<std::string>{} : LoadCorpus(corpus_path);
  const std::string corpus_name = corpus.empty() ? "synthetic chat" : corpus_path;
  if (corpus.empty()) corpus = SyntheticCorpus(50000);
  size_t bytes = 0;
  for (const auto& s : corpus) bytes += s.size();
  fmt::print("corpus: {} ({} messages, {:.1f} bytes average)\n", corpus_name, corpus.size(),
             static_cast<double>(bytes) / static_cast<double>(corpus.size()));

  auto registry = MakeModuleRegistry();
  if (!registry.ok()) return 1;
  const ModuleRegistry& modules = **registry;
  auto on = Books(modules, true, model);
  auto off = Books(modules, false, model);
  const std::vector<Event> messages = Messages(corpus, events);

  // (d)
  if (run('d')) {
    const auto* config = on->For("bench").Section<moderation::ModerationConfig>("moderation");
    fmt::print("(d) rule set of the default playbook{}: {:.1f} MB\n",
               model.empty() ? "" : " + model",
               static_cast<double>(config->rules->memory_bytes()) / 1e6);
  }

  // (a) one core: Prepare + the runner, message by message, over an in-memory State.
  // (a), once per round (the machine is shared: the best round is the figure).
  if (run('a')) {
    for (int r = 0; r < rounds; ++r) {
      const DecisionRun d = DecideAll(modules, *on, messages);
      fmt::print("(a) decision, one core, round {}: {:.0f} messages/s; latency p50 {:.2f} µs, p99 {:.2f} µs, "
                 "max {:.0f} µs; {} of {} messages acted on\n",
                 r + 1, static_cast<double>(messages.size()) / d.seconds, d.latency[d.latency.size() / 2],
                 d.latency[d.latency.size() * 99 / 100], d.latency.back(),
                 std::count(d.acted.begin(), d.acted.end(), true), messages.size());
    }
  }

  if (run('e')) MatcherAlone(corpus);
  if (run('f')) PeerSideBySide(corpus, dump_dir.empty() ? dir : dump_dir);
  if (!run('b') && !run('c')) return 0;
  // (b) and (c), interleaved rounds.
  const std::vector<IngestBatch> settle = Batches(SettleMembers());
  const std::string path = dir + "/qz-moderation-bench.db";
  // (b) and (c) again over the messages (a) let through (the cost on ordinary chat, where
  // moderation only reads: its normalising and matching are done before the writer), and over
  // those with (a)'s acted-on messages mixed back in at --acted-share of the stream.
  std::vector<Event> through, mixed;
  if (writer_only.empty() || writer_stream != "all") {
    const DecisionRun d = DecideAll(modules, *on, messages);
    const size_t acted = static_cast<size_t>(std::count(d.acted.begin(), d.acted.end(), true));
    const size_t ordinary = messages.size() - acted;
    // Every k-th acted-on message, so that they are acted_share of the mixed stream.
    const double wanted = acted_share / (1 - acted_share) * static_cast<double>(ordinary);
    const double step = wanted > 0 ? static_cast<double>(acted) / std::min(wanted, static_cast<double>(acted)) : 0;
    double next = 0;
    size_t seen = 0;
    for (size_t i = 0; i < messages.size(); ++i) {
      if (!d.acted[i]) {
        through.push_back(messages[i]);
        mixed.push_back(messages[i]);
      } else if (step > 0 && static_cast<double>(seen++) >= next) {
        mixed.push_back(messages[i]);
        next += step;
      }
    }
  }
  if (!writer_only.empty()) {
    const std::vector<Event>& timed =
        writer_stream == "ordinary" ? through : writer_stream == "mixed" ? mixed : messages;
    const WriterRun w = WriterMicrosPerEvent(modules, writer_only == "on" ? on : off, settle, Batches(timed), path);
    fmt::print("(c) writer CPU per event, {} messages ({}), moderation {}: {:.2f} µs ({} decisions recorded); "
               "RSS +{:.1f} MB while they were applied\n",
               timed.size(), writer_stream, writer_only, w.micros_per_event, w.decisions, w.rss_growth_mb);
    if (writer_only == "on") StartUpLoads(path, modules);
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    return 0;
  }
  struct Stream {
    std::string name;
    std::vector<IngestBatch> batches;
    double rate_on = 0, rate_off = 0, cpu_on = 1e9, cpu_off = 1e9;
    size_t decisions = 0;
  };
  std::vector<Stream> streams;
  streams.push_back({fmt::format("all {} messages", messages.size()), Batches(messages)});
  streams.push_back({fmt::format("the {} messages (a) let through", through.size()), Batches(through)});
  if (acted_share > 0) {
    streams.push_back({fmt::format("{} messages, {:.1f}% of them ones (a) acted on", mixed.size(),
                                   100.0 * static_cast<double>(mixed.size() - through.size()) /
                                       static_cast<double>(mixed.size())),
                       Batches(mixed)});
  }
  for (int r = 0; r < rounds; ++r) {
    for (Stream& s : streams) {
      if (run('b')) {
        s.rate_off = std::max(s.rate_off, IngestRate(modules, off, settle, s.batches, path));
        s.rate_on = std::max(s.rate_on, IngestRate(modules, on, settle, s.batches, path));
      }
      if (run('c')) {
        s.cpu_off = std::min(s.cpu_off, WriterMicrosPerEvent(modules, off, settle, s.batches, path).micros_per_event);
        const WriterRun w = WriterMicrosPerEvent(modules, on, settle, s.batches, path);
        s.cpu_on = std::min(s.cpu_on, w.micros_per_event);
        s.decisions = w.decisions;
      }
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  const char* mode = g_live ? "live" : "import mode";
  for (const Stream& s : streams) {
    if (run('b')) {
      fmt::print("(b) ingest of {} (sync=normal, {}, best of {} rounds): moderation off {:.0f}/s, on {:.0f}/s: {:.2f}x\n",
                 s.name, mode, rounds, s.rate_off, s.rate_on, s.rate_on / s.rate_off);
    }
  }
  for (const Stream& s : streams) {
    if (run('c')) {
      fmt::print("(c) writer CPU per event, {} ({}): off {:.2f} µs, on {:.2f} µs: {:+.2f} µs ({} decisions recorded)\n",
                 s.name, mode, s.cpu_off, s.cpu_on, s.cpu_on - s.cpu_off, s.decisions);
    }
  }
  return 0;
}
