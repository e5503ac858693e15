#include "modules/courses/courses.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/recurrence.hpp"
#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kGroups = R"toml(
[community]
slug = "camp"
[[groups]]
platform = "sandbox"
id = "a"
name = "1群"
type = "learning"
start = "2026-03-08"
[[groups]]
platform = "sandbox"
id = "b"
type = "learning"
start = "2026-03-15"
[[groups]]
platform = "sandbox"
id = "c"
type = "interest"
)toml";

constexpr std::string_view kCourse = R"toml(
[[courses]]
name = "py.101"
group_type = "learning"
[[courses.sessions]]
title = "开营直播"
at = "2026-03-08 20:00"
[[courses.sessions]]
title = { zh = "第一课", en = "Lesson 1" }
at = "2026-03-10 09:30"
)toml";

std::string Playbook(std::string_view section) { return std::string(kGroups) + std::string(section); }

struct Fixture {
  std::unique_ptr<Module> module;
  testing::FakeModuleContext ctx;
  explicit Fixture(std::unique_ptr<Module> m) : module(std::move(m)), ctx(*module) {}
  Status Use(std::string_view section) { return ctx.UsePlaybook(Playbook(section)); }
  // Fires the module's timer `key` (without "<module>:") at local time `at` (Asia/Shanghai).
  Status Fire(std::string_view key, std::string_view at) {
    ctx.Clear();
    ctx.mutable_event().type = EventType::kTimer;
    ctx.mutable_event().time = *LocalToUtc(at, "Asia/Shanghai");
    ctx.mutable_event().timer = fmt::format("{}:playbook:{}", module->name(), key);
    return ctx.Run(*module);
  }
};

std::vector<std::string> Describe(const std::vector<StandingTimer>& timers) {
  std::vector<std::string> out;
  for (const StandingTimer& t : timers) out.push_back(t.name + " " + t.rule);
  return out;
}

TEST(Courses, OneTimerPerSessionReminderAndGroup) {
  Fixture f(MakeCoursesModule());
  ASSERT_TRUE(f.Use(kCourse).ok());
  const auto timers = f.module->StandingTimers(f.ctx.playbook());
  EXPECT_EQ(Describe(timers), (std::vector<std::string>{
                                  "py.101.0.7d@sandbox:a at 2026-03-01 20:00",
                                  "py.101.0.7d@sandbox:b at 2026-03-01 20:00",
                                  "py.101.0.1d@sandbox:a at 2026-03-07 20:00",
                                  "py.101.0.1d@sandbox:b at 2026-03-07 20:00",
                                  "py.101.0.1h@sandbox:a at 2026-03-08 19:00",
                                  "py.101.0.1h@sandbox:b at 2026-03-08 19:00",
                                  "py.101.1.7d@sandbox:a at 2026-03-03 09:30",
                                  "py.101.1.7d@sandbox:b at 2026-03-03 09:30",
                                  "py.101.1.1d@sandbox:a at 2026-03-09 09:30",
                                  "py.101.1.1d@sandbox:b at 2026-03-09 09:30",
                                  "py.101.1.1h@sandbox:a at 2026-03-10 08:30",
                                  "py.101.1.1h@sandbox:b at 2026-03-10 08:30",
                              }));
  EXPECT_EQ(timers[0].payload, R"({"course":"py.101","session":0,"remind":"7d","group":"sandbox:a"})");
}

TEST(Courses, RemindersAcrossMonthsYearsAndInMinutes) {
  Fixture f(MakeCoursesModule());
  ASSERT_TRUE(f.Use(R"toml(
[[courses]]
name = "n"
group = "sandbox:x"
remind = ["30d", "90m", "1h30m", "0"]
[[courses.sessions]]
title = "t"
at = "2027-01-01 00:30:15"
)toml")
                  .ok() == false);  // 90m and 1h30m are the same reminder
  ASSERT_TRUE(f.Use(R"toml(
[[courses]]
name = "n"
group = "sandbox:x"
remind = ["30d", "90m", "at"]
start_text = "开始啦"
[[courses.sessions]]
title = "t"
at = "2027-01-01 00:30:15"
)toml")
                  .ok());
  EXPECT_EQ(Describe(f.module->StandingTimers(f.ctx.playbook())),
            (std::vector<std::string>{"n.0.30d@sandbox:x at 2026-12-02 00:30:15",
                                      "n.0.90m@sandbox:x at 2026-12-31 23:00:15",
                                      "n.0.start@sandbox:x at 2027-01-01 00:30:15"}));
  EXPECT_EQ(ReminderTag(0), "start");
  EXPECT_EQ(ReminderTag(86400 * 7), "7d");
  EXPECT_EQ(ReminderTag(7200), "2h");
  EXPECT_EQ(ReminderTag(45), "45s");
  EXPECT_EQ(LocalMinus("2026-03-01 00:10", 86400), "2026-02-28 00:10");
  EXPECT_EQ(LocalMinus("2028-03-01 00:10", 86400), "2028-02-29 00:10");
  EXPECT_EQ(LocalMinus("2026-03-01 00:10", -3 * 86400), "2026-03-04 00:10");
}

TEST(Courses, PostsTheReminderWithTheSessionTitleAndLocalTime) {
  Fixture f(MakeCoursesModule());
  ASSERT_TRUE(f.Use(kCourse).ok());
  ASSERT_TRUE(f.Fire("py.101.0.7d@sandbox:a", "2026-03-01 20:00").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  const Action& a = f.ctx.actions()[0].action;
  EXPECT_EQ(a.type, ActionType::kSendMessage);
  EXPECT_EQ(a.platform, "sandbox");
  EXPECT_EQ(a.group, "a");
  EXPECT_EQ(a.text, "【提醒】《开营直播》将于 3月8日 20:00 开始");
  EXPECT_EQ(f.ctx.actions()[0].rule, "courses.py.101");
  ASSERT_TRUE(f.Fire("py.101.1.1h@sandbox:b", "2026-03-10 08:30").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "【提醒】《第一课》将于 3月10日 09:30 开始");
}

TEST(Courses, EnglishAndCustomTexts) {
  Fixture f(MakeCoursesModule());
  ASSERT_TRUE(f.ctx.UsePlaybook(R"toml(
[community]
slug = "camp"
language = "en"
[[courses]]
name = "c"
group = "sandbox:g"
remind = ["1d", "0"]
[[courses.sessions]]
title = { zh = "第一课", en = "Lesson 1" }
at = "2026-03-10 09:30"
)toml")
                  .ok());
  ASSERT_TRUE(f.Fire("c.0.1d@sandbox:g", "2026-03-09 09:30").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "Reminder: Lesson 1 starts on Mar 10, 09:30.");
  ASSERT_TRUE(f.Fire("c.0.start@sandbox:g", "2026-03-10 09:30").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "Lesson 1 starts now!");

  ASSERT_TRUE(f.Use(R"toml(
[[courses]]
name = "c"
group = "sandbox:a"
remind = ["1d", "0"]
remind_text = { zh = "{group.name} 的同学们，明天上课，{date} 提醒", en = "Class tomorrow" }
start_text = "上课啦"
[[courses.sessions]]
title = "第一课"
at = "2026-03-10 09:30"
)toml")
                  .ok());
  ASSERT_TRUE(f.Fire("c.0.1d@sandbox:a", "2026-03-09 09:30").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "1群 的同学们，明天上课，2026-03-09 提醒\n《第一课》3月10日 09:30");
  ASSERT_TRUE(f.Fire("c.0.start@sandbox:a", "2026-03-10 09:30").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "上课啦\n《第一课》3月10日 09:30");
}

TEST(Courses, StaleOrForeignTimersPostNothing) {
  Fixture f(MakeCoursesModule());
  ASSERT_TRUE(f.Use(kCourse).ok());
  for (std::string_view key : {"py.101.0.7d@sandbox:c",    // a group not targeted
                               "py.101.2.7d@sandbox:a",    // no such session
                               "py.101.0.2d@sandbox:a",    // no such reminder
                               "other.0.7d@sandbox:a",     // no such course
                               "py.101.0.7d", "garbage"}) {
    ASSERT_TRUE(f.Fire(key, "2026-03-01 20:00").ok());
    EXPECT_TRUE(f.ctx.actions().empty()) << key;
  }
  // Another module's timer.
  f.ctx.Clear();
  f.ctx.mutable_event().type = EventType::kTimer;
  f.ctx.mutable_event().time = *LocalToUtc("2026-03-01 20:00", "Asia/Shanghai");
  f.ctx.mutable_event().timer = "schedule:playbook:py.101.0.7d@sandbox:a";
  ASSERT_TRUE(f.ctx.Run(*f.module).ok());
  EXPECT_TRUE(f.ctx.actions().empty());
}

Status ParseCourses(std::string_view section) {
  Fixture f(MakeCoursesModule());
  return f.Use(section);
}

void ExpectProblem(std::string_view section, std::string_view field, std::string_view part) {
  const Status st = ParseCourses(section);
  ASSERT_FALSE(st.ok()) << section;
  EXPECT_EQ(st.field(), field) << st.message();
  EXPECT_THAT(st.message(), HasSubstr(part));
}

TEST(Courses, ErrorsNameTheKeyPathAndLine) {
  const std::string head = "[[courses]]\nname = \"c\"\ngroup = \"sandbox:a\"\n";
  const std::string session = "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-03-08 20:00\"\n";
  EXPECT_TRUE(ParseCourses(head + session).ok());
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-02-30 20:00\"\n",
                "courses[0].sessions[0].at", "\"2026-02-30 20:00\": date 2026-02-30 is not a calendar date");
  const Status line = ParseCourses(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-02-30 20:00\"\n");
  EXPECT_THAT(line.message(), HasSubstr("test.toml:24: courses[0].sessions[0].at"));
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-03-08 25:00\"\n",
                "courses[0].sessions[0].at", "time 25:00 out of range");
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-03-08T20:00\"\n",
                "courses[0].sessions[0].at", "is not a local date and time like");
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"20:00\"\n", "courses[0].sessions[0].at",
                "is not a local date and time like");
  ExpectProblem(head + "[[courses.sessions]]\nat = \"2026-03-08 20:00\"\n", "courses[0].sessions[0].title",
                "required");
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\n", "courses[0].sessions[0].at", "required");
  ExpectProblem(head + "[[courses.sessions]]\ntitle = \"t\"\nat = \"2026-03-08 20:00\"\nroom = 1\n",
                "courses[0].sessions[0].room", "unknown key (expected one of: title, at)");
  ExpectProblem(head, "courses[0].sessions", "required");
  ExpectProblem(head + "remind = [\"7d\", \"2x\"]\n" + session, "courses[0].remind", "\"2x\"");
  ExpectProblem(head + "remind = [\"1d\", \"24h\"]\n" + session, "courses[0].remind", "listed twice (as 1d)");
  ExpectProblem(head + "remind = []\n" + session, "courses[0].remind", "must not be empty");
  ExpectProblem(head + "remind = [\"400d\"]\n" + session, "courses[0].remind", "more than 366 days");
  ExpectProblem(head + "start_text = \"go\"\n" + session, "courses[0].start_text", "add \"0\" to remind");
  ExpectProblem(head + "remind_text = \"{title}\"\n" + session, "courses[0].remind_text",
                "unknown template variable {title}");
  ExpectProblem(head + "remind_txt = \"x\"\n" + session, "courses[0].remind_txt", "unknown key");
  ExpectProblem("[[courses]]\nname = \"c\"\ngroup_type = \"core_user\"\n" + session, "courses[0].group_type",
                "no [[groups]] entry has type \"core_user\"");
  ExpectProblem("[[courses]]\nname = \"c\"\ngroup_type = \"vip\"\n" + session, "courses[0].group_type",
                "is not a group type");
  ExpectProblem("[[courses]]\nname = \"课程\"\ngroup = \"sandbox:a\"\n" + session, "courses[0].name",
                "is not a course name");
  ExpectProblem(head + session + head + session, "courses[1].name",
                "duplicate course name \"c\" (first used by courses[0], line 20)");
  ExpectProblem("[courses]\nname = \"c\"\n", "courses", "an array of tables ([[courses]])");
}

// ---------------------------------------------------------------------------------------------

constexpr std::string_view kTimeline = R"toml(
[[timelines]]
name = "sop"
group_type = "learning"
[[timelines.steps]]
day = -7
at = "10:00"
text = "{group.name}：下周开课，请完成预习"
[[timelines.steps]]
day = -1
at = "20:00"
task = "拉群：把报名学员拉进群"
[[timelines.steps]]
day = 0
at = "20:00"
text = "开班仪式"
[[timelines.steps]]
day = 2
at = "09:00"
text = { zh = "第三天打卡", en = "Day 3 check-in" }
)toml";

TEST(Timelines, OneTimerPerStepAndGroupFromItsStartDate) {
  Fixture f(MakeTimelinesModule());
  ASSERT_TRUE(f.Use(kTimeline).ok());
  const auto timers = f.module->StandingTimers(f.ctx.playbook());
  EXPECT_EQ(Describe(timers), (std::vector<std::string>{
                                  "sop.0@sandbox:a at 2026-03-01 10:00",
                                  "sop.0@sandbox:b at 2026-03-08 10:00",
                                  "sop.1@sandbox:a at 2026-03-07 20:00",
                                  "sop.1@sandbox:b at 2026-03-14 20:00",
                                  "sop.2@sandbox:a at 2026-03-08 20:00",
                                  "sop.2@sandbox:b at 2026-03-15 20:00",
                                  "sop.3@sandbox:a at 2026-03-10 09:00",
                                  "sop.3@sandbox:b at 2026-03-17 09:00",
                              }));
  EXPECT_EQ(timers[0].payload, R"({"timeline":"sop","step":0,"group":"sandbox:a"})");
}

TEST(Timelines, PostsStepsAndOpensTasks) {
  Fixture f(MakeTimelinesModule());
  ASSERT_TRUE(f.Use(kTimeline).ok());
  ASSERT_TRUE(f.Fire("sop.0@sandbox:a", "2026-03-01 10:00").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.type, ActionType::kSendMessage);
  EXPECT_EQ(f.ctx.actions()[0].action.group, "a");
  EXPECT_EQ(f.ctx.actions()[0].action.text, "1群：下周开课，请完成预习");
  EXPECT_EQ(f.ctx.actions()[0].rule, "timelines.sop");
  ASSERT_TRUE(f.Fire("sop.1@sandbox:b", "2026-03-14 20:00").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.type, ActionType::kOpenTask);
  EXPECT_EQ(f.ctx.actions()[0].action.text,
            "timeline sop day -1 (2026-03-14 20:00) for group b (sandbox:b): 拉群：把报名学员拉进群");
  ASSERT_TRUE(f.Fire("sop.9@sandbox:a", "2026-03-14 20:00").ok());
  EXPECT_TRUE(f.ctx.actions().empty());
  ASSERT_TRUE(f.Fire("sop.3@sandbox:a", "2026-03-10 09:00").ok());
  ASSERT_EQ(f.ctx.actions().size(), 1u);
  EXPECT_EQ(f.ctx.actions()[0].action.text, "第三天打卡");
}

Status ParseTimelines(std::string_view section) {
  Fixture f(MakeTimelinesModule());
  return f.Use(section);
}

void ExpectTimelineProblem(std::string_view section, std::string_view field, std::string_view part) {
  const Status st = ParseTimelines(section);
  ASSERT_FALSE(st.ok()) << section;
  EXPECT_EQ(st.field(), field) << st.message();
  EXPECT_THAT(st.message(), HasSubstr(part));
}

TEST(Timelines, ErrorsNameTheKeyPathAndLine) {
  const std::string head = "[[timelines]]\nname = \"t\"\ngroup = \"sandbox:a\"\n";
  const std::string step = "[[timelines.steps]]\nday = -1\nat = \"20:00\"\ntext = \"x\"\n";
  EXPECT_TRUE(ParseTimelines(head + step).ok());
  ExpectTimelineProblem("[[timelines]]\nname = \"t\"\ngroup = \"sandbox:c\"\n" + step, "timelines[0].group",
                        "group sandbox:c has no start date");
  ExpectTimelineProblem("[[timelines]]\nname = \"t\"\ngroups = \"all\"\n" + step, "timelines[0].groups",
                        "group sandbox:c has no start date");
  ExpectTimelineProblem("[[timelines]]\nname = \"t\"\ngroup = \"sandbox:zz\"\n" + step, "timelines[0].group",
                        "group sandbox:zz has no start date");
  ExpectTimelineProblem("[[timelines]]\nname = \"t\"\ngroup_type = \"vip\"\n" + step, "timelines[0].group_type",
                        "is not a group type");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"20:00\"\n", "timelines[0].steps[0].text",
                        "required");
  const Status line = ParseTimelines(head + "[[timelines.steps]]\nday = 1\nat = \"20:00\"\n");
  EXPECT_THAT(line.message(), HasSubstr("test.toml:22: timelines[0].steps[0].text: required"));
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"20:00\"\ntext = \"x\"\ntask = \"y\"\n",
                        "timelines[0].steps[0].task", "give one of text");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"8pm\"\ntext = \"x\"\n",
                        "timelines[0].steps[0].at", "is not a local time like \"20:00\"");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"24:00\"\ntext = \"x\"\n",
                        "timelines[0].steps[0].at", "is not a local time");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nat = \"20:00\"\ntext = \"x\"\n", "timelines[0].steps[0].day",
                        "required");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 400\nat = \"20:00\"\ntext = \"x\"\n",
                        "timelines[0].steps[0].day", "");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"20:00\"\ntext = \"{member.name}\"\n",
                        "timelines[0].steps[0].text", "{member.name} cannot be used");
  ExpectTimelineProblem(head + "[[timelines.steps]]\nday = 1\nat = \"20:00\"\ntext = \"x\"\nwhen = 1\n",
                        "timelines[0].steps[0].when", "unknown key (expected one of: day, at, text, task)");
  ExpectTimelineProblem(head, "timelines[0].steps", "required");
  ExpectTimelineProblem(head + step + head + step, "timelines[1].name", "duplicate timeline name \"t\"");
}

TEST(Groups, StartIsALocalDate) {
  Fixture f(MakeTimelinesModule());
  const Status st = f.ctx.UsePlaybook(
      "[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"a\"\nstart = \"2026-02-29\"\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "groups[0].start");
  EXPECT_THAT(st.message(), HasSubstr("test.toml:6: groups[0].start: \"2026-02-29\" is not a date"));
  ASSERT_TRUE(f.ctx.UsePlaybook(
                       "[community]\nslug = \"c\"\n[[groups]]\nplatform = \"sandbox\"\nid = \"a\"\nstart = \"2028-02-29\"\n")
                  .ok());
  EXPECT_EQ(f.ctx.playbook().groups[0].start, "2028-02-29");
}

}  // namespace
}  // namespace qz
