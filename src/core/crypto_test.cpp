#include "core/crypto.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qz {
namespace {

TEST(PasswordHashTest, Argon2idThatVerifiesOnlyTheSamePassword) {
  auto hash = HashPassword("correct horse 马");
  ASSERT_TRUE(hash.ok()) << hash.status().ToString();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_EQ(hash->find("correct"), std::string::npos);
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse 马"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  // A random salt: the same password hashes differently each time, and both verify.
  auto again = HashPassword("correct horse 马");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, *hash);
  EXPECT_TRUE(VerifyPassword(*again, "correct horse 马"));
  // Bytes after a NUL count: the password is not cut at it.
  auto with_nul = HashPassword(std::string("ab\0cd", 5));
  ASSERT_TRUE(with_nul.ok());
  EXPECT_FALSE(VerifyPassword(*with_nul, "ab"));
  EXPECT_TRUE(VerifyPassword(*with_nul, std::string("ab\0cd", 5)));
}

TEST(PasswordHashTest, MalformedHashesNeverVerify) {
  EXPECT_FALSE(VerifyPassword("", ""));
  EXPECT_FALSE(VerifyPassword("$argon2id$garbage", "x"));
  EXPECT_FALSE(VerifyPassword(std::string(1000, '$'), "x"));
}

TEST(Base64DecodeTest, DecodesTheRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"Zg==", "f"},
                                                         {"Zm8=", "fo"},
                                                         {"Zm9v", "foo"},
                                                         {"Zm9vYg==", "foob"},
                                                         {"Zm9vYmE=", "fooba"},
                                                         {"Zm9vYmFy", "foobar"}};
  for (const auto& [encoded, decoded] : vectors) {
    auto r = Base64Decode(encoded);
    ASSERT_TRUE(r.ok()) << encoded << ": " << r.status().ToString();
    EXPECT_EQ(*r, decoded) << encoded;
  }
}

TEST(Base64DecodeTest, AcceptsMissingPaddingWrappedLinesAndEveryByte) {
  EXPECT_EQ(Base64Decode("Zg").value(), "f");
  EXPECT_EQ(Base64Decode("Zm8").value(), "fo");
  EXPECT_EQ(Base64Decode("Zm9v\r\nYmFy\n").value(), "foobar");
  EXPECT_EQ(Base64Decode(" Zm 9v\tYg == ").value(), "foob");
  // All 256 byte values, through the whole alphabet ('+' and '/' included).
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string encoded =
      "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNE"
      "RUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJ"
      "iouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3O"
      "z9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
  auto r = Base64Decode(encoded);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, all);
}

TEST(Base64DecodeTest, RefusesWhatNoEncoderProducesNamingTheByte) {
  auto bad_char = Base64Decode("Zm9v*mFy");
  ASSERT_FALSE(bad_char.ok());
  EXPECT_EQ(bad_char.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad_char.status().message().find("byte 4"), std::string::npos)
      << bad_char.status().message();
  // The URL-safe alphabet is another encoding.
  EXPECT_FALSE(Base64Decode("Zm9v-_8=").ok());
  auto after_padding = Base64Decode("Zg==Zg==");
  ASSERT_FALSE(after_padding.ok());
  EXPECT_NE(after_padding.status().message().find("after the '=' padding"), std::string::npos);
  for (const char* bad : {"Z", "Zm9vY", "Z===", "Zg=", "Zm9v=", "Zm8==", "="}) {
    EXPECT_FALSE(Base64Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace qz
