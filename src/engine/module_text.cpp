#include "engine/module_text.hpp"

#include "engine/recurrence.hpp"
#include "engine/state.hpp"

namespace qz {

TemplateVars TemplateVarsFor(const ModuleContext& ctx, std::string_view platform,
                             std::string_view group) {
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

}  // namespace qz
