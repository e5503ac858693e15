#include "app/cli_moderation.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "app/moderation_labels.hpp"
#include "core/file.hpp"
#include "core/status.hpp"
#include "core/text/normalize.hpp"
#include "modules/moderation/classifier.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz {
namespace {

using moderation::LabelledText;
using moderation::TrainOptions;

// A labels file larger than this is refused before it is read (70k chat lines are ~3 MB).
constexpr uint64_t kMaxLabelsFileBytes = uint64_t{1} << 30;

struct TrainFlags {
  std::string labels;
  std::string out;
  TrainOptions options;
  bool no_number_shapes = false;
};

Result<std::string> ReadWholeFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return Status::Invalid(fmt::format("{}: {}", path, std::strerror(errno)), "--labels");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxLabelsFileBytes) {
    return Status::Invalid(fmt::format("{}: {} bytes is more than the limit of {}", path,
                                       st.st_size, kMaxLabelsFileBytes), "--labels");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in || in.bad()) {
    return Status::Unavailable(fmt::format("{}: cannot read the labels file", path));
  }
  return std::move(buffer).str();
}

int Fail(const Status& st) {
  fmt::print(stderr, "error: {}\n", st.ToString());
  return st.code() == Code::kInvalidArgument ? 2 : 1;
}

// The CLI flag for a TrainOptions field named by Validate.
std::string FlagOf(const std::string& field) {
  if (field == "hash_bits") return "--hash-bits";
  if (field == "ngram") return "--ngram-min/--ngram-max";
  if (field == "learning_rate") return "--learning-rate";
  if (field == "spam_weight") return "--spam-weight";
  return "--" + field;
}

int RunTrain(TrainFlags& f) {
  f.options.features.number_shapes = !f.no_number_shapes;
  if (Status st = moderation::Validate(f.options); !st.ok()) {
    return Fail(Status::Invalid(st.message(), FlagOf(st.field())));
  }
  // Fail before the training rather than after it.
  const std::filesystem::path out_dir = std::filesystem::absolute(f.out).parent_path();
  if (std::error_code ec; !std::filesystem::is_directory(out_dir, ec)) {
    return Fail(Status::Invalid(fmt::format("{}: no such directory", out_dir.string()), "--out"));
  }
  auto content = ReadWholeFile(f.labels);
  if (!content.ok()) return Fail(content.status());
  moderation::LabelsFile file = moderation::ReadLabels(*content, f.labels);
  content->clear();
  for (const std::string& p : file.problems) fmt::print(stderr, "skipped {}\n", p);

  const text::Normalizer& normalizer = text::Normalizer::Default();
  text::NormalizedText normalised;
  size_t spam = 0;
  for (LabelledText& row : file.rows) {
    normalizer.Normalize(row.text, normalised);
    row.text = normalised.text;
    spam += row.spam ? 1 : 0;
  }
  fmt::print("{}: {} lines read, {} skipped; {} examples: {} spam, {} not spam\n", f.labels,
             file.lines, file.problems.size(), file.rows.size(), spam, file.rows.size() - spam);

  f.options.progress = [](const moderation::TrainProgress& p) {
    fmt::print(stderr, "epoch {}/{}: mean log loss {:.4f}\n", p.epoch, p.epochs, p.mean_log_loss);
  };
  const auto start = std::chrono::steady_clock::now();
  auto model = moderation::Train(file.rows, f.options);
  if (!model.ok()) return Fail(Status::Invalid(model.status().message(), "--labels"));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const std::string bytes = (*model)->Serialize();
  if (Status st = WriteFileAtomically(f.out, bytes); !st.ok()) return Fail(st);
  const double t = f.options.suggested_threshold;
  const moderation::Confusion c = moderation::Evaluate(**model, file.rows, t);
  fmt::print("trained in {:.2f} s; training set at threshold {:.2f}: precision {:.4f}, recall "
             "{:.4f} (tp {}, fp {}, fn {}, tn {})\n",
             secs, t, c.precision(), c.recall(), c.tp, c.fp, c.fn, c.tn);
  fmt::print("wrote {} ({} bytes, {} hash bits, n-grams {}..{})\n", f.out, bytes.size(),
             f.options.features.hash_bits, f.options.features.ngram_min,
             f.options.features.ngram_max);
  return 0;
}

struct ExportFlags {
  std::string data;
  std::string community = "default";
  std::string out;
};

int RunExport(const ExportFlags& f) {
  const std::filesystem::path db = std::filesystem::path(f.data) / "qunzhu.db";
  if (!std::filesystem::exists(db)) {
    fmt::print(stderr, "error: no database at {} (--data names the data directory)\n", db.string());
    return 2;
  }
  auto store = OpenSqliteStore({.path = db.string()});
  if (!store.ok()) {
    fmt::print(stderr, "error: {}\n", store.status().ToString());
    return 1;
  }
  std::ostringstream text;
  auto written = ExportLabels(**store, f.community, text);
  if (!written.ok()) {
    fmt::print(stderr, "error: {}\n", written.status().ToString());
    return written.status().code() == Code::kNotFound ? 2 : 1;
  }
  if (f.out == "-") {
    fmt::print("{}", text.str());
  } else {
    std::ofstream out(f.out, std::ios::binary | std::ios::trunc);
    out << text.str();
    if (!out) {
      fmt::print(stderr, "error: cannot write {}\n", f.out);
      return 1;
    }
  }
  fmt::print(stderr, "exported {} labelled messages of community '{}'\n", *written, f.community);
  return 0;
}

}  // namespace

void AddModerationCommands(CLI::App& app) {
  auto* moderation = app.add_subcommand("moderation", "Offline tools for the moderation module");
  moderation->require_subcommand(1);
  auto* train = moderation->add_subcommand(
      "train", "Train the spam classifier from a labelled TSV file and write the model file a "
               "playbook's moderation section points at");
  // Owned by the subcommand's callback, which lives as long as `app`.
  auto flags = std::make_shared<TrainFlags>();
  TrainOptions& o = flags->options;
  train->add_option("--labels", flags->labels,
                    "TSV file, one `label<TAB>text` per line: label 1 or spam = spam, 0 or ham = "
                    "not spam; an optional header line `label<TAB>text`")
      ->required();
  train->add_option("--out", flags->out,
                    "Where to write the model (replaced atomically: temporary file + rename)")
      ->required();
  train->add_option("--epochs", o.epochs, "Passes over the examples (1..100)")
      ->capture_default_str();
  train->add_option("--learning-rate", o.learning_rate, "AdaGrad base rate (0, 10]")
      ->capture_default_str();
  train->add_option("--l2", o.l2, "L2 penalty per update [0, 1)")->capture_default_str();
  train->add_option("--spam-weight", o.spam_weight,
                    "Loss weight of a spam example relative to a normal one (0, 100]")
      ->capture_default_str();
  train->add_option("--hash-bits", o.features.hash_bits,
                    "The weight table has 2^N float entries (10..24; 20 = 4 MiB)")
      ->capture_default_str();
  train->add_option("--ngram-min", o.features.ngram_min, "Shortest character n-gram (1..5)")
      ->capture_default_str();
  train->add_option("--ngram-max", o.features.ngram_max, "Longest character n-gram (1..5)")
      ->capture_default_str();
  train->add_flag("--no-number-shapes", flags->no_number_shapes,
                  "Do not add n-grams where each digit run is replaced by its length class");
  train->add_option("--seed", o.seed, "Seed of the per-epoch shuffle; same seed, same model")
      ->capture_default_str();
  train->add_option("--threshold", o.suggested_threshold,
                    "Spam threshold stored in the model as its suggestion (0, 1) and used for "
                    "the training-set figures")
      ->capture_default_str();
  train->footer(
      "\nEach text is normalised (full width, case, Traditional→Simplified, separators, number "
      "words, substitutions) before training, as the moderation module does before scoring.\n"
      "Bad lines (no tab, another label, empty text, invalid UTF-8, over 64 KiB) are reported "
      "on stderr with their line number and skipped.\n"
      "Example: qunzhu moderation train --labels ads.tsv --out data/spam.model");
  train->callback([flags] { throw CLI::RuntimeError(RunTrain(*flags)); });

  auto* exporter = moderation->add_subcommand(
      "export-labels", "Write the operators' verdicts on moderation decisions (undo = not spam, "
                       "confirm = spam) as a labelled TSV for `moderation train`");
  auto export_flags = std::make_shared<ExportFlags>();
  const char* env = std::getenv("QZ_DATA");
  export_flags->data = env != nullptr && *env != '\0' ? env : "data";
  exporter->add_option("--data", export_flags->data, "The data directory (default $QZ_DATA, else ./data)");
  exporter->add_option("--community", export_flags->community, "The community's slug")->capture_default_str();
  exporter->add_option("--out", export_flags->out, "The TSV file to write; - for standard output")->required();
  exporter->callback([export_flags] { throw CLI::RuntimeError(RunExport(*export_flags)); });
}

}  // namespace qz
