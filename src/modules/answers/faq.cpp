#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "core/text/normalize.hpp"
#include "modules/answers/answers.hpp"

namespace qz {

Result<std::shared_ptr<const FaqSet>> FaqSet::Compile(std::vector<FaqEntry> entries) {
  auto set = std::make_shared<FaqSet>();
  std::vector<text::Pattern> patterns;
  const text::Normalizer& normalizer = text::Normalizer::Default();
  for (size_t i = 0; i < entries.size(); ++i) {
    const FaqEntry& e = entries[i];
    for (size_t k = 0; k < e.keywords.size(); ++k) {
      const std::string source = fmt::format("{}.keywords[{}]", e.source, k);
      if (e.match == FaqEntry::Match::kRegex) {
        // A regex is matched against the normalised text as written (the author writes it for
        // normalised text: lower case, simplified, digits).
        patterns.push_back({text::Pattern::Kind::kRegex, e.keywords[k], static_cast<uint32_t>(i), true, source});
        continue;
      }
      std::string normalized = normalizer.Normalize(e.keywords[k]).text;
      if (normalized.empty()) {
        return Status::Invalid(fmt::format("{}: '{}' is empty once normalised", source, e.keywords[k]));
      }
      if (e.match == FaqEntry::Match::kExact) {
        set->exact_.emplace_back(std::move(normalized), static_cast<int>(i));
      } else {
        patterns.push_back({text::Pattern::Kind::kLiteral, std::move(normalized), static_cast<uint32_t>(i), true, source});
      }
    }
  }
  // The first entry wins for a phrase listed twice.
  std::stable_sort(set->exact_.begin(), set->exact_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto db = text::MatcherDatabase::Compile(patterns);
  if (!db.ok()) return db.status();
  set->db_ = std::move(*db);
  set->entries_ = std::move(entries);
  return std::shared_ptr<const FaqSet>(std::move(set));
}

int FaqSet::Match(std::string_view normalized) const {
  int best = -1;
  auto exact = std::lower_bound(exact_.begin(), exact_.end(), normalized,
                                [](const auto& a, std::string_view b) { return a.first < b; });
  if (exact != exact_.end() && exact->first == normalized) best = exact->second;
  if (db_ != nullptr && db_->size() > 0) {
    thread_local std::vector<text::Match> matches;
    matches.clear();
    db_->Scan(normalized, matches);
    for (const text::Match& m : matches) {
      const int entry = static_cast<int>(db_->pattern(m.pattern).tag);
      if (best < 0 || entry < best) best = entry;
    }
  }
  return best;
}

bool IsQuestion(std::string_view t) {
  // Normalised text: full-width punctuation is half width, letters are lower case.
  if (t.find('?') != std::string_view::npos) return true;
  static constexpr std::array<std::string_view, 22> kWords = {
      "怎么", "如何", "为什么", "为啥", "哪里", "哪个", "哪些", "哪儿", "几点", "什么时候", "能不能", "可不可以",
      "有没有", "是不是", "会不会", "要不要", "多少", "多久", "请问", "求助", "啥时候", "咋"};
  for (std::string_view w : kWords) {
    if (t.find(w) != std::string_view::npos) return true;
  }
  // A sentence-final particle: 吗 / 呢 / 么 at the end (trailing spaces and punctuation aside).
  std::string_view end = t;
  while (!end.empty() && (end.back() == ' ' || end.back() == '.' || end.back() == '!' || end.back() == '~')) {
    end.remove_suffix(1);
  }
  for (std::string_view p : {std::string_view("吗"), std::string_view("呢"), std::string_view("么")}) {
    if (end.ends_with(p)) return true;
  }
  // English: a question word or auxiliary first.
  static constexpr std::array<std::string_view, 18> kStarts = {
      "how ", "what ", "why ", "when ", "where ", "who ", "which ", "can ", "could ", "is there ",
      "are there ", "does ", "do ", "should ", "will ", "anyone ", "any idea", "is it "};
  for (std::string_view s : kStarts) {
    if (t.starts_with(s)) return true;
  }
  return false;
}

}  // namespace qz
