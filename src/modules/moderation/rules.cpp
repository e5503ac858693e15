#include "modules/moderation/rules.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <unordered_map>

#include "core/hash.hpp"
#include "core/text/utf8.hpp"
#include "modules/moderation/classifier.hpp"

namespace qz::embedded {
// The built-in lexicons, all files of data/lexicon/ in one text, each starting with a line
// "@@ <category>" (assembled by CMakeLists.txt), and data/patterns.tsv.
extern const std::string_view kModerationLexicons;
extern const std::string_view kModerationPatterns;
}  // namespace qz::embedded

namespace qz::moderation {
namespace {

constexpr size_t kMaxWordBytes = 256;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool ParseWeight(std::string_view text, double& out) {
  const std::string s(Trim(text));
  char* end = nullptr;
  const double w = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !(w > 0.0) || w > 1.0) return false;
  out = w;
  return true;
}

// A term as the matcher sees it: normalised the way messages are, so "加 薇 信" in a word list
// matches what a member types in any disguise.
std::string NormalizedTerm(std::string_view term) {
  return text::Normalizer::Default().Normalize(term).text;
}

// Parses the lexicon bundle: "@@ category" lines, then "term" or "term<TAB>weight" lines;
// '#' starts a comment line.
Status ParseLexicons(std::string_view bundle, std::vector<text::Pattern>& patterns,
                     std::vector<PatternInfo>& info) {
  std::string category;
  std::string source = "lexicon";
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= bundle.size()) {
    size_t nl = bundle.find('\n', pos);
    if (nl == std::string_view::npos) nl = bundle.size();
    std::string_view line = Trim(bundle.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.starts_with("@@")) {
      category = std::string(Trim(line.substr(2)));
      source = fmt::format("lexicon/{}.txt", category);
      line_no = 0;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;
    const size_t tab = line.find('\t');
    std::string_view term = Trim(line.substr(0, tab));
    double weight = 1.0;
    if (tab != std::string_view::npos && !ParseWeight(line.substr(tab + 1), weight)) {
      return Status::Invalid(fmt::format("{}:{}: the weight must be a number in (0, 1]", source, line_no));
    }
    if (category.empty()) return Status::Invalid(fmt::format("{}:{}: a term before any category", source, line_no));
    if (term.size() > kMaxWordBytes || !IsValidUtf8(term)) {
      return Status::Invalid(fmt::format("{}:{}: a term must be valid UTF-8 of at most {} bytes", source, line_no, kMaxWordBytes));
    }
    std::string normalized = NormalizedTerm(term);
    if (normalized.empty()) continue;
    patterns.push_back(text::Pattern{text::Pattern::Kind::kLiteral, std::move(normalized), 0, true,
                                     fmt::format("{}:{}", source, line_no)});
    info.push_back(PatternInfo{category, std::string(term), weight, category == "illegal_url"});
  }
  return Status::Ok();
}

// patterns.tsv: category<TAB>name<TAB>weight<TAB>regex.
Status ParsePatterns(std::string_view text, std::vector<text::Pattern>& patterns,
                     std::vector<PatternInfo>& info) {
  size_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = nl + 1;
    ++line_no;
    if (Trim(line).empty() || Trim(line).front() == '#') continue;
    std::vector<std::string_view> cols;
    for (size_t i = 0; cols.size() < 3;) {
      const size_t tab = line.find('\t', i);
      if (tab == std::string_view::npos) break;
      cols.push_back(line.substr(i, tab - i));
      i = tab + 1;
      if (cols.size() == 3) cols.push_back(line.substr(i));
    }
    double weight = 1.0;
    if (cols.size() != 4 || !ParseWeight(cols[2], weight) || Trim(cols[3]).empty()) {
      return Status::Invalid(fmt::format("patterns.tsv:{}: expected category<TAB>name<TAB>weight<TAB>regex", line_no));
    }
    const std::string category(Trim(cols[0]));
    patterns.push_back(text::Pattern{text::Pattern::Kind::kRegex, std::string(Trim(cols[3])), 0, true,
                                     fmt::format("patterns.tsv:{}", line_no)});
    info.push_back(PatternInfo{category, std::string(Trim(cols[1])), weight,
                               category == "url" || category == "illegal_url" || category == "invite"});
  }
  return Status::Ok();
}

// The host of a matched link ("https://www.Example.com/x" → "www.example.com").
std::string HostOf(std::string_view link) {
  if (const size_t scheme = link.find("://"); scheme != std::string_view::npos) link.remove_prefix(scheme + 3);
  const size_t end = link.find_first_of("/?#:");
  std::string host(link.substr(0, end));
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return host;
}

bool Allowed(const std::vector<std::string>& domains, std::string_view host) {
  for (const std::string& d : domains) {
    if (host == d || (host.size() > d.size() && host.ends_with(d) && host[host.size() - d.size() - 1] == '.')) {
      return true;
    }
  }
  return false;
}

// Short filler that carries no content: laughter, agreement, greetings, emoji.
bool IsChitchat(std::string_view normalized) {
  if (normalized.empty() || normalized.size() > 24) return false;
  static constexpr std::string_view kFiller[] = {"哈", "呵", "嘻", "嘿", "啊", "哦", "嗯", "噢", "呀", "吧",
                                                 "啦", "了", "哇", "呜", "666", "6", "h", "~", "!", "?",
                                                 "。", "lol", "ok", "好的", "早", "晚安", "在吗", "+1", "1"};
  size_t i = 0;
  while (i < normalized.size()) {
    const auto c = static_cast<unsigned char>(normalized[i]);
    if (c >= 0xF0) {  // emoji and other astral symbols
      i += 4;
      continue;
    }
    bool matched = false;
    for (std::string_view f : kFiller) {
      if (normalized.substr(i).starts_with(f)) {
        i += f.size();
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}

// FNV-1a from a seed of its own (stored fingerprints must not change between releases).
uint64_t Fnv1a(std::string_view s) { return Fnv1a64(s, 1469598103934665603ULL); }

}  // namespace

Result<std::shared_ptr<const RuleSet::Compiled>> RuleSet::Builtin() {
  static std::once_flag once;
  static std::shared_ptr<const Compiled> compiled;
  static Status failure;
  std::call_once(once, [] {
    std::vector<text::Pattern> patterns;
    auto out = std::make_shared<Compiled>();
    failure = ParseLexicons(embedded::kModerationLexicons, patterns, out->info);
    if (failure.ok()) failure = ParsePatterns(embedded::kModerationPatterns, patterns, out->info);
    if (!failure.ok()) return;
    for (size_t i = 0; i < patterns.size(); ++i) patterns[i].tag = static_cast<uint32_t>(i);
    // The same thousands of words at every start: compiled once per machine (matcher.hpp).
    auto db = text::MatcherDatabase::CompileCached(patterns, text::DefaultMatcherCacheDir());
    if (!db.ok()) {
      failure = db.status();
      return;
    }
    out->db = std::move(*db);
    compiled = std::move(out);
  });
  if (compiled == nullptr) return failure;
  return compiled;
}

Result<std::shared_ptr<const RuleSet>> RuleSet::BuiltinOnly() {
  static std::once_flag once;
  static Result<std::shared_ptr<const RuleSet>> result = Status::Internal("not built");
  std::call_once(once, [] { result = Build({}); });
  return result;
}

Result<std::shared_ptr<const RuleSet>> RuleSet::Build(const RuleOptions& options) {
  auto builtin = Builtin();
  if (!builtin.ok()) return Status::Internal(fmt::format("built-in lexicons: {}", builtin.status().message()));
  auto rules = std::make_shared<RuleSet>();
  rules->builtin_ = *builtin;
  rules->categories_ = options.categories;
  std::sort(rules->categories_.begin(), rules->categories_.end());
  for (const std::string& d : options.allow_domains) {
    std::string host = HostOf(d);
    if (host.empty() || host.find(' ') != std::string::npos) {
      return Status::Invalid(fmt::format("allow_domains: '{}' is not a domain", Excerpt(d, 80)), "allow_domains");
    }
    rules->allow_domains_.push_back(std::move(host));
  }
  if (!options.extra_words.empty()) {
    auto extra = std::make_shared<Compiled>();
    std::vector<text::Pattern> patterns;
    for (size_t i = 0; i < options.extra_words.size(); ++i) {
      const std::string& word = options.extra_words[i];
      if (word.size() > kMaxWordBytes || !IsValidUtf8(word)) {
        return Status::Invalid(fmt::format("extra_words[{}]: at most {} bytes of valid UTF-8", i, kMaxWordBytes),
                               "extra_words");
      }
      std::string normalized = NormalizedTerm(word);
      if (normalized.empty()) {
        return Status::Invalid(fmt::format("extra_words[{}]: '{}' is empty once normalised", i, Excerpt(word, 40)),
                               "extra_words");
      }
      patterns.push_back(text::Pattern{text::Pattern::Kind::kLiteral, std::move(normalized),
                                       static_cast<uint32_t>(i), true, fmt::format("extra_words[{}]", i)});
      extra->info.push_back(PatternInfo{"custom", word, 1.0, false});
    }
    auto db = text::MatcherDatabase::Compile(patterns);
    if (!db.ok()) return Status::Invalid(fmt::format("extra_words: {}", db.status().message()), "extra_words");
    extra->db = std::move(*db);
    rules->extra_ = std::move(extra);
  }
  if (!options.model_path.empty()) {
    auto model = SpamModel::Load(options.model_path);
    if (!model.ok()) return Status::Invalid(fmt::format("model: {}", model.status().message()), "model");
    rules->model_ = std::move(*model);
  }
  return std::shared_ptr<const RuleSet>(std::move(rules));
}

double RuleSet::model_threshold() const { return model_->suggested_threshold(); }

size_t RuleSet::memory_bytes() const {
  size_t n = builtin_->db->memory_bytes() + builtin_->info.size() * sizeof(PatternInfo);
  if (extra_ != nullptr) n += extra_->db->memory_bytes() + extra_->info.size() * sizeof(PatternInfo);
  if (model_ != nullptr) n += model_->memory_bytes();
  return n;
}

void ScoreHits(const std::vector<Hit>& hits, double factor, double& score, std::string& category) {
  // The message's score is the sum of its distinct hits; it is labelled with the category that
  // contributed most ("出元宝" + "加q" + a QQ number: an ad with a contact, scored together).
  score = 0;
  category.clear();
  double best = 0;
  for (const Hit& h : hits) {
    score += h.weight * factor;
    double in_category = 0;
    for (const Hit& o : hits) {
      if (o.category == h.category) in_category += o.weight;
    }
    if (in_category > best) {
      best = in_category;
      category = h.category;
    }
  }
}

std::shared_ptr<const Analysis> Analyzer::Run(const RuleSet& rules, std::string_view message,
                                               const std::vector<std::string>& appeal_words,
                                               const std::vector<std::string>& qr) {
  // A QR code is judged by what it encodes: a link to a domain not allowed, or anything the
  // rules match. Its hits are not the message's (their spans would not be in its text).
  std::string flagged_qr;
  for (const std::string& payload : qr) {
    auto inner = Run(rules, payload, {}, {});
    if (inner->has_link || !inner->hits.empty()) {
      flagged_qr = payload;
      break;
    }
  }
  thread_local text::NormalizedText normalized;
  thread_local std::vector<text::Match> matches;
  text::Normalizer::Default().Normalize(message, normalized);
  auto out = std::make_shared<Analysis>();
  out->qr = std::move(flagged_qr);
  const std::string& t = normalized.text;
  out->text_hash = Fnv1a(t);
  for (unsigned char c : t) out->text_chars += (c & 0xC0) != 0x80 ? 1 : 0;
  out->chitchat = IsChitchat(t);
  if (message.size() <= 64) {
    for (const std::string& word : appeal_words) out->appeal = out->appeal || t.starts_with(word);
  }
  auto collect = [&](const RuleSet::Compiled& compiled) {
    matches.clear();
    compiled.db->Scan(t, matches);
    for (text::Match m : matches) {
      const PatternInfo& info = compiled.info[compiled.db->pattern(m.pattern).tag];
      if (!rules.categories_.empty() && info.category != "custom" &&
          !std::binary_search(rules.categories_.begin(), rules.categories_.end(), info.category)) {
        continue;
      }
      // A listed domain counts as itself, not inside a longer name ("a.com" in "wikipedia.com").
      if (info.category == "illegal_url" && m.begin > 0) {
        const char before = t[m.begin - 1];
        if (std::isalnum(static_cast<unsigned char>(before)) || before == '-' || before == '.') continue;
      }
      if (info.url) {
        // A link pattern reports its shortest match: the link runs on to the next space.
        while (m.end < t.size() && static_cast<unsigned char>(t[m.end]) > ' ' &&
               static_cast<unsigned char>(t[m.end]) < 0x80) {
          ++m.end;
        }
      }
      const auto [begin, end] = normalized.Original(m.begin, m.end);
      if (info.url) {
        if (Allowed(rules.allow_domains_, HostOf(message.substr(begin, end - begin)))) continue;
        out->has_link = true;
      }
      const bool seen = std::any_of(out->hits.begin(), out->hits.end(), [&](const Hit& h) {
        return h.category == info.category && h.name == info.name;
      });
      if (seen) continue;
      out->hits.push_back(Hit{info.category, info.name, info.weight, info.url,
                              static_cast<uint32_t>(begin), static_cast<uint32_t>(end)});
    }
  };
  collect(*rules.builtin_);
  if (rules.extra_ != nullptr) collect(*rules.extra_);
  std::stable_sort(out->hits.begin(), out->hits.end(),
                   [](const Hit& a, const Hit& b) { return a.weight > b.weight; });
  ScoreHits(out->hits, 1.0, out->score, out->category);
  if (rules.model_ != nullptr) out->model_score = rules.model_->Score(t);
  return out;
}

}  // namespace qz::moderation
