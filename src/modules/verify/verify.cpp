#include "modules/verify/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/hash.hpp"
#include "core/text/normalize.hpp"
#include "core/text/utf8.hpp"
#include "engine/module_text.hpp"
#include "engine/recurrence.hpp"
#include "engine/state.hpp"
#include "modules/verify/requests.hpp"

namespace qz {
namespace {

constexpr size_t kMaxQuestions = 10;
constexpr size_t kMaxAnswers = 50;
constexpr size_t kMinChoices = 2;
constexpr size_t kMaxChoices = 20;
constexpr size_t kMaxFieldBytes = 32;
constexpr size_t kMaxTagBytes = 128;       // a tag_changed event's tag (model/event.cpp)
constexpr size_t kMaxFreeAnswerBytes = 96;  // what a free answer keeps of the member's words
constexpr int64_t kMinTimeLimitS = 30;
// An answer this long after the deadline finds a verification nobody decided: its timer was
// skipped (the node was down for longer than the scheduler's catch-up window) or the join came
// from imported history, where nothing is scheduled or sent. It is let go rather than failed.
constexpr int64_t kStaleAfterMs = 3600'000;
constexpr int64_t kMaxTimeLimitS = 7 * 86400;

// The built-in texts, used when the playbook gives none.
const LocalizedText kDefaultIntro{"{member.name}，欢迎加入{group.name}！请先完成入群验证：",
                                  "Welcome to {group.name}, {member.name}! Please answer first:"};
const LocalizedText kDefaultPass{"{member.name}，验证通过，欢迎加入{group.name}！",
                                 "Thank you, {member.name}: you are verified. Welcome to {group.name}!"};
const LocalizedText kDefaultFailRemove{"{member.name}，入群验证未通过，你将被移出{group.name}。如有疑问请联系管理员。",
                                       "Sorry {member.name}, you did not pass the verification of {group.name} and "
                                       "will be removed. Please contact an admin if this is a mistake."};
const LocalizedText kDefaultFailTask{"{member.name}，入群验证未通过，管理员会尽快联系你。",
                                     "Sorry {member.name}, you did not pass the verification of {group.name}. An "
                                     "admin will contact you soon."};
const LocalizedText kDefaultCaptchaAsk{"请计算：", "Please work out:"};
// A join request rejected (requests = "reject") when the playbook gives no `fail`: the default
// `fail` texts speak of a removal, and the applicant is not in the group yet.
const LocalizedText kDefaultRequestFail{"{member.name}，你的入群申请未通过验证。",
                                        "Sorry {member.name}, your request to join {group.name} did not pass the "
                                        "verification."};

bool En(Language language) { return language == Language::kEn; }

// --- answers -------------------------------------------------------------------------------

// The member's own words for a free answer: one line, trimmed, at most kMaxFreeAnswerBytes.
std::string FreeAnswer(std::string_view text) {
  std::string out(text);
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  const size_t first = out.find_first_not_of(' ');
  if (first == std::string::npos) return {};
  out = out.substr(first, out.find_last_not_of(' ') - first + 1);
  return std::string(Utf8Prefix(out, kMaxFreeAnswerBytes));
}

// --- texts ---------------------------------------------------------------------------------

std::string FormatDuration(int64_t seconds, Language language) {
  const bool en = En(language);
  auto unit = [&](int64_t n, std::string_view zh, std::string_view one) {
    return en ? fmt::format("{} {}{}", n, one, n == 1 ? "" : "s") : fmt::format("{} {}", n, zh);
  };
  if (seconds % 86400 == 0) return unit(seconds / 86400, "天", "day");
  if (seconds % 3600 == 0) return unit(seconds / 3600, "小时", "hour");
  if (seconds % 60 == 0) return unit(seconds / 60, "分钟", "minute");
  return unit(seconds, "秒", "second");
}

// "(2/3) 你来自哪个城市？" and, by kind, the choices or the sum to work out.
std::string QuestionText(const VerifyConfig& config, size_t index, std::string_view seed, Language language,
                         const TemplateVars& vars) {
  const VerifyQuestion& q = config.questions[index];
  const bool en = En(language);
  std::string out;
  if (config.questions.size() > 1) out = fmt::format("({}/{}) ", index + 1, config.questions.size());
  if (q.kind == VerifyQuestion::Kind::kArithmetic) {
    const ArithmeticCaptcha c = ArithmeticFor(seed, index);
    out += Render(q.ask.empty() ? kDefaultCaptchaAsk : q.ask, language, vars);
    out += fmt::format(" {} + {} = ?", c.a, c.b);
    return out;
  }
  out += Render(q.ask, language, vars);
  if (q.kind == VerifyQuestion::Kind::kChoices) {
    std::string list;
    for (const std::string& c : q.accepted) list += (list.empty() ? "" : " / ") + c;
    out += en ? fmt::format("\nReply with one of: {}", list) : fmt::format("\n请回复其中一项：{}", list);
  }
  return out;
}

// --- state ---------------------------------------------------------------------------------

std::vector<int64_t> ParseIds(std::string_view list) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < list.size();) {
    const size_t sp = std::min(list.find(' ', i), list.size());
    int64_t id = 0;
    const auto [end, ec] = std::from_chars(list.data() + i, list.data() + sp, id);
    if (ec == std::errc() && end == list.data() + sp) out.push_back(id);
    i = sp + 1;
  }
  return out;
}

std::string FormatIds(const std::vector<int64_t>& ids) {
  std::string out;
  for (int64_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

void AddWaiting(ModuleContext& ctx, int64_t member, int64_t group) {
  VerifyWaitingRow row = ctx.Find(VerifyWaitingRow{.member = member}).value_or(VerifyWaitingRow{.member = member});
  std::vector<int64_t> ids = ParseIds(row.groups);
  std::erase(ids, group);
  ids.push_back(group);  // a rejoin starts again: now the newest
  row.groups = FormatIds(ids);
  ctx.Put(row);
}

void RemoveWaiting(ModuleContext& ctx, int64_t member, int64_t group) {
  auto row = ctx.Find(VerifyWaitingRow{.member = member});
  if (!row) return;
  std::vector<int64_t> ids = ParseIds(row->groups);
  std::erase(ids, group);
  if (ids.empty()) {
    ctx.Erase(*row);
  } else {
    row->groups = FormatIds(ids);
    ctx.Put(*row);
  }
}

// Forgets a verification (passed, failed or left).
void Finish(ModuleContext& ctx, const VerifyPendingRow& row) {
  ctx.Erase(row);
  RemoveWaiting(ctx, row.member, row.group);
}

std::string TimerKey(int64_t group, int64_t member) { return fmt::format("p:{}:{}", group, member); }

void ScheduleDeadline(ModuleContext& ctx, const VerifyPendingRow& row) {
  Action timer;
  timer.type = ActionType::kScheduleTimer;
  timer.timer = TimerKey(row.group, row.member);
  timer.due = row.deadline;
  ctx.Act(std::move(timer), "deadline");
}

// When a message the bot sends at `t` goes out: at the end of the community's quiet hours when
// `t` is inside them (the engine holds send_message and send_direct until then), else at `t`.
TimeMs SendsAt(const ModuleContext& ctx, TimeMs t) {
  const Playbook& pb = ctx.playbook();
  return QuietHoursEnd(pb.quiet_start, pb.quiet_end, pb.time_zone, t);
}

bool IsGroupMode(const VerifyPendingRow& row) { return row.mode == "group"; }

// A platform action (or task) about the member being verified in its group.
Action About(const VerifyPendingRow& row, ActionType type) {
  Action a;
  a.type = type;
  a.platform = row.platform;
  a.group = row.group_ref;
  a.member = row.member_ref;
  return a;
}

TemplateVars VarsFor(const ModuleContext& ctx, const VerifyPendingRow& row) {
  TemplateVars vars = TemplateVarsFor(ctx, row.platform, row.group_ref);
  if (!row.name.empty()) vars.member_name = row.name;
  return vars;
}

// Sends `text` to the member being verified: privately (direct mode) or in the group naming them.
// A question sent inside quiet hours reaches the member only at their end: the time limit then
// runs from there.
void Tell(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow& row, std::string text,
          std::string_view rule, bool question) {
  Action send;
  send.platform = row.platform;
  send.member = row.member_ref;
  send.text = std::move(text);
  if (IsGroupMode(row)) {
    send.type = ActionType::kSendMessage;
    send.group = row.group_ref;
  } else {
    send.type = ActionType::kSendDirect;  // no group: a private chat is a chat of its own
  }
  ctx.Act(std::move(send), rule);
  if (!question) return;
  const TimeMs at = SendsAt(ctx, ctx.event().time);
  if (at > ctx.event().time && at + config.time_limit_s * 1000 > row.deadline) {
    row.deadline = at + config.time_limit_s * 1000;
    ScheduleDeadline(ctx, row);
  }
}

// In group mode a message to the member names them first (the platform may also mention them).
std::string Addressed(const VerifyPendingRow& row, Language language, std::string text) {
  if (!IsGroupMode(row) || row.name.empty()) return text;
  return fmt::format("{}{}{}", row.name, En(language) ? ": " : "，", text);
}

void SetFieldTags(ModuleContext& ctx, const VerifyPendingRow& row) {
  const std::vector<MemberTag>* tags = nullptr;
  if (ctx.state().FindMember(MemberId{row.member}) != nullptr) tags = &ctx.state().TagsOf(MemberId{row.member});
  std::string_view list = row.answers;
  while (!list.empty()) {
    const size_t nl = std::min(list.find('\n'), list.size());
    const std::string_view line = list.substr(0, nl);
    list.remove_prefix(std::min(nl + 1, list.size()));
    const size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0) continue;
    const std::string field(line.substr(0, tab));
    const std::string prefix = field + ":";
    const std::string tag = prefix + std::string(Utf8Prefix(line.substr(tab + 1), kMaxTagBytes - prefix.size()));
    Action set;
    set.type = ActionType::kSetTag;
    set.platform = row.platform;
    set.member = row.member_ref;
    if (tags != nullptr) {
      // One value per field: an earlier answer (a rejoin, a changed answer) is replaced.
      std::vector<std::string> old;
      for (const MemberTag& t : *tags) {
        if (t.tag.starts_with(prefix) && t.tag != tag) old.push_back(t.tag);
      }
      for (std::string& o : old) {
        Action remove = set;
        remove.tag = std::move(o);
        remove.remove_tag = true;
        ctx.Act(std::move(remove), "field");
      }
    }
    set.tag = tag;
    ctx.Act(std::move(set), "field");
  }
}

void Pass(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow& row) {
  if (row.muted) ctx.Act(About(row, ActionType::kUnmute), "pass");
  SetFieldTags(ctx, row);
  Tell(ctx, config, row, Render(config.pass, ctx.playbook().language, VarsFor(ctx, row)), "pass", false);
  Finish(ctx, row);
}

void Fail(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow& row, std::string_view why) {
  Tell(ctx, config, row, Render(config.fail, ctx.playbook().language, VarsFor(ctx, row)), "fail", false);
  const std::string who = row.name.empty() ? row.member_ref : fmt::format("{} ({})", row.name, row.member_ref);
  const bool remove = config.on_fail == VerifyOnFail::kRemove;
  Action act = About(row, remove ? ActionType::kRemoveMember : ActionType::kOpenTask);
  if (remove) {
    act.text = fmt::format("{} did not pass the join verification ({})", who, why);
  } else {
    act.text = fmt::format("{} did not pass the join verification of {}:{} ({}): remove them, or let them in{}", who,
                           row.platform, row.group_ref, why, row.muted ? " and unmute them" : "");
  }
  ctx.Act(std::move(act), "fail");
  Finish(ctx, row);
}

// A verification nobody decided in time (kStaleAfterMs): forgotten, the mute lifted, nobody
// removed.
bool LetGoIfStale(ModuleContext& ctx, const VerifyPendingRow& row) {
  if (ctx.event().time < row.deadline + kStaleAfterMs) return false;
  if (row.muted) ctx.Act(About(row, ActionType::kUnmute), "expired");
  Finish(ctx, row);
  return true;
}

// Asks question row.question: after the intro on joining, or after a right answer.
void AskNext(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow& row, bool intro) {
  const Language language = ctx.playbook().language;
  const TemplateVars vars = VarsFor(ctx, row);
  const std::string question = QuestionText(config, static_cast<size_t>(row.question), row.seed, language, vars);
  std::string text;
  if (intro) {
    const std::string limit = FormatDuration(config.time_limit_s, language);
    const bool group = IsGroupMode(row);
    text = fmt::format("{}\n{}\n{}", Render(config.intro, language, vars), question,
                       En(language) ? fmt::format("Please answer {}within {}.", group ? "in the group " : "", limit)
                                    : fmt::format("请在 {}内{}回复。", limit, group ? "在群里" : "直接"));
  } else {
    text = Addressed(row, language, question);
  }
  Tell(ctx, config, row, std::move(text), intro ? "ask" : "next", true);
}

void AskAgain(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow& row) {
  const Language language = ctx.playbook().language;
  const VerifyQuestion& q = config.questions[static_cast<size_t>(row.question)];
  std::string hint = En(language) ? fmt::format("That is not right ({} {} left).", row.attempts_left,
                                                row.attempts_left == 1 ? "try" : "tries")
                                  : fmt::format("回答不正确，还可以再试 {} 次。", row.attempts_left);
  if (q.kind == VerifyQuestion::Kind::kArithmetic) {
    hint += En(language) ? " Reply with a number." : "请回复一个数字。";
  }
  const std::string question =
      QuestionText(config, static_cast<size_t>(row.question), row.seed, language, VarsFor(ctx, row));
  Tell(ctx, config, row, Addressed(row, language, fmt::format("{}\n{}", hint, question)), "retry", true);
}

void Answer(ModuleContext& ctx, const VerifyConfig& config, VerifyPendingRow row, std::string_view text) {
  if (ctx.event().time >= row.deadline) {
    // The deadline's timer has not fired yet: the answer comes too late all the same.
    Fail(ctx, config, row, "no answer in time");
    return;
  }
  if (row.question < 0 || static_cast<size_t>(row.question) >= config.questions.size()) {
    // The playbook no longer asks this many questions: nothing is left to answer.
    Pass(ctx, config, row);
    return;
  }
  const size_t index = static_cast<size_t>(row.question);
  const VerifyQuestion& q = config.questions[index];
  const std::optional<std::string> value = CheckAnswer(q, text, row.seed, index);
  if (!value) {
    if (--row.attempts_left <= 0) {
      Fail(ctx, config, row, "wrong answers");
      return;
    }
    AskAgain(ctx, config, row);
    ctx.Put(row);
    return;
  }
  if (!q.field.empty()) row.answers += fmt::format("{}\t{}\n", q.field, *value);
  ++row.question;
  row.attempts_left = config.attempts;
  if (static_cast<size_t>(row.question) >= config.questions.size()) {
    Pass(ctx, config, row);
    return;
  }
  AskNext(ctx, config, row, false);
  ctx.Put(row);
}

// --- events --------------------------------------------------------------------------------

Status OnJoin(ModuleContext& ctx, const VerifyConfig& config) {
  const Event& e = ctx.event();
  if ((e.role && *e.role != Role::kMember) || ctx.group() == nullptr || ctx.member() == nullptr) {
    return Status::Ok();  // staff are not verified
  }
  // Their join request gave a pass phrase (requests.cpp): they answered already.
  if (verify::TakeApproval(ctx, ctx.group()->id, ctx.member()->id, e.time)) return Status::Ok();
  if (config.questions.empty() || !config.Verifies(e.platform, e.group)) return Status::Ok();
  VerifyPendingRow row{.group = ctx.group()->id, .member = ctx.member()->id};
  row.platform = e.platform;
  row.group_ref = e.group;
  row.member_ref = e.member;
  row.name = e.name.empty() ? ctx.member()->display_name : e.name;
  row.seed = e.id;
  row.mode = config.mode == VerifyMode::kGroup ? "group" : "direct";
  row.attempts_left = config.attempts;
  row.joined_at = e.time;
  // The time limit runs from when the first question reaches the member (after quiet hours).
  row.deadline = SendsAt(ctx, e.time) + config.time_limit_s * 1000;
  // A join again while still being verified starts over; a mute from then is still to be lifted.
  if (auto before = ctx.Find(row)) row.muted = before->muted;
  if (config.mode == VerifyMode::kDirect) {
    // Until unmuted (duration 0): the member cannot post before passing.
    Action mute = About(row, ActionType::kMute);
    mute.duration_s = 0;
    mute.text = "join verification";
    ctx.Act(std::move(mute), "mute");
    row.muted = true;
  }
  ScheduleDeadline(ctx, row);
  AskNext(ctx, config, row, true);
  ctx.Put(row);
  AddWaiting(ctx, row.member, row.group);
  return Status::Ok();
}

Status OnLeave(ModuleContext& ctx) {
  if (ctx.group() == nullptr || ctx.member() == nullptr) return Status::Ok();
  if (auto row = ctx.Find(VerifyPendingRow{.group = ctx.group()->id, .member = ctx.member()->id})) Finish(ctx, *row);
  return Status::Ok();
}

// A private message: it answers the member's oldest verification.
Status OnDirect(ModuleContext& ctx, const VerifyConfig& config) {
  if (ctx.member() == nullptr) return Status::Ok();
  const int64_t member = ctx.member()->id;
  auto waiting = ctx.Find(VerifyWaitingRow{.member = member});
  if (!waiting) return Status::Ok();
  for (int64_t group : ParseIds(waiting->groups)) {
    if (auto row = ctx.Find(VerifyPendingRow{.group = group, .member = member})) {
      if (LetGoIfStale(ctx, *row)) continue;
      Answer(ctx, config, std::move(*row), ctx.event().text);
      return Status::Ok();
    }
    RemoveWaiting(ctx, member, group);  // not expected: the index outlived its row
  }
  return Status::Ok();
}

// A message in a group: in group mode, a member being verified there answers with it.
Status OnGroupMessage(ModuleContext& ctx, const VerifyConfig& config) {
  // Every message of the community passes here: without verification, no row lookup.
  if (config.groups.empty() || ctx.group() == nullptr || ctx.member() == nullptr) return Status::Ok();
  auto row = ctx.Find(VerifyPendingRow{.group = ctx.group()->id, .member = ctx.member()->id});
  if (!row || LetGoIfStale(ctx, *row) || !IsGroupMode(*row)) return Status::Ok();
  const Event& e = ctx.event();
  if (!ctx.message_deleted()) {
    Action del;
    del.type = ActionType::kDeleteMessage;
    del.platform = e.platform;
    del.group = e.group;
    del.member = e.member;
    del.reply_to = e.id;
    ctx.Act(std::move(del), "answer");
  }
  // A picture or a sticker answers nothing: it is only cleared away.
  if (text::TrimEnds(e.text).empty()) return Status::Ok();
  Answer(ctx, config, std::move(*row), e.text);
  return Status::Ok();
}

Status OnTimer(ModuleContext& ctx, const VerifyConfig& config) {
  const std::string_view key = ctx.timer();
  if (verify::OnApprovalTimer(ctx, key) || !key.starts_with("p:")) return Status::Ok();
  const std::vector<int64_t> ids = [&] {
    std::string spaced(key.substr(2));
    std::replace(spaced.begin(), spaced.end(), ':', ' ');
    return ParseIds(spaced);
  }();
  if (ids.size() != 2) return Status::Ok();
  auto row = ctx.Find(VerifyPendingRow{.group = ids[0], .member = ids[1]});
  if (!row || ctx.event().time < row->deadline) return Status::Ok();  // passed, left, or moved on
  if (config.questions.empty()) {
    Pass(ctx, config, *row);  // verification was turned off meanwhile: let them in
  } else {
    Fail(ctx, config, *row, "no answer in time");
  }
  return Status::Ok();
}

// --- the section ---------------------------------------------------------------------------

bool ValidField(std::string_view field) {
  if (field.empty() || field.size() > kMaxFieldBytes || !IsValidUtf8(field)) return false;
  return std::none_of(field.begin(), field.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F || c == ':';
  });
}

// Reads `key` (answers or choices) into q.accepted / q.normalized; false when absent or bad.
bool ReadAccepted(TableReader& r, std::string_view key, size_t min, size_t max, VerifyQuestion& q) {
  std::vector<std::string> list;
  if (!r.StringList(key, list)) return false;
  if (list.size() < min || list.size() > max) {
    r.Invalid(key, min <= 1 ? fmt::format("must list 1 to {} answers", max)
                            : fmt::format("must list {} to {} choices", min, max));
    return false;
  }
  std::set<std::string, std::less<>> seen;
  for (std::string& item : list) {
    std::string normalized = text::ShortForm(item);
    if (normalized.empty()) {
      r.Invalid(key, fmt::format("\"{}\" is empty once spaces and punctuation are left out", Excerpt(item, 40)));
      return false;
    }
    if (!seen.insert(normalized).second) {
      r.Invalid(key, fmt::format("\"{}\" is listed twice (compared normalised)", Excerpt(item, 40)));
      return false;
    }
    q.accepted.push_back(std::move(item));
    q.normalized.push_back(std::move(normalized));
  }
  return true;
}

VerifyQuestion ReadQuestion(TableReader& r, std::set<std::string, std::less<>>& fields) {
  VerifyQuestion q;
  const size_t before = r.problems().size();
  q.ask = ReadText(r, "ask", TextKind::kMember);
  const bool ask_ok = r.problems().size() == before;
  const int given = (r.Has("answers") ? 1 : 0) + (r.Has("choices") ? 1 : 0) + (r.Has("captcha") ? 1 : 0);
  if (given > 1) {
    r.Invalid(r.Has("captcha") ? "captcha" : "choices", "give at most one of answers, choices and captcha");
  }
  VerifyQuestion answers;
  VerifyQuestion choices;
  if (ReadAccepted(r, "answers", 1, kMaxAnswers, answers) && given == 1) {
    q.kind = VerifyQuestion::Kind::kAnswers;
    q.accepted = std::move(answers.accepted);
    q.normalized = std::move(answers.normalized);
  }
  if (ReadAccepted(r, "choices", kMinChoices, kMaxChoices, choices) && given == 1) {
    q.kind = VerifyQuestion::Kind::kChoices;
    q.accepted = std::move(choices.accepted);
    q.normalized = std::move(choices.normalized);
  }
  std::string captcha;
  if (r.String("captcha", captcha)) {
    if (captcha != "arithmetic") {
      r.Invalid("captcha", fmt::format("\"{}\" is not a captcha: use \"arithmetic\"", Excerpt(captcha, 40)));
    } else if (given == 1) {
      q.kind = VerifyQuestion::Kind::kArithmetic;
    }
  }
  if (r.String("field", q.field)) {
    if (!ValidField(q.field)) {
      r.Invalid("field", fmt::format("\"{}\" is not a field name: 1 to {} bytes without spaces or ':'",
                                     Excerpt(q.field, 40), kMaxFieldBytes));
      q.field.clear();
    } else if (!fields.insert(q.field).second) {
      r.Invalid("field", fmt::format("\"{}\" is kept by an earlier question already", q.field));
    }
  }
  if (given == 0 && !r.Has("field")) {
    r.Invalid("field", "required for a question without answers, choices or captcha (its free answer is kept as "
                       "the tag <field>:<answer>)");
  }
  if (ask_ok && q.ask.empty() && !r.Has("captcha")) {
    r.Invalid("ask", r.Has("ask") ? "must not be empty" : "required (the question)");
  }
  r.Done();
  return q;
}

// Reads a TEXT key; absent leaves `text` (the default) as it is, empty is a problem.
void ReadTextOr(TableReader& r, std::string_view key, LocalizedText& text) {
  const size_t before = r.problems().size();
  LocalizedText read = ReadText(r, key, TextKind::kMember);
  if (!r.Has(key) || r.problems().size() != before) return;
  if (read.empty()) {
    r.Invalid(key, "must not be empty (leave it out for the built-in text)");
    return;
  }
  text = std::move(read);
}

class VerifyModule final : public Module {
 public:
  std::string_view name() const override { return "verify"; }
  std::string_view section() const override { return "verify"; }
  std::vector<TableInfo> tables() const override {
    return {DescribeTable<VerifyPendingRow>(), DescribeTable<VerifyWaitingRow>(), DescribeTable<VerifyApprovedRow>()};
  }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<VerifyConfig>();
    config->intro = kDefaultIntro;
    config->pass = kDefaultPass;
    config->fail = kDefaultFailRemove;
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "verify", "a table ([verify])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "verify", problems);
    if (r.Has("group") || r.Has("groups") || r.Has("group_type")) (void)ReadGroupTargets(r, common, config->groups);
    std::string mode;
    if (r.String("mode", mode)) {
      if (mode == "direct" || mode == "group") {
        config->mode = mode == "group" ? VerifyMode::kGroup : VerifyMode::kDirect;
      } else {
        r.Invalid("mode", fmt::format("\"{}\" is not direct or group", Excerpt(mode, 40)));
      }
    }
    if (ReadDuration(r, "time_limit", config->time_limit_s) &&
        (config->time_limit_s < kMinTimeLimitS || config->time_limit_s > kMaxTimeLimitS)) {
      r.Invalid("time_limit", "must be from 30s to 7d");
    }
    r.Int("attempts", config->attempts, 1, 10);
    std::string on_fail;
    if (r.String("on_fail", on_fail)) {
      if (on_fail == "remove" || on_fail == "task") {
        config->on_fail = on_fail == "task" ? VerifyOnFail::kTask : VerifyOnFail::kRemove;
      } else {
        r.Invalid("on_fail", fmt::format("\"{}\" is not remove or task", Excerpt(on_fail, 40)));
      }
    }
    if (config->on_fail == VerifyOnFail::kTask) config->fail = kDefaultFailTask;
    ReadTextOr(r, "intro", config->intro);
    ReadTextOr(r, "pass", config->pass);
    ReadTextOr(r, "fail", config->fail);
    config->request_fail = r.Has("fail") ? config->fail : kDefaultRequestFail;
    std::string requests;
    if (r.String("requests", requests)) {
      if (requests == "review") {
        config->requests = VerifyRequests::kReview;
      } else if (requests == "reject") {
        config->requests = VerifyRequests::kReject;
      } else if (requests == "approve") {
        config->requests = VerifyRequests::kApprove;
      } else {
        r.Invalid("requests", fmt::format("\"{}\" is not review, reject or approve", Excerpt(requests, 40)));
      }
    }
    const size_t before_questions = problems.size();
    if (const toml::array* questions = r.Array("questions")) {
      std::set<std::string, std::less<>> fields;
      ReadTables(*questions, "verify.questions", "[[verify.questions]]", kMaxQuestions, problems,
                 [&](TableReader& qr, size_t) { config->questions.push_back(ReadQuestion(qr, fields)); });
    }
    if (!config->groups.empty() && config->questions.empty() && problems.size() == before_questions) {
      r.Invalid("questions", "at least one [[verify.questions]] entry is required when groups verify newcomers");
    }
    const bool pass_phrase = std::any_of(config->questions.begin(), config->questions.end(), [](const VerifyQuestion& q) {
      return q.kind == VerifyQuestion::Kind::kAnswers;
    });
    if (config->requests == VerifyRequests::kReject && !config->questions.empty() && !pass_phrase &&
        problems.size() == before_questions) {
      r.Invalid("requests", "\"reject\" needs a question with answers (a pass phrase that approves a request): "
                            "without one every join request would be rejected");
    }
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const auto& config = ctx.config<VerifyConfig>();
    switch (e.type) {
      case EventType::kMemberJoined:
        return OnJoin(ctx, config);
      case EventType::kMemberLeft:
        return OnLeave(ctx);
      case EventType::kJoinRequest:
        return verify::OnJoinRequest(ctx, config);
      case EventType::kMessage:
        return IsDirectMessage(e) ? OnDirect(ctx, config) : OnGroupMessage(ctx, config);
      case EventType::kTimer:
        return OnTimer(ctx, config);
      default:
        return Status::Ok();
    }
  }
};

}  // namespace

bool VerifyConfig::Verifies(std::string_view platform, std::string_view group) const {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& ref) {
    return ref.size() == platform.size() + 1 + group.size() && ref.starts_with(platform) &&
           ref[platform.size()] == ':' && std::string_view(ref).substr(platform.size() + 1) == group;
  });
}

ArithmeticCaptcha ArithmeticFor(std::string_view seed, size_t question) {
  // FNV-1a (64-bit) over the seed, a separator and the question's number: stable across builds
  // and machines, unlike std::hash.
  const uint64_t h = Fnv1a64(std::to_string(question), Fnv1a64("#", Fnv1a64(seed)));
  return {2 + static_cast<int>(h % 19), 2 + static_cast<int>((h >> 32) % 19)};
}

std::optional<std::string> CheckAnswer(const VerifyQuestion& q, std::string_view answer, std::string_view seed,
                                       size_t question) {
  if (q.kind == VerifyQuestion::Kind::kFree) {
    std::string value = FreeAnswer(answer);
    if (text::TrimEnds(value).empty()) return std::nullopt;
    return value;
  }
  const std::string normalized = text::ShortForm(answer);
  if (normalized.empty()) return std::nullopt;
  if (q.kind == VerifyQuestion::Kind::kArithmetic) {
    const ArithmeticCaptcha c = ArithmeticFor(seed, question);
    int64_t n = 0;
    const auto [end, ec] = std::from_chars(normalized.data(), normalized.data() + normalized.size(), n);
    if (ec != std::errc() || end != normalized.data() + normalized.size() || n != c.a + c.b) return std::nullopt;
    return std::to_string(n);
  }
  for (size_t i = 0; i < q.normalized.size(); ++i) {
    if (q.normalized[i] == normalized) return q.accepted[i];
  }
  return std::nullopt;
}

std::unique_ptr<Module> MakeVerifyModule() { return std::make_unique<VerifyModule>(); }

}  // namespace qz
