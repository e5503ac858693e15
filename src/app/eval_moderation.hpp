// qunzhu app: `qunzhu eval moderation`: how well a playbook's moderation separates spam from
// ordinary chat on a labelled file, measured through the real pipeline (ingest, Prepare, the
// writer, the modules, a real SQLite store in a scratch directory). Each line is posted as a
// message from an ordinary member who joined three days before, in a group of the playbook's
// first group type; a line counts as flagged when moderation deleted it (or would have, in dry
// run).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace qz {

struct EvalLine {
  bool spam = false;
  std::string text;
};

struct EvalOptions {
  std::string labels_path;
  std::string playbook_path;  // empty: a playbook with [moderation] at its defaults
  std::string model_path;     // empty: the playbook's own (if any)
  bool json = false;
  int examples = 10;  // worst false positives / negatives listed
};

struct EvalExample {
  std::string text;
  double score = 0;
  std::string why;  // the decision's signal/category/rule for a false positive
};

struct EvalReport {
  int64_t tp = 0, fp = 0, tn = 0, fn = 0;
  int64_t skipped = 0;  // bad lines in the labels file
  double seconds = 0;   // pipeline time for all messages
  double precision() const { return tp + fp == 0 ? 0 : static_cast<double>(tp) / static_cast<double>(tp + fp); }
  double recall() const { return tp + fn == 0 ? 0 : static_cast<double>(tp) / static_cast<double>(tp + fn); }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r == 0 ? 0 : 2 * p * r / (p + r);
  }
  double messages_per_second() const {
    return seconds <= 0 ? 0 : static_cast<double>(tp + fp + tn + fn) / seconds;
  }
  std::vector<EvalExample> worst_false_positives;  // most confident first, at most 10
  std::vector<EvalExample> worst_false_negatives;  // at most 10
  std::vector<std::pair<std::string, int64_t>> false_positive_rules;  // by count, descending
};

// Runs `lines` through the pipeline under `playbook_toml` (source names it in errors).
Result<EvalReport> EvaluateModeration(const std::vector<EvalLine>& lines, std::string_view playbook_toml,
                                      std::string_view source, const std::string& model_path,
                                      int examples = 10);

// The command: reads the files, evaluates, prints. Returns the exit code.
int RunEvalModeration(const EvalOptions& options);

}  // namespace qz
