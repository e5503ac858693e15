#include "automation/automation.hpp"

#include "engine/recurrence.hpp"
#include "engine/state.hpp"

namespace qz {
namespace {

// Variables every template may use, filled from the context.
TemplateVars VarsFor(const ModuleContext& ctx, std::string_view platform, std::string_view group) {
  const Playbook& pb = ctx.playbook();
  TemplateVars vars;
  if (const Member* m = ctx.member()) vars.member_name = m->display_name;
  if (!ctx.event().name.empty()) vars.member_name = ctx.event().name;
  const GroupSettings* settings = pb.FindGroup(platform, group);
  const Group* seen = ctx.state().FindGroupByExternal(platform, group);
  vars.group_name = settings && !settings->name.empty() ? settings->name
                    : seen                               ? seen->name
                                                         : std::string(group);
  vars.group_rules = Pick(pb.RulesFor(platform, group), pb.language);  // plain text, not a template
  vars.community_name = pb.name.empty() ? ctx.community().name : pb.name;
  const std::string_view tz = pb.community.empty() ? ctx.community().time_zone : pb.time_zone;
  if (auto date = UtcToLocal(ctx.event().time, tz, "%Y-%m-%d"); date.ok()) vars.date = *date;
  if (auto time = UtcToLocal(ctx.event().time, tz, "%H:%M"); time.ok()) vars.time = *time;
  return vars;
}

class WelcomeModule final : public Module {
 public:
  std::string_view name() const override { return "welcome"; }

  void OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    if (e.type != EventType::kMemberJoined) return;
    const Playbook& pb = ctx.playbook();
    if (!pb.welcome.enabled || pb.welcome.text.empty()) return;
    // Staff joining (an owner/admin/assistant) is not greeted as a new member.
    if (e.role && *e.role != Role::kMember) return;
    Action send;
    send.type = ActionType::kSendMessage;
    send.platform = e.platform;
    send.group = e.group;
    send.member = e.member;
    send.text = Render(pb.welcome.text, pb.language, VarsFor(ctx, e.platform, e.group));
    ctx.Act(std::move(send));
  }
};

class ScheduleModule final : public Module {
 public:
  std::string_view name() const override { return "schedule"; }

  void OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    if (e.type != EventType::kTimer || !e.timer.starts_with(kPrefix)) return;
    const std::string_view schedule = std::string_view(e.timer).substr(kPrefix.size());
    const Playbook& pb = ctx.playbook();
    for (const ScheduleSettings& s : pb.schedules) {
      if (s.name != schedule) continue;
      const auto ref = ParseGroupRef(s.group);
      if (!ref) return;  // the playbook validator rejects this
      Action send;
      send.type = ActionType::kSendMessage;
      send.platform = ref->platform;
      send.group = ref->id;
      send.text = Render(s.text, pb.language, VarsFor(ctx, send.platform, send.group));
      ctx.Act(std::move(send), s.name);
      return;
    }
  }

 private:
  static constexpr std::string_view kPrefix = "schedule:";
};

}  // namespace

std::unique_ptr<Module> MakeWelcomeModule() { return std::make_unique<WelcomeModule>(); }
std::unique_ptr<Module> MakeScheduleModule() { return std::make_unique<ScheduleModule>(); }

}  // namespace qz
