// Join requests (入群审核) to the groups verify covers: the [verify] key `requests`, pass
// phrases in a request's text, and the answers and approvals (requests.cpp).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/state.hpp"
#include "modules/verify/verify.hpp"
#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kCommon = R"toml([community]
slug = "camp"
[[groups]]
platform = "sandbox"
id = "g1"
name = "1群"
type = "learning"
)toml";

// A pass phrase, then a questionnaire item: a request that gives the phrase skips both. `keys`
// go into [verify] on line 10.
std::string Section(std::string_view keys = {}) {
  return fmt::format(R"toml([verify]
group = "sandbox:g1"
{}[[verify.questions]]
ask = "本群的暗号是什么？"
answers = ["读书使人进步", "Reading"]
[[verify.questions]]
ask = "你来自哪个城市？"
field = "region"
)toml",
                     keys);
}

std::string Playbook(std::string_view section) { return std::string(kCommon) + std::string(section); }

std::string Problems(std::string_view section) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  const Status st = ctx.UsePlaybook(Playbook(section));
  EXPECT_FALSE(st.ok()) << section;
  return st.message();
}

const VerifyConfig& Config(std::string_view section, testing::FakeModuleContext& ctx) {
  EXPECT_TRUE(ctx.UsePlaybook(Playbook(section)).ok()) << section;
  return *ctx.playbook().Section<VerifyConfig>("verify");
}

TEST(VerifyRequestsSection, DefaultsToReviewAndReadsEachValue) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  const VerifyConfig& c = Config(Section(), ctx);
  EXPECT_EQ(c.requests, VerifyRequests::kReview);
  EXPECT_THAT(c.request_fail.zh, HasSubstr("你的入群申请未通过验证"));  // not the removal text
  EXPECT_THAT(c.request_fail.en, HasSubstr("your request to join {group.name}"));
  for (auto [value, want] : {std::pair{"review", VerifyRequests::kReview}, std::pair{"reject", VerifyRequests::kReject},
                             std::pair{"approve", VerifyRequests::kApprove}}) {
    testing::FakeModuleContext each(*module);
    EXPECT_EQ(Config(Section(fmt::format("requests = \"{}\"\n", value)), each).requests, want) << value;
  }
  // A `fail` of the playbook's own is the reason a rejected request is given too.
  testing::FakeModuleContext with_fail(*module);
  EXPECT_EQ(Config(Section("fail = \"未通过\"\n"), with_fail).request_fail.zh, "未通过");
}

TEST(VerifyRequestsSection, BadValuesNameTheField) {
  EXPECT_THAT(Problems(Section("requests = \"maybe\"\n")),
              HasSubstr("test.toml:10: verify.requests: \"maybe\" is not review, reject or approve"));
  EXPECT_THAT(Problems(Section("requests = 1\n")), HasSubstr("test.toml:10: verify.requests"));
  EXPECT_THAT(Problems(R"toml([verify]
group = "sandbox:g1"
requests = "reject"
[[verify.questions]]
captcha = "arithmetic"
)toml"),
              HasSubstr("test.toml:10: verify.requests: \"reject\" needs a question with answers"));
}

TEST(VerifyRequestsPassPhrase, ComparesNormalisedAndReadsQqAnswers) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  const VerifyConfig& c = Config(Section(), ctx);
  EXPECT_TRUE(IsPassPhrase(c, "读书使人进步"));
  EXPECT_TRUE(IsPassPhrase(c, " 讀書使人進步！"));
  EXPECT_TRUE(IsPassPhrase(c, "READING."));
  EXPECT_TRUE(IsPassPhrase(c, "问题：本群的暗号是什么？\n答案：读书使人进步"));
  EXPECT_TRUE(IsPassPhrase(c, "问题：本群的暗号是什么？\n答案: reading"));
  EXPECT_FALSE(IsPassPhrase(c, "问题：本群的暗号是什么？\n答案：不知道"));
  EXPECT_FALSE(IsPassPhrase(c, "读书使人进步吗"));
  EXPECT_FALSE(IsPassPhrase(c, ""));
  // A free question's answer is no pass phrase.
  EXPECT_FALSE(IsPassPhrase(c, "杭州"));
}

class VerifyRequestFlow : public ::testing::Test {
 protected:
  void Use(std::string_view extra = {}) {
    ctx_ = std::make_unique<testing::FakeModuleContext>(*module_);
    ASSERT_TRUE(ctx_->UsePlaybook(Playbook(Section(extra))).ok());
    ctx_->SetGroup("g1");
    ctx_->SetMember("u1", "小明");
  }
  void Request(std::string_view text, TimeMs after_ms = 0) {
    ctx_->Clear();
    Event& e = ctx_->mutable_event();
    e.id = fmt::format("sandbox:r:{}", ++n_);
    e.type = EventType::kJoinRequest;  // in the group SetGroup named
    e.text = std::string(text);
    e.request = "flag-7";
    e.time += after_ms;
    ASSERT_TRUE(ctx_->Run(*module_).ok());
  }
  void Join(TimeMs after_ms) {
    ctx_->Clear();
    Event& e = ctx_->mutable_event();
    e.id = fmt::format("sandbox:j:{}", ++n_);
    e.type = EventType::kMemberJoined;
    e.text.clear();
    e.request.clear();
    e.time += after_ms;
    ASSERT_TRUE(ctx_->Run(*module_).ok());
  }
  void Timer(std::string key, TimeMs at) {
    ctx_->Clear();
    Event& e = ctx_->mutable_event();
    e.type = EventType::kTimer;
    e.timer = "verify:" + key;
    e.time = at;
    ASSERT_TRUE(ctx_->Run(*module_).ok());
  }
  std::optional<VerifyApprovedRow> Approved() {
    return ctx_->Find(VerifyApprovedRow{.group = ctx_->group()->id, .member = ctx_->member()->id});
  }
  std::vector<ActionType> Types() const {
    std::vector<ActionType> out;
    for (const auto& a : ctx_->actions()) out.push_back(a.action.type);
    return out;
  }
  const Action& At(size_t i) const { return ctx_->actions().at(i).action; }

  std::unique_ptr<Module> module_ = MakeVerifyModule();
  std::unique_ptr<testing::FakeModuleContext> ctx_;
  int n_ = 0;
};

TEST_F(VerifyRequestFlow, APassPhraseApprovesAndTheJoinIsNotVerifiedAgain) {
  Use();
  const TimeMs asked = ctx_->event().time;
  Request("问题：本群的暗号是什么？\n答案：读书使人进步");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kAnswerJoinRequest, ActionType::kScheduleTimer}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.request_pass");
  EXPECT_TRUE(At(0).approve);
  EXPECT_EQ(At(0).request, "flag-7");
  EXPECT_EQ(At(0).group, "g1");
  EXPECT_EQ(At(0).member, "u1");
  EXPECT_EQ(At(0).text, "");
  EXPECT_EQ(At(1).timer, fmt::format("a:{}:{}", ctx_->group()->id, ctx_->member()->id));
  EXPECT_EQ(At(1).due, asked + kVerifyApprovalValidMs);
  ASSERT_TRUE(Approved());
  EXPECT_EQ(Approved()->approved_at, asked);
  EXPECT_EQ(Approved()->request, "sandbox:r:1");

  Join(30'000);
  EXPECT_TRUE(ctx_->actions().empty());  // no mute, no questions
  EXPECT_TRUE(ctx_->rows().empty());     // the approval is used up, nobody is pending
  // A later join (after leaving) is verified as usual.
  Join(3600'000);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kMute, ActionType::kScheduleTimer, ActionType::kSendDirect}));
}

TEST_F(VerifyRequestFlow, AnApprovalLapsesAfterADay) {
  Use();
  const TimeMs asked = ctx_->event().time;
  Request("reading");
  const std::string key = At(1).timer;
  Timer(key, asked + kVerifyApprovalValidMs - 1);  // not yet
  EXPECT_TRUE(Approved());
  Timer(key, asked + kVerifyApprovalValidMs);
  EXPECT_FALSE(Approved());
  EXPECT_TRUE(ctx_->actions().empty());

  // A join more than a day after the approval is verified (and uses the row up all the same).
  Use();
  Request("reading");
  Join(kVerifyApprovalValidMs + 1);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kMute, ActionType::kScheduleTimer, ActionType::kSendDirect}));
  EXPECT_FALSE(Approved());
}

TEST_F(VerifyRequestFlow, ABlacklistedApplicantIsRejectedWhateverTheyWrote) {
  Use();
  // The fake has no tag setter: the engine would have applied a tag_changed event.
  const_cast<State&>(ctx_->state()).AddTag(MemberTag{ctx_->member()->id, std::string(kVerifyBlacklistTag), 0});
  Request("读书使人进步");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kAnswerJoinRequest}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.request_blacklist");
  EXPECT_FALSE(At(0).approve);
  EXPECT_EQ(At(0).request, "flag-7");
  EXPECT_EQ(At(0).text, "你暂时无法加入1群，如有疑问请联系管理员。");
  EXPECT_FALSE(Approved());
}

TEST_F(VerifyRequestFlow, OtherwiseReviewOpensATaskWithTheirText) {
  Use();
  Request("朋友推荐来的");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kOpenTask}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.request_review");
  EXPECT_EQ(At(0).text, "小明 (u1) asks to join sandbox:g1 and wrote \"朋友推荐来的\": approve or reject the request "
                        "on the platform");
  EXPECT_EQ(At(0).group, "g1");
  Request("  ");
  EXPECT_THAT(At(0).text, HasSubstr("and wrote nothing:"));
  EXPECT_TRUE(ctx_->rows().empty());
}

TEST_F(VerifyRequestFlow, RejectGivesTheFailureText) {
  Use("requests = \"reject\"\n");
  Request("不知道");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kAnswerJoinRequest}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.request_reject");
  EXPECT_FALSE(At(0).approve);
  EXPECT_EQ(At(0).text, "小明，你的入群申请未通过验证。");
  Use("requests = \"reject\"\nfail = \"{member.name}，暗号不对。\"\n");
  Request("不知道");
  EXPECT_EQ(At(0).text, "小明，暗号不对。");
  // The pass phrase still approves.
  Request("reading");
  EXPECT_TRUE(At(0).approve);
}

TEST_F(VerifyRequestFlow, ApproveLetsInAndVerifiesAfterTheJoin) {
  Use("requests = \"approve\"\n");
  Request("你好");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kAnswerJoinRequest}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.request_approve");
  EXPECT_TRUE(At(0).approve);
  EXPECT_FALSE(Approved());
  Join(60'000);
  EXPECT_EQ(Types(), (std::vector<ActionType>{ActionType::kMute, ActionType::kScheduleTimer, ActionType::kSendDirect}));
}

TEST_F(VerifyRequestFlow, GroupsWithoutVerificationAreLeftToThePlatform) {
  ctx_ = std::make_unique<testing::FakeModuleContext>(*module_);
  ASSERT_TRUE(ctx_->UsePlaybook(Playbook("")).ok());  // no [verify]
  ctx_->SetGroup("g1");
  ctx_->SetMember("u1", "小明");
  Request("reading");
  EXPECT_TRUE(ctx_->actions().empty());
  Use();
  ctx_->SetGroup("g2");  // not verified
  Request("reading");
  EXPECT_TRUE(ctx_->actions().empty());
  EXPECT_TRUE(ctx_->rows().empty());
}

}  // namespace
}  // namespace qz
