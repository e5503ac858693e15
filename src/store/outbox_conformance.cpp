// Conformance of OutboxStore, and the outbox writes of StoreTxn.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

TEST_P(OutboxConformance, FreshStoreHasNoActionsOrTasks) {
  ASSERT_OK_AND_ASSIGN(auto open, outbox().LoadOpenActions());
  EXPECT_TRUE(open.empty());
  ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
  EXPECT_TRUE(listed.empty());
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, ActionCounts{});
  ASSERT_OK_AND_ASSIGN(auto tasks, outbox().ListTasks({.open_only = false}));
  EXPECT_TRUE(tasks.empty());
  std::vector<int64_t> missing;
  EXPECT_OK(UpdateActions(log(), {}, &missing));  // an empty update list does nothing
  EXPECT_TRUE(missing.empty());
}

TEST_P(OutboxConformance, OutboxRecordsRoundTrip) {
  std::vector<OutboxRecord> records = {
      MakeRecord(1), MakeRecord(2, ActionStatus::kSending), MakeRecord(3, ActionStatus::kDone),
      MakeRecord(4, ActionStatus::kFailed), MakeRecord(5, ActionStatus::kPossiblySent)};
  // An action with nothing but its type, and every other field at its default.
  OutboxRecord bare;
  bare.idempotency_key = "bare";
  records.push_back(bare);
  // Extreme values and every action type that reaches the outbox.
  OutboxRecord extreme = MakeRecord(7);
  extreme.action.type = ActionType::kCreateInvite;
  extreme.action.community_id = std::numeric_limits<int64_t>::max();
  extreme.action.points = std::numeric_limits<int64_t>::min();
  extreme.action.payload = "";
  extreme.action.remove_tag = false;
  extreme.attempts = std::numeric_limits<int32_t>::max();
  extreme.next_attempt_at = -1;
  extreme.idempotency_key = std::string(300, 'k');
  records.push_back(extreme);
  for (int t = 1; t <= kActionTypeCount; ++t) {
    if (!IsPlatformAction(static_cast<ActionType>(t))) continue;
    OutboxRecord r = MakeRecord(100 + t);
    r.action.type = static_cast<ActionType>(t);
    records.push_back(r);
  }
  for (OutboxRecord& r : records) r.id = 999'999;  // ignored: the store assigns ids
  ASSERT_OK(AddActions(log(), records));
  int64_t last = 0;
  for (const OutboxRecord& r : records) {
    EXPECT_GT(r.id, last) << "ids increase in the order of AddAction";
    last = r.id;
  }
  EXPECT_NE(records.front().id, 999'999);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({.limit = 1000}));
    EXPECT_SAME(listed, records);
    ASSERT_OK_AND_ASSIGN(auto open, outbox().LoadOpenActions());
    EXPECT_SAME(open, OpenOnes(records));
    ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
    EXPECT_SAME(counts, CountsOf(records));
    Reopen();  // and again from disk
  }
  // Later ids keep increasing.
  std::vector<OutboxRecord> more = {MakeRecord(50)};
  ASSERT_OK(AddActions(log(), more));
  EXPECT_GT(more[0].id, last);
}

TEST_P(OutboxConformance, IdempotencyKeysAreUnique) {
  std::vector<OutboxRecord> first = {MakeRecord(1)};
  ASSERT_OK(AddActions(log(), first));
  {
    // A key already committed: the call and the transaction fail.
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    OutboxRecord other = MakeRecord(2);
    ASSERT_OK(txn->AddAction(other));
    OperatorTask task = MakeTask(1);
    ASSERT_OK(txn->AddTask(task));
    OutboxRecord again = MakeRecord(3);
    again.idempotency_key = first[0].idempotency_key;
    Status dup = txn->AddAction(again);
    EXPECT_EQ(dup.code(), Code::kAlreadyExists) << ::qz::testing::Describe(dup);
    EXPECT_FALSE(txn->Commit().ok()) << "the transaction failed with it";
  }
  {
    // A key added earlier in the same transaction.
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    OutboxRecord a = MakeRecord(4);
    OutboxRecord b = MakeRecord(5);
    b.idempotency_key = a.idempotency_key;
    ASSERT_OK(txn->AddAction(a));
    EXPECT_EQ(txn->AddAction(b).code(), Code::kAlreadyExists);
    EXPECT_FALSE(txn->Commit().ok());
  }
  ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
  EXPECT_SAME(listed, first);
  ASSERT_OK_AND_ASSIGN(auto tasks, outbox().ListTasks({.open_only = false}));
  EXPECT_TRUE(tasks.empty());
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, ActionCounts{.pending = 1});
  // The same key differs only in case: another key.
  std::vector<OutboxRecord> upper = {MakeRecord(6)};
  upper[0].idempotency_key = "WECOM:M1#WELCOME.GREET#1";
  EXPECT_OK(AddActions(log(), upper));
}

TEST_P(OutboxConformance, AddActionRejectsAPayloadThatCannotBeStored) {
  for (std::string payload : {"[1,2]", "not json", "42", "{\"unterminated\":"}) {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    OutboxRecord r = MakeRecord(1);
    r.action.payload = payload;
    Status added = txn->AddAction(r);
    EXPECT_EQ(added.code(), Code::kInvalidArgument)
        << payload << ": " << ::qz::testing::Describe(added);
    EXPECT_EQ(added.field(), "payload") << payload;
    EXPECT_FALSE(txn->Commit().ok());
  }
  ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
  EXPECT_TRUE(listed.empty());
}

TEST_P(OutboxConformance, UpdateActionsAppliesEveryUpdate) {
  std::vector<OutboxRecord> records = {MakeRecord(1), MakeRecord(2), MakeRecord(3),
                                       MakeRecord(4, ActionStatus::kSending)};
  ASSERT_OK(AddActions(log(), records));
  const OutboxUpdate sending{.id = records[0].id,
                             .status = ActionStatus::kSending,
                             .attempts = 1,
                             .next_attempt_at = kT0 + 5000,
                             .last_error = "",
                             .platform_ref = "",
                             .updated_at = kT0 + 10};
  const OutboxUpdate done{.id = records[1].id,
                          .status = ActionStatus::kDone,
                          .attempts = 2,
                          .next_attempt_at = 0,
                          .last_error = "",
                          .platform_ref = "msg-sent-2",
                          .updated_at = kT0 + 11};
  const OutboxUpdate retry{.id = records[3].id,
                           .status = ActionStatus::kPending,
                           .attempts = 3,
                           .next_attempt_at = kT0 + 60'000,
                           .last_error = "503 服务不可用",
                           .platform_ref = "",
                           .updated_at = kT0 + 12};
  ASSERT_OK(UpdateActions(log(), std::vector<OutboxUpdate>{sending, done, retry}));
  std::vector<OutboxRecord> expected = {Updated(records[0], sending), Updated(records[1], done),
                                        records[2], Updated(records[3], retry)};
  ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
  EXPECT_SAME(listed, expected);
  ASSERT_OK_AND_ASSIGN(auto open, outbox().LoadOpenActions());
  EXPECT_SAME(open, OpenOnes(expected));
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, (ActionCounts{.pending = 2, .sending = 1, .done = 1}));

  // The same id twice in one list: the later update wins.
  OutboxUpdate failed = retry;
  failed.status = ActionStatus::kFailed;
  failed.last_error = "given up";
  OutboxUpdate possibly = sending;
  possibly.status = ActionStatus::kPossiblySent;
  ASSERT_OK(UpdateActions(log(), std::vector<OutboxUpdate>{retry, failed, possibly}));
  expected[3] = Updated(records[3], failed);
  expected[0] = Updated(records[0], possibly);
  Reopen();
  ASSERT_OK_AND_ASSIGN(listed, outbox().ListActions({}));
  EXPECT_SAME(listed, expected);
  ASSERT_OK_AND_ASSIGN(counts, outbox().CountActions());
  EXPECT_SAME(counts, CountsOf(expected));
  EXPECT_SAME(counts, (ActionCounts{.pending = 1, .done = 1, .failed = 1, .possibly_sent = 1}));
  // A status set to what it already is changes no count.
  ASSERT_OK(UpdateActions(log(), std::vector<OutboxUpdate>{done}));
  ASSERT_OK_AND_ASSIGN(counts, outbox().CountActions());
  EXPECT_SAME(counts, CountsOf(expected));
}

TEST_P(OutboxConformance, UpdateActionsSkipsMissingRowsAndRefusesAnUnknownStatus) {
  std::vector<OutboxRecord> records = {MakeRecord(1), MakeRecord(2)};
  ASSERT_OK(AddActions(log(), records));
  const int64_t unknown = records.back().id + 1000;
  const OutboxUpdate first{.id = records[0].id, .status = ActionStatus::kDone, .updated_at = 1};
  const OutboxUpdate gone{.id = unknown, .status = ActionStatus::kDone, .updated_at = 1};
  const OutboxUpdate second{.id = records[1].id, .status = ActionStatus::kFailed, .updated_at = 1};
  // An update with a status outside ActionStatus: refused before anything is written.
  OutboxUpdate bad = second;
  bad.status = static_cast<ActionStatus>(17);
  Status status = UpdateActions(log(), std::vector<OutboxUpdate>{first, bad});
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << ::qz::testing::Describe(status);
  ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
  EXPECT_SAME(listed, records) << "nothing changed";
  // A missing row is skipped and reported; the others are written.
  std::vector<int64_t> missing;
  ASSERT_OK(UpdateActions(log(), std::vector<OutboxUpdate>{first, gone, second}, &missing));
  EXPECT_EQ(missing, std::vector<int64_t>{unknown});
  ASSERT_OK_AND_ASSIGN(listed, outbox().ListActions({}));
  EXPECT_SAME(listed, (std::vector<OutboxRecord>{Updated(records[0], first),
                                                 Updated(records[1], second)}));
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, (ActionCounts{.done = 1, .failed = 1}));
}

// Delivery writes an outcome with the event that reports it: both or neither.

TEST_P(OutboxConformance, UpdateActionsCommitWithTheirTransactionOrNotAtAll) {
  std::vector<OutboxRecord> records = {MakeRecord(1)};
  ASSERT_OK(AddActions(log(), records));
  const OutboxUpdate done{.id = records[0].id,
                          .status = ActionStatus::kDone,
                          .attempts = 1,
                          .platform_ref = "sent",
                          .updated_at = kT0 + 1};
  for (const bool commit : {false, true}) {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    StoredEvent reported = MakeEvent("qunzhu", "qunzhu:action:1:done");
    ASSERT_OK_AND_ASSIGN(bool appended, txn->AppendEvent(reported));
    EXPECT_TRUE(appended);
    std::vector<int64_t> missing;
    ASSERT_OK(txn->UpdateActions(std::vector<OutboxUpdate>{done}, missing));
    EXPECT_TRUE(missing.empty());
    if (commit) ASSERT_OK(txn->Commit());
    txn.reset();  // uncommitted: rolled back
    ASSERT_OK_AND_ASSIGN(auto listed, outbox().ListActions({}));
    ASSERT_OK_AND_ASSIGN(auto found, log().FindEvent("qunzhu", "qunzhu:action:1:done"));
    EXPECT_SAME(listed,
                (std::vector<OutboxRecord>{commit ? Updated(records[0], done) : records[0]}));
    EXPECT_EQ(found.has_value(), commit);
  }
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, ActionCounts{.done = 1});
}

TEST_P(OutboxConformance, ListAndCountActionsByStatusAndGroup) {
  // 30 records over groups 10, 11 and none (a direct message), all pending at first.
  std::vector<OutboxRecord> records;
  for (int n = 0; n < 30; ++n) {
    records.push_back(MakeRecord(n, ActionStatus::kPending, n % 3 == 2 ? kNoId : 10 + n % 3));
  }
  ASSERT_OK(AddActions(log(), records));
  // Then every status, by n % 5 (0 stays pending).
  std::vector<OutboxUpdate> updates;
  for (OutboxRecord& r : records) {
    const int n = static_cast<int>(&r - records.data());
    if (n % 5 == 0) continue;
    OutboxUpdate u{.id = r.id,
                   .status = static_cast<ActionStatus>(n % 5),
                   .attempts = 1,
                   .updated_at = kT0 + 1000 + n};
    updates.push_back(u);
    r = Updated(r, u);
  }
  ASSERT_OK(UpdateActions(log(), updates));

  auto expect_list = [&](const ActionQuery& query) {
    std::vector<OutboxRecord> expected;
    for (const OutboxRecord& r : records) {
      if (r.id <= query.after_id) continue;
      if (query.status && r.status != *query.status) continue;
      if (query.group_id && r.action.group_id != *query.group_id) continue;
      if (static_cast<int>(expected.size()) < std::clamp(query.limit, 1, 1000)) {
        expected.push_back(r);
      }
    }
    auto listed = outbox().ListActions(query);
    ASSERT_TRUE(listed.ok()) << ::qz::testing::Describe(listed);
    EXPECT_SAME(*listed, expected);
  };
  expect_list({.limit = 100});
  for (int s = 0; s < 5; ++s) {
    expect_list({.status = static_cast<ActionStatus>(s), .limit = 100});
    expect_list({.status = static_cast<ActionStatus>(s), .group_id = 10, .limit = 100});
    expect_list({.status = static_cast<ActionStatus>(s), .group_id = kNoId, .limit = 100});
  }
  expect_list({.group_id = 10, .limit = 100});
  expect_list({.group_id = 11, .limit = 100});
  expect_list({.group_id = kNoId, .limit = 100});
  expect_list({.group_id = 99, .limit = 100});
  expect_list({});  // default limit
  expect_list({.group_id = 11, .limit = 2, .after_id = records[4].id});
  expect_list({.status = ActionStatus::kDone, .limit = 1, .after_id = records[2].id});
  expect_list({.after_id = records.back().id});

  // Cursor paging visits every record once, in id order.
  for (std::optional<ActionStatus> status :
       {std::optional<ActionStatus>(), std::optional<ActionStatus>(ActionStatus::kFailed)}) {
    std::vector<OutboxRecord> paged;
    int64_t cursor = 0;
    for (int page = 0; page < 40; ++page) {
      ASSERT_OK_AND_ASSIGN(
          auto part, outbox().ListActions({.status = status, .limit = 4, .after_id = cursor}));
      if (part.empty()) break;
      EXPECT_LE(part.size(), 4u);
      paged.insert(paged.end(), part.begin(), part.end());
      cursor = part.back().id;
    }
    std::vector<OutboxRecord> expected;
    for (const OutboxRecord& r : records) {
      if (!status || r.status == *status) expected.push_back(r);
    }
    EXPECT_SAME(paged, expected);
  }

  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_SAME(counts, CountsOf(records));
  EXPECT_SAME(counts, (ActionCounts{6, 6, 6, 6, 6}));
  ASSERT_OK_AND_ASSIGN(auto open, outbox().LoadOpenActions());
  EXPECT_SAME(open, OpenOnes(records));
}

TEST_P(OutboxConformance, ListActionsByIdempotencyKeyPrefix) {
  std::vector<OutboxRecord> records;
  for (std::string key : {"qunzhu:cmd:a#broadcasts.b1#0", "qunzhu:cmd:a#broadcasts.b1#1", "qunzhu:cmd:a#broadcasts.b10#0",
                          "qunzhu:cmd:a#broadcasts.b2#0", "qunzhu:cmd:b#broadcasts.b1#0"}) {
    OutboxRecord r;
    r.action.platform = "sandbox";
    r.action.group_id = records.size() % 2 == 0 ? 1 : 2;
    r.idempotency_key = std::move(key);
    records.push_back(std::move(r));
  }
  ASSERT_OK(AddActions(log(), records));
  ASSERT_OK_AND_ASSIGN(auto b1, outbox().ListActions({.key_prefix = "qunzhu:cmd:a#broadcasts.b1#"}));
  EXPECT_EQ(IdsOf(b1), (std::vector<int64_t>{records[0].id, records[1].id}));
  ASSERT_OK_AND_ASSIGN(auto paged, outbox().ListActions({.key_prefix = "qunzhu:cmd:a#broadcasts.b1#",
                                                         .after_id = records[0].id}));
  EXPECT_EQ(IdsOf(paged), std::vector<int64_t>{records[1].id});
  ASSERT_OK_AND_ASSIGN(auto in_group, outbox().ListActions({.group_id = 1, .key_prefix = "qunzhu:cmd:a#"}));
  EXPECT_EQ(IdsOf(in_group), (std::vector<int64_t>{records[0].id, records[2].id}));
  ASSERT_OK_AND_ASSIGN(auto none, outbox().ListActions({.key_prefix = "nothing#"}));
  EXPECT_TRUE(none.empty());
}

TEST_P(OutboxConformance, ListActionsClampsLimit) {
  std::vector<OutboxRecord> records;
  for (int n = 0; n < 1005; ++n) {
    OutboxRecord r;
    r.action.platform = "wecom";
    r.idempotency_key = "k" + std::to_string(n);
    records.push_back(std::move(r));
  }
  ASSERT_OK(AddActions(log(), records));
  ASSERT_OK_AND_ASSIGN(auto zero, outbox().ListActions({.limit = 0}));
  EXPECT_EQ(IdsOf(zero), std::vector<int64_t>{records[0].id});
  ASSERT_OK_AND_ASSIGN(auto negative, outbox().ListActions({.limit = -3}));
  EXPECT_EQ(IdsOf(negative), std::vector<int64_t>{records[0].id});
  ASSERT_OK_AND_ASSIGN(auto huge, outbox().ListActions({.limit = 5000}));
  ASSERT_EQ(huge.size(), 1000u);
  EXPECT_EQ(huge.back().id, records[999].id);
  ASSERT_OK_AND_ASSIGN(auto standard, outbox().ListActions({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
  ASSERT_OK_AND_ASSIGN(ActionCounts counts, outbox().CountActions());
  EXPECT_EQ(counts.pending, 1005);
  ASSERT_OK_AND_ASSIGN(auto open, outbox().LoadOpenActions());
  EXPECT_EQ(open.size(), 1005u) << "LoadOpenActions has no limit";
}

TEST_P(OutboxConformance, TasksAddAndList) {
  std::vector<OperatorTask> tasks;
  for (int n = 0; n < 9; ++n) tasks.push_back(MakeTask(n, /*open=*/n % 3 != 1));
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    int64_t last = 0;
    for (OperatorTask& t : tasks) {
      t.id = 777;  // ignored
      ASSERT_OK(txn->AddTask(t));
      EXPECT_GT(t.id, last);
      last = t.id;
    }
    ASSERT_OK(txn->Commit());
  }
  std::vector<OperatorTask> open;
  for (const OperatorTask& t : tasks) {
    if (t.open) open.push_back(t);
  }
  ASSERT_EQ(open.size(), 6u);
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(auto all, outbox().ListTasks({.open_only = false}));
    EXPECT_SAME(all, tasks);
    ASSERT_OK_AND_ASSIGN(auto listed_open, outbox().ListTasks({}));
    EXPECT_SAME(listed_open, open) << "open_only by default";
    Reopen();
  }
  ASSERT_OK_AND_ASSIGN(auto after,
                       outbox().ListTasks({.open_only = false, .after_id = tasks[6].id}));
  EXPECT_SAME(after, (std::vector<OperatorTask>{tasks[7], tasks[8]}));
  ASSERT_OK_AND_ASSIGN(auto open_after, outbox().ListTasks({.limit = 2, .after_id = tasks[1].id}));
  EXPECT_SAME(open_after, (std::vector<OperatorTask>{tasks[2], tasks[3]}));
  for (bool open_only : {true, false}) {
    std::vector<OperatorTask> paged;
    int64_t cursor = 0;
    for (int page = 0; page < 20; ++page) {
      ASSERT_OK_AND_ASSIGN(auto part, outbox().ListTasks({.open_only = open_only,
                                                         .limit = 4,
                                                         .after_id = cursor}));
      if (part.empty()) break;
      EXPECT_LE(part.size(), 4u);
      paged.insert(paged.end(), part.begin(), part.end());
      cursor = part.back().id;
    }
    EXPECT_SAME(paged, open_only ? open : tasks);
  }
  ASSERT_OK_AND_ASSIGN(auto one, outbox().ListTasks({.open_only = false, .limit = 0}));
  EXPECT_SAME(one, std::vector<OperatorTask>{tasks[0]});
}

TEST_P(OutboxConformance, ListTasksClampsLimit) {
  {
    ASSERT_OK_AND_ASSIGN(auto txn, log().Begin());
    for (int n = 0; n < 1005; ++n) {
      OperatorTask t{.kind = "review", .created_at = n};
      ASSERT_OK(txn->AddTask(t));
    }
    ASSERT_OK(txn->Commit());
  }
  ASSERT_OK_AND_ASSIGN(auto huge, outbox().ListTasks({.limit = 5000}));
  EXPECT_EQ(huge.size(), 1000u);
  ASSERT_OK_AND_ASSIGN(auto negative, outbox().ListTasks({.limit = -1}));
  EXPECT_EQ(negative.size(), 1u);
  ASSERT_OK_AND_ASSIGN(auto standard, outbox().ListTasks({}));
  EXPECT_EQ(standard.size(), 50u) << "default limit";
}

}  // namespace
}  // namespace qz
