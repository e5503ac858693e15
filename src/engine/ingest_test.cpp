#include "engine/ingest.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <thread>

#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"

namespace qz {
namespace {

std::string Msg(std::string_view id, std::string_view member = "u1") {
  return fmt::format(
      R"({{"id":"{}","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"qq","group":"g","member":"{}","text":"hi"}})",
      id, member);
}

// A member's order total is checked before it is added: an order that would overflow it is
// rejected naming the amount, and the total stays the sum of the accepted orders.
TEST(Ingest, OrdersThatWouldOverflowTheMembersTotalAreRejected) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  auto ingest = Ingest::Start(*store);
  ASSERT_TRUE(ingest.ok());
  std::string body;
  for (int i = 0; i < 1000; ++i) {
    body += fmt::format(
        R"({{"id":"o{}","type":"order","time":"2026-03-01T08:00:00+08:00","platform":"qq","member":"u1","amount":"1000000000000"}})",
        i);
    body += '\n';
  }
  auto r = (*ingest)->SubmitAndWait(testing::Batch(body));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  // 10^16 in ten-thousandths each: 922 fit in an int64, the 923rd would not.
  EXPECT_EQ(r.accepted, 922);
  ASSERT_EQ(r.rejected.size(), 78u);
  EXPECT_EQ(r.rejected[0].index, 922u);
  EXPECT_EQ(r.rejected[0].error.field(), "amount");
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->members.size(), 1u);
  EXPECT_EQ(state->members[0].orders, 922);
  EXPECT_EQ(state->members[0].order_amount_e4, 922 * int64_t{10000000000000000});
}

TEST(Ingest, BatchWithBadEventsCommitsTheGoodOnesAndReportsTheBad) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  auto ingest = Ingest::Start(*store);
  ASSERT_TRUE(ingest.ok());
  const std::string body = Msg("a") + "\n{\"id\":\"b\"}\n" + Msg("c") + "\nnot json\n" + Msg("d");
  auto r = (*ingest)->SubmitAndWait(testing::Batch(body));
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.accepted, 3);
  EXPECT_EQ(r.duplicates, 0);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].index, 1u);
  EXPECT_EQ(r.rejected[0].error.field(), "type");
  EXPECT_EQ(r.rejected[1].index, 3u);
  auto stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 3);
  EXPECT_EQ((*ingest)->metrics().rejected.load(), 2);
}

// Delivery's outcomes ride with events: the rows change in the events' transaction; a row that
// is gone is reported back; an unknown status refuses the batch before anything is applied.
TEST(Ingest, OutboxUpdatesCommitWithTheBatchEvents) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  OutboxRecord record;
  record.idempotency_key = "k1";
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->AddAction(record).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto ingest = Ingest::Start(*store);
  ASSERT_TRUE(ingest.ok());
  const OutboxUpdate done{.id = record.id, .status = ActionStatus::kDone, .attempts = 1,
                          .platform_ref = "sent", .updated_at = 5};
  const OutboxUpdate gone{.id = record.id + 100, .status = ActionStatus::kDone};

  IngestBatch bad = testing::Batch(Msg("x"));
  OutboxUpdate unknown = done;
  unknown.status = static_cast<ActionStatus>(9);
  bad.outbox_updates = {done, unknown};
  auto refused = (*ingest)->SubmitAndWait(std::move(bad));
  EXPECT_EQ(refused.status.code(), Code::kInvalidArgument) << refused.status.ToString();
  EXPECT_EQ(refused.status.field(), "outbox_updates");
  EXPECT_EQ(store->Stats()->events, 0) << "nothing applied";
  EXPECT_EQ(store->CountActions()->pending, 1);

  IngestBatch batch = testing::Batch(Msg("a"));
  batch.outbox_updates = {done, gone};
  auto r = (*ingest)->SubmitAndWait(std::move(batch));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.accepted, 1);
  EXPECT_EQ(r.missing_actions, std::vector<int64_t>{gone.id});
  EXPECT_EQ(store->Stats()->events, 1);
  auto rows = store->ListActions({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].status, ActionStatus::kDone);
  EXPECT_EQ((*rows)[0].platform_ref, "sent");

  // Updates alone, without events, are a batch too.
  IngestBatch only;
  OutboxUpdate failed = done;
  failed.status = ActionStatus::kFailed;
  only.outbox_updates = {failed};
  r = (*ingest)->SubmitAndWait(std::move(only));
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.accepted, 0);
  EXPECT_EQ(store->CountActions()->failed, 1);
}

TEST(Ingest, SameEventsTwiceChangeNothingTheSecondTime) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  auto ingest = Ingest::Start(*store);
  ASSERT_TRUE(ingest.ok());
  const std::string body = Msg("a") + "\n" + Msg("b", "u2") + "\n" + Msg("a");
  auto first = (*ingest)->SubmitAndWait(testing::Batch(body));
  EXPECT_EQ(first.accepted, 2);
  EXPECT_EQ(first.duplicates, 1);  // a duplicate inside one batch is caught too
  auto before = store->LoadState();
  auto second = (*ingest)->SubmitAndWait(testing::Batch(body));
  EXPECT_EQ(second.accepted, 0);
  EXPECT_EQ(second.duplicates, 3);
  auto after = store->LoadState();
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(*before, *after);
  EXPECT_EQ((*ingest)->metrics().duplicates.load(), 4);
}

TEST(Ingest, ConcurrentCallersAreAllAnsweredAfterGroupCommit) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  auto ingest = Ingest::Start(*store, {.max_batch_events = 64});
  ASSERT_TRUE(ingest.ok());
  constexpr int kThreads = 4, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int64_t> accepted{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = (*ingest)->SubmitAndWait(testing::Batch(Msg(fmt::format("t{}-{}", t, i), fmt::format("u{}", t))));
        accepted += r.accepted;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), kThreads * kPerThread);
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->members.size(), static_cast<size_t>(kThreads));
  for (const auto& m : state->members) EXPECT_EQ(m.messages, kPerThread);
  ASSERT_EQ(state->groups.size(), 1u);
  EXPECT_EQ(state->groups[0].messages, kThreads * kPerThread);
  EXPECT_EQ((*ingest)->metrics().queued_events.load(), 0);
}

TEST(Ingest, StateCarriesOverARestart) {
  testing::TempDir dir;
  {
    auto store = testing::OpenStore(dir.path());
    auto ingest = Ingest::Start(*store);
    ASSERT_TRUE(ingest.ok());
    (*ingest)->SubmitAndWait(testing::Batch(Msg("a") + "\n" + Msg("b", "u2")));
  }
  auto store = testing::OpenStore(dir.path());
  auto ingest = Ingest::Start(*store);
  ASSERT_TRUE(ingest.ok());
  auto r = (*ingest)->SubmitAndWait(testing::Batch(Msg("a") + "\n" + Msg("c", "u2")));
  EXPECT_EQ(r.duplicates, 1);
  EXPECT_EQ(r.accepted, 1);
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->members.size(), 2u);  // u2 resolved to the same member after restart
  EXPECT_EQ(state->members[1].messages, 2);
}

}  // namespace
}  // namespace qz
