// qunzhu moderation: the trainable spam classifier. Owns the labelled-data reader (TSV), the
// model (hashed character n-grams of normalised text, logistic regression), its versioned file
// format, and training. Callers normalise text first (text::Normalizer); nothing here does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace qz::moderation {

// ---------------------------------------------------------------------------------------------
// Labelled data

struct LabelledText {
  bool spam = false;
  std::string text;  // as read; the caller normalises it before Train or Score
};

struct LabelsFile {
  std::vector<LabelledText> rows;
  std::vector<std::string> problems;  // "<source>:<line>: <why>", one per skipped line
  size_t lines = 0;                   // lines seen, the header line included
};

// The longest line ReadLabels accepts (label, tab and text; the line end excluded).
inline constexpr size_t kMaxLabelLineBytes = 64 * 1024;

// Parses TSV `label<TAB>text` lines: label 1/spam = spam, 0/ham = not spam. A first line whose
// label field is "label" (any case) is a header and skipped. CRLF and a UTF-8 byte-order mark
// are tolerated; the text is everything after the first tab. A line without a tab, with another
// label, with an empty text, with invalid UTF-8 or longer than kMaxLabelLineBytes is skipped
// and reported in `problems` with its 1-based line number. Never fails as a whole.
LabelsFile ReadLabels(std::string_view content, std::string_view source);

// ---------------------------------------------------------------------------------------------
// The model

// What a model extracts from a text; fixed when trained and stored in the model file.
struct FeatureConfig {
  uint32_t hash_bits = 20;  // the weight table has 2^hash_bits entries (10..24)
  uint32_t ngram_min = 1;   // character n-grams over code points, n in [ngram_min, ngram_max]
  uint32_t ngram_max = 3;   // (1 <= min <= max <= 5)
  // Also n-grams (n <= ngram_max) over the text with every run of ASCII digits replaced by one
  // symbol for its length class ("加q859945704" → "加q<9-10 digits>"), those containing such a
  // symbol only: contact numbers and prices generalise across their digits.
  bool number_shapes = true;
};

// A trained classifier. Immutable; share it as std::shared_ptr<const SpamModel>; every method
// is thread-safe.
class SpamModel {
 public:
  // Files larger than this are refused before they are read.
  static constexpr size_t kMaxFileBytes = 64u << 20;

  // Validates and loads the serialised form (see Serialize). Errors name `source` and what is
  // wrong: bad magic, unsupported version, sizes that disagree, a value out of range, a
  // checksum mismatch (truncated or corrupt file).
  static Result<std::shared_ptr<const SpamModel>> Parse(std::string_view bytes,
                                                        std::string_view source);
  static Result<std::shared_ptr<const SpamModel>> Load(const std::string& path);

  // The versioned binary form: a header (magic "QZSPAM1\n", format version, feature config,
  // bias, suggested threshold, weight count), little-endian float32 weights, and an FNV-1a-64
  // checksum of everything before it.
  std::string Serialize() const;

  // P(spam) in [0, 1] for an ALREADY NORMALISED text (any bytes: invalid UTF-8 counts as
  // U+FFFD; the empty text scores the bias alone). Allocation-free; about 20 ns per character.
  double Score(std::string_view normalised_text) const;

  // The threshold recorded at training (see TrainOptions::suggested_threshold); a playbook's
  // own threshold takes precedence.
  double suggested_threshold() const { return suggested_threshold_; }
  const FeatureConfig& features() const { return config_; }
  size_t memory_bytes() const { return sizeof(*this) + weights_.size() * sizeof(float); }

  // Use Parse, Load or Train.
  SpamModel(FeatureConfig config, float bias, float suggested_threshold,
            std::vector<float> weights);

 private:
  FeatureConfig config_;
  float bias_;
  float suggested_threshold_;
  std::vector<float> weights_;  // 2^hash_bits entries
};

// ---------------------------------------------------------------------------------------------
// Training

struct TrainProgress {
  int epoch = 0;  // 1-based, the epoch just finished
  int epochs = 0;
  double mean_log_loss = 0;  // over that epoch's examples, before each update
};

struct TrainOptions {
  FeatureConfig features;
  int epochs = 10;               // passes over the data (1..100)
  double learning_rate = 0.5;    // AdaGrad base rate (0, 10]
  double l2 = 1e-7;              // L2 penalty per update on the features it touches [0, 1)
  uint64_t seed = 1;             // for the per-epoch shuffle; same seed, same model
  double spam_weight = 1.0;      // loss weight of a spam example relative to ham (0, 100]
  // Stored in the model, (0, 1). 0.6 measured best on held-out game-ad chat (precision 0.96,
  // recall 0.92; bench/classifier_eval.cpp).
  double suggested_threshold = 0.6;
  // Called after each epoch on the caller's thread; optional.
  std::function<void(const TrainProgress&)> progress;
};

// Checks the ranges documented above; the error's field names the option.
Status Validate(const TrainOptions& options);

// Trains a logistic-regression model on `examples` (texts already normalised). Deterministic:
// the same examples in the same order with the same options give the same bytes. Fails when an
// option is out of range or either class has no example.
Result<std::shared_ptr<const SpamModel>> Train(std::span<const LabelledText> examples,
                                               const TrainOptions& options);

// ---------------------------------------------------------------------------------------------
// Evaluation

struct Confusion {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;

  void Add(bool spam, bool predicted_spam);
  // 0 when undefined (nothing predicted spam / no spam at all).
  double precision() const;
  double recall() const;
  double f1() const;
  // fp / (fp + tn); 0 when there is no ham.
  double false_positive_rate() const;
};

// Scores every example (already normalised) and counts them at `threshold` (spam when
// score >= threshold).
Confusion Evaluate(const SpamModel& model, std::span<const LabelledText> examples,
                   double threshold);

}  // namespace qz::moderation
