#include "modules/welcome/welcome.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "engine/module_text.hpp"
#include "engine/state.hpp"

namespace qz {
namespace {

constexpr size_t kMaxSteps = 20;

// Per group: when the last welcome was sent, and the members waiting for the next (merged) one.
struct GreetingRow {
  static constexpr std::string_view kTable = "greetings";
  int64_t group = 0;
  std::string platform;
  std::string group_ref;
  int64_t last_sent = 0;  // ms; 0: never
  int64_t flush_due = 0;  // ms; 0: nobody waiting
  int64_t count = 0;      // members waiting
  std::string joiners;    // the first max_names of them: "<member ref>\t<name>" lines
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Value("platform", platform);
    v.Value("group_ref", group_ref);
    v.Value("last_sent", last_sent);
    v.Value("flush_due", flush_due);
    v.Value("count", count);
    v.Value("joiners", joiners);
  }
};

struct Joiner {
  std::string_view ref;
  std::string_view name;
};

std::vector<Joiner> ParseJoiners(std::string_view list) {
  std::vector<Joiner> out;
  for (size_t i = 0; i < list.size();) {
    const size_t nl = std::min(list.find('\n', i), list.size());
    const std::string_view line = list.substr(i, nl - i);
    i = nl + 1;
    const size_t tab = line.find('\t');
    if (tab != std::string_view::npos) out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

std::string FormatJoiners(const std::vector<Joiner>& joiners) {
  std::string out;
  for (const Joiner& j : joiners) fmt::format_to(std::back_inserter(out), "{}\t{}\n", j.ref, j.name);
  return out;
}

// A display name as one field of a joiners line.
std::string Field(std::string_view s) {
  std::string out(s);
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\t' || c == '\n' || c == '\r'; }, ' ');
  return out;
}

// "<a>:<b>:…" split into `n` fields, the last taking the rest; empty when there are fewer.
std::vector<std::string_view> SplitKey(std::string_view key, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    const size_t colon = key.find(':');
    if (colon == std::string_view::npos) return {};
    out.push_back(key.substr(0, colon));
    key.remove_prefix(colon + 1);
  }
  out.push_back(key);
  return out;
}

bool ToInt(std::string_view s, int64_t& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

void ScheduleTimer(ModuleContext& ctx, std::string key, TimeMs due, std::string_view rule) {
  Action timer;
  timer.type = ActionType::kScheduleTimer;
  timer.timer = std::move(key);
  timer.due = due;
  ctx.Act(std::move(timer), rule);
}

// Sends the welcome to `row`'s group naming `names` (`count` joined), and marks it sent now.
void SendWelcome(ModuleContext& ctx, const WelcomeConfig& config, GreetingRow& row,
                 const std::vector<std::string>& names, int64_t count, std::string_view member_ref) {
  TemplateVars vars = TemplateVarsFor(ctx, row.platform, row.group_ref);
  vars.member_name = JoinNames(names, count, config.max_names, ctx.playbook().language);
  Action send;
  send.type = ActionType::kSendMessage;
  send.platform = row.platform;
  send.group = row.group_ref;
  send.member = std::string(member_ref);  // one member: the platform may mention them
  send.text = Render(config.text, ctx.playbook().language, vars);
  ctx.Act(std::move(send), count > 1 ? "merged" : "");
  row.last_sent = ctx.event().time;
}

Status OnJoin(ModuleContext& ctx, const WelcomeConfig& config) {
  const Event& e = ctx.event();
  // Staff joining (an owner/admin/assistant) is not greeted as a new member.
  if ((e.role && *e.role != Role::kMember) || ctx.group() == nullptr || ctx.member() == nullptr) return Status::Ok();
  const int64_t gid = ctx.group()->id;
  const int64_t mid = ctx.member()->id;
  const std::string name = e.name.empty() ? ctx.member()->display_name : e.name;
  GreetingRow row = ctx.Find(GreetingRow{.group = gid}).value_or(GreetingRow{.group = gid});
  row.platform = e.platform;
  row.group_ref = e.group;
  const bool quiet = row.last_sent == 0 || e.time - row.last_sent >= config.merge_window_s * 1000;
  if (config.merge_window_s == 0 || (row.count == 0 && quiet)) {
    SendWelcome(ctx, config, row, {name}, 1, e.member);
  } else {
    // Someone was welcomed less than a window ago: this member waits for the merged welcome at
    // the window's end (one timer per group, set by the first to wait).
    std::vector<Joiner> joiners = ParseJoiners(row.joiners);
    const std::string field = Field(name);
    if (static_cast<int>(joiners.size()) < config.max_names) joiners.push_back({e.member, field});
    row.joiners = FormatJoiners(joiners);
    ++row.count;
    if (row.flush_due == 0) {
      row.flush_due = std::max(e.time, row.last_sent + config.merge_window_s * 1000);
      ScheduleTimer(ctx, fmt::format("w:{}", gid), row.flush_due, "merge");
    }
  }
  ctx.Put(row);
  if (config.follow_up_after_s > 0 && !config.follow_up.empty()) {
    ScheduleTimer(ctx, fmt::format("f:{}:{}:{}:{}", gid, mid, e.time, e.member), e.time + config.follow_up_after_s * 1000,
                  "follow_up");
  }
  for (size_t i = 0; i < config.steps.size(); ++i) {
    ScheduleTimer(ctx, fmt::format("s:{}:{}:{}:{}", i, gid, mid, e.member), e.time + config.steps[i].after_s * 1000,
                  fmt::format("steps[{}]", i));
  }
  return Status::Ok();
}

// A member who leaves before the merged welcome is not named in it.
Status OnLeave(ModuleContext& ctx) {
  if (ctx.group() == nullptr) return Status::Ok();
  auto row = ctx.Find(GreetingRow{.group = ctx.group()->id});
  if (!row || row->count == 0) return Status::Ok();
  std::vector<Joiner> joiners = ParseJoiners(row->joiners);
  const size_t before = joiners.size();
  std::erase_if(joiners, [&](const Joiner& j) { return j.ref == ctx.event().member; });
  if (joiners.size() == before) return Status::Ok();
  const std::string list = FormatJoiners(joiners);  // views point into row->joiners until here
  row->joiners = list;
  --row->count;
  ctx.Put(*row);
  return Status::Ok();
}

Status OnMergeTimer(ModuleContext& ctx, const WelcomeConfig& config, int64_t gid) {
  auto row = ctx.Find(GreetingRow{.group = gid});
  if (!row || row->flush_due == 0) return Status::Ok();
  row->flush_due = 0;
  if (row->count > 0) {
    const std::string list = row->joiners;
    const std::vector<Joiner> joiners = ParseJoiners(list);
    std::vector<std::string> names;
    for (const Joiner& j : joiners) names.emplace_back(j.name);
    SendWelcome(ctx, config, *row, names, row->count, joiners.size() == 1 && row->count == 1 ? joiners[0].ref : "");
  }
  row->count = 0;
  row->joiners.clear();
  ctx.Put(*row);
  return Status::Ok();
}

// The member's membership in group `gid` if they are in it now.
const Membership* StillIn(const ModuleContext& ctx, int64_t gid, int64_t mid) {
  const Membership* m = ctx.state().FindMembership(GroupId{gid}, MemberId{mid});
  return m != nullptr && m->active ? m : nullptr;
}

TemplateVars VarsFor(const ModuleContext& ctx, const Group& group, int64_t mid) {
  TemplateVars vars = TemplateVarsFor(ctx, group.platform, group.external_id);
  if (const Member* member = ctx.state().FindMember(MemberId{mid})) vars.member_name = member->display_name;
  return vars;
}

Status OnMemberTimer(ModuleContext& ctx, const WelcomeConfig& config, std::string_view key) {
  const bool follow_up = key.starts_with("f:");
  const std::vector<std::string_view> f = SplitKey(key.substr(2), 4);
  if (f.size() != 4) return Status::Ok();
  // f: gid, mid, joined_at, member ref; s: step, gid, mid, member ref.
  int64_t a = 0;
  int64_t b = 0;
  int64_t c = 0;
  if (!ToInt(f[0], a) || !ToInt(f[1], b) || !ToInt(f[2], c)) return Status::Ok();
  const int64_t gid = follow_up ? a : b;
  const int64_t mid = follow_up ? b : c;
  const Membership* membership = StillIn(ctx, gid, mid);
  const Group* group = ctx.state().FindGroup(GroupId{gid});
  if (membership == nullptr || group == nullptr) return Status::Ok();
  Action send;
  send.platform = group->platform;
  send.member = std::string(f[3]);
  if (follow_up) {
    // Spoke since joining: no nudge.
    if (membership->last_message >= c) return Status::Ok();
    send.type = ActionType::kSendMessage;
    send.group = group->external_id;
    send.text = Render(config.follow_up, ctx.playbook().language, VarsFor(ctx, *group, mid));
    ctx.Act(std::move(send), "follow_up");
    return Status::Ok();
  }
  if (a < 0 || static_cast<size_t>(a) >= config.steps.size()) return Status::Ok();  // removed since
  const WelcomeStep& step = config.steps[static_cast<size_t>(a)];
  send.type = step.to_group ? ActionType::kSendMessage : ActionType::kSendDirect;
  if (step.to_group) send.group = group->external_id;
  send.text = Render(step.text, ctx.playbook().language, VarsFor(ctx, *group, mid));
  ctx.Act(std::move(send), fmt::format("steps[{}]", a));
  return Status::Ok();
}

Status OnTimer(ModuleContext& ctx, const WelcomeConfig& config) {
  const std::string_view key = ctx.timer();
  if (key.starts_with("w:")) {
    int64_t gid = 0;
    return ToInt(key.substr(2), gid) ? OnMergeTimer(ctx, config, gid) : Status::Ok();
  }
  if (key.starts_with("f:") || key.starts_with("s:")) return OnMemberTimer(ctx, config, key);
  return Status::Ok();
}

void ReadSteps(TableReader& r, WelcomeConfig& config, ConfigProblems& problems) {
  const toml::array* steps = r.Array("steps");
  if (steps == nullptr) return;
  ReadTables(*steps, "welcome.steps", "[[welcome.steps]]", kMaxSteps, problems, [&](TableReader& sr, size_t) {
    WelcomeStep step;
    if (ReadDuration(sr, "after", step.after_s) && step.after_s < 60) {
      sr.Invalid("after", "must be at least 1m");
    }
    sr.Require("after", "a duration after the join, e.g. \"1d\"");
    std::string to = "member";
    if (sr.String("to", to) && to != "member" && to != "group") {
      sr.Invalid("to", fmt::format("\"{}\" is not member or group", Excerpt(to, 20)));
    }
    step.to_group = to == "group";
    const size_t before = problems.size();
    step.text = ReadText(sr, "text", TextKind::kMember);
    if (step.text.empty() && problems.size() == before) sr.Invalid("text", "required");
    sr.Done();
    config.steps.push_back(std::move(step));
  });
}

class WelcomeModule final : public Module {
 public:
  std::string_view name() const override { return "welcome"; }
  std::string_view section() const override { return "welcome"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<GreetingRow>()}; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook&,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<WelcomeConfig>();
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "welcome", "a table ([welcome])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "welcome", problems);
    config->enabled = true;  // the section's presence means "on" unless it says otherwise
    r.Bool("enabled", config->enabled);
    const size_t before = problems.size();
    config->text = ReadText(r, "text", TextKind::kMember);
    // An empty text is a problem of its own only when the text was not reported already.
    if (config->enabled && config->text.empty() && problems.size() == before) {
      r.Invalid("text", r.Has("text") ? "must not be empty when welcome is enabled"
                                      : "required when welcome is enabled");
    }
    ReadDuration(r, "merge_window", config->merge_window_s, /*off_allowed=*/true);
    r.Int("max_names", config->max_names, 1, 100);
    ReadDuration(r, "follow_up_after", config->follow_up_after_s, /*off_allowed=*/true);
    const size_t before_follow_up = problems.size();
    config->follow_up = ReadText(r, "follow_up", TextKind::kMember);
    if (config->follow_up_after_s > 0 && config->follow_up.empty() && problems.size() == before_follow_up) {
      r.Invalid("follow_up", "required with follow_up_after");
    }
    ReadSteps(r, *config, problems);
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const auto& config = ctx.config<WelcomeConfig>();
    switch (e.type) {
      case EventType::kMemberJoined:
        return config.enabled && !config.text.empty() ? OnJoin(ctx, config) : Status::Ok();
      case EventType::kMemberLeft:
        return OnLeave(ctx);
      case EventType::kTimer:
        // Timers set while enabled still run, so a merged welcome already promised goes out.
        return config.text.empty() ? Status::Ok() : OnTimer(ctx, config);
      default:
        return Status::Ok();
    }
  }
};

}  // namespace

std::string JoinNames(const std::vector<std::string>& names, int64_t count, int max_names, Language language) {
  const bool zh = language != Language::kEn;
  std::string out;
  const size_t shown = std::min(names.size(), static_cast<size_t>(std::max(1, max_names)));
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += zh ? "、" : ", ";
    out += names[i];
  }
  const int64_t more = count - static_cast<int64_t>(shown);
  if (more > 0) {
    out += zh ? fmt::format(" 等 {} 位新朋友", count) : fmt::format(" and {} more", more);
  }
  return out;
}

std::unique_ptr<Module> MakeWelcomeModule() { return std::make_unique<WelcomeModule>(); }

}  // namespace qz
