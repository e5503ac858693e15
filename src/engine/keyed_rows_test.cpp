#include "engine/keyed_rows.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace qz {
namespace {

struct Row {
  std::string key;
  int value = 0;
};

auto KeyIs(const std::string& key) {
  return [key](const Row& r) { return r.key == key; };
}

TEST(KeyedRowsTest, FindsWhatWasInsertedAndNothingElse) {
  KeyedRows<Row> rows;
  EXPECT_EQ(rows.Find(1, KeyIs("a")), nullptr) << "empty";
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    rows.Insert(HashCombine(0, key), Row{key, i});
  }
  EXPECT_EQ(rows.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    auto* slot = rows.Find(HashCombine(0, key), KeyIs(key));
    ASSERT_NE(slot, nullptr) << key;
    EXPECT_EQ(slot->row.value, i);
    EXPECT_FALSE(slot->dirty);
  }
  EXPECT_EQ(rows.Find(HashCombine(0, "k1000"), KeyIs("k1000")), nullptr);
}

// Different keys with the same hash are told apart by the caller's comparison.
TEST(KeyedRowsTest, EqualHashesAreResolvedByTheKey) {
  KeyedRows<Row> rows;
  for (int i = 0; i < 50; ++i) rows.Insert(7, Row{"same-" + std::to_string(i), i});
  for (int i = 0; i < 50; ++i) {
    auto* slot = rows.Find(7, KeyIs("same-" + std::to_string(i)));
    ASSERT_NE(slot, nullptr);
    EXPECT_EQ(slot->row.value, i);
  }
  EXPECT_EQ(rows.Find(7, KeyIs("same-50")), nullptr);
  EXPECT_EQ(rows.Find(8, KeyIs("same-1")), nullptr) << "another hash";
}

// The writer keeps pointers to rows (the dirty list, resolved references) across inserts.
TEST(KeyedRowsTest, RowsKeepTheirAddressesAsTheTableGrows) {
  KeyedRows<Row> rows;
  rows.Reserve(4);
  std::vector<const KeyedRows<Row>::Slot*> seen;
  for (int i = 0; i < 5000; ++i) {
    const std::string key = std::to_string(i);
    seen.push_back(&rows.Insert(HashCombine(1, key), Row{key, i}));
  }
  for (int i = 0; i < 5000; ++i) {
    const std::string key = std::to_string(i);
    EXPECT_EQ(rows.Find(HashCombine(1, key), KeyIs(key)), seen[static_cast<size_t>(i)]);
  }
  int n = 0;
  for (const auto& slot : rows) EXPECT_EQ(slot.row.value, n++) << "insertion order";
  EXPECT_EQ(n, 5000);
}

TEST(KeyedRowsTest, HashCombineDependsOnEveryPartAndItsOrder) {
  EXPECT_NE(HashCombine(HashCombine(0, "ab"), "c"), HashCombine(HashCombine(0, "a"), "bc"));
  EXPECT_NE(HashCombine(HashCombine(0, "a"), "b"), HashCombine(HashCombine(0, "b"), "a"));
  EXPECT_NE(HashCombine(MixHash(1), "x"), HashCombine(MixHash(2), "x"));
}

}  // namespace
}  // namespace qz
