// qunzhu testing: GoogleTest assertions on Status and Result<T>. Test code only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "core/status.hpp"

namespace qz::testing {

inline std::string Describe(const Status& status) { return status.ToString(); }
template <typename T>
std::string Describe(const Result<T>& result) {
  return result.status().ToString();
}

}  // namespace qz::testing

#define QZ_TESTING_CONCAT_INNER_(a, b) a##b
#define QZ_TESTING_CONCAT_(a, b) QZ_TESTING_CONCAT_INNER_(a, b)

// Fails (ASSERT_) or marks failed (EXPECT_) the test unless `expr`, a Status or a Result, is ok;
// the message names the expression and its status.
#define ASSERT_OK(expr)                                                            \
  do {                                                                             \
    const auto& qz_ok_ = (expr);                                                   \
    ASSERT_TRUE(qz_ok_.ok()) << #expr << ": " << ::qz::testing::Describe(qz_ok_); \
  } while (0)
#define EXPECT_OK(expr)                                                            \
  do {                                                                             \
    const auto& qz_ok_ = (expr);                                                   \
    EXPECT_TRUE(qz_ok_.ok()) << #expr << ": " << ::qz::testing::Describe(qz_ok_); \
  } while (0)
// Declares or assigns `lhs` from the value of a Result, failing the test if it holds an error.
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(QZ_TESTING_CONCAT_(qz_result_, __LINE__), lhs, expr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(result, lhs, expr)                            \
  auto result = (expr);                                                          \
  ASSERT_TRUE(result.ok()) << #expr << ": " << ::qz::testing::Describe(result); \
  lhs = std::move(result).value()
