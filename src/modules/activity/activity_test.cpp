#include "modules/activity/activity.hpp"

#include <gtest/gtest.h>

#include "core/time.hpp"
#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

TimeMs At(std::string_view rfc3339) {
  auto ts = ParseRfc3339(rfc3339);
  EXPECT_TRUE(ts.ok()) << rfc3339;
  return ts.ok() ? ts->ms : 0;
}

TEST(LocalDay, TheCalendarDayOfTheZone) {
  // Shanghai is UTC+8 all year: its day starts at 16:00 UTC the day before.
  EXPECT_EQ(LocalDay(At("2026-03-01T15:59:59.999Z"), "Asia/Shanghai"), 20260301);
  EXPECT_EQ(LocalDay(At("2026-03-01T16:00:00Z"), "Asia/Shanghai"), 20260302);
  EXPECT_EQ(LocalDay(At("2026-03-01T16:00:00Z"), "UTC"), 20260301);
  // The cache of the last day must not leak into another zone or the next day.
  EXPECT_EQ(LocalDay(At("2026-03-01T16:00:00Z"), "Asia/Shanghai"), 20260302);
  EXPECT_EQ(LocalDay(At("2026-03-02T15:59:59Z"), "Asia/Shanghai"), 20260302);
  EXPECT_EQ(LocalDay(At("2026-03-02T16:00:00Z"), "Asia/Shanghai"), 20260303);
  // New York across its spring-forward night (2026-03-08, 02:00 → 03:00 local).
  EXPECT_EQ(LocalDay(At("2026-03-08T04:59:59Z"), "America/New_York"), 20260307);
  EXPECT_EQ(LocalDay(At("2026-03-08T05:00:00Z"), "America/New_York"), 20260308);
  EXPECT_EQ(LocalDay(At("2026-03-09T03:59:59Z"), "America/New_York"), 20260308);
  EXPECT_EQ(LocalDay(At("2026-03-09T04:00:00Z"), "America/New_York"), 20260309);
  // An unknown or empty zone is the groups' default, Asia/Shanghai.
  EXPECT_EQ(LocalDay(At("2026-03-01T16:00:00Z"), "Mars/Olympus"), 20260302);
  EXPECT_EQ(LocalDay(At("2026-03-01T16:00:00Z"), ""), 20260302);
  // Before 1970.
  EXPECT_EQ(LocalDay(At("1969-12-31T23:00:00Z"), "UTC"), 19691231);
}

TEST(DayNumber, BothWays) {
  EXPECT_EQ(DayNumber(0), 19700101);
  EXPECT_EQ(DaysSinceEpoch(19700101), 0);
  EXPECT_EQ(DaysSinceEpoch(20260301) - DaysSinceEpoch(20260228), 1);  // 2026 is no leap year
  EXPECT_EQ(DayNumber(DaysSinceEpoch(20241231) + 1), 20250101);
  EXPECT_EQ(DayNumber(-1), 19691231);
}

class ActivityCounts : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ctx_.UsePlaybook("[community]\nslug = \"c\"\n").ok());
    ctx_.SetGroup("g1");
    ctx_.SetMember("u1", "Ann");
  }
  void Run(EventType type, std::string_view time) {
    ctx_.Clear();
    Event& e = ctx_.mutable_event();
    e.id = "sandbox:e:" + std::to_string(++n_);
    e.type = type;
    e.time = At(time);
    ASSERT_TRUE(ctx_.Run(*module_).ok());
  }
  std::optional<ActivityDayRow> Day(int64_t day) {
    return ctx_.Find(ActivityDayRow{.group = ctx_.group()->id, .day = day});
  }

  std::unique_ptr<Module> module_ = MakeActivityModule();
  testing::FakeModuleContext ctx_{*module_};
  int n_ = 0;
};

TEST_F(ActivityCounts, JoinsLeavesAndMessagesPerLocalDay) {
  Run(EventType::kMemberJoined, "2026-03-01T01:00:00+08:00");
  Run(EventType::kMessage, "2026-03-01T09:00:00+08:00");
  Run(EventType::kMessage, "2026-03-01T23:59:00+08:00");
  Run(EventType::kMessage, "2026-03-02T00:01:00+08:00");
  Run(EventType::kMemberLeft, "2026-03-02T08:00:00+08:00");
  ctx_.SetMessageDeleted(true);  // posted, then deleted by moderation: still posted
  Run(EventType::kMessage, "2026-03-02T09:00:00+08:00");
  ctx_.SetMessageDeleted(false);
  for (EventType other : {EventType::kCheckin, EventType::kOrder, EventType::kTimer, EventType::kPointsChanged,
                          EventType::kMemberSynced, EventType::kJoinRequest}) {
    Run(other, "2026-03-02T10:00:00+08:00");
  }
  ASSERT_TRUE(Day(20260301));
  EXPECT_EQ(Day(20260301)->joins, 1);
  EXPECT_EQ(Day(20260301)->messages, 2);
  EXPECT_EQ(Day(20260301)->leaves, 0);
  ASSERT_TRUE(Day(20260302));
  EXPECT_EQ(Day(20260302)->joins, 0);
  EXPECT_EQ(Day(20260302)->messages, 2);
  EXPECT_EQ(Day(20260302)->leaves, 1);
  EXPECT_EQ(ctx_.rows().size(), 2u);
  EXPECT_TRUE(ctx_.actions().empty());
}

}  // namespace
}  // namespace qz
