// Upgrades of existing SQLite databases to the console's schema (issue 11): the task workflow
// columns (version 9), the member search index (version 10), the accounts' roles per
// community (version 11) and the groups' event chains with the tag and role indexes (version
// 12). Each test writes an older schema
// with raw SQL, opens it with the store and checks what the migration made of the old rows; the
// last checks the search's query plan on the new schema.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_schema.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store/sqlite/sqlite_store_internal.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

class SqliteUpgradeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "qz_upgrade_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/qunzhu.db";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // The schema up to `version` (inclusive), then `rows`, on a connection outside the store.
  void WriteVersion(int version, const std::string& rows) {
    std::string sql;
    for (const sqlite::Migration& m : sqlite::Migrations()) {
      if (m.version <= version) sql += std::string(m.sql) + "\n";
    }
    sql += "PRAGMA user_version = " + std::to_string(version) + ";\n" + rows;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  // The member ids `sql` selects (its first column), on a connection outside the store.
  std::vector<MemberId> RawIds(const std::string& sql, const std::string& param) {
    std::vector<MemberId> out;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    sqlite3_bind_text(stmt, 1, param.data(), static_cast<int>(param.size()), SQLITE_TRANSIENT);
    while (sqlite3_step(stmt) == SQLITE_ROW) out.push_back(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  // Runs `sql` on a connection outside the store.
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << ": " << sql;
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::unique_ptr<Store> Open() {
    auto store = OpenSqliteStore({.path = path_});
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::string dir_;
  std::string path_;
};

// Version 9: the tasks of a version 8 database stay as they were, unassigned and not closed by
// anyone; the workflow then works on them.
TEST_F(SqliteUpgradeTest, Version8TasksGetAnEmptyWorkflow) {
  WriteVersion(8, R"sql(
    INSERT INTO tasks (id, community_id, group_id, member_id, kind, reason, evidence,
                       cause_event, rule, open, created_at)
    VALUES (1, 1, 2, 3, 'review', '请核实', 'wecom:m1', 'wecom:m1', 'antispam', 1, 100),
           (2, 1, 0, 0, 'playbook_invalid', 'x', '', '', '', 0, 200);
  )sql");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_GE(SqliteSchemaVersion(), 9);
  ASSERT_OK_AND_ASSIGN(auto records, store->ListTaskRecords({.open_only = false}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (TaskRecord{.task = {.id = 1,
                                             .community_id = 1,
                                             .group_id = 2,
                                             .member_id = 3,
                                             .kind = "review",
                                             .reason = "请核实",
                                             .evidence = "wecom:m1",
                                             .cause_event = "wecom:m1",
                                             .rule = "antispam",
                                             .open = true,
                                             .created_at = 100}}));
  EXPECT_FALSE(records[1].task.open);
  EXPECT_EQ(records[1].closed_at, 0) << "closed before the workflow existed: no closing recorded";
  ASSERT_OK_AND_ASSIGN(const TaskRecord assigned, store->AssignTask(1, "小明"));
  EXPECT_EQ(assigned.assignee, "小明");
  ASSERT_OK_AND_ASSIGN(auto mine, store->ListTaskRecords({.assignee = "小明"}));
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(store->AssignTask(2, "小明").status().code(), Code::kAlreadyExists);
}

// Version 10: the members of an older database are indexed at the upgrade, and the search
// answers what the LIKE scan it replaces answers on the same file.
TEST_F(SqliteUpgradeTest, Version9MembersAreIndexedAndSearchAnswersAsTheLikeScan) {
  const std::vector<std::string> names = {"小明",   "王小明",         "Lily",     "LILY-上海",
                                          "lIly_2", "50%off",         "a\\b",     "阿杰",
                                          "明",     "张伟-北京-学生", "Coco🙂", "xiaoMing"};
  std::string rows;
  for (size_t i = 0; i < 240; ++i) {
    const std::string id = std::to_string(i + 1);
    const std::string name = names[i % names.size()] + (i % 5 == 0 ? "" : id);
    rows +=
        "INSERT INTO members (id, community_id, display_name, first_seen, last_seen, "
        "referrer_id, channel, messages, checkins, link_clicks, orders, order_amount_e4, "
        "invited, last_message, last_checkin) VALUES (" +
        id + ", " + std::to_string(1 + i % 2) + ", '" + name +
        "', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0);\n";
    rows +=
        "INSERT INTO identities (community_id, platform, external_id, member_id, name) VALUES (" +
        std::to_string(1 + i % 2) + ", 'qq', '" + (i % 2 ? "QQ" : "u") + std::to_string(i * 37) +
        "', " + id + ", '');\n";
  }
  WriteVersion(9, rows);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // The statement ListMembers ran before version 10, without its cursor and limit.
  const std::string like =
      "SELECT m.id FROM members m WHERE (m.display_name LIKE ?1 ESCAPE '\\' OR EXISTS "
      "(SELECT 1 FROM identities i WHERE i.member_id = m.id AND i.external_id LIKE ?1 "
      "ESCAPE '\\')) ORDER BY m.id";
  for (const std::string q :
       {"小",   "小明", "王小明", "lily",   "LiLy", "ly_",      "%",   "_",
        "50%o", "\\",   "a\\b",   "明1",    "🙂", "上海",     "qq1", "Q",
        "u3",   "37",   "11",     "4-北京", "没有", "xiaoming", "zz",  "北京-学生3"}) {
    std::string pattern = "%";
    for (char c : q) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    const std::vector<MemberId> scanned = RawIds(like, pattern);
    ASSERT_OK_AND_ASSIGN(const std::vector<Member> found,
                         store->ListMembers({.q = q, .limit = 1000}));
    std::vector<MemberId> ids;
    for (const Member& m : found) ids.push_back(m.id);
    EXPECT_EQ(ids, scanned) << "q=" << q;
  }
  EXPECT_FALSE(RawIds("SELECT member_id FROM member_grams WHERE gram = ?1", "小").empty());
}

// Version 11: the accounts of a version 10 database have no roles per community (their base role
// applies everywhere, as before); roles set after the upgrade go with a deleted account or
// community (nothing deletes either today: the triggers keep it so if something does).
TEST_F(SqliteUpgradeTest, Version10AccountsGetNoCommunityRolesAndDeletedOnesLeaveNoRows) {
  WriteVersion(10, R"sql(
    INSERT INTO communities (id, slug, name, time_zone, created_at)
    VALUES (1, 'camp', '成长营', 'Asia/Shanghai', 1), (2, 'fans', '粉丝群', 'Asia/Shanghai', 2);
    INSERT INTO accounts (name, password_hash, role, created_at, disabled)
    VALUES ('admin', '$argon2id$a', 5, 10, 0), ('小明', '$argon2id$b', 1, 11, 0);
  )sql");
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_GE(SqliteSchemaVersion(), 11);
    ASSERT_OK_AND_ASSIGN(const auto none, store->ListCommunityRoles());
    EXPECT_TRUE(none.empty());
    ASSERT_OK_AND_ASSIGN(const auto accounts, store->ListAccounts());
    EXPECT_EQ(accounts.size(), 2u) << "the accounts stay as they were";
    ASSERT_OK(store->ChangeCommunityRoles(
        "小明", {{1, AccountRole::kOperator}, {2, AccountRole::kAdmin}}));
    ASSERT_OK(store->ChangeCommunityRoles("admin", {{2, AccountRole::kViewer}}));
  }
  const std::string of_account =
      "SELECT community_id FROM account_communities WHERE account = ?1 ORDER BY community_id";
  EXPECT_EQ(RawIds(of_account, "小明"), (std::vector<MemberId>{1, 2}));
  ASSERT_NO_FATAL_FAILURE(RawExec("DELETE FROM communities WHERE id = 2"));
  EXPECT_EQ(RawIds(of_account, "小明"), (std::vector<MemberId>{1}));
  EXPECT_TRUE(RawIds(of_account, "admin").empty()) << "the community's rows go with it";
  ASSERT_NO_FATAL_FAILURE(RawExec("DELETE FROM accounts WHERE name = '小明'"));
  EXPECT_TRUE(RawIds(of_account, "小明").empty()) << "the account's rows go with it";
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_OK(store->CreateAccount({.name = "小明", .password_hash = "$c", .created_at = 20}));
  ASSERT_OK_AND_ASSIGN(const CommunityRoles roles, store->GetCommunityRoles("小明"));
  EXPECT_TRUE(roles.empty()) << "a new account of the same name inherits nothing";
}

// The search walks one gram's members through member_grams' primary key and reads each member by
// its id: no scan of members, no sort.
// A bulk load suspends the member index and rebuilds it at its end, and a store opened after a
// bulk load that died (the triggers dropped, members added meanwhile) rebuilds it too.
TEST_F(SqliteUpgradeTest, ABulkLoadDefersTheMemberIndexAndNothingIsLost) {
  auto member = [](int id, const std::string& name) {
    return "INSERT INTO members (id, community_id, display_name, first_seen, last_seen, "
           "referrer_id, channel, messages, checkins, link_clicks, orders, order_amount_e4, "
           "invited, last_message, last_checkin) VALUES (" +
           std::to_string(id) + ", 1, '" + name + "', 0, 0, 0, '', 0, 0, 0, 0, 0, 0, 0, 0);";
  };
  auto found = [&](Store& store, const std::string& q) {
    std::vector<MemberId> ids;
    auto list = store.ListMembers({.q = q, .limit = 100});
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (list.ok()) {
      for (const Member& m : *list) ids.push_back(m.id);
    }
    return ids;
  };
  const std::string indexed = "SELECT member_id FROM member_grams WHERE gram = ?1";
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    RawExec(member(1, "小明"));  // the triggers index it at once
    EXPECT_EQ(RawIds(indexed, "小明"), std::vector<MemberId>{1});
    ASSERT_OK(store->BeginBulkLoad());
    RawExec(member(2, "王小明"));
    EXPECT_EQ(RawIds(indexed, "小明"), std::vector<MemberId>{1}) << "suspended";
    ASSERT_OK(store->EndBulkLoad());
    EXPECT_EQ(RawIds(indexed, "小明"), (std::vector<MemberId>{1, 2}));
    EXPECT_EQ(found(*store, "王小"), std::vector<MemberId>{2});
    // A bulk load that dies: the process ends between the two.
    ASSERT_OK(store->BeginBulkLoad());
  }
  RawExec(member(3, "小明同学"));
  EXPECT_EQ(RawIds(indexed, "同学"), std::vector<MemberId>{});
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(found(*store, "小明"), (std::vector<MemberId>{1, 2, 3}));
  EXPECT_EQ(found(*store, "同学"), std::vector<MemberId>{3});
  RawExec(member(4, "同学四"));  // the triggers are back
  EXPECT_EQ(RawIds(indexed, "同学"), (std::vector<MemberId>{3, 4}));
}

// Version 12: the events of an older log are chained by group (as the writer chains new ones),
// each group's head is its newest event, and events without a group stay out of every chain.
TEST_F(SqliteUpgradeTest, Version11EventsAreChainedByGroup) {
  std::string rows =
      "INSERT INTO groups (id, community_id, platform, external_id, name, type, capacity, "
      "time_zone, first_seen, last_activity, member_count, joins, leaves, messages, bot_left_at) "
      "VALUES (1, 1, 'wecom', 'g1', 'a', 0, 500, 'UTC', 0, 0, 0, 0, 0, 0, 0), "
      "(2, 1, 'wecom', 'g2', 'b', 0, 500, 'UTC', 0, 0, 0, 0, 0, 0, 0), "
      "(3, 1, 'wecom', 'g3', 'quiet', 0, 500, 'UTC', 0, 0, 0, 0, 0, 0, 0);\n";
  // seq 1..9: groups 1, 2, 1, 0 (no group), 1, 2, 1, 0, 2.
  const int groups[] = {1, 2, 1, 0, 1, 2, 1, 0, 2};
  for (int seq = 1; seq <= 9; ++seq) {
    rows += "INSERT INTO events (seq, platform, source_id, community_id, group_id, member_id, "
            "type, time, json, member_prev) VALUES (" +
            std::to_string(seq) + ", 'wecom', 'e" + std::to_string(seq) + "', 1, " +
            std::to_string(groups[seq - 1]) + ", 0, 1, " + std::to_string(seq) +
            ", '{}', 0);\n";
  }
  WriteVersion(11, rows);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto seqs = [&](GroupId id) {
    std::vector<int64_t> out;
    auto events = store->GroupEvents(id, 0, 100);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    if (events.ok()) {
      for (const StoredEvent& e : *events) out.push_back(e.seq);
    }
    return out;
  };
  EXPECT_EQ(seqs(1), (std::vector<int64_t>{7, 5, 3, 1}));
  EXPECT_EQ(seqs(2), (std::vector<int64_t>{9, 6, 2}));
  EXPECT_EQ(seqs(3), std::vector<int64_t>{}) << "a group without events";
  ASSERT_OK_AND_ASSIGN(const std::optional<Group> one, store->GetGroup(1));
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->last_event_seq, 7);
  ASSERT_OK_AND_ASSIGN(auto four, store->FindEvent("wecom", "e4"));
  ASSERT_TRUE(four.has_value());
  EXPECT_EQ(four->group_prev_seq, 0) << "no group, no chain";
}

TEST_F(SqliteUpgradeTest, SearchReadsTheIndexNotTheMembers) {
  ASSERT_NE(Open(), nullptr);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  for (size_t variant = 0; variant < 4; ++variant) {
    const std::string sql =
        "EXPLAIN QUERY PLAN " + sqlite::ReadSql()[sqlite::kSearchMembers + variant];
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
    std::string plan;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
      plan += "; ";
    }
    sqlite3_finalize(stmt);
    EXPECT_NE(plan.find("SEARCH g USING PRIMARY KEY (gram=? AND member_id>?)"), std::string::npos)
        << plan;
    EXPECT_NE(plan.find("SEARCH m USING INTEGER PRIMARY KEY"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("SCAN"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
  sqlite3_close(db);
}

}  // namespace
}  // namespace qz
