#include "modules/schedule/schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/token.hpp"
#include "engine/module_text.hpp"
#include "engine/recurrence.hpp"

namespace qz {
namespace {

constexpr size_t kMaxScheduleNameBytes = 64;
constexpr size_t kMaxSchedules = 1000;
constexpr std::string_view kTimerPrefix = "playbook:";  // of standing timers (see module.hpp)

bool IsScheduleName(std::string_view s) { return IsToken(s, 1, kMaxScheduleNameBytes, "_.-"); }

ScheduleSettings ReadSchedule(TableReader& r, const Playbook& common) {
  ScheduleSettings s;
  if (r.String("name", s.name) && !IsScheduleName(s.name)) {
    r.Invalid("name", fmt::format("\"{}\" is not a schedule name: use 1 to {} of A-Z a-z 0-9 _ . -",
                                  Excerpt(s.name, 40), kMaxScheduleNameBytes));
  }
  r.Require("name", "unique within the playbook");
  if (r.String("rule", s.rule)) {
    // The full rule in the community's zone: what is accepted here is what will run.
    if (auto rule = Recurrence::Parse(s.rule, common.time_zone); !rule.ok()) {
      r.Invalid("rule", fmt::format("{} (e.g. \"daily 06:20\", \"weekly mon,fri 20:00\")",
                                    rule.status().message()));
    }
  }
  r.Require("rule", "e.g. \"daily 06:20\"");
  s.single = ReadGroupTargets(r, common, s.groups);
  r.Bool("on_holidays", s.on_holidays);
  s.group_set.insert(s.groups.begin(), s.groups.end());
  const size_t before = r.problems().size();
  s.text = ReadText(r, "text", TextKind::kGroup);
  if (s.text.empty() && r.problems().size() == before) {
    r.Invalid("text", r.Has("text") ? "must not be empty" : "required (the message to send)");
  }
  r.Done();
  return s;
}

class ScheduleModule final : public Module {
 public:
  std::string_view name() const override { return "schedule"; }
  std::string_view section() const override { return "schedules"; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<ScheduleConfig>();
    if (node == nullptr) return config;
    EntryNames seen;
    ReadTables(*node, "schedules", "[[schedules]]", kMaxSchedules, problems, [&](TableReader& r, size_t i) {
      ScheduleSettings s = ReadSchedule(r, common);
      if (IsScheduleName(s.name)) CheckUniqueName(r, s.name, i, "schedules", "schedule", seen);
      config->by_name.try_emplace(s.name, config->schedules.size());
      config->schedules.push_back(std::move(s));
    });
    return config;
  }

  std::vector<StandingTimer> StandingTimers(const Playbook& playbook) const override {
    std::vector<StandingTimer> timers;
    if (const auto* config = playbook.Section<ScheduleConfig>(section())) {
      for (const ScheduleSettings& s : config->schedules) {
        if (s.single) {
          timers.push_back({s.name, s.rule, fmt::format(R"({{"schedule":{}}})", JsonString(s.name))});
          continue;
        }
        for (const std::string& group : s.groups) {
          timers.push_back({fmt::format("{}@{}", s.name, group), s.rule,
                            fmt::format(R"({{"schedule":{},"group":{}}})", JsonString(s.name), JsonString(group))});
        }
      }
    }
    return timers;
  }

  Status OnEvent(ModuleContext& ctx) override {
    if (ctx.event().type != EventType::kTimer || !ctx.timer().starts_with(kTimerPrefix)) {
      return Status::Ok();
    }
    // "<name>" (a one-group schedule) or "<name>@<platform:id>" (one of its groups).
    std::string_view name = ctx.timer().substr(kTimerPrefix.size());
    std::string_view group;
    if (const size_t at = name.find('@'); at != std::string_view::npos) {
      group = name.substr(at + 1);
      name = name.substr(0, at);
    }
    const auto& config = ctx.config<ScheduleConfig>();
    const auto found = config.by_name.find(name);
    if (found == config.by_name.end()) return Status::Ok();  // removed meanwhile
    const ScheduleSettings& s = config.schedules[found->second];
    if (s.single != group.empty()) return Status::Ok();  // a timer of the schedule's earlier shape
    if (s.single) group = s.groups.front();
    // A group dropped from the schedule meanwhile: its timer is finished by the reload.
    if (!s.single && !s.group_set.contains(group)) return Status::Ok();
    if (!s.on_holidays && !ctx.playbook().holidays.empty()) {
      // The occurrence's local date (the timer event's time is its due time).
      auto day = UtcToLocal(ctx.event().time, ctx.playbook().time_zone, "%Y-%m-%d");
      const auto& holidays = ctx.playbook().holidays;
      if (day.ok() && std::binary_search(holidays.begin(), holidays.end(), *day)) return Status::Ok();
    }
    const auto ref = ParseGroupRef(group);
    if (!ref) return Status::Internal("schedule '" + s.name + "' has a malformed group");
    Action send;
    send.type = ActionType::kSendMessage;
    send.platform = ref->platform;
    send.group = ref->id;
    send.text = Render(s.text, ctx.playbook().language, TemplateVarsFor(ctx, send.platform, send.group));
    ctx.Act(std::move(send), s.name);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Module> MakeScheduleModule() { return std::make_unique<ScheduleModule>(); }

}  // namespace qz
