// The moderation module over a fake context: each signal, the ladder, decay, exemptions, dry
// run, the blacklist, undo/confirm, appeals, and the config's validation. Behaviour through the
// real pipeline is in tests/scenarios/moderation/.
#include "modules/moderation/moderation.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "modules/moderation/config.hpp"
#include "modules/moderation/tables.hpp"
#include "testing/fake_module_context.hpp"

namespace qz::moderation {
namespace {

constexpr std::string_view kPlaybook = R"(
[community]
slug = "c"
rules = "1. 不发广告"
[moderation]
)";

constexpr std::string_view kAd = "出元宝，要的加 薇 信 13812345678";

class ModerationTest : public ::testing::Test {
 protected:
  void Use(std::string_view extra = {}, GroupType type = GroupType::kUnspecified) {
    ASSERT_TRUE(ctx_.UsePlaybook(std::string(kPlaybook) + std::string(extra)).ok());
    ctx_.SetMember("u1", "alice");
    ctx_.SetGroup("g1", type);
  }
  // Posts `text` as message `id` at `minutes` after the start.
  void Say(std::string_view text, std::string_view id = "m1", int64_t minutes = 0) {
    Event& e = ctx_.mutable_event();
    e.type = EventType::kMessage;
    e.kind = MessageKind::kText;
    e.id = std::string(id);
    e.text = std::string(text);
    e.time = kStart + minutes * 60'000;
    ctx_.Clear();
    ASSERT_TRUE(ctx_.Run(*module_).ok());
  }
  std::vector<ActionType> Types() const {
    std::vector<ActionType> out;
    for (const auto& a : ctx_.actions()) out.push_back(a.action.type);
    return out;
  }
  std::optional<DecisionRow> Decision(int64_t id) const { return ctx_.Find(DecisionRow{.id = id}); }
  void Command(std::string_view verb, int64_t id) {
    Event& e = ctx_.mutable_event();
    e.type = EventType::kCommand;
    e.command = fmt::format("moderation.{}", verb);
    e.payload = fmt::format(R"({{"decision":{},"operator":"ops"}})", id);
    ctx_.Clear();
    ASSERT_TRUE(ctx_.Run(*module_).ok());
  }

  static constexpr TimeMs kStart = 1767225600000;
  std::unique_ptr<Module> module_ = MakeModerationModule();
  testing::FakeModuleContext ctx_{*module_};
};

TEST_F(ModerationTest, OffWithoutASection) {
  ASSERT_TRUE(ctx_.UsePlaybook("[community]\nslug = \"c\"\n").ok());
  ctx_.SetMember("u1", "alice");
  ctx_.SetGroup("g1");
  Say(kAd);
  EXPECT_TRUE(ctx_.actions().empty());
  EXPECT_TRUE(ctx_.rows().empty());
}

TEST_F(ModerationTest, AnAdWithAContactIsDeletedAndWarnedWithTheRuleAndQuoted) {
  Use();
  Say(kAd);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kDeleteMessage, ActionType::kWarn}));
  EXPECT_EQ(ctx_.actions()[0].action.reply_to, "m1");
  EXPECT_EQ(ctx_.actions()[0].rule, "moderation.text");
  EXPECT_NE(ctx_.actions()[1].action.text.find("不发广告"), std::string::npos);
  auto d = Decision(1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->signal, "text");
  EXPECT_EQ(d->status, "applied");
  EXPECT_EQ(d->strikes, 1);
  EXPECT_EQ(d->actions, "delete,warn");
  EXPECT_EQ(d->text, kAd);
  // The quotes are spans of the original text, disguise included.
  EXPECT_NE(d->quotes.find("13812345678"), std::string::npos) << d->quotes;
  EXPECT_GE(d->score, 1.0);
}

TEST_F(ModerationTest, OrdinaryChatIsLeftAlone) {
  Use();
  for (std::string_view text : {"今天的作业什么时候交？", "我们一起去吃饭吧", "明天十一点开会",
                                "see you at the meetup tomorrow", "这把打得不错，下次再约"}) {
    Say(text);
    EXPECT_TRUE(ctx_.actions().empty()) << text;
  }
}

TEST_F(ModerationTest, TheLadderEscalatesAndStrikesDecay) {
  Use("strike_decay = \"7d\"\n");
  Say(kAd, "m1", 0);
  Say(kAd, "m2", 1);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kDeleteMessage, ActionType::kWarn,
                                              ActionType::kMute}));
  EXPECT_EQ(ctx_.actions()[2].action.duration_s, 3600);
  Say(kAd, "m3", 2);
  EXPECT_EQ(ctx_.actions()[2].action.duration_s, 86400);
  Say(kAd, "m4", 3);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kDeleteMessage, ActionType::kRemoveMember,
                                              ActionType::kSetTag}));
  EXPECT_EQ(ctx_.actions()[2].action.tag, kBlacklistTag);  // for the rest of the community to see
  EXPECT_FALSE(ctx_.actions()[2].action.remove_tag);
  EXPECT_TRUE(ctx_.Find(BlacklistRow{.member = ctx_.member()->id}).has_value());
  EXPECT_EQ(Decision(4)->strikes, 4);
  // 15 days later two strikes have decayed: the next one is the third rung again.
  ctx_.Erase(BlacklistRow{.member = ctx_.member()->id});
  Say(kAd, "m5", 15 * 24 * 60);
  EXPECT_EQ(Decision(5)->strikes, 3);
  EXPECT_EQ(ctx_.actions().back().action.duration_s, 86400);
}

TEST_F(ModerationTest, StaffListedMembersAndHighLevelsAreExempt) {
  Use("exempt_members = [\"sandbox:u2\"]\nexempt_min_points = 100\n");
  ctx_.mutable_event().role = Role::kAdmin;
  Say(kAd);
  EXPECT_TRUE(ctx_.actions().empty());
  ctx_.mutable_event().role.reset();
  ctx_.SetMember("u2", "bob");
  Say(kAd);
  EXPECT_TRUE(ctx_.actions().empty());
  ctx_.SetMember("u3", "carol");
  Say(kAd);
  EXPECT_FALSE(ctx_.actions().empty());
}

TEST_F(ModerationTest, DryRunDecidesAndRecordsButActsOnNothing) {
  Use("dry_run = true\n");
  Say(kAd);
  EXPECT_TRUE(ctx_.actions().empty());
  auto d = Decision(1);
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->dry_run);
  EXPECT_EQ(d->status, "dry_run");
  EXPECT_EQ(d->actions, "delete,warn");
  EXPECT_EQ(ctx_.Find(StandingRow{.member = ctx_.member()->id}).value_or(StandingRow{}).strikes, 0);
}

TEST_F(ModerationTest, ForbiddenKindsFollowTheGroupType) {
  Use("[moderation.learning]\nforbid_kinds = [\"link\", \"redpacket\"]\n", GroupType::kLearning);
  ctx_.mutable_event().kind = MessageKind::kRedpacket;
  Event& e = ctx_.mutable_event();
  e.type = EventType::kMessage;
  e.id = "rp";
  e.text = "";
  ASSERT_TRUE(ctx_.Run(*module_).ok());
  ASSERT_TRUE(Decision(1).has_value());
  EXPECT_EQ(Decision(1)->signal, "kind");
  EXPECT_EQ(Decision(1)->category, "redpacket");
}

TEST_F(ModerationTest, FloodCountsOnlyCloseMessages) {
  Use("[moderation.flood]\nmessages = 3\nwindow = \"10s\"\n");
  ctx_.SetPreviousMessageTime(0);
  Say("hi", "a", 0);
  ctx_.SetPreviousMessageTime(kStart);
  Event& e = ctx_.mutable_event();
  for (int i = 1; i <= 2; ++i) {
    e.type = EventType::kMessage;
    e.id = fmt::format("b{}", i);
    e.text = "hi";
    ctx_.SetPreviousMessageTime(kStart + (i - 1) * 2000);
    e.time = kStart + i * 2000;
    ctx_.Clear();
    ASSERT_TRUE(ctx_.Run(*module_).ok());
  }
  ASSERT_TRUE(Decision(1).has_value());
  EXPECT_EQ(Decision(1)->signal, "flood");
}

TEST_F(ModerationTest, UndoReversesOnceAndConfirmLabels) {
  Use();
  Say(kAd, "m1", 0);
  Say(kAd, "m2", 1);  // second strike: muted
  Command("undo", 2);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kUnmute}));
  auto d = Decision(2);
  EXPECT_EQ(d->status, "undone");
  EXPECT_EQ(d->verdict, "not_spam");
  EXPECT_EQ(d->operator_name, "ops");
  EXPECT_EQ(ctx_.Find(StandingRow{.member = ctx_.member()->id})->strikes, 1);
  Command("undo", 2);  // a no-op
  EXPECT_TRUE(ctx_.actions().empty());
  EXPECT_EQ(ctx_.Find(StandingRow{.member = ctx_.member()->id})->strikes, 1);
  Command("confirm", 1);
  EXPECT_EQ(Decision(1)->verdict, "spam");
}

TEST_F(ModerationTest, UndoingARemovalUnbansAndLiftsTheBlacklist) {
  Use("ladder = [\"remove\"]\n");
  Say(kAd);
  EXPECT_TRUE(ctx_.Find(BlacklistRow{.member = ctx_.member()->id}).has_value());
  Command("undo", 1);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kUnban, ActionType::kSetTag}));
  EXPECT_EQ(ctx_.actions()[1].action.tag, kBlacklistTag);
  EXPECT_TRUE(ctx_.actions()[1].action.remove_tag);
  EXPECT_FALSE(ctx_.Find(BlacklistRow{.member = ctx_.member()->id}).has_value());
}

TEST_F(ModerationTest, ABlacklistedMemberIsRemovedOnJoin) {
  Use();
  ctx_.Put(BlacklistRow{.member = ctx_.member()->id, .since = kStart, .decision = 9});
  ctx_.mutable_event().type = EventType::kMemberJoined;
  ctx_.mutable_event().id = "j1";
  ASSERT_TRUE(ctx_.Run(*module_).ok());
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kRemoveMember}));
  EXPECT_EQ(Decision(1)->signal, "blacklist");
}

TEST_F(ModerationTest, AnAppealIsAcknowledgedAndBecomesATask) {
  Use();
  Say(kAd, "m1");
  Say("申诉：我没有发广告", "m2", 1);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect, ActionType::kOpenTask}));
  EXPECT_NE(ctx_.actions()[1].action.text.find("#1"), std::string::npos);
}

TEST_F(ModerationTest, CommunityWordsAndAllowedDomains) {
  Use("extra_words = [\"内部资料\"]\nallow_domains = [\"example.com\"]\n");
  Say("这是内部资料，别外传");
  EXPECT_EQ(Decision(1)->category, "custom");
  ctx_.SetMember("u9", "newbie");
  Say("文档在 https://docs.example.com/guide", "m2");
  EXPECT_TRUE(ctx_.actions().empty());
  Say("看这里 https://spam.invalid/x", "m3");
  EXPECT_FALSE(ctx_.actions().empty()) << "a newcomer's outside link";
}

TEST_F(ModerationTest, CoreUserGroupsNudgeChitchatWithoutDeleting) {
  Use("[moderation.core_user]\nchitchat = \"nudge\"\n", GroupType::kCoreUser);
  Say("哈哈哈哈");
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kReply}));
  Say("哈哈", "m2", 1);  // within the nudge interval: quiet
  EXPECT_TRUE(ctx_.actions().empty());
}

TEST_F(ModerationTest, AQrCodeToElsewhereIsAnAd) {
  Use("allow_domains = [\"qunzhu.org\"]\n");
  ctx_.mutable_event().qr = {"https://qunzhu.org/join"};
  ctx_.mutable_event().kind = MessageKind::kImage;
  Say("");
  EXPECT_TRUE(ctx_.actions().empty()) << "an allowed link";
  ctx_.mutable_event().qr = {"https://u.wechat.com/kBCdEfGh"};
  Say("", "m2", 1);
  ASSERT_TRUE(Decision(1).has_value());
  EXPECT_EQ(Decision(1)->signal, "qr");
  EXPECT_EQ(Decision(1)->rule, "https://u.wechat.com/kBCdEfGh");
}

TEST(ModerationConfig, BadKeysAreReportedWithTheirPath) {
  auto module = MakeModerationModule();
  testing::FakeModuleContext ctx(*module);
  Status st = ctx.UsePlaybook(R"([community]
slug = "c"
[moderation]
ladder = ["warn", "jail 1h"]
strike_decay = "soon"
categories = ["politics"]
[moderation.learning]
forbid_kinds = ["text"]
flood = "many"
)");
  ASSERT_FALSE(st.ok());
  const std::string m(st.message());
  EXPECT_NE(m.find("moderation.ladder"), std::string::npos) << m;
  EXPECT_NE(m.find("moderation.strike_decay"), std::string::npos) << m;
  EXPECT_NE(m.find("moderation.categories"), std::string::npos) << m;
  EXPECT_NE(m.find("moderation.learning.forbid_kinds"), std::string::npos) << m;
  EXPECT_NE(m.find("moderation.learning.flood"), std::string::npos) << m;
}

}  // namespace
}  // namespace qz::moderation
