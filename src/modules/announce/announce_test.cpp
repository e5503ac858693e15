#include "modules/announce/announce.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPlaybook = R"toml(
[community]
slug = "camp"
name = "成长营"
rules = "不发广告"
[[groups]]
platform = "sandbox"
id = "c1"
name = "一群"
type = "learning"
[[groups]]
platform = "sandbox"
id = "c2"
name = "二群"
type = "learning"
rules = "二群的群规"
[[announcements]]
group_type = "learning"
text = { zh = "欢迎来到{group.name}：{group.rules}", en = "Welcome to {group.name}: {group.rules}" }
)toml";

TEST(Announce, OneOnceTimerPerGroupCarryingAFingerprintOfWhatItDependsOn) {
  auto module = MakeAnnounceModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  const std::vector<StandingTimer> timers = module->StandingTimers(ctx.playbook());
  ASSERT_EQ(timers.size(), 2u);
  EXPECT_EQ(timers[0].name, "0@sandbox:c1");
  EXPECT_EQ(timers[0].rule, "") << "once, when asked for or changed";
  EXPECT_THAT(timers[0].payload, HasSubstr(R"("group":"sandbox:c1")"));
  EXPECT_NE(timers[0].payload, timers[1].payload);

  // The same text with other rules for the group is another announcement.
  const auto& config = *ctx.playbook().Section<AnnounceConfig>("announcements");
  const uint64_t before = AnnouncementFingerprint(config.entries[0], ctx.playbook(), "sandbox", "c1");
  std::string changed(kPlaybook);
  changed.replace(changed.find("不发广告"), std::string("不发广告").size(), "不发广告，不刷屏");
  testing::FakeModuleContext other(*module);
  ASSERT_TRUE(other.UsePlaybook(changed).ok());
  const auto& config2 = *other.playbook().Section<AnnounceConfig>("announcements");
  EXPECT_NE(AnnouncementFingerprint(config2.entries[0], other.playbook(), "sandbox", "c1"), before);
  EXPECT_EQ(AnnouncementFingerprint(config2.entries[0], other.playbook(), "sandbox", "c2"),
            AnnouncementFingerprint(config.entries[0], ctx.playbook(), "sandbox", "c2"))
      << "c2 has rules of its own";
}

TEST(Announce, BadEntriesNameTheirKeys) {
  auto module = MakeAnnounceModule();
  auto error = [&](std::string_view section) { return testing::FakeModuleContext::PlaybookError(*module, section); };
  EXPECT_THAT(error("[[announcements]]\ngroup = \"sandbox:g\"\n"), HasSubstr("announcements[0].text: required"));
  EXPECT_THAT(error("[[announcements]]\ntext = \"x\"\n"), HasSubstr("announcements[0].group: required"));
  EXPECT_THAT(error("[[announcements]]\ngroup = \"sandbox:g\"\ntext = \"{member.name}\"\n"),
              HasSubstr("announcements[0].text"));
  EXPECT_THAT(error("[[announcements]]\ngroup = \"sandbox:g\"\ntext = \"a\"\n[[announcements]]\ngroups = \"all\"\n"
                    "text = \"b\"\n"),
              HasSubstr("announcements[1].groups: group \"sandbox:g\" already has its announcement from announcements[0]"));
  EXPECT_THAT(error("[[announcements]]\ngroup = \"sandbox:g\"\ntext = \"a\"\npin = true\n"),
              HasSubstr("announcements[0].pin"));
  EXPECT_THAT(error("[announcements]\ntext = \"a\"\n"), HasSubstr("announcements"));
}

}  // namespace
}  // namespace qz
