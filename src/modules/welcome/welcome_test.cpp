#include "modules/welcome/welcome.hpp"

#include <gtest/gtest.h>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

constexpr std::string_view kPlaybook = R"toml(
[community]
slug = "camp"
name = "7天成长营"
rules = "不发广告"
[welcome]
text = { zh = "欢迎 {member.name} 加入 {community.name}！{group.rules}", en = "Welcome {member.name}" }
)toml";

TEST(Welcome, GreetsAJoiningMemberWithNameAndRules) {
  auto module = MakeWelcomeModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  ctx.mutable_event().type = EventType::kMemberJoined;
  ctx.mutable_event().group = "g1";
  ctx.SetGroup("g1");
  ctx.SetMember("u1", "alice");
  ASSERT_TRUE(ctx.Run(*module).ok());
  ASSERT_EQ(ctx.actions().size(), 1u);
  EXPECT_EQ(ctx.actions()[0].rule, "welcome");
  EXPECT_EQ(ctx.actions()[0].action.type, ActionType::kSendMessage);
  EXPECT_EQ(ctx.actions()[0].action.group, "g1");
  EXPECT_EQ(ctx.actions()[0].action.text, "欢迎 alice 加入 7天成长营！不发广告");
}

TEST(Welcome, StaffAndOtherEventsAreNotGreeted) {
  auto module = MakeWelcomeModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  ctx.SetMember("u1", "alice");
  ctx.mutable_event().type = EventType::kMessage;
  ASSERT_TRUE(ctx.Run(*module).ok());
  ctx.mutable_event().type = EventType::kMemberJoined;
  ctx.mutable_event().role = Role::kAdmin;
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
}

TEST(Welcome, DisabledWithoutTheSection) {
  auto module = MakeWelcomeModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook("[community]\nslug = \"c\"\n").ok());
  ctx.mutable_event().type = EventType::kMemberJoined;
  ctx.SetMember("u1", "alice");
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
}

TEST(Welcome, SectionErrorsNameTheKey) {
  auto module = MakeWelcomeModule();
  testing::FakeModuleContext ctx(*module);
  const Status st = ctx.UsePlaybook("[community]\nslug = \"c\"\n[welcome]\ntext = \"hi {nope}\"\nx = 1\n");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "welcome.text");
  EXPECT_NE(st.message().find("test.toml:5: welcome.x: unknown key"), std::string::npos)
      << st.message();
}

TEST(Welcome, JoinNamesInChineseAndEnglish) {
  EXPECT_EQ(JoinNames({"小明"}, 1, 20, Language::kZh), "小明");
  EXPECT_EQ(JoinNames({"小明", "小红"}, 2, 20, Language::kZh), "小明、小红");
  EXPECT_EQ(JoinNames({"小明", "小红"}, 30, 2, Language::kZh), "小明、小红 等 30 位新朋友");
  EXPECT_EQ(JoinNames({"Ming", "Hong", "Lin"}, 3, 20, Language::kEn), "Ming, Hong, Lin");
  EXPECT_EQ(JoinNames({"Ming", "Hong"}, 30, 2, Language::kEn), "Ming, Hong and 28 more");
}

TEST(Welcome, StepsAndFollowUpAreValidated) {
  auto module = MakeWelcomeModule();
  auto error = [&](std::string_view extra) {
    testing::FakeModuleContext ctx(*module);
    const Status st = ctx.UsePlaybook(std::string(kPlaybook) + std::string(extra));
    EXPECT_FALSE(st.ok()) << extra;
    return st.message();
  };
  EXPECT_NE(error("follow_up_after = \"24h\"\n").find("welcome.follow_up: required with follow_up_after"),
            std::string::npos);
  EXPECT_NE(error("merge_window = \"soon\"\n").find("welcome.merge_window"), std::string::npos);
  EXPECT_NE(error("[[welcome.steps]]\nafter = \"30s\"\ntext = \"x\"\n").find("welcome.steps[0].after: must be at least 1m"),
            std::string::npos);
  EXPECT_NE(error("[[welcome.steps]]\nafter = \"1d\"\nto = \"all\"\ntext = \"x\"\n").find("welcome.steps[0].to"),
            std::string::npos);
  EXPECT_NE(error("[[welcome.steps]]\nafter = \"1d\"\n").find("welcome.steps[0].text: required"), std::string::npos);
}

}  // namespace
}  // namespace qz
