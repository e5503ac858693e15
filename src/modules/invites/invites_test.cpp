#include "modules/invites/invites.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPlaybook = R"toml(
[community]
slug = "camp"
[[groups]]
platform = "sandbox"
id = "c1"
type = "core_user"
[[groups]]
platform = "sandbox"
id = "c2"
type = "core_user"
capacity = 2
[invites]
base_url = "https://qz.example.com/"
[[invites.live]]
code = "camp"
name = "7天成长营"
group_type = "core_user"
overflow = "7天成长营·{n}群"
)toml";

TEST(Invites, LiveCodeFillsGroupsInOrderThenAsksForTheNextOverflowGroup) {
  auto module = MakeInvitesModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  const auto& config = *ctx.playbook().Section<InvitesConfig>("invites");
  EXPECT_EQ(config.base_url, "https://qz.example.com");
  const LiveCode* live = config.FindLive("camp");
  ASSERT_NE(live, nullptr);
  EXPECT_EQ(live->groups, (std::vector<std::string>{"sandbox:c1", "sandbox:c2"}));
  std::map<std::string, int64_t> members;
  auto count = [&](std::string_view p, std::string_view id) { return members[std::string(p) + ":" + std::string(id)]; };
  EXPECT_EQ(ChooseGroup(*live, ctx.playbook(), count).group, "sandbox:c1");
  members["sandbox:c1"] = 99;  // core-user groups hold 100 by default
  EXPECT_EQ(ChooseGroup(*live, ctx.playbook(), count).group, "sandbox:c1");
  members["sandbox:c1"] = 100;
  EXPECT_EQ(ChooseGroup(*live, ctx.playbook(), count).group, "sandbox:c2");
  members["sandbox:c2"] = 2;
  const LiveChoice full = ChooseGroup(*live, ctx.playbook(), count);
  EXPECT_EQ(full.group, "");
  EXPECT_EQ(full.overflow_n, 3);
  EXPECT_EQ(full.overflow, "7天成长营·3群");
}

TEST(Invites, BadSectionsNameTheirKeys) {
  auto module = MakeInvitesModule();
  auto error = [&](std::string_view section) { return testing::FakeModuleContext::PlaybookError(*module, section); };
  EXPECT_THAT(error("[invites]\nbase_url = \"ftp://x\"\n"), HasSubstr("invites.base_url"));
  EXPECT_THAT(error("[invites]\nbase_url = \"https://x\\r\\nSet-Cookie: a\"\n"), HasSubstr("invites.base_url"));
  EXPECT_THAT(error("[[invites.live]]\ncode = \"a b\"\ngroups = \"all\"\n"), HasSubstr("invites.live[0].code"));
  EXPECT_THAT(error("[[invites.live]]\ncode = \"abc\"\ngroups = \"all\"\noverflow = \"新群\"\n"),
              HasSubstr("invites.live[0].overflow: must contain {n}"));
  EXPECT_THAT(error("[[invites.live]]\ncode = \"abc\"\n"), HasSubstr("invites.live[0].group: required"));
  EXPECT_THAT(error("[[invites.live]]\ncode = \"abc\"\ngroups = \"all\"\n[[invites.live]]\ncode = \"abc\"\n"
                    "groups = \"all\"\n"),
              HasSubstr("duplicate live code \"abc\""));
}

TEST(Invites, KeywordsMatchAfterNormalisationInOrderAndByTag) {
  auto module = MakeInvitesModule();
  testing::FakeModuleContext ctx(*module);
  std::string playbook(kPlaybook);
  playbook.insert(playbook.find("[[invites.live]]"), "lobbies = [\"sandbox:c2\"]\n");
  ASSERT_TRUE(ctx.UsePlaybook(playbook + R"toml(
[[invites.keywords]]
keywords = ["入群", "Join"]
tag = "region:上海"
group = "sandbox:c2"
[[invites.keywords]]
keywords = ["入群", "join"]
live = "camp"
)toml").ok());
  const auto& config = *ctx.playbook().Section<InvitesConfig>("invites");
  EXPECT_EQ(config.lobbies, (std::vector<std::string>{"sandbox:c2"}));
  ASSERT_EQ(config.keywords.size(), 2U);
  auto none = [](std::string_view) { return false; };
  auto shanghai = [](std::string_view tag) { return tag == "region:上海"; };
  EXPECT_EQ(MatchKeyword(config, "入群", shanghai), &config.keywords[0]);
  EXPECT_EQ(MatchKeyword(config, "入群", none), &config.keywords[1]);
  EXPECT_EQ(MatchKeyword(config, " 入 群！", none), &config.keywords[1]);  // spaced, punctuated
  EXPECT_EQ(MatchKeyword(config, "JOIN", none), &config.keywords[1]);     // case folded
  EXPECT_EQ(MatchKeyword(config, "入群了吗", none), nullptr);              // a keyword is the whole message
  EXPECT_EQ(MatchKeyword(config, "hello", shanghai), nullptr);
}

TEST(Invites, BadKeywordEntriesNameTheirKeys) {
  auto module = MakeInvitesModule();
  auto error = [&](std::string_view section) { return testing::FakeModuleContext::PlaybookError(*module, section); };
  EXPECT_THAT(error("[[invites.keywords]]\ngroup = \"sandbox:g\"\n"), HasSubstr("invites.keywords[0].keywords: required"));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = []\ngroup = \"sandbox:g\"\n"),
              HasSubstr("invites.keywords[0].keywords: must not be empty"));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = [\"a\"]\nlive = \"nope\"\n"),
              HasSubstr("invites.keywords[0].live: no [[invites.live]] entry has code \"nope\""));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = [\"a\"]\n"), HasSubstr("invites.keywords[0].group: required"));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = [\"a\"]\ngroup = \"g\"\n"),
              HasSubstr("invites.keywords[0].group: \"g\" is not \"platform:id\""));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = [\"a\"]\ngroup = \"sandbox:g\"\nreply = \"{nope}\"\n"),
              HasSubstr("invites.keywords[0].reply"));
  EXPECT_THAT(error("[invites]\nlobbies = [\"lobby\"]\n"), HasSubstr("invites.lobbies"));
  EXPECT_THAT(error("[[invites.keywords]]\nkeywords = [\"a\"]\ngroup = \"sandbox:g\"\ncolour = 1\n"),
              HasSubstr("invites.keywords[0].colour"));
}

TEST(Invites, JoinsAreCountedOncePerMemberAndCode) {
  auto module = MakeInvitesModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(kPlaybook).ok());
  ctx.mutable_event().type = EventType::kCommand;
  ctx.mutable_event().command = "invites.create";
  ctx.mutable_event().payload = R"({"code":"poster1","group":"sandbox:c1","channel":"海报","operator":"ops"})";
  ASSERT_TRUE(ctx.Run(*module).ok());
  ctx.mutable_event() = Event{};
  ctx.mutable_event().type = EventType::kMemberJoined;
  ctx.mutable_event().platform = "sandbox";
  ctx.mutable_event().group = "c1";
  ctx.mutable_event().via_code = "poster1";
  ctx.SetMember("u1", "小明");
  ASSERT_TRUE(ctx.Run(*module).ok());
  ASSERT_TRUE(ctx.Run(*module).ok());  // the same member again
  ctx.SetMember("u2", "小红");
  ASSERT_TRUE(ctx.Run(*module).ok());
  const auto row = ctx.rows().find({"codes", "[\"poster1\"]"});
  ASSERT_NE(row, ctx.rows().end());
  EXPECT_THAT(row->second, HasSubstr("\"joins\":2"));
  EXPECT_THAT(row->second, HasSubstr("\"channel\":\"海报\""));
}

}  // namespace
}  // namespace qz
