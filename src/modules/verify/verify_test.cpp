#include "modules/verify/verify.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "core/text/normalize.hpp"
#include "testing/fake_module_context.hpp"

namespace qz {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// `community` goes into [community] (the section below it starts on line 14 without it).
std::string Common(std::string_view community = {}) {
  return fmt::format(R"toml(
[community]
slug = "camp"
name = "7天成长营"
{}[[groups]]
platform = "sandbox"
id = "g1"
name = "1群"
type = "learning"
[[groups]]
platform = "sandbox"
id = "g2"
type = "interest"
)toml",
                     community);
}

constexpr std::string_view kSection = R"toml(
[verify]
group_type = "learning"
time_limit = "5m"
attempts = 2
[[verify.questions]]
ask = "你来自哪个城市？"
field = "region"
[[verify.questions]]
ask = "你的方向？"
choices = ["设计", "开发", "产品"]
field = "track"
[[verify.questions]]
captcha = "arithmetic"
)toml";

std::string Playbook(std::string_view section) { return Common() + std::string(section); }

const VerifyConfig& ConfigOf(const testing::FakeModuleContext& ctx) {
  return *ctx.playbook().Section<VerifyConfig>("verify");
}

// The problems a section is refused with (the status message).
std::string Problems(std::string_view section) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  const Status st = ctx.UsePlaybook(Playbook(section));
  EXPECT_FALSE(st.ok()) << section;
  return st.message();
}

TEST(VerifySection, DefaultsWithoutTheSectionAndWhenNoGroupIsNamed) {
  auto module = MakeVerifyModule();
  for (std::string_view section : {std::string_view(""), std::string_view("[verify]\nmode = \"group\"\n")}) {
    testing::FakeModuleContext ctx(*module);
    ASSERT_TRUE(ctx.UsePlaybook(Playbook(section)).ok()) << section;
    const VerifyConfig& c = ConfigOf(ctx);
    EXPECT_TRUE(c.groups.empty());  // verification is off
    EXPECT_FALSE(c.Verifies("sandbox", "g1"));
    EXPECT_EQ(c.time_limit_s, 600);
    EXPECT_EQ(c.attempts, 3);
    EXPECT_EQ(c.on_fail, VerifyOnFail::kRemove);
    EXPECT_THAT(c.intro.zh, HasSubstr("入群验证"));
    EXPECT_THAT(c.intro.en, HasSubstr("Welcome"));
    EXPECT_THAT(c.fail.zh, HasSubstr("移出"));
  }
}

TEST(VerifySection, ReadsEveryKey) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(Common("quiet_hours = \"22:00-07:00\"\n") + R"toml(
[verify]
groups = ["sandbox:g1", "sandbox:g2"]
mode = "group"
time_limit = "2h"
attempts = 5
on_fail = "task"
intro = { zh = "欢迎 {member.name}", en = "Hi {member.name}" }
pass = "好了"
[[verify.questions]]
ask = "口令？"
answers = ["芝麻开门", "Open Sesame"]
[[verify.questions]]
ask = { zh = "城市？", en = "City?" }
field = "城市"
)toml").ok());
  const VerifyConfig& c = ConfigOf(ctx);
  EXPECT_EQ(c.groups, (std::vector<std::string>{"sandbox:g1", "sandbox:g2"}));
  EXPECT_TRUE(c.Verifies("sandbox", "g2"));
  EXPECT_FALSE(c.Verifies("sandbox", "g3"));
  EXPECT_FALSE(c.Verifies("other", "g1"));
  EXPECT_EQ(c.mode, VerifyMode::kGroup);
  EXPECT_EQ(c.time_limit_s, 7200);
  EXPECT_EQ(c.attempts, 5);
  EXPECT_EQ(c.on_fail, VerifyOnFail::kTask);
  EXPECT_EQ(c.intro.en, "Hi {member.name}");
  EXPECT_EQ(c.pass.zh, "好了");
  EXPECT_THAT(c.fail.zh, HasSubstr("管理员会尽快联系你"));  // the default for on_fail = "task"
  ASSERT_EQ(c.questions.size(), 2u);
  EXPECT_EQ(c.questions[0].kind, VerifyQuestion::Kind::kAnswers);
  EXPECT_EQ(c.questions[0].normalized, (std::vector<std::string>{"芝麻开门", "open sesame"}));
  EXPECT_EQ(c.questions[1].kind, VerifyQuestion::Kind::kFree);
  EXPECT_EQ(c.questions[1].field, "城市");
}

TEST(VerifySection, GroupTypeAndQuestionKinds) {
  auto module = MakeVerifyModule();
  testing::FakeModuleContext ctx(*module);
  ASSERT_TRUE(ctx.UsePlaybook(Playbook(kSection)).ok());
  const VerifyConfig& c = ConfigOf(ctx);
  EXPECT_EQ(c.groups, (std::vector<std::string>{"sandbox:g1"}));
  EXPECT_EQ(c.mode, VerifyMode::kDirect);
  ASSERT_EQ(c.questions.size(), 3u);
  EXPECT_EQ(c.questions[0].kind, VerifyQuestion::Kind::kFree);
  EXPECT_EQ(c.questions[1].kind, VerifyQuestion::Kind::kChoices);
  EXPECT_EQ(c.questions[1].accepted, (std::vector<std::string>{"设计", "开发", "产品"}));
  EXPECT_EQ(c.questions[2].kind, VerifyQuestion::Kind::kArithmetic);
  EXPECT_TRUE(c.questions[2].ask.empty());
}

TEST(VerifySection, EveryBadKeyIsReportedWithItsPathAndLine) {
  // Common() ends on line 13; the section starts on line 14.
  const std::string message = Problems(R"toml([verify]
groups = ["sandbox:g1", "sandbox:g1"]
mode = "dm"
time_limit = "10s"
attempts = 0
on_fail = "ban"
intro = "hi {nobody}"
pass = ""
colour = "red"
[[verify.questions]]
answers = ["a", "A"]
[[verify.questions]]
ask = "x"
answers = ["a"]
choices = ["b", "c"]
[[verify.questions]]
ask = "x"
choices = ["only"]
captcha = "sudoku"
[[verify.questions]]
ask = "x"
field = "my field"
extra = 1
[[verify.questions]]
ask = "x"
[[verify.questions]]
ask = "y"
field = "a:b"
)toml");
  for (const char* want : {
           "test.toml:15: verify.groups: \"sandbox:g1\" is listed twice",
           "test.toml:16: verify.mode: \"dm\" is not direct or group",
           "test.toml:17: verify.time_limit: must be from 30s to 7d",
           "test.toml:18: verify.attempts",
           "test.toml:19: verify.on_fail: \"ban\" is not remove or task",
           "test.toml:20: verify.intro",
           "test.toml:21: verify.pass: must not be empty",
           "test.toml:22: verify.colour: unknown key",
           "test.toml:23: verify.questions[0].ask: required",
           "test.toml:24: verify.questions[0].answers: \"A\" is listed twice",
           "test.toml:28: verify.questions[1].choices: give at most one of answers, choices and captcha",
           "test.toml:31: verify.questions[2].choices: must list 2 to 20 choices",
           "test.toml:32: verify.questions[2].captcha: \"sudoku\" is not a captcha",
           "test.toml:35: verify.questions[3].field: \"my field\" is not a field name",
           "test.toml:36: verify.questions[3].extra: unknown key",
           "test.toml:37: verify.questions[4].field: required for a question without answers",
           "test.toml:41: verify.questions[5].field: \"a:b\" is not a field name",
       }) {
    EXPECT_THAT(message, HasSubstr(want)) << want;
  }
}

TEST(VerifySection, GroupsNeedQuestions) {
  EXPECT_THAT(Problems("[verify]\ngroups = \"all\"\n"),
              HasSubstr("test.toml:14: verify.questions: at least one [[verify.questions]] entry is required"));
  EXPECT_THAT(Problems("[verify]\ngroups = \"all\"\nquestions = []\n"), HasSubstr("verify.questions: at least one"));
  EXPECT_THAT(Problems("[verify]\ngroup_type = \"core_user\"\n"),
              HasSubstr("verify.group_type: no [[groups]] entry has type \"core_user\""));
  EXPECT_THAT(Problems("[verify]\ngroup = \"sandbox:g1\"\n[[verify.questions]]\nask = \"a\"\nfield = \"x\"\n"
                       "[[verify.questions]]\nask = \"b\"\nfield = \"x\"\n"),
              HasSubstr("verify.questions[1].field: \"x\" is kept by an earlier question already"));
}

TEST(VerifyCaptcha, FollowsFromTheJoinOnly) {
  const ArithmeticCaptcha a = ArithmeticFor("sandbox:j:1", 0);
  const ArithmeticCaptcha again = ArithmeticFor("sandbox:j:1", 0);
  EXPECT_EQ(a.a, again.a);
  EXPECT_EQ(a.b, again.b);
  // Pinned: the numbers must not change between builds (replay rebuilds the same state, and the
  // scenarios answer these very sums).
  const ArithmeticCaptcha pinned = ArithmeticFor("sandbox:j:1", 2);
  EXPECT_EQ(pinned.a, 8);
  EXPECT_EQ(pinned.b, 5);
  EXPECT_EQ(ArithmeticFor("sandbox:j:2", 0).a, 2);
  EXPECT_EQ(ArithmeticFor("sandbox:j:2", 0).b, 10);
  std::set<std::pair<int, int>> seen;
  for (int i = 0; i < 200; ++i) {
    const ArithmeticCaptcha c = ArithmeticFor(fmt::format("sandbox:j:{}", i), static_cast<size_t>(i % 3));
    EXPECT_GE(c.a, 2);
    EXPECT_LE(c.a, 20);
    EXPECT_GE(c.b, 2);
    EXPECT_LE(c.b, 20);
    seen.insert({c.a, c.b});
  }
  EXPECT_GT(seen.size(), 100u);  // spread, not one fixed pair
  // Questions of one join differ.
  const ArithmeticCaptcha q0 = ArithmeticFor("sandbox:j:7", 0);
  const ArithmeticCaptcha q1 = ArithmeticFor("sandbox:j:7", 1);
  EXPECT_TRUE(q0.a != q1.a || q0.b != q1.b);
}

TEST(VerifyCaptcha, KnownValues) {
  // FNV-1a of "seed#0": computed independently, so a change of the hash is noticed.
  auto fnv = [](std::string_view s) {
    uint64_t h = 14695981039346656037ULL;
    for (char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    return h;
  };
  const uint64_t h = fnv("sandbox:j:3#1");
  const ArithmeticCaptcha c = ArithmeticFor("sandbox:j:3", 1);
  EXPECT_EQ(c.a, 2 + static_cast<int>(h % 19));
  EXPECT_EQ(c.b, 2 + static_cast<int>((h >> 32) % 19));
}

TEST(VerifyAnswers, AreComparedNormalised) {
  VerifyQuestion answers;
  answers.kind = VerifyQuestion::Kind::kAnswers;
  answers.accepted = {"台北", "Open Sesame"};
  for (const auto& a : answers.accepted) answers.normalized.push_back(text::ShortForm(a));
  EXPECT_EQ(CheckAnswer(answers, "臺北。", "s", 0), "台北");
  EXPECT_EQ(CheckAnswer(answers, "open   SESAME", "s", 0), "Open Sesame");
  EXPECT_EQ(CheckAnswer(answers, "台北市", "s", 0), std::nullopt);
  EXPECT_EQ(CheckAnswer(answers, "", "s", 0), std::nullopt);

  VerifyQuestion choices;
  choices.kind = VerifyQuestion::Kind::kChoices;
  choices.accepted = {"设计", "开发"};
  for (const auto& a : choices.accepted) choices.normalized.push_back(text::ShortForm(a));
  EXPECT_EQ(CheckAnswer(choices, " 開發 ", "s", 0), "开发");
  EXPECT_EQ(CheckAnswer(choices, "产品", "s", 0), std::nullopt);

  VerifyQuestion sum;
  sum.kind = VerifyQuestion::Kind::kArithmetic;
  const ArithmeticCaptcha c = ArithmeticFor("sandbox:j:9", 2);
  const int total = c.a + c.b;
  EXPECT_EQ(CheckAnswer(sum, std::to_string(total), "sandbox:j:9", 2), std::to_string(total));
  EXPECT_EQ(CheckAnswer(sum, fmt::format("＝{}。", total), "sandbox:j:9", 2), std::to_string(total));
  EXPECT_EQ(CheckAnswer(sum, std::to_string(total + 1), "sandbox:j:9", 2), std::nullopt);
  EXPECT_EQ(CheckAnswer(sum, fmt::format("{}0", total), "sandbox:j:9", 2), std::nullopt);
  EXPECT_EQ(CheckAnswer(sum, "twelve", "sandbox:j:9", 2), std::nullopt);
  // Another join's sum is another: the seed matters.
  const ArithmeticCaptcha other = ArithmeticFor("sandbox:j:10", 2);
  if (other.a + other.b != total) {
    EXPECT_EQ(CheckAnswer(sum, std::to_string(total), "sandbox:j:10", 2), std::nullopt);
  }

  VerifyQuestion free;
  free.kind = VerifyQuestion::Kind::kFree;
  free.field = "region";
  EXPECT_EQ(CheckAnswer(free, "  杭州\n西湖区 ", "s", 0), "杭州 西湖区");
  EXPECT_EQ(CheckAnswer(free, " 。 ", "s", 0), std::nullopt);
  EXPECT_EQ(CheckAnswer(free, std::string(300, 'x'), "s", 0)->size(), 96u);
}

// --- the module through FakeModuleContext ----------------------------------------------------

class VerifyFlow : public ::testing::Test {
 protected:
  void SetUp() override {
    ctx_ = std::make_unique<testing::FakeModuleContext>(*module_);
  }

  void Use(std::string_view section) { ASSERT_TRUE(ctx_->UsePlaybook(Playbook(section)).ok()); }

  void Join() {
    Event& e = ctx_->mutable_event();
    e.id = "sandbox:j:1";
    e.type = EventType::kMemberJoined;
    ctx_->SetGroup("g1");
    ctx_->SetMember("u1", "小明");
    ASSERT_TRUE(ctx_->Run(*module_).ok());
  }
  void Direct(std::string_view text, TimeMs after_ms = 60'000) {
    ctx_->Clear();
    Event& e = ctx_->mutable_event();
    e.id = fmt::format("sandbox:m:{}", ++n_);
    e.type = EventType::kMessage;
    e.group.clear();
    e.text = std::string(text);
    e.time += after_ms;
    ASSERT_TRUE(IsDirectMessage(e));
    ASSERT_TRUE(ctx_->Run(*module_).ok());
  }
  std::optional<VerifyPendingRow> Pending() {
    return ctx_->Find(VerifyPendingRow{.group = ctx_->group()->id, .member = ctx_->member()->id});
  }
  std::vector<ActionType> Types() const {
    std::vector<ActionType> out;
    for (const auto& a : ctx_->actions()) out.push_back(a.action.type);
    return out;
  }

  std::unique_ptr<Module> module_ = MakeVerifyModule();
  std::unique_ptr<testing::FakeModuleContext> ctx_;
  int n_ = 0;
};

TEST_F(VerifyFlow, JoinMutesAsksAndSetsTheDeadline) {
  Use(kSection);
  Join();
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kMute, ActionType::kScheduleTimer, ActionType::kSendDirect}));
  const Action& mute = ctx_->actions()[0].action;
  EXPECT_EQ(mute.group, "g1");
  EXPECT_EQ(mute.member, "u1");
  EXPECT_EQ(mute.duration_s, 0);  // until unmuted
  const Action& timer = ctx_->actions()[1].action;
  const TimeMs joined = ctx_->event().time;
  EXPECT_EQ(timer.due, joined + 5 * 60'000);
  EXPECT_EQ(timer.timer, fmt::format("p:{}:{}", ctx_->group()->id, ctx_->member()->id));
  const Action& ask = ctx_->actions()[2].action;
  EXPECT_EQ(ask.member, "u1");
  EXPECT_EQ(ask.group, "");
  EXPECT_THAT(ask.text, HasSubstr("小明，欢迎加入1群！请先完成入群验证："));
  EXPECT_THAT(ask.text, HasSubstr("(1/3) 你来自哪个城市？"));
  EXPECT_THAT(ask.text, HasSubstr("请在 5 分钟内直接回复。"));
  const auto row = Pending();
  ASSERT_TRUE(row);
  EXPECT_EQ(row->question, 0);
  EXPECT_EQ(row->attempts_left, 2);
  EXPECT_EQ(row->deadline, joined + 5 * 60'000);
  EXPECT_TRUE(row->muted);
  EXPECT_EQ(row->seed, "sandbox:j:1");
  EXPECT_TRUE(ctx_->Find(VerifyWaitingRow{.member = ctx_->member()->id}));
}

TEST_F(VerifyFlow, RightAnswersPassWithTags) {
  Use(kSection);
  Join();
  Direct("杭州");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect}));
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("(2/3) 你的方向？\n请回复其中一项：设计 / 开发 / 产品"));
  Direct("开发");
  const ArithmeticCaptcha c = ArithmeticFor("sandbox:j:1", 2);
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr(fmt::format("(3/3) 请计算： {} + {} = ?", c.a, c.b)));
  Direct(std::to_string(c.a + c.b));
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kUnmute, ActionType::kSetTag, ActionType::kSetTag,
                                              ActionType::kSendDirect}));
  EXPECT_EQ(ctx_->actions()[0].action.group, "g1");
  EXPECT_EQ(ctx_->actions()[1].action.tag, "region:杭州");
  EXPECT_EQ(ctx_->actions()[2].action.tag, "track:开发");
  EXPECT_EQ(ctx_->actions()[2].action.member, "u1");
  EXPECT_EQ(ctx_->actions()[3].action.text, "小明，验证通过，欢迎加入1群！");
  EXPECT_FALSE(Pending());
  EXPECT_FALSE(ctx_->Find(VerifyWaitingRow{.member = ctx_->member()->id}));
  EXPECT_TRUE(ctx_->rows().empty());
}

TEST_F(VerifyFlow, WrongAnswersUseUpTheAttemptsThenRemove) {
  Use(kSection);
  Join();
  Direct("杭州");
  Direct("销售");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect}));
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("回答不正确，还可以再试 1 次。\n(2/3) 你的方向？"));
  EXPECT_EQ(Pending()->attempts_left, 1);
  Direct("运营");
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect, ActionType::kRemoveMember}));
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("入群验证未通过"));
  EXPECT_EQ(ctx_->actions()[1].action.group, "g1");
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("wrong answers"));
  EXPECT_FALSE(Pending());
  // Later messages are nobody's answers.
  Direct("设计");
  EXPECT_TRUE(ctx_->actions().empty());
}

TEST_F(VerifyFlow, TheDeadlineFailsAndALateTimerDoesNothing) {
  Use(std::string(R"toml(
[verify]
group = "sandbox:g1"
on_fail = "task"
[[verify.questions]]
ask = "口令？"
answers = ["芝麻开门"]
)toml"));
  Join();
  const TimeMs deadline = Pending()->deadline;
  ctx_->Clear();
  Event& e = ctx_->mutable_event();
  e.type = EventType::kTimer;
  e.platform = "qunzhu";
  e.group.clear();
  e.timer = fmt::format("verify:p:{}:{}", ctx_->group()->id, ctx_->member()->id);
  e.time = deadline - 1;  // an earlier timer of the same key: not yet
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  EXPECT_TRUE(ctx_->actions().empty());
  e.time = deadline;
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect, ActionType::kOpenTask}));
  EXPECT_EQ(ctx_->actions()[0].action.platform, "sandbox");
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("管理员会尽快联系你"));
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("小明 (u1) did not pass the join verification of sandbox:g1 "
                                                        "(no answer in time)"));
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("unmute"));
  EXPECT_FALSE(Pending());
  ctx_->Clear();
  ASSERT_TRUE(ctx_->Run(*module_).ok());  // fired again: nothing pending any more
  EXPECT_TRUE(ctx_->actions().empty());
}

TEST_F(VerifyFlow, AnAnswerAfterTheDeadlineFails) {
  Use("[verify]\ngroup = \"sandbox:g1\"\n[[verify.questions]]\nask = \"口令？\"\nanswers = [\"芝麻开门\"]\n");
  Join();
  Direct("芝麻开门", 11 * 60'000);
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendDirect, ActionType::kRemoveMember}));
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("no answer in time"));
}

TEST_F(VerifyFlow, AVerificationNobodyDecidedIsLetGo) {
  // Its timer was skipped (a long outage) or the join came from imported history: an hour past
  // the deadline, a message lifts the mute and removes nobody.
  Use("[verify]\ngroup = \"sandbox:g1\"\n[[verify.questions]]\nask = \"口令？\"\nanswers = [\"芝麻开门\"]\n");
  Join();
  Direct("你好", 70 * 60'000);
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kUnmute}));
  EXPECT_EQ(ctx_->actions()[0].rule, "verify.expired");
  EXPECT_TRUE(ctx_->rows().empty());
}

TEST_F(VerifyFlow, GroupModeAsksInTheGroupAndDeletesTheAnswers) {
  Use(R"toml(
[verify]
group = "sandbox:g1"
mode = "group"
[[verify.questions]]
ask = "口令？"
answers = ["芝麻开门"]
)toml");
  Join();
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kScheduleTimer, ActionType::kSendMessage}));
  EXPECT_EQ(ctx_->actions()[1].action.group, "g1");
  EXPECT_EQ(ctx_->actions()[1].action.member, "u1");
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("请在 10 分钟内在群里回复。"));
  EXPECT_THAT(ctx_->actions()[1].action.text, Not(HasSubstr("(1/1)")));
  ctx_->Clear();
  Event& e = ctx_->mutable_event();
  e.id = "sandbox:m:1";
  e.type = EventType::kMessage;
  e.group = "g1";
  e.text = "芝麻关门";
  e.time += 1000;
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kDeleteMessage, ActionType::kSendMessage}));
  EXPECT_EQ(ctx_->actions()[0].action.reply_to, "sandbox:m:1");
  EXPECT_THAT(ctx_->actions()[1].action.text, HasSubstr("小明，回答不正确，还可以再试 2 次。"));
  ctx_->Clear();
  e.id = "sandbox:m:2";
  e.text = "芝麻开门";
  ctx_->SetMessageDeleted(true);  // moderation deleted it already: not deleted twice
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  ASSERT_EQ(Types(), (std::vector<ActionType>{ActionType::kSendMessage}));
  EXPECT_EQ(ctx_->actions()[0].action.text, "小明，验证通过，欢迎加入1群！");
  EXPECT_FALSE(Pending());
}

TEST_F(VerifyFlow, StaffOtherGroupsAndLeaversAreLeftAlone) {
  Use(kSection);
  Event& e = ctx_->mutable_event();
  e.id = "sandbox:j:1";
  e.type = EventType::kMemberJoined;
  e.role = Role::kAdmin;
  ctx_->SetGroup("g1");
  ctx_->SetMember("u1", "小明");
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  EXPECT_TRUE(ctx_->actions().empty());
  e.role.reset();
  e.group = "g2";  // an interest group: not verified
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  EXPECT_TRUE(ctx_->actions().empty());
  e.group = "g1";
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  EXPECT_TRUE(Pending());
  ctx_->Clear();
  e.type = EventType::kMemberLeft;
  ASSERT_TRUE(ctx_->Run(*module_).ok());
  EXPECT_TRUE(ctx_->actions().empty());
  EXPECT_FALSE(Pending());
  EXPECT_TRUE(ctx_->rows().empty());
}

TEST_F(VerifyFlow, QuietHoursMoveTheDeadline) {
  // 2026-01-01T00:00:00Z is 08:00 in Shanghai: inside quiet hours 07:00-09:00.
  ASSERT_TRUE(ctx_->UsePlaybook(Common("quiet_hours = \"07:00-09:00\"\n") + std::string(kSection)).ok());
  Join();
  const TimeMs joined = ctx_->event().time;
  EXPECT_EQ(Pending()->deadline, joined + 3600'000 + 5 * 60'000);
}

TEST_F(VerifyFlow, EnglishTexts) {
  ASSERT_TRUE(ctx_->UsePlaybook(Common("language = \"en\"\n") + std::string(kSection)).ok());
  Join();
  const std::string& text = ctx_->actions().back().action.text;
  EXPECT_THAT(text, HasSubstr("Welcome to 1群, 小明! Please answer first:"));
  EXPECT_THAT(text, HasSubstr("Please answer within 5 minutes."));
  Direct("Hangzhou");
  Direct("nope");
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("That is not right (1 try left)."));
  EXPECT_THAT(ctx_->actions()[0].action.text, HasSubstr("Reply with one of: 设计 / 开发 / 产品"));
}

}  // namespace
}  // namespace qz
