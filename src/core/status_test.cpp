#include "core/status.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace qz {
namespace {

Result<int> Parse(bool ok, int value) {
  if (!ok) return Status::Invalid("not a number", "n");
  return value;
}

Result<int> AddParsed(bool first_ok, bool second_ok) {
  QZ_ASSIGN_OR_RETURN(auto a, Parse(first_ok, 2));
  int b = 0;
  QZ_ASSIGN_OR_RETURN(b, Parse(second_ok, 3));  // an existing variable
  return a + b;
}

Status CheckParsed(bool ok) {
  QZ_ASSIGN_OR_RETURN(const int value, Parse(ok, 7));
  return value == 7 ? Status::Ok() : Status::Internal("wrong value");
}

Result<std::unique_ptr<std::string>> MakeText(bool ok) {
  if (!ok) return Status::NotFound("no text");
  return std::make_unique<std::string>("text");
}

Result<size_t> TextSize(bool ok) {
  QZ_ASSIGN_OR_RETURN(std::unique_ptr<std::string> text, MakeText(ok));  // move-only
  return text->size();
}

TEST(StatusTest, AssignOrReturnAssignsTheValue) {
  Result<int> sum = AddParsed(true, true);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  EXPECT_EQ(*sum, 5);
  EXPECT_TRUE(CheckParsed(true).ok());
  Result<size_t> size = TextSize(true);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 4u);
}

TEST(StatusTest, AssignOrReturnPropagatesTheFirstFailure) {
  Result<int> first = AddParsed(false, true);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(first.status().field(), "n");
  Result<int> second = AddParsed(true, false);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(), "not a number");
  Status status = CheckParsed(false);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  Result<size_t> size = TextSize(false);
  ASSERT_FALSE(size.ok());
  EXPECT_EQ(size.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace qz
