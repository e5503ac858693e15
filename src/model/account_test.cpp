#include "model/account.hpp"

#include <gtest/gtest.h>

#include <string>

namespace qz {
namespace {

TEST(AccountRoleTest, NamesRoundTripAndAreOrdered) {
  for (const AccountRole role : kAccountRoles) {
    EXPECT_EQ(ParseAccountRole(AccountRoleName(role)), role);
    EXPECT_EQ(AccountRoleFromInt(static_cast<int64_t>(role)), role);
  }
  EXPECT_EQ(ParseAccountRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseAccountRole(""), std::nullopt);
  EXPECT_EQ(AccountRoleFromInt(0), std::nullopt);
  EXPECT_EQ(AccountRoleFromInt(6), std::nullopt);
  EXPECT_TRUE(RoleAllows(AccountRole::kOwner, AccountRole::kAdmin));
  EXPECT_TRUE(RoleAllows(AccountRole::kOperator, AccountRole::kOperator));
  EXPECT_FALSE(RoleAllows(AccountRole::kAssistant, AccountRole::kOperator));
  EXPECT_FALSE(RoleAllows(AccountRole::kViewer, AccountRole::kAssistant));
}

TEST(AccountNameTest, LettersDigitsPunctuationAndCjk) {
  for (const char* ok : {"admin", "ops.team_1-b", "A", "小明", "운영자", "さくら", "王-2",
                         "𠀀x"}) {
    EXPECT_TRUE(ValidateAccountName(ok).ok()) << ok;
  }
  EXPECT_TRUE(ValidateAccountName(std::string(64, 'a')).ok());
  std::string cjk64;
  for (int i = 0; i < 64; ++i) cjk64 += "群";
  EXPECT_TRUE(ValidateAccountName(cjk64).ok()) << "64 characters, 192 bytes";
  for (const std::string& bad : {std::string(), std::string(65, 'a'), cjk64 + "群",
                                 std::string("a b"), std::string("a/b"), std::string("a@b"),
                                 std::string("a\nb"), std::string("\xff"), std::string("é"),
                                 std::string("😀")}) {
    const Status st = ValidateAccountName(bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(st.field(), "name") << bad;
  }
}

TEST(AccountPasswordTest, EightToAThousandPrintableBytes) {
  EXPECT_TRUE(ValidateNewPassword("12345678").ok());
  EXPECT_TRUE(ValidateNewPassword("长城长城长城").ok());
  EXPECT_TRUE(ValidateNewPassword(std::string(1024, 'x')).ok());
  for (const std::string& bad : {std::string("1234567"), std::string(1025, 'x'),
                                 std::string("1234\t5678"), std::string("12345678\n"),
                                 std::string("1234567\xff")}) {
    const Status st = ValidateNewPassword(bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_EQ(st.field(), "password");
  }
}

}  // namespace
}  // namespace qz
