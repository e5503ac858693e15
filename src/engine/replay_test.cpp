#include "engine/replay.hpp"

#include <gtest/gtest.h>

#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"

namespace qz {
namespace {

constexpr std::string_view kEvents =
    R"({"id":"j1","type":"member_joined","time":"2026-03-01T08:00:00+08:00","platform":"wecom","community":"camp","group":"c1","member":"u1","name":"小明","via":{"code":"channel:a"}})"
    "\n"
    R"({"id":"j2","type":"member_joined","time":"2026-03-01T08:01:00+08:00","platform":"wecom","group":"c1","member":"u2","via":{"inviter":"u1"}})"
    "\n"
    R"({"id":"m1","type":"message","time":"2026-03-01T08:02:00+08:00","platform":"wecom","group":"c1","member":"u2","text":"请问几点开课？"})"
    "\n"
    R"({"id":"k1","type":"checkin","time":"2026-03-02T08:02:00+08:00","platform":"wecom","group":"c1","member":"u1"})"
    "\n"
    R"({"id":"o1","type":"order","time":"2026-03-02T09:00:00+08:00","platform":"wecom","community":"camp","member":"u2","amount":"9.9"})"
    "\n"
    R"({"id":"t1","type":"tag_changed","time":"2026-03-02T09:00:00+08:00","platform":"wecom","community":"camp","member":"u2","tag":"trial"})"
    "\n"
    R"({"id":"l1","type":"member_left","time":"2026-03-03T09:00:00+08:00","platform":"wecom","group":"c1","member":"u1"})"
    "\n"
    R"({"id":"q1","type":"message","time":"2026-03-03T09:00:00Z","platform":"qq","group":"fans","member":"10001","name":"阿飞"})"
    "\n"
    // The events about groups and platform facts change the state too.
    R"({"id":"q2","type":"join_request","time":"2026-03-03T09:01:00Z","platform":"qq","group":"fans","member":"10002","text":"想加入","request":"f1"})"
    "\n"
    R"({"id":"q3","type":"member_synced","time":"2026-03-03T09:02:00Z","platform":"qq","group":"fans","member":"10003","role":"owner"})"
    "\n"
    R"({"id":"q4","type":"group_bound","time":"2026-03-03T09:03:00Z","platform":"qq","group":"fans","to":"camp"})"
    "\n"
    R"({"id":"w1","type":"group_migrated","time":"2026-03-03T09:04:00Z","platform":"wecom","group":"c1","to":"c1-new"})"
    "\n"
    R"({"id":"w2","type":"bot_removed","time":"2026-03-03T09:05:00Z","platform":"wecom","group":"c1-new"})";

TEST(Replay, RebuildsExactlyTheLiveState) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  {
    auto ingest = Ingest::Start(*store);
    ASSERT_TRUE(ingest.ok());
    auto r = (*ingest)->SubmitAndWait(testing::Batch(kEvents));
    ASSERT_EQ(r.accepted, 13);
  }
  auto scratch = testing::OpenStore(dir.path(), "scratch.db");
  int64_t progressed = 0;
  auto report = Replay(*store, *scratch, nullptr, [&](int64_t n) { progressed = n; });
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->events, 13);
  EXPECT_EQ(progressed, 13);
  EXPECT_TRUE(report->differences.empty()) << report->differences[0];
}

TEST(Replay, ReportsATamperedMaterialisedState) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  {
    auto ingest = Ingest::Start(*store);
    ASSERT_TRUE(ingest.ok());
    (*ingest)->SubmitAndWait(testing::Batch(kEvents));
  }
  auto state = store->LoadState();
  ASSERT_TRUE(state.ok());
  Member tampered = state->members[0];
  tampered.checkins += 5;
  {
    auto txn = store->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->PutMember(tampered).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto scratch = testing::OpenStore(dir.path(), "scratch.db");
  auto report = Replay(*store, *scratch, nullptr);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->differences.size(), 1u);
  EXPECT_NE(report->differences[0].find("member 1"), std::string::npos) << report->differences[0];
}

TEST(Replay, RefusesANonEmptyScratchStore) {
  testing::TempDir dir;
  auto store = testing::OpenStore(dir.path());
  {
    auto ingest = Ingest::Start(*store);
    ASSERT_TRUE(ingest.ok());
    (*ingest)->SubmitAndWait(testing::Batch(kEvents));
  }
  auto again = testing::OpenStore(dir.path());
  auto report = Replay(*store, *again, nullptr);
  EXPECT_FALSE(report.ok());
}

}  // namespace
}  // namespace qz
