// qunzhu store: the back-end-independent conformance suite. Every Store implementation
// instantiates StoreConformance with a factory for itself and must pass all of it; the tests
// use only the Store interface.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace qz {

// Opens the store that lives in `dir`: an existing directory owned by the test (created empty
// for each test, removed after it). Called again with the same `dir` after the previous store
// was destroyed, it must reopen the same data. Returns nullptr after reporting the reason
// (ADD_FAILURE) when the store cannot be opened.
using StoreFactory = std::function<std::unique_ptr<Store>(const std::string& dir)>;

// Instantiate with, e.g.:
//   INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance, testing::Values(StoreFactory(Make)),
//                            [](const auto&) { return std::string("Sqlite"); });
class StoreConformance : public testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Destroys the store and opens it again from the same directory.
  void Reopen();

  Store& store() { return *store_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace qz
