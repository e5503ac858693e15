#include "app/eval_moderation.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <toml++/toml.h>

#include "core/toml_reader.hpp"

#include "app/modules.hpp"
#include "core/crypto.hpp"
#include "core/text/utf8.hpp"
#include "engine/ingest.hpp"
#include "engine/module_registry.hpp"
#include "modules/moderation/classifier.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultPlaybook = R"([community]
slug = "eval"
[[groups]]
platform = "sandbox"
id = "eval"
[moderation]
)";
constexpr TimeMs kStart = 1772323200000;  // 2026-03-01T00:00:00Z
constexpr size_t kBatch = 2048;

// A scratch directory removed on every path out.
class Scratch {
 public:
  Scratch() : path_(fs::temp_directory_path() / ("qunzhu-eval-" + RandomHex(8))) {
    fs::create_directories(path_);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot read the {} file '{}'", what, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The playbook with `model` written into its [moderation] section.
Result<std::string> WithModel(std::string_view toml_text, std::string_view source, const std::string& model) {
  QZ_ASSIGN_OR_RETURN(toml::table table, ParseToml(toml_text, source, 1 << 20));
  toml::table* section = table["moderation"].as_table();
  if (section == nullptr) {
    table.insert_or_assign("moderation", toml::table{});
    section = table["moderation"].as_table();
  }
  section->insert_or_assign("model", model);
  std::ostringstream out;
  out << table;
  return out.str();
}

Event Make(EventType type, std::string id, TimeMs time, const GroupSettings& group, std::string member) {
  Event e;
  e.id = std::move(id);
  e.type = type;
  e.time = time;
  e.platform = group.platform;
  e.group = group.id;
  e.member = std::move(member);
  return e;
}

}  // namespace

Result<EvalReport> EvaluateModeration(const std::vector<EvalLine>& lines, std::string_view playbook_toml,
                                      std::string_view source, const std::string& model_path,
                                      int examples) {
  QZ_ASSIGN_OR_RETURN(std::unique_ptr<ModuleRegistry> modules, MakeModuleRegistry());
  std::string text(playbook_toml);
  if (!model_path.empty()) {
    QZ_ASSIGN_OR_RETURN(text, WithModel(playbook_toml, source, model_path));
  }
  QZ_ASSIGN_OR_RETURN(Playbook parsed, ParsePlaybook(text, source, *modules));
  auto playbook = std::make_shared<const Playbook>(std::move(parsed));
  GroupSettings group{.platform = "sandbox", .id = "eval"};
  if (!playbook->groups.empty()) group = playbook->groups.front();

  Scratch scratch;
  QZ_ASSIGN_OR_RETURN(std::unique_ptr<Store> store,
                      OpenSqliteStore({.path = (scratch.path() / "eval.db").string(), .sync = SyncMode::kNormal}));
  EngineOptions engine;
  engine.modules = modules.get();
  engine.module_mode = ModuleMode::kImport;  // decide and record; nothing to send
  QZ_ASSIGN_OR_RETURN(std::unique_ptr<Ingest> ingest, Ingest::Start(*store, {}, engine));
  QZ_RETURN_IF_ERROR(ingest->SetPlaybook(playbook, text));

  // Every member joins three days before posting its one message: an ordinary member in its
  // first week, past the first day.
  auto submit = [&](size_t from, size_t to, bool joins) -> Status {
    IngestBatch batch;
    for (size_t i = from; i < to; ++i) {
      const std::string member = fmt::format("m{}", i);
      Event e = joins ? Make(EventType::kMemberJoined, fmt::format("j{}", i), kStart + static_cast<TimeMs>(i), group, member)
                      : Make(EventType::kMessage, fmt::format("t{}", i),
                             kStart + 3 * 86'400'000 + static_cast<TimeMs>(i) * 1000, group, member);
      e.community = playbook->community;
      if (!joins) e.text = lines[i].text;
      batch.json.push_back(EventToJson(e));
      batch.events.push_back(std::move(e));
      batch.indexes.push_back(i - from);
    }
    IngestResult r = ingest->SubmitAndWait(std::move(batch));
    QZ_RETURN_IF_ERROR(r.status);
    if (!r.rejected.empty()) {
      return Status::Invalid(fmt::format("line {} was refused: {}", from + r.rejected[0].index + 1,
                                         r.rejected[0].error.ToString()));
    }
    return Status::Ok();
  };
  for (size_t i = 0; i < lines.size(); i += kBatch) {
    QZ_RETURN_IF_ERROR(submit(i, std::min(lines.size(), i + kBatch), true));
  }
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < lines.size(); i += kBatch) {
    QZ_RETURN_IF_ERROR(submit(i, std::min(lines.size(), i + kBatch), false));
  }
  EvalReport report;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ingest.reset();  // drains the writer

  // The decisions, by the line they were about.
  QZ_ASSIGN_OR_RETURN(std::vector<Community> communities, store->ListCommunities());
  CommunityId community = kNoId;
  for (const Community& c : communities) {
    if (c.slug == playbook->community) community = c.id;
  }
  std::map<size_t, EvalExample> flagged;
  std::string after;
  while (community != kNoId) {
    QZ_ASSIGN_OR_RETURN(std::vector<ModuleStateEntry> rows,
                        store->ListModuleState(community, "moderation.decisions", after, 1000));
    for (const ModuleStateEntry& row : rows) {
      const auto v = nlohmann::json::parse(row.value, nullptr, false);
      if (!v.is_object()) continue;
      const std::string event = v.value("event", "");
      const std::string actions = v.value("actions", "");
      const size_t colon = event.find(":t");
      if (colon == std::string::npos) continue;
      if (actions.find("delete") == std::string::npos && actions.find("remove") == std::string::npos) continue;
      const size_t line = std::stoul(event.substr(colon + 2));
      flagged[line] = EvalExample{{}, v.value("score", 0.0),
                                  fmt::format("{}/{} {}", v.value("signal", ""), v.value("category", ""),
                                              v.value("rule", ""))};
    }
    if (rows.size() < 1000) break;
    after = rows.back().key;
  }
  std::vector<EvalExample> fps, fns;
  for (size_t i = 0; i < lines.size(); ++i) {
    auto it = flagged.find(i);
    const bool predicted = it != flagged.end();
    if (predicted && lines[i].spam) ++report.tp;
    if (predicted && !lines[i].spam) {
      ++report.fp;
      fps.push_back(EvalExample{lines[i].text, it->second.score, it->second.why});
    }
    if (!predicted && !lines[i].spam) ++report.tn;
    if (!predicted && lines[i].spam) {
      ++report.fn;
      fns.push_back(EvalExample{lines[i].text, 0, {}});
    }
  }
  std::map<std::string, int64_t> by_rule;
  for (const EvalExample& e : fps) ++by_rule[e.why];
  report.false_positive_rules.assign(by_rule.begin(), by_rule.end());
  std::stable_sort(report.false_positive_rules.begin(), report.false_positive_rules.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::stable_sort(fps.begin(), fps.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  const auto keep = static_cast<size_t>(std::max(0, examples));
  fps.resize(std::min(fps.size(), keep));
  fns.resize(std::min(fns.size(), keep));
  report.worst_false_positives = std::move(fps);
  report.worst_false_negatives = std::move(fns);
  return report;
}

int RunEvalModeration(const EvalOptions& options) {
  auto content = ReadFile(options.labels_path, "labels");
  if (!content.ok()) {
    fmt::print(stderr, "error: {}\n", content.status().message());
    return 1;
  }
  const moderation::LabelsFile labels = moderation::ReadLabels(*content, options.labels_path);
  for (size_t i = 0; i < labels.problems.size() && i < 20; ++i) fmt::print(stderr, "skipped: {}\n", labels.problems[i]);
  if (labels.problems.size() > 20) fmt::print(stderr, "skipped: {} more lines\n", labels.problems.size() - 20);
  std::vector<EvalLine> lines;
  lines.reserve(labels.rows.size());
  for (const auto& r : labels.rows) lines.push_back({r.spam, r.text});
  if (lines.empty()) {
    fmt::print(stderr, "error: {} has no usable lines\n", options.labels_path);
    return 1;
  }
  std::string playbook(kDefaultPlaybook);
  std::string source = "default playbook";
  if (!options.playbook_path.empty()) {
    auto text = ReadFile(options.playbook_path, "playbook");
    if (!text.ok()) {
      fmt::print(stderr, "error: {}\n", text.status().message());
      return 1;
    }
    playbook = std::move(*text);
    source = options.playbook_path;
  }
  if (!options.json) fmt::print(stderr, "evaluating {} lines…\n", lines.size());
  auto report = EvaluateModeration(lines, playbook, source, options.model_path, options.examples);
  if (!report.ok()) {
    fmt::print(stderr, "error: {}\n", report.status().message());
    return 1;
  }
  report->skipped = static_cast<int64_t>(labels.problems.size());
  const EvalReport& r = *report;
  if (options.json) {
    auto examples = [](const std::vector<EvalExample>& list) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : list) {
        out.push_back({{"text", Excerpt(e.text, 300)}, {"score", e.score}, {"why", e.why}});
      }
      return out;
    };
    nlohmann::json out = {{"precision", r.precision()}, {"recall", r.recall()}, {"f1", r.f1()},
                          {"tp", r.tp}, {"fp", r.fp}, {"tn", r.tn}, {"fn", r.fn},
                          {"skipped", r.skipped}, {"messages_per_second", r.messages_per_second()},
                          {"worst_false_positives", examples(r.worst_false_positives)},
                          {"worst_false_negatives", examples(r.worst_false_negatives)}};
    fmt::print("{}\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  }
  fmt::print("precision {:.4f} recall {:.4f} f1 {:.4f}\n", r.precision(), r.recall(), r.f1());
  fmt::print("\n              predicted spam  predicted ok\n");
  fmt::print("actual spam   {:>14}  {:>12}\n", r.tp, r.fn);
  fmt::print("actual ok     {:>14}  {:>12}\n", r.fp, r.tn);
  fmt::print("\n{} messages in {:.2f} s: {:.0f} messages/s through the pipeline ({} lines skipped)\n",
             r.tp + r.fp + r.tn + r.fn, r.seconds, r.messages_per_second(), r.skipped);
  fmt::print("\nfalse positives by rule:\n");
  for (size_t i = 0; i < r.false_positive_rules.size() && i < 15; ++i) {
    fmt::print("  {:>6}  {}\n", r.false_positive_rules[i].second, r.false_positive_rules[i].first);
  }
  fmt::print("\nworst false positives (ordinary messages flagged):\n");
  for (const auto& e : r.worst_false_positives) fmt::print("  [{}] {}\n", e.why, Excerpt(e.text, 120));
  fmt::print("\nfalse negatives (spam missed):\n");
  for (const auto& e : r.worst_false_negatives) fmt::print("  {}\n", Excerpt(e.text, 120));
  return 0;
}

}  // namespace qz
