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

}  // namespace
}  // namespace qz
