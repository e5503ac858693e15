#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <tuple>

#include "store/sqlite/sqlite_schema.hpp"
#include "store/store_conformance.hpp"

namespace qz {
namespace {

StoreFactory SqliteFactory(SyncMode sync) {
  return [sync](const std::string& dir) -> StoreSeams {
    auto store = OpenSqliteStore({.path = dir + "/qunzhu.db", .sync = sync, .cache_mib = 8});
    if (!store.ok()) {
      ADD_FAILURE() << "OpenSqliteStore: " << store.status().ToString();
      return {};
    }
    return ServeAll(std::move(store).value());
  };
}

std::string SyncName(const testing::TestParamInfo<StoreFactory>& info) {
  return info.index == 0 ? "SyncFull" : "SyncNormal";
}

#define QZ_SQLITE_CONFORMANCE(suite)                                                      \
  INSTANTIATE_TEST_SUITE_P(Sqlite, suite,                                                 \
                           testing::Values(SqliteFactory(SyncMode::kFull),                \
                                           SqliteFactory(SyncMode::kNormal)),             \
                           SyncName)
QZ_SQLITE_CONFORMANCE(EventLogConformance);
QZ_SQLITE_CONFORMANCE(OutboxConformance);
QZ_SQLITE_CONFORMANCE(TimerConformance);
QZ_SQLITE_CONFORMANCE(AdminConformance);
QZ_SQLITE_CONFORMANCE(ReadModelConformance);

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
                     "'memberships', 'member_names', 'member_tags', 'api_tokens', "
                     "'entity_counts', 'outbox', 'outbox_counts', 'tasks', 'timers', "
                     "'module_state', 'playbooks')"),
            "16");
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

TEST_F(SqliteStoreTest, MigratesAnOlderDatabaseStepByStep) {
  ASSERT_GE(sqlite::Migrations().size(), 2u);
  // A database left at version 1 by an older build, with rows in it.
  RawExec(std::string(sqlite::Migrations()[0].sql) + R"sql(
    PRAGMA user_version = 1;
    INSERT INTO communities VALUES (1, 'c', 'C', 'Asia/Shanghai', 5);
    INSERT INTO groups VALUES (1, 1, 'wecom', 'g1', 'G', 0, 500, 'Asia/Shanghai', 0, 0, 0, 0, 0, 0);
    INSERT INTO members (id, community_id, display_name, first_seen, last_seen, referrer_id,
      channel, messages, checkins, link_clicks, orders, order_amount_e4, invited, last_message,
      last_checkin) VALUES (1, 1, 'a', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0),
                           (2, 1, 'b', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0);
  )sql");
  ASSERT_EQ(RawQuery("PRAGMA user_version"), "1");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  // Version 2's counts start from the rows already there and follow new ones.
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->members, 2);
  EXPECT_EQ(stats->groups, 1);
  EXPECT_EQ(stats->communities, 1);
  auto txn = store->Begin();
  ASSERT_TRUE(txn.ok());
  ASSERT_TRUE((*txn)->PutMember({.id = 3, .community_id = 1}).ok());
  ASSERT_TRUE((*txn)->PutMember({.id = 1, .community_id = 1, .display_name = "a2"}).ok());
  ASSERT_TRUE((*txn)->Commit().ok());
  stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->members, 3);
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->members.size(), 3u);
  EXPECT_EQ(state->members[0].display_name, "a2");
}

// Version 8: tokens made before roles keep the power they had (owner); accounts and sessions
// start empty.
TEST_F(SqliteStoreTest, MigratesAVersion7DatabaseItsTokensBecomeOwners) {
  std::string v7;
  for (const sqlite::Migration& m : sqlite::Migrations()) {
    if (m.version <= 7) v7 += std::string(m.sql) + "\n";
  }
  RawExec(v7 + "PRAGMA user_version = 7;\n"
               "INSERT INTO api_tokens (hash, name, created_at) VALUES ('h7', 'admin', 5);");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  auto token = store->FindToken("h7");
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, std::optional<ApiToken>(ApiToken{
                        .hash = "h7", .name = "admin", .created_at = 5, .role = AccountRole::kOwner}));
  auto accounts = store->ListAccounts();
  ASSERT_TRUE(accounts.ok()) << accounts.status().ToString();
  EXPECT_TRUE(accounts->empty());
  EXPECT_TRUE(store->CreateAccount({.name = "a", .password_hash = "$h"}).ok());
  EXPECT_TRUE(store->PutSession({.hash = "s", .account = "a", .expires_at = 9}).ok());
}

TEST_F(SqliteStoreTest, MigratesAVersion2Database) {
  ASSERT_GE(sqlite::Migrations().size(), 3u);
  // A database left at version 2 by an older build, with rows in it.
  RawExec(std::string(sqlite::Migrations()[0].sql) + std::string(sqlite::Migrations()[1].sql) +
          R"sql(
    PRAGMA user_version = 2;
    INSERT INTO communities VALUES (1, 'c', 'C', 'Asia/Shanghai', 5);
    INSERT INTO members (id, community_id, display_name, first_seen, last_seen, referrer_id,
      channel, messages, checkins, link_clicks, orders, order_amount_e4, invited, last_message,
      last_checkin) VALUES (1, 1, 'a', 1, 2, 0, 'qr', 3, 4, 5, 6, 7, 8, 9, 10),
                           (2, 1, 'b', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0);
    INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, json)
      VALUES ('wecom', 'm1', 1, 0, 1, 1, 100, '{}');
  )sql");
  ASSERT_EQ(RawQuery("PRAGMA user_version"), "2");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  // Existing members get 0 points (and their newest event, version 4); the rest of their rows
  // is untouched.
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->members.size(), 2u);
  const Member expected{.id = 1,
                        .community_id = 1,
                        .display_name = "a",
                        .first_seen = 1,
                        .last_seen = 2,
                        .channel = "qr",
                        .messages = 3,
                        .checkins = 4,
                        .link_clicks = 5,
                        .orders = 6,
                        .order_amount_e4 = 7,
                        .invited = 8,
                        .points = 0,
                        .last_message = 9,
                        .last_checkin = 10,
                        .last_event_seq = 1};
  EXPECT_TRUE(state->members[0] == expected);
  EXPECT_EQ(state->last_seq, 1);
  EXPECT_TRUE(state->module_state.empty());
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->members, 2);
  EXPECT_EQ(stats->communities, 1);
  // The new tables work.
  auto counts = store->CountActions();
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_TRUE(*counts == ActionCounts{});
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    Member richer = expected;
    richer.points = 30;
    ASSERT_TRUE((*txn)->PutMember(richer).ok());
    OutboxRecord record;
    record.action.platform = "wecom";
    record.idempotency_key = "k";
    ASSERT_TRUE((*txn)->AddAction(record).ok());
    TimerRecord timer{.community_id = 1, .key = "t", .due = 5};
    ASSERT_TRUE((*txn)->PutTimer(timer).ok());
    OperatorTask task{.kind = "review"};
    ASSERT_TRUE((*txn)->AddTask(task).ok());
    ASSERT_TRUE((*txn)->PutModuleState({.community_id = 1, .module = "m", .key = "k", .value = "v"})
                    .ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  ASSERT_TRUE(store->PutPlaybook({.community = "c", .toml = "", .updated_at = 1}).ok());
  store.reset();
  store = Open();
  ASSERT_NE(store, nullptr);
  state = store->LoadState();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->members[0].points, 30);
  EXPECT_EQ(state->module_state.size(), 1u);
  counts = store->CountActions();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->pending, 1);
  auto timers = store->LoadTimers();
  ASSERT_TRUE(timers.ok());
  EXPECT_EQ(timers->size(), 1u);
  auto tasks = store->ListTasks({});
  ASSERT_TRUE(tasks.ok());
  EXPECT_EQ(tasks->size(), 1u);
  auto playbooks = store->LoadPlaybooks();
  ASSERT_TRUE(playbooks.ok());
  EXPECT_EQ(playbooks->size(), 1u);
}

// Large states are read by several connections in parallel; the result must be the same as
// for small ones: every row, in key order.
TEST_F(SqliteStoreTest, LoadsALargeStateCompletely) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  constexpr MemberId kMembers = 25000;  // above the parallel-load threshold
  StateSnapshot expected;
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    expected.communities = {{.id = 1, .slug = "c", .name = "C", .created_at = 1}};
    expected.groups = {{.id = 1, .community_id = 1, .platform = "wecom", .external_id = "g1"},
                       {.id = 2, .community_id = 1, .platform = "wecom", .external_id = "g2"}};
    for (const Community& c : expected.communities) ASSERT_TRUE((*txn)->PutCommunity(c).ok());
    for (const Group& g : expected.groups) ASSERT_TRUE((*txn)->PutGroup(g).ok());
    for (MemberId id = 1; id <= kMembers; ++id) {
      Member m{.id = id, .community_id = 1, .display_name = "m" + std::to_string(id)};
      // Identity keys sort differently from member ids.
      Identity i{.community_id = 1,
                 .platform = "wecom",
                 .external_id = "u" + std::to_string(kMembers - id),
                 .member_id = id};
      Membership ms{.group_id = id % 2 + 1, .member_id = id, .joined_at = id};
      MemberName n{.member_id = id, .name = m.display_name, .first_seen = id};
      ASSERT_TRUE((*txn)->PutMember(m).ok());
      ASSERT_TRUE((*txn)->PutIdentity(i).ok());
      ASSERT_TRUE((*txn)->PutMembership(ms).ok());
      ASSERT_TRUE((*txn)->PutMemberName(n).ok());
      expected.members.push_back(m);
      expected.identities.push_back(i);
      expected.memberships.push_back(ms);
      expected.names.push_back(n);
      if (id % 1000 == 0) {
        MemberTag t{.member_id = id, .tag = "t", .added_at = id};
        ASSERT_TRUE((*txn)->PutTag(t).ok());
        expected.tags.push_back(t);
      }
    }
    StoredEvent e = Event("last");
    ASSERT_TRUE((*txn)->AppendEvent(e).ok());
    expected.last_seq = e.seq;
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto by_key = [](const Identity& a, const Identity& b) {
    return std::tie(a.community_id, a.platform, a.external_id) <
           std::tie(b.community_id, b.platform, b.external_id);
  };
  std::sort(expected.identities.begin(), expected.identities.end(), by_key);
  std::sort(expected.memberships.begin(), expected.memberships.end(),
            [](const Membership& a, const Membership& b) {
              return std::tie(a.group_id, a.member_id) < std::tie(b.group_id, b.member_id);
            });
  std::sort(expected.names.begin(), expected.names.end(),
            [](const MemberName& a, const MemberName& b) {
              return std::tie(a.member_id, a.name) < std::tie(b.member_id, b.name);
            });
  for (int round = 0; round < 2; ++round) {  // the second round reuses pooled connections
    auto state = store->LoadState();
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_EQ(state->members.size(), expected.members.size());
    EXPECT_EQ(state->identities.size(), expected.identities.size());
    EXPECT_EQ(state->memberships.size(), expected.memberships.size());
    EXPECT_EQ(state->names.size(), expected.names.size());
    EXPECT_TRUE(*state == expected);
  }
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
  auto has = store->FindToken("h");
  ASSERT_TRUE(has.ok());
  EXPECT_TRUE(has->has_value());
}

// UpdateTimerDue and PutPlaybook share PutToken's side connection: they wait for the writer's
// transaction up to the busy timeout, then fail and change nothing.
TEST_F(SqliteStoreTest, SideWritesWaitForTheWriterThenGiveUp) {
  auto store = Open({.path = path_, .busy_timeout_ms = 200});
  ASSERT_NE(store, nullptr);
  TimerRecord timer{.community_id = 1, .key = "t", .due = 5};
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->PutTimer(timer).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto txn = store->Begin();
  ASSERT_TRUE(txn.ok());
  auto timed = [&](auto call) {
    const auto start = std::chrono::steady_clock::now();
    Status status = call();
    const auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(status.code(), Code::kUnavailable) << status.ToString();
    EXPECT_GE(waited, std::chrono::milliseconds(150));
    EXPECT_LT(waited, std::chrono::seconds(5));
  };
  timed([&] { return store->UpdateTimerDue(timer.id, 5, 6).status(); });
  timed([&] { return store->PutPlaybook({.community = "c"}); });
  // Once the writer commits, they go through (also from another thread).
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE((*txn)->Commit().ok());
  });
  auto applied = store->UpdateTimerDue(timer.id, 5, 6);
  later.join();
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_TRUE(*applied) << "the failed attempt changed nothing";
  auto playbooks = store->LoadPlaybooks();
  ASSERT_TRUE(playbooks.ok());
  EXPECT_TRUE(playbooks->empty()) << "the failed PutPlaybook changed nothing";
}

TEST_F(SqliteStoreTest, ACorruptOutboxRowIsReported) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  OutboxRecord record;
  record.idempotency_key = "k";
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->AddAction(record).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  RawExec("UPDATE outbox SET payload = '{\"type\":\"teleport\"}'");
  auto open = store->LoadOpenActions();
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), Code::kUnavailable);
  EXPECT_NE(open.status().message().find("corrupt"), std::string::npos)
      << open.status().message();
  RawExec("UPDATE outbox SET payload = '{\"type\":\"reply\"}', status = 9");
  auto listed = store->ListActions({});
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.status().message().find("list actions"), std::string::npos);
}

// Version 4 replaces the events_member_seq index by chains of links; a version 3 log gets its
// chains from the index before it goes.
TEST_F(SqliteStoreTest, MigratesAVersion3LogIntoMemberChains) {
  ASSERT_GE(sqlite::Migrations().size(), 4u);
  std::string sql;
  for (int v = 0; v < 3; ++v) sql += std::string(sqlite::Migrations()[v].sql);
  RawExec(sql + R"sql(
    PRAGMA user_version = 3;
    INSERT INTO communities VALUES (1, 'c', 'C', 'Asia/Shanghai', 5);
    INSERT INTO members (id, community_id, display_name, first_seen, last_seen, referrer_id,
      channel, messages, checkins, link_clicks, orders, order_amount_e4, invited, last_message,
      last_checkin) VALUES (1, 1, 'a', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0),
                           (2, 1, 'b', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0),
                           (3, 1, 'silent', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0);
    INSERT INTO events (platform, source_id, community_id, group_id, member_id, type, time, json)
      VALUES ('wecom', 'e1', 1, 0, 1, 1, 100, '{}'), ('wecom', 'e2', 1, 0, 2, 1, 101, '{}'),
             ('wecom', 'e3', 1, 0, 1, 1, 102, '{}'), ('qunzhu', 'e4', 1, 0, 0, 1, 103, '{}'),
             ('wecom', 'e5', 1, 0, 1, 1, 104, '{}'), ('wecom', 'e6', 1, 0, 2, 1, 105, '{}');
  )sql");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(RawQuery("SELECT count(*) FROM sqlite_master WHERE name = 'events_member_seq'"), "0");
  EXPECT_EQ(RawQuery("SELECT group_concat(member_prev) FROM (SELECT member_prev FROM events "
                     "ORDER BY seq)"),
            "0,0,1,0,3,2");
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->members.size(), 3u);
  EXPECT_EQ(state->members[0].last_event_seq, 5);
  EXPECT_EQ(state->members[1].last_event_seq, 6);
  EXPECT_EQ(state->members[2].last_event_seq, 0);
  auto seqs = [&](MemberId id, int64_t before) {
    std::vector<int64_t> out;
    auto events = store->MemberEvents(id, before, 10);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) {
      for (const StoredEvent& e : *events) out.push_back(e.seq);
    }
    return out;
  };
  EXPECT_EQ(seqs(1, 0), (std::vector<int64_t>{5, 3, 1}));
  EXPECT_EQ(seqs(1, 5), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(seqs(2, 0), (std::vector<int64_t>{6, 2}));
  EXPECT_TRUE(seqs(3, 0).empty());
}

// A link that points to another member's event (damage, or a writer bug) is reported, not
// followed into someone else's history.
TEST_F(SqliteStoreTest, ABrokenMemberChainIsReported) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    StoredEvent a{.platform = "wecom", .source_id = "a", .member_id = 1, .json = "{}"};
    StoredEvent b{.platform = "wecom", .source_id = "b", .member_id = 2, .json = "{}"};
    ASSERT_TRUE((*txn)->AppendEvent(a).ok());
    b.member_prev_seq = a.seq;  // wrong: a is member 1's
    ASSERT_TRUE((*txn)->AppendEvent(b).ok());
    ASSERT_TRUE((*txn)->PutMember({.id = 2, .community_id = 1, .last_event_seq = b.seq}).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto events = store->MemberEvents(2, 0, 10);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), Code::kUnavailable);
  EXPECT_NE(events.status().message().find("chain of member 2 is broken"), std::string::npos)
      << events.status().message();
}

TEST_F(SqliteStoreTest, StatsAndMemberEventsUseIndexes) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  // The plans that keep Stats, MemberEvents and duplicate detection cheap on large logs.
  const std::string max_plan = RawQuery("EXPLAIN QUERY PLAN SELECT max(seq) FROM events", 3);
  EXPECT_NE(max_plan.find("SEARCH"), std::string::npos) << max_plan;
  // MemberEvents follows links: one rowid look-up per event.
  const std::string plan =
      RawQuery("EXPLAIN QUERY PLAN SELECT json, member_prev FROM events WHERE seq = 7", 3);
  EXPECT_NE(plan.find("INTEGER PRIMARY KEY"), std::string::npos) << plan;
}

// The outbox grows with every action sent; its reads must not scan it, nor sort it.
TEST_F(SqliteStoreTest, OutboxReadsUseIndexes) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  // All rows of the plan, for plans with several steps.
  auto plan = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
        out += "; ";
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  };
  const std::string open = plan("SELECT payload FROM outbox WHERE status IN (0, 1) ORDER BY id");
  EXPECT_NE(open.find("outbox_status"), std::string::npos) << open;
  const std::string by_status =
      plan("SELECT payload FROM outbox WHERE id > 5 AND status = 2 ORDER BY id LIMIT 50");
  EXPECT_NE(by_status.find("outbox_status"), std::string::npos) << by_status;
  EXPECT_EQ(by_status.find("TEMP B-TREE"), std::string::npos) << by_status;
  const std::string by_group =
      plan("SELECT payload FROM outbox WHERE id > 5 AND group_id = 3 ORDER BY id LIMIT 50");
  EXPECT_NE(by_group.find("outbox_group"), std::string::npos) << by_group;
  EXPECT_EQ(by_group.find("TEMP B-TREE"), std::string::npos) << by_group;
  const std::string both = plan(
      "SELECT payload FROM outbox WHERE id > 5 AND status = 2 AND group_id = 3 ORDER BY id "
      "LIMIT 50");
  EXPECT_NE(both.find("SEARCH"), std::string::npos) << both;
  EXPECT_EQ(both.find("TEMP B-TREE"), std::string::npos) << both;
  const std::string tasks =
      plan("SELECT kind FROM tasks WHERE open = 1 AND id > 5 ORDER BY id LIMIT 50");
  EXPECT_NE(tasks.find("tasks_open"), std::string::npos) << tasks;
  EXPECT_EQ(tasks.find("TEMP B-TREE"), std::string::npos) << tasks;
}

// Version 5 renames the timers of playbook schedules to the schedule module's namespace,
// keeping their ids and dues; other timers are left as they were.
TEST_F(SqliteStoreTest, MigratesAVersion4DatabaseToScheduleTimerKeys) {
  ASSERT_GE(sqlite::Migrations().size(), 5u);
  std::string sql;
  for (int v = 0; v < 4; ++v) sql += std::string(sqlite::Migrations()[v].sql);
  RawExec(sql + R"sql(
    PRAGMA user_version = 4;
    INSERT INTO timers (id, community_id, community, key, rule, time_zone, due, payload,
      cause_event) VALUES
      (7, 1, 'c1', 'playbook:morning', 'daily 08:00', 'Asia/Shanghai', 1700000000000, '{}', 'x'),
      (9, 1, 'c1', 'welcome:u1', '', '', 1700000000500, '{}', 'y'),
      (11, 2, 'c2', 'playbook:morning', 'daily 09:00', 'UTC', 0, '{}', 'z'),
      (12, 2, 'c2', 'playbooks:x', '', '', 5, '{}', 'w');
  )sql");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawQuery("PRAGMA user_version"), std::to_string(SqliteSchemaVersion()));
  EXPECT_EQ(RawQuery("SELECT group_concat(id || '=' || key || '@' || due, ' ') FROM "
                     "(SELECT * FROM timers ORDER BY id)"),
            "7=schedule:playbook:morning@1700000000000 9=welcome:u1@1700000000500 "
            "11=schedule:playbook:morning@0 12=playbooks:x@5");
  auto found = store->FindTimers(1, "schedule:playbook:");
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, 7);
  EXPECT_EQ((*found)[0].rule, "daily 08:00");
  auto old = store->FindTimers(1, "playbook:");
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->empty());
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

// The database holds member data: its file and the WAL files are the owner's only.
TEST_F(SqliteStoreTest, CreatesTheDatabaseFilesPrivate) {
  const mode_t old_umask = umask(022);
  auto store = Open();
  umask(old_umask);
  ASSERT_NE(store, nullptr);
  {
    auto txn = store->Begin();  // a write, so the WAL has been created
    ASSERT_TRUE(txn.ok());
    StoredEvent e = Event("perm");
    ASSERT_TRUE((*txn)->AppendEvent(e).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  EXPECT_EQ(ModeOf(path_), 0600u);
  ASSERT_TRUE(std::filesystem::exists(path_ + "-wal"));
  EXPECT_EQ(ModeOf(path_ + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(path_ + "-shm"), 0600u);
}

TEST_F(SqliteStoreTest, NarrowsAnExistingDatabaseFileToPrivate) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
  }
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ModeOf(path_), 0600u);
  auto state = store->LoadState();
  EXPECT_TRUE(state.ok()) << state.status().ToString();
}

// Module state reads are ranges of the primary key (community_id, module, key), never a scan
// nor a sort.
TEST_F(SqliteStoreTest, ModuleStateReadsUseThePrimaryKey) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  store.reset();
  // Each plan has one step (RawQuery reads the first row).
  auto plan = [&](const std::string& sql) { return RawQuery("EXPLAIN QUERY PLAN " + sql, 3); };
  const std::string list = plan(
      "SELECT value FROM module_state WHERE community_id = 1 AND module = 'a.b' AND key > '[1]' "
      "ORDER BY key LIMIT 10");
  EXPECT_NE(list.find("SEARCH"), std::string::npos) << list;
  EXPECT_NE(list.find("PRIMARY KEY"), std::string::npos) << list;
  EXPECT_NE(list.find("key>?"), std::string::npos) << list;
  const std::string get = plan(
      "SELECT value FROM module_state WHERE community_id = 1 AND module = 'a.b' AND key = '[1]'");
  EXPECT_NE(get.find("SEARCH"), std::string::npos) << get;
  EXPECT_NE(get.find("key=?"), std::string::npos) << get;
}

}  // namespace
}  // namespace qz
