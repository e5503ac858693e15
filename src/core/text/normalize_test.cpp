#include "core/text/normalize.hpp"

#include <gtest/gtest.h>

#include "core/text/utf8.hpp"

namespace qz::text {
namespace {

std::string N(std::string_view s) { return Normalizer::Default().Normalize(s).text; }

TEST(Normalize, WidthCaseAndStyledDigits) {
  EXPECT_EQ(N("ＡＢＣ１２３"), "abc123");
  EXPECT_EQ(N("①②③"), "123");
  EXPECT_EQ(N("𝟖𝟓𝟗"), "859");
  EXPECT_EQ(N("Hello WORLD"), "hello world");
}

TEST(Normalize, TraditionalToSimplified) {
  EXPECT_EQ(N("聯繫我們"), "联系我们");
  EXPECT_EQ(N("雜種"), "杂种");
}

TEST(Normalize, InvisibleCharactersAndSeparatorsThatSplitAWord) {
  EXPECT_EQ(N("加\u200b微\u200d信"), "加微信");
  EXPECT_EQ(N("加 微 信"), "加微信");
  EXPECT_EQ(N("q.q"), "qq");
  EXPECT_EQ(N("V-X"), "微信");  // "vx", then the substitution
  EXPECT_EQ(N("8 5 9-9 4 5"), "859945");
  EXPECT_EQ(N("e\u0301\u0301\u0301"), "e");
  EXPECT_EQ(N("\u0301\u0302\u0303"), "");
}

TEST(Normalize, WordsUrlsAndOrdinarySentencesStay) {
  EXPECT_EQ(N("add me to the list"), "add me to the list");
  EXPECT_EQ(N("www.example.com"), "www.example.com");
  EXPECT_EQ(N("https://t.me/joinchat/abc"), "https://t.me/joinchat/abc");
  EXPECT_EQ(N("我们一起去吃饭吧"), "我们一起去吃饭吧");
  EXPECT_EQ(N("今天十一点开会"), "今天十一点开会");
  EXPECT_EQ(N("一千八百本书"), "一千八百本书");
}

TEST(Normalize, NumberWordRunsBecomeDigits) {
  EXPECT_EQ(N("加q八五九九四五七零四"), "加qq859945704");
  EXPECT_EQ(N("幺三八"), "138");
  EXPECT_EQ(N("1三8"), "138");
  EXPECT_EQ(N("两三个"), "两三个");
}

TEST(Normalize, SubstitutionsAndTheWayBack) {
  EXPECT_EQ(N("扣扣"), "qq");
  EXPECT_EQ(N("企鹅"), "qq");
  EXPECT_EQ(N("加微信"), "加微信");
  EXPECT_EQ(N("加qq"), "加qq");
  const std::string original = "联系 薇 信 abc";
  const NormalizedText n = Normalizer::Default().Normalize(original);
  ASSERT_EQ(n.text, "联系微信 abc");
  const size_t at = n.text.find("微信");
  const auto [b, e] = n.Original(at, at + std::string_view("微信").size());
  EXPECT_EQ(original.substr(b, e - b), "薇 信");
  const auto [b2, e2] = n.Original(n.text.find("abc"), n.text.size());
  EXPECT_EQ(original.substr(b2, e2 - b2), "abc");
}

TEST(Normalize, BadSubstitutionFilesNameTheLine) {
  auto bad = Normalizer::Create("# ok\n薇信\t微信\nno tab here\n", "subs.tsv");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("subs.tsv:3"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(Normalizer::Create("a\t\n", "x").ok());
  EXPECT_FALSE(Normalizer::Create(std::string(2 << 20, 'a'), "big").ok());
  auto good = Normalizer::Create("ab\tcd\n", "x");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ((*good)->Normalize("xaby").text, "xcdy");
}

// Any bytes: the output is valid UTF-8 and the map is consistent.
void CheckInvariants(std::string_view input) {
  const NormalizedText n = Normalizer::Default().Normalize(input);
  ASSERT_TRUE(IsValidUtf8(n.text));
  ASSERT_EQ(n.origin.size(), n.text.size() + 1);
  ASSERT_EQ(n.origin_end.size(), n.text.size());
  for (size_t i = 0; i < n.text.size(); ++i) {
    ASSERT_LE(n.origin[i], n.origin_end[i]);
    ASSERT_LE(n.origin_end[i], input.size());
  }
  if (!n.text.empty()) {
    const auto [b, e] = n.Original(0, n.text.size());
    ASSERT_LE(b, e);
    ASSERT_LE(e, input.size());
  }
}

TEST(Normalize, NeverBreaksOnOddInput) {
  CheckInvariants("");
  CheckInvariants(std::string("\xff\xfe\xc3", 3));
  CheckInvariants(std::string(65536, 'x'));
  CheckInvariants(std::string(3, '\0'));
  std::string marks;
  for (int i = 0; i < 1000; ++i) marks += "\u0301";
  CheckInvariants(marks);
  CheckInvariants(" . - _ * | ");
  EXPECT_EQ(N(std::string((1 << 20) + 100, 'a')).size(), size_t{1} << 20);
}

TEST(ShortForm, IsNormalisedTrimmedAndSpacedOnce) {
  EXPECT_EQ(ShortForm("  北 京。"), "北京");
  EXPECT_EQ(ShortForm("「臺北」"), "台北");
  EXPECT_EQ(ShortForm("ＯＰＥＮ  Sesame!"), "open sesame");
  EXPECT_EQ(ShortForm("１２"), "12");
  EXPECT_EQ(ShortForm("？！"), "");
  EXPECT_EQ(ShortForm(" 入 群！…"), "入群");
  EXPECT_EQ(TrimEnds("【上海】 "), "上海");
  EXPECT_EQ(TrimEnds("a, b"), "a, b");  // the inside is untouched
  EXPECT_EQ(TrimEnds(std::string_view("\xff", 1)), "\xff");  // a bad byte is not punctuation
}

}  // namespace
}  // namespace qz::text
