#include "modules/schedule/schedule.hpp"

#include <gmock/gmock.h>
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

constexpr std::string_view kGroups = R"toml(
[community]
slug = "camp"
[[groups]]
platform = "sandbox"
id = "a"
type = "learning"
[[groups]]
platform = "sandbox"
id = "b"
type = "interest"
[[groups]]
platform = "wecom"
id = "c"
type = "learning"
)toml";

TEST(Schedule, ManyGroupsHaveOneTimerEach) {
  auto module = MakeScheduleModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(std::string(kGroups) +
                              "[[schedules]]\nname = \"m\"\nrule = \"daily 07:30\"\ngroup_type = \"learning\"\n"
                              "text = \"早安\"\n[[schedules]]\nname = \"all\"\nrule = \"daily 08:00\"\n"
                              "groups = \"all\"\ntext = \"hi\"\n[[schedules]]\nname = \"two\"\n"
                              "rule = \"daily 09:00\"\ngroups = [\"sandbox:b\", \"qq:9\"]\ntext = \"x\"\n")
                  .ok());
  const auto timers = module->StandingTimers(ctx.playbook());
  std::vector<std::string> names;
  for (const auto& t : timers) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"m@sandbox:a", "m@wecom:c", "all@sandbox:a", "all@sandbox:b",
                                             "all@wecom:c", "two@sandbox:b", "two@qq:9"}));
  EXPECT_EQ(timers[1].payload, R"({"schedule":"m","group":"wecom:c"})");

  ctx.mutable_event().type = EventType::kTimer;
  ctx.mutable_event().time = 1767223800000;  // 2026-01-01 07:30 Asia/Shanghai
  ctx.mutable_event().timer = "schedule:playbook:m@wecom:c";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ASSERT_EQ(ctx.actions().size(), 1u);
  EXPECT_EQ(ctx.actions()[0].action.platform, "wecom");
  EXPECT_EQ(ctx.actions()[0].action.group, "c");
  // A group no longer in the schedule, and the one-group shape of a many-group schedule: nothing.
  ctx.mutable_event().timer = "schedule:playbook:m@sandbox:b";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ctx.mutable_event().timer = "schedule:playbook:m";
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_EQ(ctx.actions().size(), 1u);
}

TEST(Schedule, TargetsAreValidated) {
  auto module = MakeScheduleModule();
  auto error = [&](std::string_view target) {
    testing::FakeModuleContext ctx(*module);
    const Status st = ctx.UsePlaybook(std::string(kGroups) + "[[schedules]]\nname = \"m\"\nrule = \"daily 07:30\"\n" +
                                      std::string(target) + "text = \"t\"\n");
    EXPECT_FALSE(st.ok()) << target;
    return st.message();
  };
  EXPECT_THAT(error(""), ::testing::HasSubstr("schedules[0].group: required"));
  EXPECT_THAT(error("group = \"sandbox:a\"\ngroups = \"all\"\n"), ::testing::HasSubstr("give one of"));
  EXPECT_THAT(error("groups = \"some\"\n"), ::testing::HasSubstr("schedules[0].groups: a list"));
  EXPECT_THAT(error("groups = []\n"), ::testing::HasSubstr("must not be empty"));
  EXPECT_THAT(error("groups = [\"sandbox:a\", \"sandbox:a\"]\n"), ::testing::HasSubstr("listed twice"));
  EXPECT_THAT(error("groups = [\"nocolon\"]\n"), ::testing::HasSubstr("is not \"platform:id\""));
  EXPECT_THAT(error("group_type = \"vip\"\n"), ::testing::HasSubstr("\"vip\" is not a group type"));
  EXPECT_THAT(error("group_type = \"industry\"\n"), ::testing::HasSubstr("no [[groups]] entry has type"));
}

}  // namespace
}  // namespace qz
