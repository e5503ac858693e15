#include "core/text/utf8.hpp"

#include <gtest/gtest.h>

namespace qz {
namespace {

TEST(Utf8, Validity) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("群主 ☀️ 𝟖"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(IsValidUtf8("a\xFF" "b"));
  EXPECT_EQ(FirstInvalidUtf8("ab\xC3"), 2u);
  EXPECT_EQ(FirstInvalidUtf8("群\xED\xA0\x80"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("群主"), 6u);
}

// ASCII is checked eight bytes at a time: a bad or multi-byte character at any offset of a long
// ASCII run is still found, and a valid one still passes.
TEST(Utf8, LongAsciiRunsAreCheckedAtEveryOffset) {
  for (size_t at = 0; at <= 24; ++at) {
    std::string bad(24, 'a');
    bad.insert(at, "\xFF");
    EXPECT_EQ(FirstInvalidUtf8(bad), at) << at;
    std::string truncated(24, 'a');
    truncated.insert(at, "\xE7\xBE");  // 群 without its last byte
    EXPECT_EQ(FirstInvalidUtf8(truncated), at) << at;
    std::string good(24, 'a');
    good.insert(at, "群");
    EXPECT_TRUE(IsValidUtf8(good)) << at;
  }
}

TEST(Utf8, PrefixAndExcerptNeverCutACharacter) {
  const std::string s = "群主abc";  // 3 + 3 + 3 bytes
  EXPECT_EQ(Utf8Prefix(s, 4), "群");
  EXPECT_EQ(Utf8Prefix(s, 6), "群主");
  EXPECT_EQ(Utf8Prefix(s, 100), s);
  EXPECT_EQ(Excerpt(s, 5), "群…");
  EXPECT_EQ(Excerpt(s, 9), s);
  EXPECT_TRUE(IsValidUtf8(Excerpt("ééééé", 3)));
}

}  // namespace
}  // namespace qz
