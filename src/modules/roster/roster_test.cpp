#include "modules/roster/roster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;

constexpr TimeMs kHour = 3600'000;

// Ends on line 5: a section after it starts on line 6.
constexpr std::string_view kCommon = R"toml([community]
slug = "c"
[[groups]]
platform = "sandbox"
id = "g1"
)toml";

std::string Playbook(std::string_view section) { return std::string(kCommon) + std::string(section); }

const RosterConfig& Config(testing::FakeModuleContext& ctx) {
  return *ctx.playbook().Section<RosterConfig>("roster");
}

std::string Problems(std::string_view section) {
  auto module = MakeRosterModule();
  testing::FakeModuleContext ctx(*module);
  const Status st = ctx.UsePlaybook(Playbook(section));
  EXPECT_FALSE(st.ok()) << section;
  return st.message();
}

TEST(RosterSection, OffWithoutTheSectionOnWithIt) {
  auto module = MakeRosterModule();
  testing::FakeModuleContext none(*module);
  ASSERT_TRUE(none.UsePlaybook(Playbook("")).ok());
  EXPECT_FALSE(Config(none).enabled);
  testing::FakeModuleContext bare(*module);
  ASSERT_TRUE(bare.UsePlaybook(Playbook("[roster]\n")).ok());
  EXPECT_TRUE(Config(bare).enabled);
  EXPECT_EQ(Config(bare).sync_every_s, 86400);
  testing::FakeModuleContext set(*module);
  ASSERT_TRUE(set.UsePlaybook(Playbook("[roster]\nenabled = false\nsync_every = \"6h\"\n")).ok());
  EXPECT_FALSE(Config(set).enabled);
  EXPECT_EQ(Config(set).sync_every_s, 6 * 3600);
}

TEST(RosterSection, BadValuesNameTheField) {
  const std::string message = Problems("[roster]\nenabled = \"yes\"\nsync_every = \"30m\"\ncolour = 1\n");
  EXPECT_THAT(message, HasSubstr("test.toml:7: roster.enabled"));
  EXPECT_THAT(message, HasSubstr("test.toml:8: roster.sync_every: must be from 1h to 30d"));
  EXPECT_THAT(message, HasSubstr("test.toml:9: roster.colour: unknown key"));
  EXPECT_THAT(Problems("[roster]\nsync_every = \"31d\"\n"), HasSubstr("roster.sync_every: must be from 1h to 30d"));
  EXPECT_THAT(Problems("[roster]\nsync_every = \"often\"\n"), HasSubstr("test.toml:7: roster.sync_every"));
  EXPECT_THAT(Problems("roster = 1\n"), HasSubstr("roster"));
}

class RosterFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(ctx_.UsePlaybook(Playbook("[roster]\n")).ok());
    ctx_.SetGroup("g1");
    ctx_.SetMember("u1", "Ann");
    start_ = ctx_.event().time;
  }
  // Runs an event of `type` at start + `at`; returns how many syncs it asked for.
  size_t At(TimeMs at, EventType type = EventType::kMessage) {
    ctx_.Clear();
    Event& e = ctx_.mutable_event();
    e.id = "sandbox:m:" + std::to_string(++n_);
    e.type = type;
    e.time = start_ + at;
    EXPECT_TRUE(ctx_.Run(*module_).ok());
    size_t syncs = 0;
    for (const auto& a : ctx_.actions()) {
      EXPECT_EQ(a.action.type, ActionType::kSyncMembers);
      EXPECT_EQ(a.rule, "roster.sync");
      EXPECT_EQ(a.action.platform, "sandbox");
      EXPECT_EQ(a.action.group, "g1");
      ++syncs;
    }
    return syncs;
  }
  std::optional<RosterSyncedRow> Row() { return ctx_.Find(RosterSyncedRow{.group = ctx_.group()->id}); }

  std::unique_ptr<Module> module_ = MakeRosterModule();
  testing::FakeModuleContext ctx_{*module_};
  TimeMs start_ = 0;
  int n_ = 0;
};

TEST_F(RosterFlow, FirstSightThenOnceAPeriod) {
  EXPECT_EQ(At(0, EventType::kMemberJoined), 1u);
  ASSERT_TRUE(Row());
  EXPECT_EQ(Row()->last_sync, start_);
  EXPECT_EQ(Row()->group_ref, "g1");
  EXPECT_EQ(At(kHour), 0u);
  EXPECT_EQ(At(24 * kHour - 1), 0u);
  EXPECT_EQ(At(24 * kHour), 1u);
  EXPECT_EQ(Row()->last_sync, start_ + 24 * kHour);
  EXPECT_EQ(At(30 * kHour, EventType::kMemberSynced), 0u);  // the answer comes at once
  // An event from before the last sync (out of order) asks nothing.
  EXPECT_EQ(At(-5 * kHour), 0u);
  EXPECT_EQ(At(48 * kHour, EventType::kJoinRequest), 1u);
}

TEST_F(RosterFlow, NotForSystemEventsOrWhenOff) {
  for (EventType system : {EventType::kTimer, EventType::kActionDone, EventType::kActionFailed,
                           EventType::kPlaybookApplied, EventType::kGroupBound, EventType::kBotAdded}) {
    EXPECT_EQ(At(0, system), 0u) << EventTypeName(system);
  }
  EXPECT_FALSE(Row());
  ASSERT_TRUE(ctx_.UsePlaybook(Playbook("[roster]\nenabled = false\n")).ok());
  EXPECT_EQ(At(0), 0u);
  EXPECT_FALSE(Row());
  ASSERT_TRUE(ctx_.UsePlaybook(Playbook("[roster]\nsync_every = \"2h\"\n")).ok());
  EXPECT_EQ(At(0), 1u);
  EXPECT_EQ(At(2 * kHour - 1), 0u);
  EXPECT_EQ(At(2 * kHour), 1u);
}

TEST(RosterPrivateChat, IsNoGroupToSync) {
  auto module = MakeRosterModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(Playbook("[roster]\n")).ok());
  ctx.SetMember("u1", "Ann");  // no SetGroup: a message to the bot
  ctx.mutable_event().type = EventType::kMessage;
  ASSERT_TRUE(IsDirectMessage(ctx.event()));
  ASSERT_TRUE(ctx.Run(*module).ok());
  EXPECT_TRUE(ctx.actions().empty());
  EXPECT_TRUE(ctx.rows().empty());
}

}  // namespace
}  // namespace qz
