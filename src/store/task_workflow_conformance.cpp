// Conformance of OutboxStore's task workflow: what operators do with a task (assign, close) on
// the tasks the writer opened, and the `assignee` filter of ListTasks.
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/conformance_data.hpp"
#include "store/store_conformance.hpp"
#include "testing/status_matchers.hpp"

namespace qz {
namespace {

// Opens `n` tasks through the writer's transaction and returns them (ids set).
std::vector<OperatorTask> AddTasks(EventLog& log, int n) {
  std::vector<OperatorTask> tasks;
  auto txn = log.Begin();
  EXPECT_TRUE(txn.ok()) << txn.status().ToString();
  if (!txn.ok()) return tasks;
  for (int i = 0; i < n; ++i) {
    OperatorTask t = MakeTask(i);
    EXPECT_TRUE((*txn)->AddTask(t).ok());
    tasks.push_back(t);
  }
  EXPECT_TRUE((*txn)->Commit().ok());
  return tasks;
}

std::vector<int64_t> Ids(OutboxStore& outbox, const TaskQuery& query) {
  std::vector<int64_t> ids;
  auto records = outbox.ListTaskRecords(query);
  EXPECT_TRUE(records.ok()) << records.status().ToString();
  if (records.ok()) {
    for (const TaskRecord& r : *records) ids.push_back(r.task.id);
  }
  return ids;
}

TEST_P(OutboxConformance, TaskWorkflowNewTaskIsIsOpenAndUnassigned) {
  const std::vector<OperatorTask> tasks = AddTasks(log(), 2);
  ASSERT_EQ(tasks.size(), 2u);
  ASSERT_OK_AND_ASSIGN(const std::optional<TaskRecord> got, outbox().GetTask(tasks[1].id));
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, TaskRecord{.task = tasks[1]});
  ASSERT_OK_AND_ASSIGN(auto records, outbox().ListTaskRecords({.open_only = false}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], TaskRecord{.task = tasks[0]});
  ASSERT_OK_AND_ASSIGN(const std::optional<TaskRecord> none, outbox().GetTask(tasks[1].id + 100));
  EXPECT_FALSE(none.has_value());
}

TEST_P(OutboxConformance, TaskWorkflowAssignCloseAndTheirRefusals) {
  const std::vector<OperatorTask> tasks = AddTasks(log(), 3);
  ASSERT_EQ(tasks.size(), 3u);
  const int64_t id = tasks[1].id;

  ASSERT_OK_AND_ASSIGN(TaskRecord assigned, outbox().AssignTask(id, "小明"));
  EXPECT_EQ(assigned.task, tasks[1]);
  EXPECT_EQ(assigned.assignee, "小明");
  EXPECT_EQ(assigned.closed_at, 0);
  ASSERT_OK_AND_ASSIGN(assigned, outbox().AssignTask(id, "ops-1"));  // reassigned
  EXPECT_EQ(assigned.assignee, "ops-1");

  const TaskClosing closing{.at = kT0 + 500, .by = "admin", .note = "已处理：封禁 3 天"};
  ASSERT_OK_AND_ASSIGN(const TaskRecord closed, outbox().CloseTask(id, closing));
  OperatorTask closed_task = tasks[1];
  closed_task.open = false;
  EXPECT_EQ(closed, (TaskRecord{.task = closed_task,
                                .assignee = "ops-1",
                                .closed_at = kT0 + 500,
                                .closed_by = "admin",
                                .note = "已处理：封禁 3 天"}));

  // A closed task stays as its closer left it.
  const auto again = outbox().CloseTask(id, {.at = kT0 + 900, .by = "other", .note = "x"});
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists) << again.status().ToString();
  const auto reassign = outbox().AssignTask(id, "someone");
  EXPECT_EQ(reassign.status().code(), Code::kAlreadyExists) << reassign.status().ToString();
  for (int round = 0; round < 2; ++round) {
    ASSERT_OK_AND_ASSIGN(const std::optional<TaskRecord> stored, outbox().GetTask(id));
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(*stored, closed) << "round " << round;
    Reopen();
  }

  // Unknown ids.
  const int64_t unknown = tasks.back().id + 1;
  EXPECT_EQ(outbox().AssignTask(unknown, "a").status().code(), Code::kNotFound);
  EXPECT_EQ(outbox().CloseTask(unknown, closing).status().code(), Code::kNotFound);

  // Closing leaves the open list; the others are untouched.
  EXPECT_EQ(Ids(outbox(), {}), (std::vector<int64_t>{tasks[0].id, tasks[2].id}));
  EXPECT_EQ(Ids(outbox(), {.open_only = false}),
            (std::vector<int64_t>{tasks[0].id, id, tasks[2].id}));
  ASSERT_OK_AND_ASSIGN(auto plain, outbox().ListTasks({.open_only = false}));
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_FALSE(plain[1].open) << "ListTasks sees the closing too";

  // Unassigning with "".
  ASSERT_OK_AND_ASSIGN(TaskRecord other, outbox().AssignTask(tasks[0].id, "ops-1"));
  ASSERT_OK_AND_ASSIGN(other, outbox().AssignTask(tasks[0].id, ""));
  EXPECT_EQ(other, TaskRecord{.task = tasks[0]});
}

TEST_P(OutboxConformance, TaskWorkflowListsByAssigneeInIdOrderWithTheCursor) {
  const std::vector<OperatorTask> tasks = AddTasks(log(), 12);
  ASSERT_EQ(tasks.size(), 12u);
  std::vector<int64_t> mine, unassigned, mine_open;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const int64_t id = tasks[i].id;
    if (i % 3 == 0) {
      ASSERT_OK(outbox().AssignTask(id, "小明").status());
      mine.push_back(id);
      if (i % 2 == 0) {
        ASSERT_OK(outbox().CloseTask(id, {.at = kT0, .by = "小明"}).status());
      } else {
        mine_open.push_back(id);
      }
    } else if (i % 3 == 1) {
      ASSERT_OK(outbox().AssignTask(id, "小明明").status());  // a longer name is another name
    } else {
      unassigned.push_back(id);
    }
  }
  EXPECT_EQ(Ids(outbox(), {.open_only = false, .assignee = "小明"}), mine);
  EXPECT_EQ(Ids(outbox(), {.assignee = "小明"}), mine_open);
  EXPECT_EQ(Ids(outbox(), {.open_only = false, .assignee = ""}), unassigned);
  EXPECT_EQ(Ids(outbox(), {.open_only = false, .assignee = "nobody"}), std::vector<int64_t>{});
  std::vector<int64_t> paged;
  int64_t cursor = 0;
  for (int page = 0; page < 10; ++page) {
    const std::vector<int64_t> part =
        Ids(outbox(), {.open_only = false, .assignee = "小明", .limit = 2, .after_id = cursor});
    if (part.empty()) break;
    EXPECT_LE(part.size(), 2u);
    paged.insert(paged.end(), part.begin(), part.end());
    cursor = part.back();
  }
  EXPECT_EQ(paged, mine);
  ASSERT_OK_AND_ASSIGN(auto plain, outbox().ListTasks({.open_only = false, .assignee = ""}));
  EXPECT_EQ(plain.size(), unassigned.size()) << "ListTasks filters by assignee too";
}

// Of concurrent closings of one task exactly one wins; the others are told it is closed.
TEST_P(OutboxConformance, TaskWorkflowConcurrentClosingsCloseOnce) {
  const std::vector<OperatorTask> tasks = AddTasks(log(), 1);
  ASSERT_EQ(tasks.size(), 1u);
  std::atomic<int> closed{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto r = outbox().CloseTask(tasks[0].id,
                                  {.at = kT0 + t, .by = "op" + std::to_string(t), .note = ""});
      if (r.ok()) {
        ++closed;
      } else if (r.status().code() == Code::kAlreadyExists) {
        ++refused;
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(closed.load(), 1);
  EXPECT_EQ(refused.load(), 3);
  EXPECT_EQ(other.load(), 0);
}

// The writer's transactions and the workflow's writes do not undo each other.
TEST_P(OutboxConformance, TaskWorkflowSurvivesTheWriterAddingTasks) {
  std::vector<OperatorTask> tasks = AddTasks(log(), 1);
  ASSERT_EQ(tasks.size(), 1u);
  ASSERT_OK(outbox().AssignTask(tasks[0].id, "小明").status());
  const std::vector<OperatorTask> more = AddTasks(log(), 2);
  ASSERT_OK_AND_ASSIGN(const std::optional<TaskRecord> first, outbox().GetTask(tasks[0].id));
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->assignee, "小明");
  EXPECT_EQ(Ids(outbox(), {.assignee = ""}), (std::vector<int64_t>{more[0].id, more[1].id}));
}

}  // namespace
}  // namespace qz
