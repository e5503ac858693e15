// Test helpers for the engine: a fresh SQLite store in a temporary directory, and terse events.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/ingest.hpp"
#include "model/event.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace qz::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "qz-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::unique_ptr<Store> OpenStore(const std::string& dir, const std::string& name = "qunzhu.db") {
  auto store = OpenSqliteStore({.path = dir + "/" + name, .sync = SyncMode::kNormal});
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

// Parses NDJSON lines into a batch, as the API does.
inline IngestBatch Batch(std::string_view ndjson) {
  EventParser parser;
  auto items = SplitNdjson(ndjson);
  return ParseBatch(items, parser);
}

}  // namespace qz::testing
