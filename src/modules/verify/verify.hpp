// qunzhu module `verify` (入群验证): newcomers to the groups a playbook names must answer a few
// questions (a quiz, a choice, an arithmetic captcha, a short questionnaire whose answers become
// profile tags: 学员档案) within a time limit, else they are removed (or an operator is asked to
// decide). In `direct` mode the newcomer is muted in the group and answers the bot in a private
// chat; in `group` mode the questions are asked in the group and the newcomer's next messages
// there are the answers (deleted to keep the group clean). Owns the playbook section [verify];
// keeps the tables `pending` (one row per member being verified in a group), `waiting` (per
// member: the groups they are being verified in, oldest first, so a private answer finds its
// group) and `approved` (applicants whose join request gave a pass phrase, until they join).
// On platforms where people ask to join (join_request: QQ 加群申请, Telegram join requests) it
// also answers the requests to the groups it verifies (入群审核; requests.cpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/module.hpp"

namespace qz {

enum class VerifyMode : uint8_t {
  kDirect,  // mute on join, ask and answer in a private chat with the bot
  kGroup,   // ask in the group; the member's next messages there are the answers (deleted)
};
enum class VerifyOnFail : uint8_t {
  kRemove,  // remove the member from the group
  kTask,    // open an operator task (the member stays muted in direct mode)
};

// How a join request to a verifying group is answered when the applicant is not blacklisted
// and their text is none of the pass phrases (`requests`).
enum class VerifyRequests : uint8_t {
  kReview,   // an operator task with what the applicant wrote: a person decides on the platform
  kReject,   // rejected with the `fail` text (or a built-in one for requests)
  kApprove,  // approved; verified after joining like every newcomer
};

// The member tag that bars a person from the verifying groups: their join requests are
// rejected whatever they wrote.
inline constexpr std::string_view kVerifyBlacklistTag = kBlacklistTag;

// One [[verify.questions]] entry.
struct VerifyQuestion {
  enum class Kind : uint8_t {
    kAnswers,     // `answers`: one of the accepted answers (compared normalised)
    kChoices,     // `choices`: one of the listed choices (compared normalised), shown to the member
    kArithmetic,  // `captcha = "arithmetic"`: "a + b = ?", the numbers derived from the join
    kFree,        // none of them (needs `field`): any non-empty answer, kept as a tag
  };
  Kind kind = Kind::kFree;
  LocalizedText ask;                 // may be empty for a captcha (a default prompt is used)
  std::vector<std::string> accepted;    // the answers or choices as written
  std::vector<std::string> normalized;  // the same, as compared (text::ShortForm)
  std::string field;                 // non-empty: the answer is kept as the tag "<field>:<answer>"
};

// [verify]: verification is off unless `group`, `groups` or `group_type` names the groups that
// verify their newcomers (ReadGroupTargets). `mode` (direct | group, default direct),
// `time_limit` (duration, default "10m", 30s..7d; moved on by quiet hours when a question has to
// wait for their end), `attempts` (per question, default 3, 1..10), `on_fail` (remove | task,
// default remove), `intro`, `pass`, `fail` (TEXT templates; built-in Chinese and English texts by
// default), `requests` (review | reject | approve, default review: see VerifyRequests; "reject"
// needs a question with `answers`, else every request would be rejected), and
// [[verify.questions]] (1..10 when groups are set) with `ask` (TEXT), at most one of `answers`
// (list), `choices` (list, 2..20) and `captcha = "arithmetic"`, and `field` (a tag name, 1..32
// bytes without spaces or ':'; required when the question has no answers, choices or captcha).
struct VerifyConfig : SectionConfig {
  std::vector<std::string> groups;  // "platform:id"; empty: verification is off
  VerifyMode mode = VerifyMode::kDirect;
  int64_t time_limit_s = 600;
  int attempts = 3;
  VerifyOnFail on_fail = VerifyOnFail::kRemove;
  LocalizedText intro;
  LocalizedText pass;
  LocalizedText fail;
  VerifyRequests requests = VerifyRequests::kReview;
  // The reason a rejected join request is given: `fail` when the playbook sets it (the default
  // `fail` speaks of a removal), else a built-in text.
  LocalizedText request_fail;
  std::vector<VerifyQuestion> questions;

  bool Verifies(std::string_view platform, std::string_view group) const;
};

// The members being verified in a group: one row per (group, member) until they pass, fail or
// leave.
struct VerifyPendingRow {
  static constexpr std::string_view kTable = "pending";
  int64_t group = 0;   // key: the group id
  int64_t member = 0;  // key: the member id
  std::string platform;
  std::string group_ref;   // the group's external id
  std::string member_ref;  // the member's external id
  std::string name;        // the member's name at the join
  std::string seed;        // the join event's id: the arithmetic captcha's numbers follow from it
  std::string mode;        // "direct" | "group", as at the join: where the questions went
  bool muted = false;      // muted at the join (direct mode): unmuted on passing
  int64_t question = 0;    // the question being asked (0-based)
  int64_t attempts_left = 0;
  int64_t joined_at = 0;
  int64_t deadline = 0;    // ms; the timer "p:<group>:<member>" fires then
  std::string answers;     // the fields answered so far: "<field>\t<value>\n" lines
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Key("member", member);
    v.Value("platform", platform);
    v.Value("group_ref", group_ref);
    v.Value("member_ref", member_ref);
    v.Value("name", name);
    v.Value("seed", seed);
    v.Value("mode", mode);
    v.Value("muted", muted);
    v.Value("question", question);
    v.Value("attempts_left", attempts_left);
    v.Value("joined_at", joined_at);
    v.Value("deadline", deadline);
    v.Value("answers", answers);
  }
};

// Per member: the groups (ids, space-separated, oldest first) they are being verified in, so a
// private message finds the verification it answers.
struct VerifyWaitingRow {
  static constexpr std::string_view kTable = "waiting";
  int64_t member = 0;  // key: the member id
  std::string groups;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("groups", groups);
  }
};

// Applicants whose join request a pass phrase approved (OnJoinRequest), one row per group and
// member: their member_joined then skips the verification (they answered already). A row lives
// until that join or until the approval lapses a day later (the timer "a:<group>:<member>"), so
// the table holds at most a day's approvals (history imported by `qunzhu ingest` schedules no
// timers: its unused approvals stay until their applicants join).
struct VerifyApprovedRow {
  static constexpr std::string_view kTable = "approved";
  int64_t group = 0;        // key: the group id
  int64_t member = 0;       // key: the member id
  int64_t approved_at = 0;  // ms: the join request's time
  std::string request;      // the join_request event's id
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Key("member", member);
    v.Value("approved_at", approved_at);
    v.Value("request", request);
  }
};

// How long an approval by pass phrase waits for the applicant's join. The platform adds them at
// once; a join after that is verified as usual.
inline constexpr int64_t kVerifyApprovalValidMs = 86'400'000;

// The arithmetic captcha "a + b = ?" of question `question` of a verification: a and b in
// 2..20, a function of the join event's id (`seed`) only (FNV-1a), never of a random source or
// the clock, so `replay` rebuilds the same state.
struct ArithmeticCaptcha {
  int a = 0;
  int b = 0;
};
ArithmeticCaptcha ArithmeticFor(std::string_view seed, size_t question);


// Whether `answer` answers question `question` (`q`) of the verification seeded `seed`: the value
// to keep for its field (the accepted answer or choice as written, the sum, or the member's own
// words for a free question), or nullopt when it is wrong.
std::optional<std::string> CheckAnswer(const VerifyQuestion& q, std::string_view answer,
                                       std::string_view seed, size_t question);

// Whether a join request's `text` gives one of the accepted answers of a pass-phrase question
// (`answers`), compared as CheckAnswer compares them (text::ShortForm). When the group asks a
// question on the platform, QQ hands over "问题：…\n答案：…": the part after the last 答案 is
// compared too.
bool IsPassPhrase(const VerifyConfig& config, std::string_view text);

// On join_request to a verifying group: a member tagged kVerifyBlacklistTag is rejected; a pass
// phrase approves (and the approval is kept for the join); else `requests` decides. Without
// verification of that group: nothing.
// On member_joined (not staff) in a verifying group: unless a pass phrase approved their
// request, the pending row, a mute (direct mode), the intro with the first question, and a
// timer at the deadline. On a private message (or, in group mode, a message in the group) of a
// member being verified: the answer is checked; right: the next question, or passing (unmuted,
// tags set, `pass`); wrong: the question again with the attempts left, or failing. At the
// deadline, or out of attempts: `fail`, then removal (or an operator task). A member who leaves
// is forgotten.
std::unique_ptr<Module> MakeVerifyModule();

}  // namespace qz
