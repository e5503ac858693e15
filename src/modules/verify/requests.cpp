// Join requests (入群审核): a person asks to join a group verify covers (join_request, on QQ and
// Telegram), and verify answers before they are in: blacklisted → rejected; a pass phrase →
// approved, and the approval is kept so that their join skips the verification; anything else
// as `requests` says.
#include <fmt/format.h>

#include <charconv>
#include <string>
#include <vector>

#include "core/text/normalize.hpp"
#include "core/text/utf8.hpp"
#include "engine/module_text.hpp"
#include "engine/state.hpp"
#include "modules/verify/requests.hpp"

namespace qz::verify {
namespace {

// What the operator's task quotes of an applicant's text.
constexpr size_t kMaxQuotedBytes = 500;

// The reason given to a blacklisted applicant: it does not say why (the tag is the operators').
const LocalizedText kBlacklistedReason{"你暂时无法加入{group.name}，如有疑问请联系管理员。",
                                       "Sorry, you cannot join {group.name}. Please contact an admin if this is a "
                                       "mistake."};

std::string ApprovalTimerKey(int64_t group, int64_t member) { return fmt::format("a:{}:{}", group, member); }

// "小明 (u1)", or the id alone.
std::string Who(const ModuleContext& ctx) {
  const Event& e = ctx.event();
  const std::string& name = e.name.empty() ? ctx.member()->display_name : e.name;
  return name.empty() ? e.member : fmt::format("{} ({})", name, e.member);
}

// The answer to the event's request: approve, or reject with `reason`.
Action Answer(const ModuleContext& ctx, bool approve, std::string reason = {}) {
  const Event& e = ctx.event();
  Action a;
  a.type = ActionType::kAnswerJoinRequest;
  a.platform = e.platform;
  a.group = e.group;
  a.member = e.member;
  a.request = e.request;
  a.approve = approve;
  a.text = std::move(reason);
  return a;
}

std::string RenderFor(const ModuleContext& ctx, const LocalizedText& text) {
  const Event& e = ctx.event();
  TemplateVars vars = TemplateVarsFor(ctx, e.platform, e.group);
  vars.member_name = e.name.empty() ? ctx.member()->display_name : e.name;
  return Render(text, ctx.playbook().language, vars);
}

// Kept until the applicant joins (TakeApproval) or the approval lapses (OnApprovalTimer).
void RememberApproval(ModuleContext& ctx) {
  const Event& e = ctx.event();
  VerifyApprovedRow row{.group = ctx.group()->id, .member = ctx.member()->id};
  row.approved_at = e.time;
  row.request = e.id;
  ctx.Put(row);
  Action timer;
  timer.type = ActionType::kScheduleTimer;
  timer.timer = ApprovalTimerKey(row.group, row.member);
  timer.due = e.time + kVerifyApprovalValidMs;
  ctx.Act(std::move(timer), "request_lapse");
}

bool ParseApprovalKey(std::string_view key, int64_t& group, int64_t& member) {
  if (!key.starts_with("a:")) return false;
  key.remove_prefix(2);
  const size_t colon = key.find(':');
  if (colon == std::string_view::npos) return false;
  auto to_int = [](std::string_view s, int64_t& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
  };
  return to_int(key.substr(0, colon), group) && to_int(key.substr(colon + 1), member);
}

}  // namespace

Status OnJoinRequest(ModuleContext& ctx, const VerifyConfig& config) {
  const Event& e = ctx.event();
  if (ctx.group() == nullptr || ctx.member() == nullptr) return Status::Ok();
  // A group nobody verifies: the request is left to the platform's own settings and its admins.
  if (config.questions.empty() || !config.Verifies(e.platform, e.group)) return Status::Ok();
  if (ctx.state().HasTag(ctx.member()->id, kVerifyBlacklistTag)) {
    ctx.Act(Answer(ctx, false, RenderFor(ctx, kBlacklistedReason)), "request_blacklist");
    return Status::Ok();
  }
  if (IsPassPhrase(config, e.text)) {
    ctx.Act(Answer(ctx, true), "request_pass");
    RememberApproval(ctx);
    return Status::Ok();
  }
  switch (config.requests) {
    case VerifyRequests::kReview: {
      Action task;
      task.type = ActionType::kOpenTask;
      task.platform = e.platform;
      task.group = e.group;
      task.member = e.member;
      const std::string wrote = text::TrimEnds(e.text).empty()
                                    ? std::string("wrote nothing")
                                    : fmt::format("wrote \"{}\"", Excerpt(e.text, kMaxQuotedBytes));
      task.text = fmt::format("{} asks to join {}:{} and {}: approve or reject the request on the platform", Who(ctx),
                              e.platform, e.group, wrote);
      ctx.Act(std::move(task), "request_review");
      return Status::Ok();
    }
    case VerifyRequests::kReject:
      ctx.Act(Answer(ctx, false, RenderFor(ctx, config.request_fail)), "request_reject");
      return Status::Ok();
    case VerifyRequests::kApprove:
      // No approval is kept: the newcomer is verified after joining like everyone.
      ctx.Act(Answer(ctx, true), "request_approve");
      return Status::Ok();
  }
  return Status::Ok();
}

bool TakeApproval(ModuleContext& ctx, int64_t group, int64_t member, int64_t time) {
  auto row = ctx.Find(VerifyApprovedRow{.group = group, .member = member});
  if (!row) return false;
  ctx.Erase(*row);
  return time >= row->approved_at && time - row->approved_at <= kVerifyApprovalValidMs;
}

bool OnApprovalTimer(ModuleContext& ctx, std::string_view key) {
  int64_t group = 0;
  int64_t member = 0;
  if (!ParseApprovalKey(key, group, member)) return false;
  auto row = ctx.Find(VerifyApprovedRow{.group = group, .member = member});
  // Used (they joined), or replaced by a later approval whose own timer comes later.
  if (row && ctx.event().time >= row->approved_at + kVerifyApprovalValidMs) ctx.Erase(*row);
  return true;
}

}  // namespace qz::verify

namespace qz {

bool IsPassPhrase(const VerifyConfig& config, std::string_view text) {
  std::vector<std::string_view> candidates{text};
  // QQ's request text for a group with a question: "问题：<question>\n答案：<answer>".
  for (std::string_view marker : {std::string_view("答案："), std::string_view("答案:")}) {
    if (const size_t at = text.rfind(marker); at != std::string_view::npos) {
      candidates.push_back(text.substr(at + marker.size()));
    }
  }
  for (size_t i = 0; i < config.questions.size(); ++i) {
    const VerifyQuestion& q = config.questions[i];
    if (q.kind != VerifyQuestion::Kind::kAnswers) continue;
    for (std::string_view candidate : candidates) {
      if (CheckAnswer(q, candidate, {}, i)) return true;
    }
  }
  return false;
}

}  // namespace qz
