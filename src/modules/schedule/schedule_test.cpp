#include "modules/schedule/schedule.hpp"

#include <gtest/gtest.h>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

constexpr std::string_view kPlaybook = R"toml(
[community]
slug = "camp"
[[schedules]]
name = "morning"
rule = "daily 06:20"
group = "sandbox:camp-1"
text = "早安 {date}"
)toml";

TEST(Schedule, DeclaresOneStandingTimerPerSchedule) {
  auto module = MakeScheduleModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  const auto timers = module->StandingTimers(ctx.playbook());
  ASSERT_EQ(timers.size(), 1u);
  EXPECT_EQ(timers[0].name, "morning");
  EXPECT_EQ(timers[0].rule, "daily 06:20");
  EXPECT_EQ(timers[0].payload, R"({"schedule":"morning"})");
}

TEST(Schedule, PostsOnItsOwnTimerOnly) {
  auto module = MakeScheduleModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  ctx.mutable_event().type = EventType::kTimer;
  ctx.mutable_event().time = 1767219600000;  // 2026-01-01 06:20 Asia/Shanghai
  ctx.mutable_event().timer = "other:playbook:morning";  // another module's timer
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
  ctx.mutable_event().timer = "schedule:playbook:gone";  // a schedule removed meanwhile
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
  ctx.mutable_event().timer = "schedule:playbook:morning";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ASSERT_EQ(ctx.actions().size(), 1u);
  EXPECT_EQ(ctx.actions()[0].rule, "schedule.morning");
  EXPECT_EQ(ctx.actions()[0].action.platform, "sandbox");
  EXPECT_EQ(ctx.actions()[0].action.group, "camp-1");
  EXPECT_EQ(ctx.actions()[0].action.text, "早安 2026-01-01");
}

TEST(Schedule, RulesAreValidatedCompletely) {
  auto module = MakeScheduleModule();
  testing::FakeModuleContext ctx(*module);
  const Status st = ctx.UsePlaybook(
      "[community]\nslug = \"c\"\n[[schedules]]\nname = \"x\"\nrule = \"daily 25:61\"\n"
      "group = \"sandbox:g\"\ntext = \"t\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "schedules[0].rule");
  EXPECT_NE(st.message().find("test.toml:5:"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace qz
