// qz_classifier_eval: held-out quality of the spam classifier (src/modules/moderation/
// classifier.hpp) on the game-ad chat corpus, and its false-positive rate on English SMS ham.
//
//   build/release/bench/qz_classifier_eval --ads /work/shared/data/ads-zh-game/train.txt
//       --sms /work/shared/data/sms-spam-en/SMSSpamCollection [--ngram-max 3 --bits 20 ...]
//
// The ads file is normalised, deduplicated by normalised text (the first label wins), and split
// 80/20 by a hash of that text, so no held-out text is in the training split. Prints precision
// and recall at several thresholds and the scoring cost. A development tool: it asserts nothing.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/text/normalize.hpp"
#include "modules/moderation/classifier.hpp"

namespace {

using qz::moderation::LabelledText;

std::string Normalize(std::string_view in) { return qz::text::Normalizer::Default().Normalize(in).text; }

uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream b;
  b << in.rdbuf();
  out = b.str();
  return true;
}

void PrintRow(std::string_view what, double t, const qz::moderation::Confusion& c) {
  fmt::print("  {:<10} t={:.2f}  precision {:.4f}  recall {:.4f}  F1 {:.4f}  (tp {} fp {} fn {} tn {})\n",
             what, t, c.precision(), c.recall(), c.f1(), c.tp, c.fp, c.fn, c.tn);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Held-out quality of the spam classifier"};
  std::string ads, sms;
  qz::moderation::TrainOptions o;
  int test_mod = 5;
  uint64_t split_salt = 0;
  app.add_option("--ads", ads, "label<TAB>text file to split 80/20")->required();
  app.add_option("--sms", sms, "SMS Spam Collection (ham/spam) for the false-positive rate");
  app.add_option("--bits", o.features.hash_bits)->capture_default_str();
  app.add_option("--ngram-min", o.features.ngram_min)->capture_default_str();
  app.add_option("--ngram-max", o.features.ngram_max)->capture_default_str();
  bool no_shapes = false;
  app.add_flag("--no-number-shapes", no_shapes);
  app.add_option("--epochs", o.epochs)->capture_default_str();
  app.add_option("--lr", o.learning_rate)->capture_default_str();
  app.add_option("--l2", o.l2)->capture_default_str();
  app.add_option("--spam-weight", o.spam_weight)->capture_default_str();
  app.add_option("--seed", o.seed)->capture_default_str();
  app.add_option("--split-salt", split_salt, "Changes which texts are held out")->capture_default_str();
  app.add_option("--test-mod", test_mod, "Hold out 1 in N texts")->capture_default_str();
  std::string save;
  int show_errors = 0;
  double error_threshold = 0.6;
  app.add_option("--errors", show_errors, "Print this many held-out false positives and negatives");
  app.add_option("--error-threshold", error_threshold)->capture_default_str();
  app.add_option("--save", save, "Write the trained model here");
  CLI11_PARSE(app, argc, argv);
  o.features.number_shapes = !no_shapes;

  std::string content;
  if (!ReadFile(ads, content)) {
    fmt::print(stderr, "cannot read {}\n", ads);
    return 1;
  }
  auto labels = qz::moderation::ReadLabels(content, ads);
  std::unordered_map<std::string, bool> seen;
  std::vector<LabelledText> train, test;
  size_t duplicates = 0, conflicts = 0;
  for (auto& row : labels.rows) {
    std::string text = Normalize(row.text);
    auto [it, fresh] = seen.emplace(text, row.spam);
    if (!fresh) {
      ++duplicates;
      conflicts += it->second != row.spam ? 1 : 0;
      continue;
    }
    bool held_out = (Fnv(text) ^ split_salt * 0x9e3779b97f4a7c15ull) % test_mod == 0;
    (held_out ? test : train).push_back({row.spam, std::move(text)});
  }
  auto count_spam = [](const std::vector<LabelledText>& v) {
    size_t n = 0;
    for (auto& e : v) n += e.spam;
    return n;
  };
  fmt::print("{}: {} lines, {} rows, {} problems, {} duplicate texts ({} with another label)\n",
             ads, labels.lines, labels.rows.size(), labels.problems.size(), duplicates, conflicts);
  fmt::print("train {} ({} spam), held out {} ({} spam)\n", train.size(), count_spam(train),
             test.size(), count_spam(test));
  fmt::print("options: bits {} ngram {}..{} shapes {} epochs {} lr {} l2 {} spam_weight {}\n",
             o.features.hash_bits, o.features.ngram_min, o.features.ngram_max,
             o.features.number_shapes, o.epochs, o.learning_rate, o.l2, o.spam_weight);

  auto t0 = std::chrono::steady_clock::now();
  auto model = qz::moderation::Train(train, o);
  if (!model.ok()) {
    fmt::print(stderr, "{}\n", model.status().ToString());
    return 1;
  }
  double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("trained in {:.2f} s; model {} bytes in memory\n", train_s, (*model)->memory_bytes());
  if (!save.empty()) {
    std::ofstream(save, std::ios::binary) << (*model)->Serialize();
  }

  PrintRow("train", 0.5, qz::moderation::Evaluate(**model, train, 0.5));
  for (double t : {0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}) {
    PrintRow("held-out", t, qz::moderation::Evaluate(**model, test, t));
  }

  for (bool spam : {false, true}) {
    int shown = 0;
    for (auto& e : test) {
      if (shown >= show_errors) break;
      const double p = (*model)->Score(e.text);
      if (e.spam == spam && (p >= error_threshold) != spam) {
        fmt::print("  {} {:.3f} {}\n", spam ? "FN" : "FP", p, e.text);
        ++shown;
      }
    }
  }

  // Scoring cost over the held-out texts (one pass to warm up, then timed).
  size_t bytes = 0;
  double sink = 0;
  for (auto& e : test) sink += (*model)->Score(e.text), bytes += e.text.size();
  const int rounds = 5;
  t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r)
    for (auto& e : test) sink += (*model)->Score(e.text);
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() /
              (rounds * static_cast<double>(test.size()));
  fmt::print("Score: {:.0f} ns per message (mean {:.1f} bytes){}\n", ns,
             static_cast<double>(bytes) / test.size(), sink < 0 ? "!" : "");

  if (!sms.empty()) {
    if (!ReadFile(sms, content)) {
      fmt::print(stderr, "cannot read {}\n", sms);
      return 1;
    }
    auto rows = qz::moderation::ReadLabels(content, sms);
    std::vector<LabelledText> ham;
    for (auto& r : rows.rows) {
      if (!r.spam) ham.push_back({false, Normalize(r.text)});
    }
    fmt::print("English SMS ham: {} messages\n", ham.size());
    for (double t : {0.3, 0.5, 0.7, 0.9}) {
      auto c = qz::moderation::Evaluate(**model, ham, t);
      fmt::print("  t={:.2f}  false positives {} / {} = {:.4f}\n", t, c.fp, c.fp + c.tn,
                 c.false_positive_rate());
    }
  }
  return 0;
}
