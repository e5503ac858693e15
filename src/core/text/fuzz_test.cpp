// A brief fuzz run of normalise + match for `./qz test` (which also runs under ASan): seeded,
// bounded, mutating a few shapes of hostile text. LLVMFuzzerTestOneInput is the same entry a
// libFuzzer build would drive.
#include <gtest/gtest.h>

#include <random>

#include "core/text/matcher.hpp"
#include "core/text/normalize.hpp"
#include "core/text/utf8.hpp"

namespace qz::text {
namespace {

const MatcherDatabase& Db() {
  static std::shared_ptr<const MatcherDatabase> db = [] {
    std::vector<Pattern> p = {{Pattern::Kind::kLiteral, "加微信", 0, true, "t"},
                              {Pattern::Kind::kLiteral, "qq", 0, true, "t"},
                              {Pattern::Kind::kRegex, "[0-9]{5,11}", 0, true, "t"},
                              {Pattern::Kind::kRegex, "https?://[a-z0-9.-]+", 0, true, "t"}};
    return *MatcherDatabase::Compile(p);
  }();
  return *db;
}

}  // namespace
}  // namespace qz::text

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace qz::text;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  NormalizedText n;
  Normalizer::Default().Normalize(input, n);
  std::vector<Match> m;
  Db().Scan(n.text, m);
  for (const Match& x : m) {
    const auto [b, e] = n.Original(x.begin, x.end);
    if (b > e || e > size) __builtin_trap();
  }
  if (!qz::IsValidUtf8(n.text)) __builtin_trap();
  return 0;
}

namespace qz::text {
namespace {

TEST(Fuzz, NormaliseAndMatchSurviveMutatedInput) {
  const std::vector<std::string> seeds = {"加 薇 信 13812345678", "ｑ.ｑ：８５９９４５７０４", "e\u0301\u0301",
                                          "https://t.me/+abc 扣扣", std::string("\xf0\x9f\x98", 3), ""};
  std::mt19937 rng(12345);
  for (int round = 0; round < 4000; ++round) {
    std::string s = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < edits; ++k) {
      const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
      switch (rng() % 3) {
        case 0: s.insert(at, 1, static_cast<char>(rng() & 0xFF)); break;
        case 1: if (!s.empty() && at < s.size()) s.erase(at, 1); break;
        default: s.insert(at, seeds[rng() % seeds.size()]); break;
      }
    }
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  }
}

}  // namespace
}  // namespace qz::text
