// qunzhu: the binary. The one place that names every concrete class (SQLite store, ingest,
// HTTP server, demo generator) and wires them together behind the CLI.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "demo/demo.hpp"
#include "engine/ingest.hpp"
#include "engine/replay.hpp"
#include "store/accounts.hpp"
#include "app/cli_moderation.hpp"
#include "app/cli_users.hpp"
#include "app/data_dir.hpp"
#include "app/eval_moderation.hpp"
#include "app/http_wiring.hpp"
#include "app/modules.hpp"
#include "app/node.hpp"
#include "app/node_config.hpp"
#include "app/platforms.hpp"
#include "platform/sandbox/sandbox.hpp"
#include "playbook/playbook.hpp"
#include "server/console.hpp"
#include "server/http_server.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDbFile = "qunzhu.db";
constexpr const char* kTokenFile = "admin.token";

struct DataOptions {
  std::string dir = "./data";
  std::string sync = "full";
};

void AddDataOptions(CLI::App* cmd, DataOptions& o) {
  cmd->add_option("--data", o.dir,
                  "Data directory (holds qunzhu.db, admin.token and qunzhu.lock; created with "
                  "mode 0700; env QZ_DATA)")
      ->capture_default_str();
  cmd->add_option("--sync", o.sync,
                  "Durability of a commit: 'full' survives power loss (fsync), 'normal' survives "
                  "a crash of the process only (env QZ_SYNC)")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
}

// --data and --sync when given, else QZ_DATA and QZ_SYNC when set, else the defaults.
Status ResolveDataOptions(const CLI::App& cmd, DataOptions& o) {
  auto env = ReadEnvironment([](const char* name) { return std::getenv(name); });
  if (!env.ok()) return env.status();
  if (cmd.get_option("--data")->count() == 0 && env->data_dir) o.dir = *env->data_dir;
  if (cmd.get_option("--sync")->count() == 0 && env->sync) o.sync = *env->sync;
  return Status::Ok();
}

// Opens (creating if needed) the store in the data directory; migrations run here. The caller
// holds the directory's DataDirLock.
Result<std::unique_ptr<Store>> OpenData(const DataOptions& o) {
  QZ_RETURN_IF_ERROR(EnsureDataDir(o.dir));
  return OpenSqliteStore({.path = (fs::path(o.dir) / kDbFile).string(),
                          .sync = o.sync == "normal" ? SyncMode::kNormal : SyncMode::kFull});
}

// Creates a token, stores its hash, and returns the secret (shown once, never logged). The
// command line may make any token (store/accounts.hpp); names may repeat, as they always could.
Result<std::string> CreateToken(Store& store, const std::string& name,
                                AccountRole role = AccountRole::kOwner) {
  QZ_ASSIGN_OR_RETURN(Guarded<NewToken> made, IssueToken(store, AccountActor{}, name, role,
                                                         SystemClock().Now(),
                                                         /*unique_name=*/false));
  return std::move(made.value.secret);
}

// The admin token lives in DIR/admin.token (mode 0600) so `qz up` can show it; created once.
Result<std::string> EnsureAdminToken(Store& store, const std::string& dir) {
  const fs::path path = fs::path(dir) / kTokenFile;
  if (fs::exists(path)) {
    std::ifstream in(path);
    std::string secret;
    std::getline(in, secret);
    if (!secret.empty()) {
      auto known = store.FindToken(Sha256Hex(secret));
      if (!known.ok()) return known.status();
      if (known->has_value()) return secret;
    }
  }
  auto secret = CreateToken(store, "admin");
  if (!secret.ok()) return secret;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::Unavailable(fmt::format("cannot write {}", path.string()));
  const std::string line = *secret + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return Status::Unavailable(fmt::format("cannot write {}", path.string()));
  spdlog::info("created the admin API token in {}", path.string());
  return secret;
}

int Fail(const Status& st) {
  spdlog::error("{}", st.ToString());
  return st.code() == Code::kInvalidArgument ? 2 : 1;
}

// ---------------------------------------------------------------------------------------------
// Streaming NDJSON into the engine: the calling thread reads and parses, the writer thread
// commits; a bounded number of batches are in flight so memory stays flat on any input size.

struct StreamTotals {
  int64_t events = 0, accepted = 0, duplicates = 0, rejected = 0;
  bool failed = false;
};

class Progress {
 public:
  Progress(int64_t total_bytes, bool enabled) : total_(total_bytes), enabled_(enabled) {}
  void Update(int64_t bytes, int64_t events, bool final = false) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? events / secs : 0;
    if (total_ > 0) {
      const double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(total_));
      const int filled = static_cast<int>(frac * 30);
      fmt::print(stderr, "\r[{}{}] {:5.1f}%  {} events  {:.0f}/s ", std::string(filled, '#'),
                 std::string(30 - filled, ' '), frac * 100, events, rate);
    } else {
      fmt::print(stderr, "\r{} events  {:.0f}/s ", events, rate);
    }
    if (final) fmt::print(stderr, "\n");
  }

 private:
  int64_t total_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
};

class Streamer {
 public:
  explicit Streamer(Ingest& ingest) : ingest_(ingest) {}

  // Submits the lines in `chunk` (NDJSON) as one batch; `first_line` is the 1-based line
  // number of its first line, for error messages.
  void Submit(std::string_view chunk, int64_t first_line) {
    auto items = SplitNdjsonWithLines(chunk, first_line);
    IngestBatch batch = ParseBatch(items.items, parser_);
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return in_flight_ < kMaxInFlight; });
      ++in_flight_;
      totals_.events += static_cast<int64_t>(batch.size());
    }
    ingest_.Submit(std::move(batch), [this, lines = std::move(items.lines)](IngestResult r) {
      std::lock_guard lock(mu_);
      --in_flight_;
      if (!r.status.ok()) {
        totals_.failed = true;
        failure_ = r.status;
      }
      totals_.accepted += r.accepted;
      totals_.duplicates += r.duplicates;
      totals_.rejected += static_cast<int64_t>(r.rejected.size());
      for (const auto& e : r.rejected) {
        if (reported_++ < kMaxReported) {
          spdlog::warn("line {}: {}", lines[e.index], e.error.ToString());
        }
      }
      cv_.notify_all();
    });
  }

  StreamTotals Finish() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    if (reported_ > kMaxReported) {
      spdlog::warn("{} more rejected lines not shown", reported_ - kMaxReported);
    }
    if (totals_.failed) spdlog::error("a commit failed: {}", failure_.ToString());
    return totals_;
  }

  int64_t events() {
    std::lock_guard lock(mu_);
    return totals_.events;
  }

 private:
  static constexpr int kMaxInFlight = 16;
  static constexpr int64_t kMaxReported = 20;

  struct Framed {
    std::vector<RawItem> items;
    std::vector<int64_t> lines;
  };
  static Framed SplitNdjsonWithLines(std::string_view chunk, int64_t line) {
    Framed f;
    size_t pos = 0;
    while (pos < chunk.size()) {
      size_t nl = chunk.find('\n', pos);
      if (nl == std::string_view::npos) nl = chunk.size();
      std::string_view text = chunk.substr(pos, nl - pos);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.find_first_not_of(" \t") != std::string_view::npos) {
        f.items.push_back({text, Status::Ok()});
        f.lines.push_back(line);
      }
      ++line;
      pos = nl + 1;
    }
    return f;
  }

  Ingest& ingest_;
  EventParser parser_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  int64_t reported_ = 0;
  Status failure_;
  StreamTotals totals_;
};

// The engine for history (`ingest`, `demo`): modules keep their state and derived events from the
// history under the stored playbooks, but nothing is sent again (ModuleMode::kImport).
struct History {
  std::unique_ptr<ModuleRegistry> modules;
  EngineOptions options;
};
Result<History> HistoryEngine(Store& store) {
  History h;
  auto modules = MakeModuleRegistry();
  if (!modules.ok()) return modules.status();
  h.modules = std::move(*modules);
  auto books = LoadStoredPlaybooks(store, *h.modules, nullptr);
  if (!books.ok()) return books.status();
  h.options.modules = h.modules.get();
  h.options.module_mode = ModuleMode::kImport;
  h.options.playbooks = std::move(*books);
  return h;
}

int RunIngest(const DataOptions& data, const std::string& file) {
  std::FILE* in = file == "-" ? stdin : std::fopen(file.c_str(), "rb");
  if (in == nullptr) return Fail(Status::Invalid(fmt::format("cannot open {}", file), "FILE"));
  int64_t total_bytes = 0;
  if (in != stdin) {
    std::error_code ec;
    total_bytes = static_cast<int64_t>(fs::file_size(file, ec));
  }
  auto store = OpenData(data);
  if (!store.ok()) return Fail(store.status());
  // Bulk import: bigger group commits rewrite each touched index page fewer times per event.
  auto engine = HistoryEngine(**store);
  if (!engine.ok()) return Fail(engine.status());
  if (Status st = (*store)->BeginBulkLoad(); !st.ok()) return Fail(st);
  auto ingest = Ingest::Start(**store, {.max_batch_events = 65536}, engine->options);
  if (!ingest.ok()) return Fail(ingest.status());

  const auto start = std::chrono::steady_clock::now();
  Progress progress(total_bytes, isatty(STDERR_FILENO) == 1);
  Streamer streamer(**ingest);
  constexpr size_t kChunkBytes = 2 << 20;
  std::string buffer, carry;
  buffer.resize(kChunkBytes);
  int64_t bytes = 0, line = 1;
  while (true) {
    const size_t n = std::fread(buffer.data(), 1, buffer.size(), in);
    if (n == 0) break;
    bytes += static_cast<int64_t>(n);
    carry.append(buffer.data(), n);
    const size_t last_nl = carry.rfind('\n');
    if (last_nl == std::string::npos) continue;  // a line longer than the chunk: keep reading
    std::string_view complete(carry.data(), last_nl + 1);
    streamer.Submit(complete, line);
    line += std::count(complete.begin(), complete.end(), '\n');
    carry.erase(0, last_nl + 1);
    progress.Update(bytes, streamer.events());
  }
  if (!carry.empty()) streamer.Submit(carry, line);
  if (in != stdin) std::fclose(in);
  StreamTotals t = streamer.Finish();
  progress.Update(bytes, t.events, true);
  ingest->reset();  // the writer stops before the store rebuilds what the bulk load deferred
  if (Status st = (*store)->EndBulkLoad(); !st.ok()) return Fail(st);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("ingested {} events ({} duplicates, {} rejected) in {:.2f} s: {:.0f} events/s\n",
             t.accepted, t.duplicates, t.rejected, secs, secs > 0 ? t.events / secs : 0.0);
  return t.failed ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

// The serve command line: the values given as flags (unset ones are not flags' defaults, so the
// environment and the config file can supply them).
struct ServeFlags {
  std::string config;
  ConfigOverrides overrides;
  std::string console_dir;  // --console; "" for the default (ConsoleDir)
};

// Where the built operator console is: --console DIR, else the directory `console` beside the
// executable (where the CMake build puts it, QZ_BUILD_CONSOLE).
std::string ConsoleDir(const ServeFlags& flags) {
  if (!flags.console_dir.empty()) return flags.console_dir;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("console") : (exe.parent_path() / "console").string();
}

// The platforms.* tables of the config file: a platform this build has no adapter for is
// reported with the file's other problems; the keys are read by the adapter's factory once the
// whole configuration (and so the data directory) is known: MakeAdapters.
void CheckPlatformSection(std::string_view name, TableReader& section) {
  PlatformRegistry registry;
  if (Status st = RegisterPlatforms(registry); !st.ok() || registry.Find(name) == nullptr) {
    std::string known;
    for (const std::string& p : registry.platforms()) known += (known.empty() ? "" : ", ") + p;
    section.problems().Report(section.table(), section.path(),
                              fmt::format("unknown platform '{}' (this build has adapters for: {})",
                                          Excerpt(name, 40), known));
  }
  for (auto&& [key, node] : section.table()) section.Skip(key.str());
}

// The adapters the node serves: one per [platforms.<name>] section of the config file at
// `path`, made by the registered factories (every problem reported with its line), or the
// sandbox alone when there is none.
Result<std::vector<std::unique_ptr<PlatformAdapter>>> MakeAdapters(const NodeConfig& config,
                                                                   const std::string& path,
                                                                   const AdapterEnv& env) {
  if (config.platforms.empty()) return CreateAdapters(kDefaultPlatforms, "built-in platforms", env);
  // Read again from the file: copies of TOML nodes lose their lines.
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return CreateAdapters(text.str(), path, env, /*only_platforms=*/true);
}

// Defaults, then the config file, then the environment, then the flags.
Result<NodeConfig> ResolveServeConfig(const ServeFlags& flags) {
  std::string path = flags.config;
  if (path.empty()) {
    const char* env = std::getenv("QZ_CONFIG");
    if (env != nullptr) path = env;
  }
  NodeConfig config;
  if (!path.empty()) {
    auto loaded = LoadNodeConfig(path, CheckPlatformSection);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
    spdlog::info("configuration read from {}", path);
  }
  auto env = ReadEnvironment([](const char* name) { return std::getenv(name); });
  if (!env.ok()) return env.status();
  ApplyOverrides(config, *env);
  ApplyOverrides(config, flags.overrides);
  return config;
}

int RunServe(const ServeFlags& flags) {
  auto config = ResolveServeConfig(flags);
  if (!config.ok()) {
    // The message names the file, line and key path of each problem.
    fmt::print(stderr, "{}\n", config.status().ToString());
    return 2;
  }
  auto listen = ParseListen(config->server.listen, "server.listen");
  if (!listen.ok()) return Fail(listen.status());
  ServerOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.io_threads = config->server.io_threads;
  options.auth.secure_cookies = config->server.secure_cookies;
  DataOptions data;
  data.dir = config->storage.data_dir;
  data.sync = config->storage.sync == SyncMode::kNormal ? "normal" : "full";

  // Held until the process ends: no other qunzhu writes this directory meanwhile.
  auto lock = DataDirLock::Acquire(data.dir);
  if (!lock.ok()) return Fail(lock.status());
  {
    auto store = OpenData(data);
    if (!store.ok()) return Fail(store.status());
    if (auto token = EnsureAdminToken(**store, data.dir); !token.ok()) return Fail(token.status());
    // The console's first account. Its password goes to standard output once (`./qz up` shows
    // it) and nowhere else: the log on standard error only says where it went.
    auto first = EnsureFirstAccount(**store, SystemClock().Now());
    if (!first.ok()) return Fail(first.status());
    if (first->has_value()) {
      fmt::print("created the console account 'admin' (role owner); its password, shown only "
                 "this once: {}\n",
                 **first);
      std::fflush(stdout);
      spdlog::info("created the console account 'admin' (role owner); its password is on "
                   "standard output, once (change it with `qunzhu user passwd admin`)");
    }
  }
  // The operator console's files, read once (docs/console.md); missing means "not built".
  auto console = ConsoleFiles::Load(ConsoleDir(flags));
  if (!console.ok()) return Fail(console.status());
  if ((*console)->built()) {
    spdlog::info("console: {} files ({} KiB) from {}", (*console)->file_count(),
                 (*console)->total_bytes() / 1024, (*console)->dir());
  } else {
    spdlog::info("console: not built ({} has no index.html); / says how to build it",
                 (*console)->dir());
  }
  SystemClock clock;
  // The sandbox's member-side event ids start from the clock by default, so they do not repeat
  // those of an earlier run.
  const char* config_path = std::getenv("QZ_CONFIG");
  auto adapters = MakeAdapters(*config,
                               !flags.config.empty()    ? flags.config
                               : config_path != nullptr ? std::string(config_path)
                                                        : std::string(),
                               {clock, data.dir});
  if (!adapters.ok()) {
    fmt::print(stderr, "{}\n", adapters.status().ToString());
    return 2;
  }
  NodeOptions node_options;
  node_options.data_dir = data.dir;
  node_options.lock_data_dir = false;  // held above
  node_options.sync = config->storage.sync;
  node_options.clock = &clock;
  node_options.adapters = std::move(*adapters);
  node_options.playbook_files = config->server.playbooks;
  auto node = Node::Open(std::move(node_options));
  if (!node.ok()) return Fail(node.status());
  auto stats = (*node)->store().Stats();
  spdlog::info("state loaded in {:.3f} s: {} communities, {} groups, {} members, {} events",
               (*node)->ingest().state_load_seconds(), stats.ok() ? stats->communities : -1,
               stats.ok() ? stats->groups : -1, stats.ok() ? stats->members : -1,
               stats.ok() ? stats->events : -1);
  auto routes = ContributedRoutes({.sandbox = dynamic_cast<SandboxPlatform*>((*node)->adapter("sandbox")),
                                   .adapters = (*node)->adapters(),
                                   .console = *console});
  if (!routes.ok()) return Fail(routes.status());
  const ApiServices services{(*node)->store(), (*node)->ingest(), clock, &(*node)->modules(),
                             &(*node)->delivery()};
  MetricsRegistry metrics;
  auto server = HttpServer::Start(options, services, std::move(*routes), &metrics);
  if (!server.ok()) return Fail(server.status());
  if (Status s = AddNodeMetrics(metrics, **node); !s.ok()) return Fail(s);
  const std::string url = fmt::format("http://{}:{}", options.host, (*server)->port());
  spdlog::info("listening on {}", url);
  if (!config->server.port_file.empty()) {
    std::ofstream(config->server.port_file) << (*server)->port() << "\n";
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  spdlog::info("stopping: finishing in-flight requests");
  (*server)->Stop();
  return 0;
}

int RunPlaybookCheck(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Fail(Status::Invalid(fmt::format("cannot read {}", file), "FILE"));
  std::stringstream text;
  text << in.rdbuf();
  auto modules = MakeModuleRegistry();
  if (!modules.ok()) return Fail(modules.status());
  // The same complete validation the server runs before it stores a playbook.
  auto pb = ParsePlaybook(text.str(), file, **modules);
  if (!pb.ok()) {
    // The message names the file, line and key path of each problem.
    fmt::print(stderr, "{}\n", pb.status().message());
    return 1;
  }
  std::string sections;
  for (const PlaybookSection& s : (*modules)->schema().sections()) {
    if (!pb->sections.contains(s.key)) continue;
    if (!sections.empty()) sections += ", ";
    sections += s.key;
  }
  fmt::print("{}: ok (community '{}', {} groups; sections: {})\n", file, pb->community,
             pb->groups.size(), sections.empty() ? "none" : sections);
  return 0;
}

int RunReplay(const DataOptions& data) {
  auto store = OpenData(data);
  if (!store.ok()) return Fail(store.status());
  const fs::path scratch_path = fs::path(data.dir) / fmt::format("replay-scratch-{}.db", getpid());
  int rc = 0;
  {
    auto scratch = OpenSqliteStore({.path = scratch_path.string(), .sync = SyncMode::kNormal});
    if (!scratch.ok()) return Fail(scratch.status());
    auto stats = (*store)->Stats();
    Progress progress(0, isatty(STDERR_FILENO) == 1);
    const auto start = std::chrono::steady_clock::now();
    auto modules = MakeModuleRegistry();
    if (!modules.ok()) return Fail(modules.status());
    auto report =
        Replay(**store, **scratch, modules->get(), [&](int64_t n) { progress.Update(0, n); });
    if (!report.ok()) {
      rc = Fail(report.status());
    } else {
      progress.Update(0, report->events, true);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (report->differences.empty()) {
        fmt::print("replayed {} events in {:.2f} s: the rebuilt state matches\n", report->events, secs);
      } else {
        for (const auto& d : report->differences) fmt::print("difference: {}\n", d);
        fmt::print("replayed {} events in {:.2f} s: {}{} differences\n", report->events, secs,
                   report->differences.size(),
                   report->differences.size() >= report->max_differences ? "+" : "");
        rc = 1;
      }
      (void)stats;
    }
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(scratch_path.string() + suffix, ec);
  return rc;
}

int RunDemo(const DataOptions& data, const DemoOptions& demo, const std::string& out) {
  DemoGenerator gen(demo);
  Event e;
  if (!out.empty()) {
    std::FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
    if (f == nullptr) return Fail(Status::Invalid(fmt::format("cannot write {}", out), "--out"));
    int64_t n = 0;
    std::string line;
    while (gen.Next(e)) {
      line = EventToJson(e);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), f);
      ++n;
    }
    if (f != stdout) std::fclose(f);
    spdlog::info("wrote {} demo events to {}", n, out);
    return 0;
  }
  auto store = OpenData(data);
  if (!store.ok()) return Fail(store.status());
  if (auto token = EnsureAdminToken(**store, data.dir); !token.ok()) return Fail(token.status());
  auto engine = HistoryEngine(**store);
  if (!engine.ok()) return Fail(engine.status());
  const auto start = std::chrono::steady_clock::now();
  if (Status st = (*store)->BeginBulkLoad(); !st.ok()) return Fail(st);
  auto ingest = Ingest::Start(**store, {}, engine->options);
  if (!ingest.ok()) return Fail(ingest.status());
  Progress progress(0, isatty(STDERR_FILENO) == 1);
  StreamTotals totals;
  std::string chunk;
  int64_t events = 0;
  bool more = true;
  while (more) {
    IngestBatch batch;
    while (batch.events.size() < 8192 && (more = gen.Next(e))) {
      batch.json.push_back(EventToJson(e));
      batch.indexes.push_back(batch.events.size());
      batch.events.push_back(e);
    }
    if (batch.events.empty()) break;
    auto r = (*ingest)->SubmitAndWait(std::move(batch));
    if (!r.status.ok()) return Fail(r.status);
    totals.accepted += r.accepted;
    totals.duplicates += r.duplicates;
    totals.rejected += static_cast<int64_t>(r.rejected.size());
    for (const auto& rej : r.rejected) spdlog::warn("demo event rejected: {}", rej.error.ToString());
    events += r.accepted + r.duplicates + static_cast<int64_t>(r.rejected.size());
    progress.Update(0, events);
  }
  progress.Update(0, events, true);
  ingest->reset();  // the writer stops before the store rebuilds what the bulk load deferred
  if (Status st = (*store)->EndBulkLoad(); !st.ok()) return Fail(st);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("demo community loaded: {} events ({} duplicates, {} rejected) in {:.2f} s\n",
             totals.accepted, totals.duplicates, totals.rejected, secs);
  return totals.rejected == 0 ? 0 : 1;
}

}  // namespace
}  // namespace qz

int main(int argc, char** argv) {
  using namespace qz;
  spdlog::set_default_logger(spdlog::stderr_color_mt("qunzhu"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");

  CLI::App app{
      "qunzhu (群主): a community-operations engine for chat groups.\n"
      "Events from platforms and the API are stored durably in an event log; member, group and\n"
      "community state is materialised from them. Start with `qunzhu serve`."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "qunzhu 0.1.0");

  DataOptions data;

  auto* init = app.add_subcommand("init", "Create the data directory, the database and the admin API token");
  AddDataOptions(init, data);
  bool init_demo = false;
  init->add_flag("--demo", init_demo, "Load the demo community when the database has no events");

  auto* serve = app.add_subcommand("serve", "Serve the HTTP API (initialises the data directory if needed)");
  AddDataOptions(serve, data);
  ServeFlags serve_flags;
  std::string listen, port_file;
  int io_threads = 2;
  std::vector<std::string> serve_playbooks;
  serve->add_option("--config", serve_flags.config,
                    "A node config file (TOML; see qunzhu.example.toml); env QZ_CONFIG");
  serve->add_option("--listen", listen,
                    "HOST:PORT to listen on; port 0 picks a free port (default 127.0.0.1:8080)")
      ->check([](const std::string& v) {
        auto parsed = ParseListen(v, "--listen");
        return parsed.ok() ? std::string() : parsed.status().message();
      });
  serve->add_option("--console", serve_flags.console_dir,
                    "The built operator console to serve at / (default: the directory `console` "
                    "beside this executable; docs/console.md)");
  serve->add_option("--port-file", port_file, "Write the bound port to this file once listening");
  serve->add_option("--io-threads", io_threads, "Threads serving HTTP (default 2)")
      ->check(CLI::Range(1, 64));
  serve->add_option("--playbook", serve_playbooks,
                    "A playbook TOML file to validate, store and apply at start (repeatable; "
                    "replaces server.playbooks of the config file)");
  {
    std::string footer =
        "\nSettings come from, highest first: the flags above, environment variables, the config "
        "file (--config), the defaults.\nEnvironment variables:\n";
    for (const EnvVar& v : kConfigEnvVars) footer += fmt::format("  {:<14} {}\n", v.name, v.what);
    footer += "Only one process may use a data directory at a time (DIR/qunzhu.lock).";
    serve->footer(footer);
  }

  auto* playbook = app.add_subcommand("playbook", "Work with playbooks (a community's behaviour in TOML)");
  playbook->require_subcommand(1);
  auto* playbook_check = playbook->add_subcommand(
      "check", "Validate a playbook offline; errors name the line and the key");
  std::string playbook_file;
  playbook_check->add_option("FILE", playbook_file, "The playbook TOML file")->required();

  auto* ingest = app.add_subcommand("ingest", "Ingest NDJSON events from FILE or - (standard input)");
  AddDataOptions(ingest, data);
  std::string file;
  ingest->add_option("FILE", file, "NDJSON file, one event per line; - for standard input")->required();

  auto* token = app.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create an API token and print it (shown once)");
  AddDataOptions(token_create, data);
  std::string token_name = "cli";
  token_create->add_option("--name", token_name, "A label for the token")->capture_default_str();
  std::string token_role = "owner";
  token_create->add_option("--role", token_role,
                           "What the token may do: viewer, assistant, operator, admin, owner")
      ->check([](const std::string& v) {
        return ParseAccountRole(v) ? std::string()
                                   : fmt::format("'{}' is not a role ({})", v, AccountRoleList());
      })
      ->capture_default_str();

  auto* replay = app.add_subcommand(
      "replay", "Rebuild the state from the event log into a scratch database and compare it with "
                "the materialised state; exit 1 on any difference");
  AddDataOptions(replay, data);

  auto* demo = app.add_subcommand(
      "demo", "Load a realistic, deterministic demo community (7天成长营 learning camp and a fan "
              "community), or write its events as NDJSON with --out");
  AddDataOptions(demo, data);
  DemoOptions demo_options;
  std::string demo_out;
  demo->add_option("--seed", demo_options.seed, "Random seed; the same seed gives the same events")->capture_default_str();
  demo->add_option("--members", demo_options.members, "Number of members")->check(CLI::Range(10, 10000000))->capture_default_str();
  demo->add_option("--days", demo_options.days, "Days of activity")->check(CLI::Range(1, 3650))->capture_default_str();
  demo->add_option("--out", demo_out, "Write NDJSON to this file (- for standard output) instead of ingesting");
  bool demo_recent = false;
  demo->add_flag("--recent", demo_recent,
                 "End the simulated days yesterday (the console's last-30-days charts show them); "
                 "without it they start on 2026-03-01, the same events on every run");

  auto* eval = app.add_subcommand("eval", "Measure a capability on labelled data");
  eval->require_subcommand(1);
  auto* eval_moderation = eval->add_subcommand(
      "moderation",
      "Run moderation over a labelled TSV (label<TAB>text, 1 = spam) through the real pipeline and "
      "print precision, recall, F1, the confusion matrix, messages/s and the worst mistakes");
  EvalOptions eval_options;
  eval_moderation->add_option("--labels", eval_options.labels_path, "The labelled TSV file")->required();
  eval_moderation->add_option("--playbook", eval_options.playbook_path,
                              "A playbook (default: [moderation] at its defaults)");
  eval_moderation->add_option("--model", eval_options.model_path,
                              "A model from `qunzhu moderation train` (overrides the playbook's)");
  eval_moderation->add_flag("--json", eval_options.json, "Print one JSON object instead");
  eval_moderation->add_option("--examples", eval_options.examples,
                              "How many of the worst false positives and negatives to list")
      ->check(CLI::Range(0, 100000))->capture_default_str();

  AddModerationCommands(app);
  AddUserCommands(app);

  CLI11_PARSE(app, argc, argv);
  if (*eval_moderation) return RunEvalModeration(eval_options);

  if (*serve) {
    ConfigOverrides& o = serve_flags.overrides;
    if (serve->count("--listen") > 0) o.listen = listen;
    if (serve->count("--io-threads") > 0) o.io_threads = io_threads;
    if (serve->count("--port-file") > 0) o.port_file = port_file;
    if (serve->count("--playbook") > 0) o.playbooks = serve_playbooks;
    if (serve->count("--data") > 0) o.data_dir = data.dir;
    if (serve->count("--sync") > 0) o.sync = data.sync;
    return RunServe(serve_flags);
  }
  if (*playbook_check) return RunPlaybookCheck(playbook_file);
  if (demo_recent) demo_options.start = RecentDemoStart(demo_options.days, SystemClock().Now());
  if (*demo && !demo_out.empty()) return RunDemo(data, demo_options, demo_out);

  CLI::App* data_cmd = *init ? init : *ingest ? ingest : *token_create ? token_create
                              : *replay ? replay : demo;
  if (Status st = ResolveDataOptions(*data_cmd, data); !st.ok()) return Fail(st);
  if (*token_create) {
    // No lock: it is how a token is added to a running server. It writes one api_tokens row in
    // its own SQLite transaction (SQLite serialises it with the server's writer) and touches
    // nothing the server keeps in memory; the server finds the token on its first use.
    auto store = OpenData(data);
    if (!store.ok()) return Fail(store.status());
    // Checked by the option; the least role should that ever fail.
    auto t = CreateToken(**store, token_name,
                         ParseAccountRole(token_role).value_or(AccountRole::kViewer));
    if (!t.ok()) return Fail(t.status());
    fmt::print("{}\n", *t);
    return 0;
  }
  // Every other command writes the store's state: it holds the directory's lock until it ends.
  auto lock = DataDirLock::Acquire(data.dir);
  if (!lock.ok()) return Fail(lock.status());

  if (*init) {
    auto store = OpenData(data);
    if (!store.ok()) return Fail(store.status());
    auto t = EnsureAdminToken(**store, data.dir);
    if (!t.ok()) return Fail(t.status());
    if (init_demo) {
      auto stats = (*store)->Stats();
      if (!stats.ok()) return Fail(stats.status());
      if (stats->events == 0) {
        store->reset();
        // For a person to look at: the days end yesterday, so the charts show them.
        DemoOptions recent;
        recent.start = RecentDemoStart(recent.days, SystemClock().Now());
        return RunDemo(data, recent, "");
      }
      spdlog::info("the database already has {} events; demo not loaded", stats->events);
    }
    return 0;
  }
  if (*ingest) return RunIngest(data, file);
  if (*replay) return RunReplay(data);
  if (*demo) return RunDemo(data, demo_options, demo_out);
  return 0;
}
