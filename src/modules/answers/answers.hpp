// qunzhu module `answers` (答疑): keyword and FAQ auto-replies, matched after moderation's
// normalisation in one pass over every entry, with a per-group cooldown; question detection; a
// question nobody answers in time becomes an operator task; the first response to each question
// is recorded (who, how fast, staff or not) for the response-time KPI. Owns the playbook section
// [answers]; keeps the tables `questions`, `open` and `cooldowns`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/text/matcher.hpp"
#include "engine/module.hpp"
#include "playbook/playbook.hpp"

namespace qz {

// One [[answers.faq]] entry.
struct FaqEntry {
  enum class Match : uint8_t { kContains, kExact, kRegex };
  Match match = Match::kContains;
  std::vector<std::string> keywords;  // as written; matched normalised
  LocalizedText answer;
  std::string source;  // "answers.faq[2]" (for errors and the reply's rule)
};

// The entries compiled once per playbook: one Vectorscan database for every contains keyword
// and regex, a table of normalised exact phrases. Immutable, shared by every thread.
class FaqSet {
 public:
  static Result<std::shared_ptr<const FaqSet>> Compile(std::vector<FaqEntry> entries);
  // The first entry (in playbook order) whose keyword matches `normalized`, or -1.
  int Match(std::string_view normalized) const;
  const std::vector<FaqEntry>& entries() const { return entries_; }

 private:
  std::vector<FaqEntry> entries_;
  std::shared_ptr<const text::MatcherDatabase> db_;  // pattern tag = entry index
  std::vector<std::pair<std::string, int>> exact_;   // normalised phrase → entry, sorted
};

// True when a message (normalised) reads as a question: a question mark, a Chinese question
// word or particle (吗, 怎么, 如何, 为什么, 哪, 几点, 能不能, 有没有, 是不是, 多少…), or an English
// question form ("how do I…", "can someone…", "is there…"). Heuristic by design.
bool IsQuestion(std::string_view normalized);

// [answers]: absent → disabled. `enabled` (default true when present); `cooldown` (duration,
// default "10m": an entry is not answered again in the same group within it; "off": always
// answer); `questions` (default true: detect questions); `unanswered_after` (duration, default
// "30m"; "off": never escalated); `min_chars` (default 2: shorter messages are never
// questions); [[answers.faq]] entries with `keywords` (list), `match` (contains|exact|regex,
// default contains) and `answer` (TEXT).
struct AnswersConfig : SectionConfig {
  bool enabled = false;
  int64_t cooldown_s = 600;
  bool questions = true;
  int64_t unanswered_after_s = 1800;
  int min_chars = 2;
  std::shared_ptr<const FaqSet> faq;  // never null
};

std::unique_ptr<Module> MakeAnswersModule();

}  // namespace qz
