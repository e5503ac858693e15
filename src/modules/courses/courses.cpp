#include "modules/courses/courses.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "core/token.hpp"
#include "core/time.hpp"
#include "engine/module_text.hpp"
#include "engine/recurrence.hpp"

namespace qz {
namespace {

constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxCourses = 100;
constexpr size_t kMaxSessions = 500;  // per course
constexpr size_t kMaxReminders = 10;  // per course
constexpr size_t kMaxTimelines = 100;
constexpr size_t kMaxSteps = 100;  // per timeline
constexpr int kMaxDayOffset = 366;
constexpr int64_t kMaxRemindSeconds = int64_t{366} * 86400;
constexpr size_t kMaxTaskBytes = 2000;
constexpr std::string_view kTimerPrefix = "playbook:";  // of standing timers (see module.hpp)

bool IsEntryName(std::string_view s) { return IsToken(s, 1, kMaxNameBytes, "_.-"); }

void ReadName(TableReader& r, std::string& name, std::string_view what) {
  if (r.String("name", name) && !IsEntryName(name)) {
    r.Invalid("name", fmt::format("\"{}\" is not a {} name: use 1 to {} of A-Z a-z 0-9 _ . -",
                                  Excerpt(name, 40), what, kMaxNameBytes));
  }
  r.Require("name", "unique within the playbook");
}

// Reports a second entry with the same name: "duplicate <what> name "x" (first used by
// <section>[i], line n)".
// "HH:MM", 00:00 to 23:59.
bool IsClockTime(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return false;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return (s[0] - '0') * 10 + (s[1] - '0') < 24 && (s[3] - '0') * 10 + (s[4] - '0') < 60;
}

// Checks a local "YYYY-MM-DD HH:MM[:SS]" as the "at" rule it becomes, in the community's zone;
// reports the part that is wrong.
bool CheckLocalDateTime(TableReader& r, std::string_view key, const std::string& value,
                        const Playbook& common) {
  const size_t space = value.find(' ');
  if (space == std::string::npos || value.find(' ', space + 1) != std::string::npos) {
    r.Invalid(key, fmt::format("\"{}\" is not a local date and time like \"2026-03-08 20:00\"",
                               Excerpt(value, 40)));
    return false;
  }
  const std::string rule = "at " + value;
  auto parsed = Recurrence::Parse(rule, common.time_zone);
  if (parsed.ok()) return true;
  std::string_view problem = parsed.status().message();
  if (problem.starts_with(rule + ": ")) problem.remove_prefix(rule.size() + 2);
  r.Invalid(key, fmt::format("\"{}\": {}", Excerpt(value, 40), problem));
  return false;
}

// "<name>.<a>.<b>@<group>" split from the right at `dots` dots (names may hold dots, the parts
// after them may not; the group follows the first '@', as names have none).
struct KeyParts {
  std::string_view name;
  std::array<std::string_view, 2> parts;
  std::string_view group;
};
std::optional<KeyParts> SplitKey(std::string_view key, size_t dots) {
  KeyParts out;
  const size_t at = key.find('@');
  if (at == std::string_view::npos) return std::nullopt;
  out.group = key.substr(at + 1);
  std::string_view left = key.substr(0, at);
  for (size_t i = dots; i-- > 0;) {
    const size_t dot = left.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    out.parts[i] = left.substr(dot + 1);
    left = left.substr(0, dot);
  }
  out.name = left;
  return out;
}

std::optional<size_t> ParseIndex(std::string_view s) {
  size_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string TimerPayload(std::string_view kind, std::string_view name, std::string_view index_key,
                         size_t index, std::string_view extra, std::string_view group) {
  return fmt::format(R"({{"{}":{},"{}":{}{},"group":{}}})", kind, JsonString(name), index_key,
                     index, extra, JsonString(group));
}

// ---------------------------------------------------------------------------------------------
// [[courses]]

// "3月8日 20:00" / "Mar 8, 20:00" from a local "YYYY-MM-DD HH:MM[:SS]".
std::string SessionWhen(std::string_view at, Language language) {
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int month = (at[5] - '0') * 10 + (at[6] - '0');
  const int day = (at[8] - '0') * 10 + (at[9] - '0');
  const std::string_view clock = at.substr(11, 5);
  if (language == Language::kEn) {
    return fmt::format("{} {}, {}", kMonths[static_cast<size_t>(month - 1) % 12], day, clock);
  }
  return fmt::format("{}月{}日 {}", month, day, clock);
}

std::string CourseRule(const CourseSession& session, int64_t before) {
  return "at " + LocalMinus(session.at, before);
}

CourseSession ReadSession(TableReader& r, const Playbook& common) {
  CourseSession s;
  const size_t before = r.problems().size();
  s.title = ReadText(r, "title", TextKind::kPlain);
  if (s.title.empty() && r.problems().size() == before) {
    r.Invalid("title", r.Has("title") ? "must not be empty" : "required (the session's title)");
  }
  if (r.String("at", s.at) && !CheckLocalDateTime(r, "at", s.at, common)) s.at.clear();
  r.Require("at", "the session's local start, e.g. \"2026-03-08 20:00\"");
  r.Done();
  return s;
}

// `remind`: durations before the session ("7d", "1h", "90m"; "0" or "at": at its start).
std::vector<int64_t> ReadReminders(TableReader& r) {
  std::vector<int64_t> out;
  std::vector<std::string> items;
  if (!r.Has("remind")) return {int64_t{7} * 86400, 86400, 3600};
  if (!r.StringList("remind", items)) return out;
  if (items.empty()) r.Invalid("remind", "must not be empty (leave it out for \"7d\", \"1d\", \"1h\")");
  if (items.size() > kMaxReminders) {
    r.Invalid("remind", fmt::format("at most {} reminders", kMaxReminders));
    return out;
  }
  for (const std::string& item : items) {
    int64_t seconds = 0;
    if (item != "0" && item != "at") {
      auto d = ParseDurationSeconds(item);
      if (!d.ok()) {
        r.Invalid("remind", fmt::format("\"{}\": {} (e.g. \"7d\", \"1h\"; \"0\" for the start)",
                                        Excerpt(item, 40), d.status().message()));
        return {};
      }
      if (*d > kMaxRemindSeconds) {
        r.Invalid("remind", fmt::format("\"{}\" is more than 366 days", Excerpt(item, 40)));
        return {};
      }
      seconds = *d;
    }
    if (std::find(out.begin(), out.end(), seconds) != out.end()) {
      r.Invalid("remind", fmt::format("\"{}\" is listed twice (as {})", Excerpt(item, 40),
                                      ReminderTag(seconds)));
      return {};
    }
    out.push_back(seconds);
  }
  return out;
}

CourseSettings ReadCourse(TableReader& r, const Playbook& common) {
  CourseSettings c;
  ReadName(r, c.name, "course");
  (void)ReadGroupTargets(r, common, c.groups);
  c.group_set.insert(c.groups.begin(), c.groups.end());
  c.remind = ReadReminders(r);
  for (auto [key, text] : {std::pair{"remind_text", &c.remind_text}, std::pair{"start_text", &c.start_text}}) {
    const size_t before = r.problems().size();
    *text = ReadText(r, key, TextKind::kGroup);
    if (text->empty() && r.Has(key) && r.problems().size() == before) r.Invalid(key, "must not be empty");
  }
  if (!c.start_text.empty() && !c.remind.empty() &&
      std::find(c.remind.begin(), c.remind.end(), 0) == c.remind.end()) {
    r.Invalid("start_text", "is posted at a session's start: add \"0\" to remind");
  }
  if (const toml::array* sessions = r.Array("sessions")) {
    if (sessions->empty()) r.Invalid("sessions", "must not be empty");
    ReadTables(*sessions, r.PathOf("sessions"), "[[courses.sessions]]", kMaxSessions, r.problems(),
               [&](TableReader& sr, size_t) { c.sessions.push_back(ReadSession(sr, common)); });
  } else {
    r.Require("sessions", "[[courses.sessions]] with title and at");
  }
  r.Done();
  return c;
}

class CoursesModule final : public Module {
 public:
  std::string_view name() const override { return "courses"; }
  std::string_view section() const override { return "courses"; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<CoursesConfig>();
    if (node == nullptr) return config;
    EntryNames seen;
    ReadTables(*node, "courses", "[[courses]]", kMaxCourses, problems, [&](TableReader& r, size_t i) {
      CourseSettings c = ReadCourse(r, common);
      if (IsEntryName(c.name)) CheckUniqueName(r, c.name, i, "courses", "course", seen);
      config->by_name.try_emplace(c.name, config->courses.size());
      config->courses.push_back(std::move(c));
    });
    return config;
  }

  std::vector<StandingTimer> StandingTimers(const Playbook& playbook) const override {
    std::vector<StandingTimer> timers;
    const auto* config = playbook.Section<CoursesConfig>(section());
    if (config == nullptr) return timers;
    for (const CourseSettings& c : config->courses) {
      for (size_t i = 0; i < c.sessions.size(); ++i) {
        if (c.sessions[i].at.empty()) continue;
        for (const int64_t before : c.remind) {
          const std::string tag = ReminderTag(before);
          const std::string rule = CourseRule(c.sessions[i], before);
          for (const std::string& group : c.groups) {
            timers.push_back({fmt::format("{}.{}.{}@{}", c.name, i, tag, group), rule,
                              TimerPayload("course", c.name, "session", i,
                                           fmt::format(R"(,"remind":{})", JsonString(tag)), group)});
          }
        }
      }
    }
    return timers;
  }

  Status OnEvent(ModuleContext& ctx) override {
    if (ctx.event().type != EventType::kTimer || !ctx.timer().starts_with(kTimerPrefix)) {
      return Status::Ok();
    }
    // "<course>.<session>.<reminder>@<platform:id>"
    const auto key = SplitKey(ctx.timer().substr(kTimerPrefix.size()), 2);
    if (!key) return Status::Ok();
    const auto& config = ctx.config<CoursesConfig>();
    const auto found = config.by_name.find(key->name);
    if (found == config.by_name.end()) return Status::Ok();  // removed meanwhile
    const CourseSettings& c = config.courses[found->second];
    const auto index = ParseIndex(key->parts[0]);
    if (!index || *index >= c.sessions.size() || !c.group_set.contains(key->group)) return Status::Ok();
    const CourseSession& session = c.sessions[*index];
    const auto before = std::find_if(c.remind.begin(), c.remind.end(),
                                     [&](int64_t s) { return ReminderTag(s) == key->parts[1]; });
    if (before == c.remind.end()) return Status::Ok();
    const auto ref = ParseGroupRef(key->group);
    if (!ref) return Status::Internal("course '" + c.name + "' has a malformed group");

    const Language language = ctx.playbook().language;
    const std::string& title = Pick(session.title, language);
    const std::string when = SessionWhen(session.at, language);
    const bool start = *before == 0;
    const LocalizedText& custom = start ? c.start_text : c.remind_text;
    Action send;
    send.type = ActionType::kSendMessage;
    send.platform = ref->platform;
    send.group = ref->id;
    if (!custom.empty()) {
      // The operator's template, then the session it is about (the templates know no session).
      send.text = Render(custom, language, TemplateVarsFor(ctx, send.platform, send.group));
      send.text += language == Language::kEn ? fmt::format("\n{}: {}", title, when)
                                             : fmt::format("\n《{}》{}", title, when);
    } else if (start) {
      send.text = language == Language::kEn ? fmt::format("{} starts now!", title)
                                            : fmt::format("《{}》现在开始！", title);
    } else {
      send.text = language == Language::kEn ? fmt::format("Reminder: {} starts on {}.", title, when)
                                            : fmt::format("【提醒】《{}》将于 {} 开始", title, when);
    }
    ctx.Act(std::move(send), c.name);
    return Status::Ok();
  }
};

// ---------------------------------------------------------------------------------------------
// [[timelines]]

// The local date `day` days after `start` ("YYYY-MM-DD").
std::string StartPlus(std::string_view start, int day) {
  const std::string local = LocalMinus(std::string(start) + " 00:00", -int64_t{day} * 86400);
  return local.substr(0, 10);
}

std::string StepRule(const TimelineStep& step, std::string_view start) {
  return fmt::format("at {} {}", StartPlus(start, step.day), step.at);
}

TimelineStep ReadStep(TableReader& r) {
  TimelineStep s;
  r.Int("day", s.day, -kMaxDayOffset, kMaxDayOffset);
  r.Require("day", "days from the group's start: -7 a week before, 0 the start date, 1 the day after");
  if (r.String("at", s.at) && !IsClockTime(s.at)) {
    r.Invalid("at", fmt::format("\"{}\" is not a local time like \"20:00\"", Excerpt(s.at, 40)));
    s.at.clear();
  }
  r.Require("at", "the local time, e.g. \"20:00\"");
  const size_t before = r.problems().size();
  s.text = ReadText(r, "text", TextKind::kGroup);
  if (r.String("task", s.task)) {
    if (s.task.empty()) r.Invalid("task", "must not be empty");
    if (s.task.size() > kMaxTaskBytes) r.Invalid("task", fmt::format("at most {} bytes", kMaxTaskBytes));
  }
  if (r.Has("text") && r.Has("task")) {
    r.Invalid("task", "give one of text (a post to the group) and task (for an operator)");
  } else if (!r.Has("text") && !r.Has("task")) {
    r.Require("text", "a post to the group; or `task`, a to-do for an operator");
  } else if (r.Has("text") && s.text.empty() && r.problems().size() == before) {
    r.Invalid("text", "must not be empty");
  }
  r.Done();
  return s;
}

TimelineSettings ReadTimeline(TableReader& r, const Playbook& common) {
  TimelineSettings tl;
  ReadName(r, tl.name, "timeline");
  (void)ReadGroupTargets(r, common, tl.groups);
  const std::string_view target = r.Has("group") ? "group" : r.Has("groups") ? "groups" : "group_type";
  for (const std::string& group : tl.groups) {
    const auto ref = ParseGroupRef(group);
    const GroupSettings* settings = ref ? common.FindGroup(ref->platform, ref->id) : nullptr;
    if (settings == nullptr || settings->start.empty()) {
      r.Invalid(target, fmt::format("group {} has no start date (give its [[groups]] entry "
                                    "start = \"YYYY-MM-DD\")",
                                    Excerpt(group, 80)));
      continue;
    }
    tl.starts.emplace(group, settings->start);
  }
  std::erase_if(tl.groups, [&](const std::string& g) { return !tl.starts.contains(g); });
  tl.group_set.insert(tl.groups.begin(), tl.groups.end());
  if (const toml::array* steps = r.Array("steps")) {
    if (steps->empty()) r.Invalid("steps", "must not be empty");
    ReadTables(*steps, r.PathOf("steps"), "[[timelines.steps]]", kMaxSteps, r.problems(),
               [&](TableReader& sr, size_t) { tl.steps.push_back(ReadStep(sr)); });
  } else {
    r.Require("steps", "[[timelines.steps]] with day, at and text or task");
  }
  r.Done();
  return tl;
}

class TimelinesModule final : public Module {
 public:
  std::string_view name() const override { return "timelines"; }
  std::string_view section() const override { return "timelines"; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<TimelinesConfig>();
    if (node == nullptr) return config;
    EntryNames seen;
    ReadTables(*node, "timelines", "[[timelines]]", kMaxTimelines, problems, [&](TableReader& r, size_t i) {
      TimelineSettings tl = ReadTimeline(r, common);
      if (IsEntryName(tl.name)) CheckUniqueName(r, tl.name, i, "timelines", "timeline", seen);
      config->by_name.try_emplace(tl.name, config->timelines.size());
      config->timelines.push_back(std::move(tl));
    });
    return config;
  }

  std::vector<StandingTimer> StandingTimers(const Playbook& playbook) const override {
    std::vector<StandingTimer> timers;
    const auto* config = playbook.Section<TimelinesConfig>(section());
    if (config == nullptr) return timers;
    for (const TimelineSettings& tl : config->timelines) {
      for (size_t i = 0; i < tl.steps.size(); ++i) {
        if (tl.steps[i].at.empty()) continue;
        for (const std::string& group : tl.groups) {
          timers.push_back({fmt::format("{}.{}@{}", tl.name, i, group),
                            StepRule(tl.steps[i], tl.starts.find(group)->second),
                            TimerPayload("timeline", tl.name, "step", i, "", group)});
        }
      }
    }
    return timers;
  }

  Status OnEvent(ModuleContext& ctx) override {
    if (ctx.event().type != EventType::kTimer || !ctx.timer().starts_with(kTimerPrefix)) {
      return Status::Ok();
    }
    // "<timeline>.<step>@<platform:id>"
    const auto key = SplitKey(ctx.timer().substr(kTimerPrefix.size()), 1);
    if (!key) return Status::Ok();
    const auto& config = ctx.config<TimelinesConfig>();
    const auto found = config.by_name.find(key->name);
    if (found == config.by_name.end()) return Status::Ok();  // removed meanwhile
    const TimelineSettings& tl = config.timelines[found->second];
    const auto index = ParseIndex(key->parts[0]);
    const auto start = tl.starts.find(key->group);
    if (!index || *index >= tl.steps.size() || start == tl.starts.end()) return Status::Ok();
    const TimelineStep& step = tl.steps[*index];
    const auto ref = ParseGroupRef(key->group);
    if (!ref) return Status::Internal("timeline '" + tl.name + "' has a malformed group");
    const TemplateVars vars = TemplateVarsFor(ctx, ref->platform, ref->id);
    Action act;
    act.platform = ref->platform;
    act.group = ref->id;
    if (!step.task.empty()) {
      act.type = ActionType::kOpenTask;
      act.text = fmt::format("timeline {} day {} ({} {}) for group {} ({}): {}", tl.name, step.day,
                             StartPlus(start->second, step.day), step.at, vars.group_name,
                             key->group, step.task);
      act.evidence = fmt::format("timeline:{}.{}", tl.name, *index);
    } else {
      act.type = ActionType::kSendMessage;
      act.text = Render(step.text, ctx.playbook().language, vars);
    }
    ctx.Act(std::move(act), tl.name);
    return Status::Ok();
  }
};

}  // namespace

std::string ReminderTag(int64_t seconds_before) {
  if (seconds_before == 0) return "start";
  if (seconds_before % 86400 == 0) return fmt::format("{}d", seconds_before / 86400);
  if (seconds_before % 3600 == 0) return fmt::format("{}h", seconds_before / 3600);
  if (seconds_before % 60 == 0) return fmt::format("{}m", seconds_before / 60);
  return fmt::format("{}s", seconds_before);
}

std::string LocalMinus(std::string_view at, int64_t seconds) {
  // Wall-clock arithmetic: the local time read as if it were UTC, which has no DST.
  auto t = LocalToUtc(at, "UTC");
  if (!t.ok()) return "";
  auto out = UtcToLocal(*t - seconds * 1000, "UTC", "%Y-%m-%d %H:%M:%S");
  if (!out.ok()) return "";
  if (out->ends_with(":00")) out->resize(out->size() - 3);
  return *out;
}

std::unique_ptr<Module> MakeCoursesModule() { return std::make_unique<CoursesModule>(); }
std::unique_ptr<Module> MakeTimelinesModule() { return std::make_unique<TimelinesModule>(); }

}  // namespace qz
