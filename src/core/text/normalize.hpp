// qunzhu core/text: normalisation before matching. Moderation, FAQ answers and keyword joining
// match against the normalised form so that the tricks people use to slip past a word list
// ("加 微 信", "ｑ.ｑ", "V-X", "薇信", "扣扣", "八五九", "①", "𝟖") and the script or width a
// member types in (Traditional, full-width, upper case) do not matter. An offset map leads from
// every normalised byte back to the original text, so a decision quotes exactly what was typed.
//
// The steps, in order (each can be turned off in NormalizeOptions):
//   1. decode UTF-8; an invalid byte becomes U+FFFD (never an error, never a crash);
//   2. Unicode NFKC with case folding (ICU): full/half width, compatibility forms, styled and
//      circled digits and letters ("①"→"1", "𝟖"→"8", "８"→"8", "Ｖ"→"v");
//   3. Traditional → Simplified Chinese, character by character (OpenCC's t2s tables);
//   4. invisible characters removed (zero-width, format controls, variation selectors, combining
//      marks), and separators (spaces, punctuation such as . - _ * | / ·)
//      removed where they split a word: between CJK characters, between digits, and between
//      single letters ("q.q", "V-X"); kept between words of two or more letters and in URLs
//      ("www.example.com", "add me");
//   5. number words to digits in runs of three or more, ASCII digits counting toward the run
//      ("八五九"→"859", "幺三八"→"138", "1三8"→"138"; 零〇一二三四五六七八九幺两 and the financial
//      forms 壹贰叁肆伍陆柒捌玖); positional forms (十百千万) are left alone, so "一起", "十一"
//      and "一千八百" stay as they are;
//   6. substitutions from a data file (homophones and homoglyphs used to evade contact filters:
//      "薇信"→"微信", "扣扣"→"qq", "企鹅"→"qq", "vx"→"微信"), longest match first.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace qz::text {

// A normalised text and the way back to the original.
struct NormalizedText {
  std::string text;  // normalised, valid UTF-8
  // origin[i] / origin_end[i]: the original byte range of the character (or substituted span)
  // that produced output byte i. origin.size() == text.size() + 1 (origin.back() is the
  // original's size); origin_end.size() == text.size().
  std::vector<uint32_t> origin;
  std::vector<uint32_t> origin_end;

  // The original byte range [first, last) that produced normalised bytes [begin, end)
  // (begin < end <= text.size()): from the start of the character that produced `begin` to the
  // end of the character that produced byte end-1. Always on UTF-8 character boundaries of the
  // original.
  std::pair<size_t, size_t> Original(size_t begin, size_t end) const;
};

struct NormalizeOptions {
  bool nfkc_casefold = true;
  bool traditional_to_simplified = true;
  bool remove_separators = true;
  bool number_words = true;
  bool substitutions = true;
};

// Immutable once created; Normalize is thread-safe and allocation-free once `out` has grown.
class Normalizer {
 public:
  // `substitutions` is the text of a substitution file (see substitutions.tsv beside this
  // header for the format); `source` names it in errors, which give "<source>:<line>: <why>".
  static Result<std::unique_ptr<Normalizer>> Create(std::string_view substitutions,
                                                    std::string_view source,
                                                    NormalizeOptions options = {});
  // The built-in substitution table and every step on; created on first use.
  static const Normalizer& Default();

  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Normalises `input` (any bytes; at most 1 MiB is read, the rest ignored) into `out`.
  void Normalize(std::string_view input, NormalizedText& out) const;
  NormalizedText Normalize(std::string_view input) const {
    NormalizedText out;
    Normalize(input, out);
    return out;
  }

  size_t substitution_count() const;

 private:
  struct Impl;
  explicit Normalizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `s` without the spaces and punctuation around it ("北京。", " 12 ", "「上海」"); the inside is
// untouched.
std::string_view TrimEnds(std::string_view s);

// A short reply as it is compared with what a playbook lists (a keyword that asks for a group,
// the answer to a verification question): normalised by the default Normalizer, trimmed
// (TrimEnds), runs of spaces inside made one ("ＯＰＥＮ  Sesame!" → "open sesame").
std::string ShortForm(std::string_view text);

}  // namespace qz::text
