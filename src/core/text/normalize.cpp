#include "core/text/normalize.hpp"

#include <fmt/format.h>
#include <opencc/SimpleConverter.hpp>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "core/text/utf8.hpp"

namespace qz::embedded {
extern const std::string_view kNormalizeSubstitutions;  // substitutions.tsv
}  // namespace qz::embedded

namespace qz::text {
namespace {

constexpr size_t kMaxInput = 1 << 20;
constexpr size_t kMaxSubstitutionFile = 1 << 20;
constexpr size_t kMaxSubstitutions = 100000;
constexpr char32_t kReplacement = 0xFFFD;

// One character on its way through the steps, with the original byte range it came from.
struct Char {
  char32_t cp;
  uint32_t begin;
  uint32_t end;
};

// Decodes one code point at s[i]; an invalid sequence is one U+FFFD for its first byte.
char32_t Decode(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const size_t first_bad = FirstInvalidUtf8(s.substr(i, std::min<size_t>(4, s.size() - i)));
  size_t len = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 1;
  if (len == 1 || first_bad < len || i + len > s.size()) {
    ++i;
    return kReplacement;
  }
  char32_t cp = b0 & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

void Encode(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool IsCjk(char32_t c) {
  return (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FA1F) ||
         (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF);
}
bool IsAsciiAlnum(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char32_t c) { return c >= '0' && c <= '9'; }

// Characters that carry nothing visible: zero-width, format controls, variation selectors,
// combining marks (also what is left of "only combining marks" text).
bool IsInvisible(char32_t c) {
  if (c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 || c == 0xFEFF || c == 0x00AD) return true;
  if ((c >= 0xFE00 && c <= 0xFE0F) || (c >= 0xE0100 && c <= 0xE01EF)) return true;
  if (c < 0x80) return c < 0x20 && c != '\n' && c != '\t' && c != '\r';
  const int8_t type = u_charType(static_cast<UChar32>(c));
  return type == U_FORMAT_CHAR || type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
         type == U_CONTROL_CHAR;
}

// Word characters: letters and digits of any script.
bool IsWordChar(char32_t c) {
  if (c < 0x80) return IsAsciiAlnum(c);
  return IsCjk(c) || u_isalnum(static_cast<UChar32>(c));
}

// Separators that may split a word: whitespace and punctuation/symbols other than emoji.
bool IsSeparator(char32_t c) {
  if (c < 0x80) return !IsAsciiAlnum(c) && c != '/' && c != ':' && c != '@' && c != '?' && c != '=';
  if (c >= 0x1F000) return false;  // emoji and pictographs stay
  return u_isUWhiteSpace(static_cast<UChar32>(c)) || u_ispunct(static_cast<UChar32>(c)) ||
         u_charType(static_cast<UChar32>(c)) == U_MATH_SYMBOL ||
         u_charType(static_cast<UChar32>(c)) == U_OTHER_SYMBOL;
}

int NumberWordValue(char32_t c) {
  switch (c) {
    case U'零': case U'〇': return 0;
    case U'一': case U'壹': case U'幺': return 1;
    case U'二': case U'贰': case U'两': return 2;
    case U'三': case U'叁': return 3;
    case U'四': case U'肆': return 4;
    case U'五': case U'伍': return 5;
    case U'六': case U'陆': return 6;
    case U'七': case U'柒': return 7;
    case U'八': case U'捌': return 8;
    case U'九': case U'玖': return 9;
    default: return IsDigit(c) ? static_cast<int>(c - '0') : -1;
  }
}

// Traditional → Simplified, character by character, from OpenCC's t2s tables: built once by
// converting every CJK character alone (one per line, so no phrase spans two).
class T2S {
 public:
  static Result<const T2S*> Get() {
    static std::once_flag once;
    static T2S* table = nullptr;
    static Status failure;
    std::call_once(once, [] {
      try {
        opencc::SimpleConverter converter("t2s.json");
        std::string in;
        std::vector<char32_t> cps;
        auto add_range = [&](char32_t from, char32_t to) {
          for (char32_t c = from; c <= to; ++c) {
            cps.push_back(c);
            Encode(c, in);
            in += '\n';
          }
        };
        add_range(0x3400, 0x4DBF);
        add_range(0x4E00, 0x9FFF);
        add_range(0xF900, 0xFAFF);
        const std::string out = converter.Convert(in);
        auto t = std::make_unique<T2S>();
        size_t line = 0, pos = 0;
        while (pos < out.size() && line < cps.size()) {
          size_t nl = out.find('\n', pos);
          if (nl == std::string::npos) nl = out.size();
          std::string_view piece(out.data() + pos, nl - pos);
          size_t i = 0;
          if (!piece.empty()) {
            const char32_t c = Decode(piece, i);
            if (i == piece.size() && c != cps[line]) {
              if (cps[line] < 0x10000 && c < 0x10000) {
                t->bmp_[cps[line] - kFirst] = static_cast<char16_t>(c);
              } else {
                t->map_.emplace(cps[line], c);
              }
            }
          }
          pos = nl + 1;
          ++line;
        }
        table = t.release();
      } catch (const std::exception& e) {
        failure = Status::Unavailable(
            fmt::format("OpenCC's t2s.json could not be loaded (Debian package libopencc-data): {}", e.what()));
      }
    });
    if (table == nullptr) return failure;
    return table;
  }
  char32_t Map(char32_t c) const {
    if (c < kFirst) return c;
    if (c < 0x10000) {
      const char16_t m = bmp_[c - kFirst];
      return m == 0 ? c : m;
    }
    auto it = map_.find(c);
    return it == map_.end() ? c : it->second;
  }

 private:
  static constexpr char32_t kFirst = 0x3400;
  // The BMP part as a flat table (0: unchanged): one load per character on the hot path.
  std::array<char16_t, 0x10000 - kFirst> bmp_{};
  std::unordered_map<char32_t, char32_t> map_;
};

struct Substitution {
  std::u32string from;
  std::u32string to;
};

std::u32string ToU32(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) out += Decode(s, i);
  return out;
}

}  // namespace

std::pair<size_t, size_t> NormalizedText::Original(size_t begin, size_t end) const {
  if (text.empty() || begin >= end || end > text.size()) {
    const size_t at = begin < origin.size() ? origin[begin] : (origin.empty() ? 0 : origin.back());
    return {at, at};
  }
  size_t first = origin[begin];
  size_t last = origin_end[end - 1];
  for (size_t i = begin; i < end; ++i) {  // a range may cover characters out of order (substitutions)
    first = std::min<size_t>(first, origin[i]);
    last = std::max<size_t>(last, origin_end[i]);
  }
  return {first, last};
}

struct Normalizer::Impl {
  NormalizeOptions options;
  const icu::Normalizer2* nfkc = nullptr;
  const T2S* t2s = nullptr;
  // Substitutions by their first character, longest first.
  std::unordered_map<char32_t, std::vector<Substitution>> substitutions;
  size_t substitution_count = 0;

  // Steps 1–3 for one character: appends what it becomes to `out`.
  void Fold(char32_t cp, uint32_t begin, uint32_t end, std::vector<Char>& out) const {
    if (cp < 0x80) {
      out.push_back({(cp >= 'A' && cp <= 'Z') ? cp + 32 : cp, begin, end});
      return;
    }
    if (options.nfkc_casefold && !nfkc->isInert(static_cast<UChar32>(cp))) {
      UErrorCode status = U_ZERO_ERROR;
      const icu::UnicodeString folded = nfkc->normalize(icu::UnicodeString(static_cast<UChar32>(cp)), status);
      if (U_SUCCESS(status)) {
        for (int32_t i = 0; i < folded.length();) {
          const UChar32 c = folded.char32At(i);
          i += U16_LENGTH(c);
          out.push_back({options.traditional_to_simplified ? t2s->Map(static_cast<char32_t>(c))
                                                           : static_cast<char32_t>(c),
                         begin, end});
        }
        return;
      }
    }
    out.push_back({options.traditional_to_simplified ? t2s->Map(cp) : cp, begin, end});
  }
};

Normalizer::Normalizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Normalizer::~Normalizer() = default;

size_t Normalizer::substitution_count() const { return impl_->substitution_count; }

Result<std::unique_ptr<Normalizer>> Normalizer::Create(std::string_view substitutions, std::string_view source,
                                                       NormalizeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  UErrorCode status = U_ZERO_ERROR;
  impl->nfkc = icu::Normalizer2::getNFKCCasefoldInstance(status);
  if (U_FAILURE(status) || impl->nfkc == nullptr) {
    return Status::Unavailable(fmt::format("ICU's NFKC_Casefold data is missing: {}", u_errorName(status)));
  }
  QZ_ASSIGN_OR_RETURN(impl->t2s, T2S::Get());
  if (substitutions.size() > kMaxSubstitutionFile) {
    return Status::Invalid(fmt::format("{}: larger than {} bytes", source, kMaxSubstitutionFile));
  }
  // The substitutions' own text is normalised by steps 1–5 (not by themselves), so an entry
  // written in any script or width matches.
  Normalizer plain(std::make_unique<Impl>(*impl));
  plain.impl_->options.substitutions = false;
  size_t line_no = 0;
  for (size_t pos = 0; pos < substitutions.size();) {
    size_t nl = substitutions.find('\n', pos);
    if (nl == std::string_view::npos) nl = substitutions.size();
    std::string_view line = substitutions.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (!IsValidUtf8(line)) return Status::Invalid(fmt::format("{}:{}: not valid UTF-8", source, line_no));
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || line.find('\t', tab + 1) != std::string_view::npos) {
      return Status::Invalid(fmt::format("{}:{}: expected from<TAB>to", source, line_no));
    }
    const std::string from = plain.Normalize(line.substr(0, tab)).text;
    const std::string to = plain.Normalize(line.substr(tab + 1)).text;
    if (from.empty() || to.empty() || from.size() > 64 || to.size() > 64) {
      return Status::Invalid(fmt::format("{}:{}: both sides must be 1..64 bytes once normalised", source, line_no));
    }
    if (++impl->substitution_count > kMaxSubstitutions) {
      return Status::Invalid(fmt::format("{}:{}: more than {} substitutions", source, line_no, kMaxSubstitutions));
    }
    std::u32string f = ToU32(from);
    auto& list = impl->substitutions[f[0]];
    list.push_back({std::move(f), ToU32(to)});
  }
  for (auto& [first, list] : impl->substitutions) {
    std::stable_sort(list.begin(), list.end(),
                     [](const Substitution& a, const Substitution& b) { return a.from.size() > b.from.size(); });
  }
  return std::unique_ptr<Normalizer>(new Normalizer(std::move(impl)));
}

const Normalizer& Normalizer::Default() {
  static const Normalizer* normalizer = [] {
    auto n = Create(embedded::kNormalizeSubstitutions, "substitutions.tsv");
    if (!n.ok()) {
      fmt::print(stderr, "fatal: the built-in text normaliser cannot start: {}\n", n.status().message());
      std::abort();
    }
    return n->release();
  }();
  return *normalizer;
}

void Normalizer::Normalize(std::string_view input, NormalizedText& out) const {
  const Impl& impl = *impl_;
  if (input.size() > kMaxInput) input = Utf8Prefix(input, kMaxInput);
  thread_local std::vector<Char> a, b;
  a.clear();
  // 1–3: decode, fold, simplify; drop what is invisible.
  for (size_t i = 0; i < input.size();) {
    const auto begin = static_cast<uint32_t>(i);
    const char32_t cp = Decode(input, i);
    if (IsInvisible(cp)) continue;
    impl.Fold(cp, begin, static_cast<uint32_t>(i), a);
  }
  // 4: separators that split a word. The ASCII run around each side tells a single letter
  // ("q.q") from a word ("www.example").
  b.clear();
  if (impl.options.remove_separators) {
    auto run_length = [&](size_t at, int dir) {
      size_t n = 0;
      for (auto k = static_cast<ptrdiff_t>(at); k >= 0 && k < static_cast<ptrdiff_t>(a.size()) &&
                                                IsAsciiAlnum(a[static_cast<size_t>(k)].cp);
           k += dir) {
        ++n;
      }
      return n;
    };
    for (size_t i = 0; i < a.size(); ++i) {
      if (!IsSeparator(a[i].cp) || b.empty() || !IsWordChar(b.back().cp)) {
        b.push_back(a[i]);
        continue;
      }
      size_t j = i;
      while (j < a.size() && IsSeparator(a[j].cp)) ++j;
      if (j == a.size() || !IsWordChar(a[j].cp) || j - i > 3) {
        for (; i < j; ++i) b.push_back(a[i]);
        --i;
        continue;
      }
      const char32_t left = b.back().cp, right = a[j].cp;
      const bool left_short = IsCjk(left) || (IsAsciiAlnum(left) && run_length(i - 1, -1) == 1);
      const bool right_short = IsCjk(right) || (IsAsciiAlnum(right) && run_length(j, 1) == 1);
      if (!((left_short && right_short) || (IsDigit(left) && IsDigit(right)))) {
        for (size_t k = i; k < j; ++k) b.push_back(a[k]);
      }
      i = j - 1;
    }
  } else {
    b = a;
  }
  // 5: number words in runs of three or more.
  if (impl.options.number_words) {
    for (size_t i = 0; i < b.size();) {
      size_t j = i;
      bool word = false;
      while (j < b.size() && NumberWordValue(b[j].cp) >= 0) {
        word = word || !IsDigit(b[j].cp);
        ++j;
      }
      if (j - i >= 3 && word) {
        for (size_t k = i; k < j; ++k) b[k].cp = U'0' + static_cast<char32_t>(NumberWordValue(b[k].cp));
      }
      i = j == i ? i + 1 : j;
    }
  }
  // 6: substitutions, longest first; the output spans the whole substituted range.
  a.clear();
  for (size_t i = 0; i < b.size();) {
    const Substitution* hit = nullptr;
    if (impl.options.substitutions) {
      if (auto it = impl.substitutions.find(b[i].cp); it != impl.substitutions.end()) {
        for (const Substitution& s : it->second) {
          if (i + s.from.size() > b.size()) continue;
          bool eq = true;
          for (size_t k = 1; k < s.from.size() && eq; ++k) eq = b[i + k].cp == s.from[k];
          if (eq) {
            hit = &s;
            break;
          }
        }
      }
    }
    if (hit == nullptr) {
      a.push_back(b[i++]);
      continue;
    }
    const uint32_t begin = b[i].begin, end = b[i + hit->from.size() - 1].end;
    for (char32_t c : hit->to) a.push_back({c, begin, end});
    i += hit->from.size();
  }
  out.text.clear();
  out.origin.clear();
  out.origin_end.clear();
  for (const Char& c : a) {
    const size_t before = out.text.size();
    Encode(c.cp, out.text);
    for (size_t k = before; k < out.text.size(); ++k) {
      out.origin.push_back(c.begin);
      out.origin_end.push_back(c.end);
    }
  }
  out.origin.push_back(static_cast<uint32_t>(input.size()));
}

namespace {

// The code point that starts at s[i] (i on a boundary), and its length; U+FFFD for a bad byte.
char32_t DecodeAt(std::string_view s, size_t i, size_t& len) {
  const auto c = static_cast<unsigned char>(s[i]);
  len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (c >= 0x80 && c < 0xC0) len = 1;
  if (i + len > s.size()) {
    len = 1;
    return 0xFFFD;
  }
  if (len == 1) return c < 0x80 ? c : 0xFFFD;
  char32_t cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return cp;
}

// ASCII controls, spaces and punctuation; general and CJK punctuation (、。「」【】…), the
// full-width tilde and the emoji variation selector.
bool Trimmable(char32_t cp) {
  if (cp < 0x80) {
    return cp <= 0x20 || cp == 0x7F || (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
           (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
  }
  return (cp >= 0x2010 && cp <= 0x2027) || (cp >= 0x3000 && cp <= 0x3011) || cp == 0xFF5E || cp == 0xFE0F;
}

}  // namespace

std::string_view TrimEnds(std::string_view s) {
  while (!s.empty()) {
    size_t len = 0;
    if (!Trimmable(DecodeAt(s, 0, len))) break;
    s.remove_prefix(len);
  }
  while (!s.empty()) {
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len = 0;
    if (!Trimmable(DecodeAt(s, start, len)) || start + len != s.size()) break;
    s.remove_suffix(len);
  }
  return s;
}

std::string ShortForm(std::string_view text) {
  const NormalizedText normalized = Normalizer::Default().Normalize(text);
  std::string out;
  bool space = false;
  for (const char c : TrimEnds(normalized.text)) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace qz::text
