// qunzhu moderation: the compiled rule set and what it finds in one message. The built-in
// lexicons and patterns (data/, compiled into the binary) are compiled once per process and
// shared; a community's own words and its model are compiled or loaded with its playbook. The
// analysis runs before the writer (Module::Prepare) and is pure: same text, same rules, same
// result.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "core/text/matcher.hpp"
#include "core/text/normalize.hpp"
#include "engine/module.hpp"

namespace qz::moderation {

class SpamModel;

// What a pattern of the rule set means.
struct PatternInfo {
  std::string category;  // ads, fraud, gambling, porn, abuse, contact, illegal_url, url, custom…
  std::string name;      // the lexicon term, or the regex's name
  double weight = 1.0;   // (0, 1]: 1 decides alone
  bool url = false;      // a link: the allowlist applies
};

struct RuleOptions {
  std::vector<std::string> categories;   // built-in categories in force (empty: all)
  std::vector<std::string> extra_words;  // the community's own, decisive, category "custom"
  std::vector<std::string> allow_domains;  // links to these (and their subdomains) are fine
  std::string model_path;                // empty: no model
};

class RuleSet {
 public:
  // Compiles the community's words and loads its model; the built-in part is shared. Errors name
  // the word or the model file and the reason.
  static Result<std::shared_ptr<const RuleSet>> Build(const RuleOptions& options);
  // The built-in lexicons and patterns alone (every category), compiled on first use.
  static Result<std::shared_ptr<const RuleSet>> BuiltinOnly();

  size_t memory_bytes() const;
  bool has_model() const { return model_ != nullptr; }
  double model_threshold() const;  // the model's suggested threshold (has_model() only)

 private:
  friend struct Analyzer;
  struct Compiled {
    std::shared_ptr<const text::MatcherDatabase> db;
    std::vector<PatternInfo> info;  // by pattern index
  };
  static Result<std::shared_ptr<const Compiled>> Builtin();
  std::shared_ptr<const Compiled> builtin_;
  std::shared_ptr<const Compiled> extra_;  // null: no words of the community's own
  std::vector<std::string> categories_;    // sorted; empty: all
  std::vector<std::string> allow_domains_;
  std::shared_ptr<const SpamModel> model_;
};

// One thing found in a message, quoted from the original text.
struct Hit {
  std::string category;
  std::string name;
  double weight = 0;
  bool url = false;
  uint32_t begin = 0;  // byte range in the original text
  uint32_t end = 0;
};

// What the rules found in one message's text.
struct Analysis final : Prepared {
  std::vector<Hit> hits;       // distinct (category, name), strongest first
  double score = 0;            // the strongest category's summed weights
  std::string category;        // that category
  double model_score = -1;     // P(spam) by the model; -1: no model
  bool has_link = false;       // a URL to a domain not allowlisted
  bool chitchat = false;       // short filler: laughter, greetings, emoji only
  bool appeal = false;         // starts with one of the playbook's appeal words
  std::string qr;              // the first QR payload that is a link or matched a rule
  uint64_t text_hash = 0;      // of the normalised text (cross-group spam)
  size_t text_chars = 0;       // code points of the normalised text
};

struct Analyzer {
  // Normalises and matches `text` once. `factor` multiplies the weights (newcomers).
  // `appeal_words` are normalised already.
  // `qr` are the payloads of QR codes in the message's images (event.qr).
  static std::shared_ptr<const Analysis> Run(const RuleSet& rules, std::string_view text,
                                             const std::vector<std::string>& appeal_words = {},
                                             const std::vector<std::string>& qr = {});
};

// Score of `hits` as the module counts it: per category the sum of weights, the best category.
void ScoreHits(const std::vector<Hit>& hits, double factor, double& score, std::string& category);

}  // namespace qz::moderation
