#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/store_conformance.hpp"

namespace qz {
namespace {

StoreFactory SqliteFactory(SyncMode sync) {
  return [sync](const std::string& dir) -> std::unique_ptr<Store> {
    auto store = OpenSqliteStore({.path = dir + "/qunzhu.db", .sync = sync, .cache_mib = 8});
    if (!store.ok()) {
      ADD_FAILURE() << "OpenSqliteStore: " << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  };
}

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreConformance,
                         testing::Values(SqliteFactory(SyncMode::kFull),
                                         SqliteFactory(SyncMode::kNormal)),
                         [](const testing::TestParamInfo<StoreFactory>& info) {
                           return std::string(info.index == 0 ? "SyncFull" : "SyncNormal");
                         });

// A fresh temporary directory per test, removed afterwards.
class SqliteStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "qz_sqlite_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/qunzhu.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ignored);
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<Store> Open(SqliteOptions options = {}) {
    if (options.path.empty()) options.path = path_;
    auto store = OpenSqliteStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Runs `sql` on a connection of its own, outside the store.
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  // Column `column` of the first row of `sql`, as text ("" if there is none).
  std::string RawQuery(const std::string& sql, int column = 0) {
    sqlite3* db = nullptr;
    std::string out;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
          sqlite3_step(stmt) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
        if (text != nullptr) out = text;
      }
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return out;
  }

  std::string dir_;
  std::string path_;
};

StoredEvent Event(std::string id) {
  StoredEvent e;
  e.platform = "wecom";
  e.source_id = std::move(id);
  e.json = "{}";
  return e;
}

TEST_F(SqliteStoreTest, FreshDatabaseGetsTheLatestSchemaVersion) {
  ASSERT_GE(SqliteSchemaVersion(), 1);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  // Reopening an up-to-date database changes nothing.
  store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(RawQuery("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
                     "('events', 'communities', 'groups', 'members', 'identities', "
                     "'memberships', 'member_names', 'member_tags', 'api_tokens')"),
            "9");
}

TEST_F(SqliteStoreTest, RefusesANewerSchemaVersion) {
  ASSERT_NE(Open(), nullptr);
  const int newer = SqliteSchemaVersion() + 1;
  RawExec("PRAGMA user_version = " + std::to_string(newer));
  auto store = OpenSqliteStore({.path = path_});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find(std::to_string(newer)), std::string::npos)
      << store.status().message();
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(newer)) << "left untouched";
}

TEST_F(SqliteStoreTest, AFailedMigrationStepLeavesTheOldVersion) {
  // A pre-existing table that the first step also creates makes that step fail; its
  // transaction must be rolled back as a whole.
  RawExec("CREATE TABLE member_tags (x INTEGER)");
  auto store = OpenSqliteStore({.path = path_});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kInternal);
  EXPECT_NE(store.status().message().find("migrate schema to version 1"), std::string::npos)
      << store.status().message();
  EXPECT_EQ(RawQuery("PRAGMA user_version"), "0");
  EXPECT_EQ(RawQuery("SELECT count(*) FROM sqlite_schema WHERE name = 'events'"), "0");
}

TEST_F(SqliteStoreTest, UsesWalJournalMode) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // journal_mode=WAL is persistent in the file.
  EXPECT_EQ(RawQuery("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAClearError) {
  const std::string path = dir_ + "/no/such/dir/qunzhu.db";
  auto store = OpenSqliteStore({.path = path});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().message();
  EXPECT_NE(store.status().message().find("directory"), std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, PathUnderARegularFileIsAClearError) {
  std::ofstream(dir_ + "/file") << "x";
  auto store = OpenSqliteStore({.path = dir_ + "/file/qunzhu.db"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("unable to open"), std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, UnwritableDirectoryIsAClearError) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ASSERT_EQ(chmod(dir_.c_str(), 0500), 0);
  auto store = OpenSqliteStore({.path = path_});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find(path_), std::string::npos) << store.status().message();
}

TEST_F(SqliteStoreTest, NotADatabaseIsAClearError) {
  std::ofstream(path_) << std::string(8192, 'x');
  auto store = OpenSqliteStore({.path = path_});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), Code::kUnavailable);
  EXPECT_NE(store.status().message().find("not a database"), std::string::npos)
      << store.status().message();
}

TEST_F(SqliteStoreTest, RejectsNonFilePaths) {
  EXPECT_EQ(OpenSqliteStore({.path = ""}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(OpenSqliteStore({.path = ":memory:"}).status().code(), Code::kInvalidArgument);
}

TEST_F(SqliteStoreTest, OneWriteTransactionAtATime) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto first = store->Begin();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = store->Begin();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kInternal);
  EXPECT_NE(second.status().message().find("already open"), std::string::npos);
  first->reset();
  auto third = store->Begin();
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(SqliteStoreTest, AFailedCallPoisonsTheTransaction) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Group a{.id = 1, .platform = "wecom", .external_id = "g"};
  Group b{.id = 2, .platform = "wecom", .external_id = "g"};  // same (platform, external_id)
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    StoredEvent e = Event("e1");
    ASSERT_TRUE((*txn)->AppendEvent(e).ok());
    ASSERT_TRUE((*txn)->PutGroup(a).ok());
    Status conflict = (*txn)->PutGroup(b);
    ASSERT_FALSE(conflict.ok());
    EXPECT_EQ(conflict.code(), Code::kInternal);
    EXPECT_NE(conflict.message().find("put group"), std::string::npos) << conflict.message();
    EXPECT_NE(conflict.message().find("UNIQUE"), std::string::npos) << conflict.message();
    // Everything after the failure fails the same way, Commit included.
    EXPECT_EQ((*txn)->PutMember(Member{.id = 1}).code(), Code::kInternal);
    EXPECT_FALSE((*txn)->Commit().ok());
  }
  auto found = store->FindEvent("wecom", "e1");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value()) << "the poisoned transaction was rolled back";
  auto groups = store->ListGroups(std::nullopt);
  ASSERT_TRUE(groups.ok());
  EXPECT_TRUE(groups->empty());
}

TEST_F(SqliteStoreTest, CallsAfterCommitFail) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = store->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->Commit().ok());
  StoredEvent e = Event("late");
  EXPECT_EQ((*txn)->AppendEvent(e).status().code(), Code::kInternal);
  EXPECT_EQ((*txn)->Commit().code(), Code::kInternal);
}

TEST_F(SqliteStoreTest, PutTokenWaitsForTheWriterThenGivesUp) {
  auto store = Open({.path = path_, .busy_timeout_ms = 200});
  ASSERT_NE(store, nullptr);
  auto txn = store->Begin();
  ASSERT_TRUE(txn.ok());
  const auto start = std::chrono::steady_clock::now();
  Status blocked = store->PutToken({.hash = "h", .name = "n", .created_at = 1});
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(blocked.code(), Code::kUnavailable) << blocked.ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
  // Once the writer commits, the token write goes through (also from another thread).
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE((*txn)->Commit().ok());
  });
  Status after = store->PutToken({.hash = "h", .name = "n", .created_at = 1});
  later.join();
  EXPECT_TRUE(after.ok()) << after.ToString();
  auto has = store->HasToken("h");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(*has);
}

TEST_F(SqliteStoreTest, StatsAndMemberEventsUseIndexes) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  // The plans that keep Stats, MemberEvents and duplicate detection cheap on large logs.
  const std::string max_plan = RawQuery("EXPLAIN QUERY PLAN SELECT max(seq) FROM events", 3);
  EXPECT_NE(max_plan.find("SEARCH"), std::string::npos) << max_plan;
  const std::string plan = RawQuery(
      "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE member_id = 1 AND seq < 10 "
      "ORDER BY seq DESC LIMIT 5", 3);
  EXPECT_NE(plan.find("events_member_seq"), std::string::npos) << plan;
}

}  // namespace
}  // namespace qz
