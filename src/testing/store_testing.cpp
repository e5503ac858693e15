#include "testing/store_testing.hpp"

#include <gtest/gtest.h>

namespace qz::testing {

std::unique_ptr<Store> OpenStore(const std::string& dir, const std::string& name) {
  auto store = OpenSqliteStore({.path = dir + "/" + name, .sync = SyncMode::kNormal});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace qz::testing
