#include "modules/answers/answers.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text/normalize.hpp"
#include "core/text/utf8.hpp"
#include "engine/module_text.hpp"
#include "playbook/section.hpp"

namespace qz {
namespace {

constexpr size_t kMaxOpenPerGroup = 20;  // older open questions are escalated by their timers
constexpr size_t kMaxStoredText = 500;
constexpr size_t kMaxFaqEntries = 20000;  // the benchmark runs 5,000
constexpr std::string_view kTimerPrefix = "q:";

// A question asked in a group, and its first response.
struct QuestionRow {
  static constexpr std::string_view kTable = "questions";
  int64_t group = 0;
  std::string event;  // the question's event id
  std::string platform;
  std::string group_ref;   // external group id
  std::string member_ref;  // external member id of the asker
  int64_t member = 0;
  int64_t asked_at = 0;
  std::string text;
  std::string status = "open";  // open | answered | escalated
  int64_t answered_at = 0;
  int64_t answered_by = 0;  // member id; 0 for the bot
  std::string by;           // staff | member | bot
  int64_t response_ms = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Key("event", event);
    v.Value("platform", platform);
    v.Value("group_ref", group_ref);
    v.Value("member_ref", member_ref);
    v.Value("member", member);
    v.Value("asked_at", asked_at);
    v.Value("text", text);
    v.Value("status", status);
    v.Value("answered_at", answered_at);
    v.Value("answered_by", answered_by);
    v.Value("by", by);
    v.Value("response_ms", response_ms);
  }
};

// A group's open questions, oldest first: one line "<asker member id> <event id>" each (event
// ids hold no line breaks).
struct OpenRow {
  static constexpr std::string_view kTable = "open";
  int64_t group = 0;
  std::string events;
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Value("events", events);
  }
};

// When an entry was last answered in a group.
struct CooldownRow {
  static constexpr std::string_view kTable = "cooldowns";
  int64_t group = 0;
  int64_t entry = 0;
  int64_t at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Key("entry", entry);
    v.Value("at", at);
  }
};

// What Prepare found, before the writer.
struct Found final : Prepared {
  int entry = -1;
  bool question = false;
};

struct OpenQuestion {
  int64_t asker = 0;
  std::string_view event;
};

std::vector<OpenQuestion> ParseOpen(std::string_view list) {
  std::vector<OpenQuestion> out;
  for (size_t i = 0; i < list.size();) {
    const size_t nl = std::min(list.find('\n', i), list.size());
    const std::string_view line = list.substr(i, nl - i);
    i = nl + 1;
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    OpenQuestion q;
    for (char c : line.substr(0, space)) q.asker = q.asker * 10 + (c - '0');
    q.event = line.substr(space + 1);
    out.push_back(q);
  }
  return out;
}

// Writes the list back, or erases the row when it is empty.
void StoreOpen(ModuleContext& ctx, OpenRow& row, const std::vector<OpenQuestion>& open) {
  if (open.empty()) {
    ctx.Erase(row);
    return;
  }
  std::string out;
  for (const OpenQuestion& q : open) {
    if (!out.empty()) out += '\n';
    fmt::format_to(std::back_inserter(out), "{} {}", q.asker, q.event);
  }
  row.events = std::move(out);
  ctx.Put(row);
}

bool IsStaff(const ModuleContext& ctx) {
  const Event& e = ctx.event();
  if (e.role && *e.role != Role::kMember) return true;
  const Membership* m = ctx.membership();
  return m != nullptr && m->role != Role::kMember;
}

void RemoveOpen(ModuleContext& ctx, int64_t group, std::string_view event) {
  auto row = ctx.Find(OpenRow{.group = group});
  if (!row) return;
  const std::string list = row->events;  // the views below point into this copy
  std::vector<OpenQuestion> open = ParseOpen(list);
  std::erase_if(open, [&](const OpenQuestion& q) { return q.event == event; });
  StoreOpen(ctx, *row, open);
}

// Records `q` as answered now by the current event's member (or the bot).
void Answer(ModuleContext& ctx, QuestionRow& q, std::string_view by, int64_t by_member) {
  q.status = "answered";
  q.answered_at = ctx.event().time;
  q.answered_by = by_member;
  q.by = std::string(by);
  q.response_ms = std::max<int64_t>(0, q.answered_at - q.asked_at);
  ctx.Put(q);
}

// What this message says about the group's open questions: it answers the one it replies to,
// else (when it is not a question itself) the oldest one somebody else asked. Returns whether
// the sender has a question of their own still open (a new question of theirs is a follow-up).
bool RecordResponse(ModuleContext& ctx, bool staff, bool is_question) {
  const Event& e = ctx.event();
  const int64_t group = ctx.group()->id;
  auto row = ctx.Find(OpenRow{.group = group});
  if (!row) return false;
  const std::string list = row->events;  // the views below point into this copy
  std::vector<OpenQuestion> open = ParseOpen(list);
  const int64_t sender = ctx.member()->id;
  auto answered = open.end();
  for (auto it = open.begin(); it != open.end(); ++it) {
    if (it->asker == sender) continue;
    if (!e.reply_to.empty() && it->event == e.reply_to) {
      answered = it;
      break;
    }
    if (answered == open.end() && (staff || !is_question)) answered = it;
  }
  if (answered != open.end()) {
    if (auto q = ctx.Find(QuestionRow{.group = group, .event = std::string(answered->event)})) {
      Answer(ctx, *q, staff ? "staff" : "member", sender);
    }
    open.erase(answered);
    StoreOpen(ctx, *row, open);
  }
  return std::any_of(open.begin(), open.end(), [&](const OpenQuestion& q) { return q.asker == sender; });
}

// A question in a private chat with the bot: the FAQ answers it there, every time (nobody else
// sees it, so there is no cooldown and nothing to record for the group's response times). Only
// a message that reads as a question, or an exact entry, is answered: a short reply may be a
// verification answer or a keyword meant for another module.
Status OnDirectMessage(ModuleContext& ctx, const AnswersConfig& config) {
  const Found* found = ctx.prepared<Found>();
  if (found == nullptr || found->entry < 0 || static_cast<size_t>(found->entry) >= config.faq->entries().size()) {
    return Status::Ok();
  }
  const FaqEntry& entry = config.faq->entries()[static_cast<size_t>(found->entry)];
  if (!found->question && entry.match != FaqEntry::Match::kExact) return Status::Ok();
  const Event& e = ctx.event();
  Action answer;
  answer.type = ActionType::kSendDirect;
  answer.platform = e.platform;
  answer.member = e.member;
  answer.text = Render(entry.answer, ctx.playbook().language, TemplateVarsFor(ctx, e.platform, e.group));
  ctx.Act(std::move(answer), entry.source);
  return Status::Ok();
}

Status OnMessage(ModuleContext& ctx, const AnswersConfig& config) {
  const Event& e = ctx.event();
  if (ctx.member() == nullptr || ctx.message_deleted()) return Status::Ok();
  if (IsDirectMessage(e)) return OnDirectMessage(ctx, config);
  if (ctx.group() == nullptr) return Status::Ok();
  const Found* found = ctx.prepared<Found>();
  static const Found kNothing;
  if (found == nullptr) found = &kNothing;
  const bool staff = IsStaff(ctx);
  const bool question = config.questions && !staff && found->question;
  // First, what this message says about questions already asked.
  const bool asker_waiting = RecordResponse(ctx, staff, question);
  if (staff) return Status::Ok();

  const int64_t group = ctx.group()->id;
  QuestionRow q{.group = group, .event = e.id};
  q.platform = e.platform;
  q.group_ref = e.group;
  q.member_ref = e.member;
  q.member = ctx.member()->id;
  q.asked_at = e.time;
  q.text = std::string(Utf8Prefix(e.text, kMaxStoredText));

  if (found->entry >= 0 && static_cast<size_t>(found->entry) < config.faq->entries().size()) {
    const FaqEntry& entry = config.faq->entries()[static_cast<size_t>(found->entry)];
    CooldownRow cool = ctx.Find(CooldownRow{.group = group, .entry = found->entry})
                           .value_or(CooldownRow{.group = group, .entry = found->entry});
    const bool cooling = cool.at != 0 && e.time - cool.at < config.cooldown_s * 1000;
    if (!cooling) {
      Action reply;
      reply.type = ActionType::kReply;
      reply.platform = e.platform;
      reply.group = e.group;
      reply.member = e.member;
      reply.reply_to = e.id;
      reply.text = Render(entry.answer, ctx.playbook().language, TemplateVarsFor(ctx, e.platform, e.group));
      ctx.Act(std::move(reply), entry.source);
      cool.at = e.time;
      ctx.Put(cool);
    }
    // Answered now, or a moment ago in the same group: not a question left open.
    if (question) Answer(ctx, q, "bot", 0);
    return Status::Ok();
  }
  // A second question from someone still waiting is a follow-up to the first, not a new one.
  if (!question || asker_waiting) return Status::Ok();
  ctx.Put(q);
  OpenRow row = ctx.Find(OpenRow{.group = group}).value_or(OpenRow{.group = group});
  const std::string list = row.events;  // the views below point into this copy
  std::vector<OpenQuestion> open = ParseOpen(list);
  if (open.size() >= kMaxOpenPerGroup) open.erase(open.begin());  // its timer still escalates it
  open.push_back({q.member, e.id});
  StoreOpen(ctx, row, open);
  if (config.unanswered_after_s > 0) {
    Action timer;
    timer.type = ActionType::kScheduleTimer;
    timer.timer = fmt::format("{}{}:{}", kTimerPrefix, group, e.id);
    timer.due = e.time + config.unanswered_after_s * 1000;
    ctx.Act(std::move(timer), "question");
  }
  return Status::Ok();
}

// The unanswered-question timer: still open, it becomes an operator task.
Status OnTimer(ModuleContext& ctx) {
  std::string_view key = ctx.timer();
  if (!key.starts_with(kTimerPrefix)) return Status::Ok();
  key.remove_prefix(kTimerPrefix.size());
  const size_t colon = key.find(':');
  if (colon == std::string_view::npos) return Status::Ok();
  int64_t group = 0;
  for (char c : key.substr(0, colon)) {
    if (c < '0' || c > '9') return Status::Ok();
    group = group * 10 + (c - '0');
  }
  auto q = ctx.Find(QuestionRow{.group = group, .event = std::string(key.substr(colon + 1))});
  if (!q || q->status != "open") return Status::Ok();
  q->status = "escalated";
  ctx.Put(*q);
  RemoveOpen(ctx, group, q->event);
  Action task;
  task.type = ActionType::kOpenTask;
  task.platform = q->platform;
  task.group = q->group_ref;
  task.member = q->member_ref;
  const int64_t minutes = (ctx.event().time - q->asked_at) / 60000;
  task.text = fmt::format("unanswered question in {}:{} for {} min from {}: {}", q->platform, q->group_ref, minutes,
                          q->member_ref, Excerpt(q->text, 200));
  task.evidence = fmt::format("{}:{}", q->platform, q->event);
  ctx.Act(std::move(task), "unanswered");
  return Status::Ok();
}

FaqEntry::Match ParseMatch(TableReader& r) {
  std::string match = "contains";
  r.String("match", match);
  if (match == "contains") return FaqEntry::Match::kContains;
  if (match == "exact") return FaqEntry::Match::kExact;
  if (match == "regex") return FaqEntry::Match::kRegex;
  r.Invalid("match", fmt::format("'{}' is not one of contains, exact, regex", match));
  return FaqEntry::Match::kContains;
}

class AnswersModule final : public Module {
 public:
  std::string_view name() const override { return "answers"; }
  std::string_view section() const override { return "answers"; }
  std::vector<TableInfo> tables() const override {
    return {DescribeTable<QuestionRow>(), DescribeTable<OpenRow>(), DescribeTable<CooldownRow>()};
  }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook&,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<AnswersConfig>();
    static const std::shared_ptr<const FaqSet> kEmpty = *FaqSet::Compile({});
    config->faq = kEmpty;
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "answers", "a table ([answers])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "answers", problems);
    config->enabled = true;
    r.Bool("enabled", config->enabled);
    ReadDuration(r, "cooldown", config->cooldown_s, /*off_allowed=*/true);
    r.Bool("questions", config->questions);
    ReadDuration(r, "unanswered_after", config->unanswered_after_s, /*off_allowed=*/true);
    r.Int("min_chars", config->min_chars, 0, 1000);
    std::vector<FaqEntry> entries;
    if (const toml::array* faq = r.Array("faq")) {
      ReadTables(*faq, "answers.faq", "[[answers.faq]]", kMaxFaqEntries, problems, [&](TableReader& fr, size_t) {
        FaqEntry entry;
        entry.source = fr.path();
        entry.match = ParseMatch(fr);
        fr.StringList("keywords", entry.keywords);
        if (entry.keywords.empty()) fr.Invalid("keywords", "at least one keyword is required");
        if (entry.match == FaqEntry::Match::kRegex) {
          // Each regex alone, so a bad one is reported at its entry's line.
          for (const std::string& k : entry.keywords) {
            const text::Pattern p{text::Pattern::Kind::kRegex, k, 0, true, "regex"};
            if (auto one = text::MatcherDatabase::Compile({&p, 1}); !one.ok()) {
              fr.Invalid("keywords", fmt::format("'{}' does not compile: {}", k, one.status().message()));
            }
          }
        }
        const size_t before = problems.size();
        entry.answer = ReadText(fr, "answer", TextKind::kMember);
        if (entry.answer.empty() && problems.size() == before) fr.Invalid("answer", "required");
        fr.Done();
        entries.push_back(std::move(entry));
      });
    }
    r.Done();
    if (!problems.empty()) return config;
    auto set = FaqSet::Compile(std::move(entries));
    if (!set.ok()) {
      // The message starts with the entry's path ("answers.faq[2].keywords[0]: …").
      problems.Report(table->source().begin.line, "answers.faq", set.status().message());
      return config;
    }
    config->faq = std::move(*set);
    return config;
  }

  // Normalising and matching run before the writer.
  std::shared_ptr<const Prepared> Prepare(const Event& event, const SectionConfig& section) const override {
    const auto& config = static_cast<const AnswersConfig&>(section);
    if (!config.enabled || event.type != EventType::kMessage || event.text.empty()) return nullptr;
    thread_local text::NormalizedText normalized;
    text::Normalizer::Default().Normalize(event.text, normalized);
    auto found = std::make_shared<Found>();
    found->entry = config.faq->Match(normalized.text);
    const auto chars = static_cast<size_t>(std::count_if(
        normalized.text.begin(), normalized.text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
    found->question = chars >= static_cast<size_t>(config.min_chars) && IsQuestion(normalized.text);
    return found;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const auto& config = ctx.config<AnswersConfig>();
    const Event& e = ctx.event();
    if (e.type == EventType::kTimer) return OnTimer(ctx);
    if (!config.enabled || e.type != EventType::kMessage) return Status::Ok();
    return OnMessage(ctx, config);
  }
};

}  // namespace

std::unique_ptr<Module> MakeAnswersModule() { return std::make_unique<AnswersModule>(); }

}  // namespace qz
