#include "modules/broadcasts/broadcasts.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/payload.hpp"
#include "core/token.hpp"
#include "engine/state.hpp"
#include "modules/broadcasts/tables.hpp"

namespace qz {
namespace {

using broadcasts::BroadcastRow;

constexpr std::string_view kTimerPrefix = "b:";

bool IsBroadcastId(std::string_view id) { return IsToken(id, 1, 32); }

// The community's groups the broadcast goes to, resolved now (a tag's members move between
// groups until a scheduled broadcast goes out), each once, in a stable order.
std::vector<std::string> Resolve(const ModuleContext& ctx, const BroadcastRow& row) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](std::string ref) {
    if (seen.insert(ref).second) out.push_back(std::move(ref));
  };
  const State& state = ctx.state();
  const CommunityId community = ctx.community().id;
  if (row.target == "groups") {
    for (size_t i = 0; i < row.groups.size();) {
      const size_t nl = std::min(row.groups.find('\n', i), row.groups.size());
      if (nl > i) add(row.groups.substr(i, nl - i));
      i = nl + 1;
    }
  } else if (row.target.starts_with("group_type:")) {
    const auto type = ParseGroupType(std::string_view(row.target).substr(11));
    for (const GroupSettings& g : ctx.playbook().groups) {
      if (type && g.type == *type) add(g.platform + ":" + g.id);
    }
    for (GroupId id = 1; id < state.NextGroupId(); ++id) {
      const Group* g = state.FindGroup(id);
      if (g != nullptr && g->community_id == community && type && g->type == *type) add(g->platform + ":" + g->external_id);
    }
  } else if (row.target.starts_with("tag:")) {
    const std::string_view tag = std::string_view(row.target).substr(4);
    std::vector<const Group*> groups;
    for (GroupId id = 1; id < state.NextGroupId(); ++id) {
      const Group* g = state.FindGroup(id);
      if (g != nullptr && g->community_id == community) groups.push_back(g);
    }
    std::set<GroupId> hit;
    for (MemberId m = 1; m < state.NextMemberId(); ++m) {
      const Member* member = state.FindMember(m);
      if (member == nullptr || member->community_id != community || !state.HasTag(m, tag)) continue;
      for (const Group* g : groups) {
        const Membership* ms = state.FindMembership(g->id, m);
        if (ms != nullptr && ms->active) hit.insert(g->id);
      }
    }
    for (GroupId id : hit) {
      const Group* g = state.FindGroup(id);
      add(g->platform + ":" + g->external_id);
    }
  }
  return out;
}

// Sends the broadcast to each of its groups now, one outbox action a group.
void Send(ModuleContext& ctx, BroadcastRow& row) {
  const std::vector<std::string> groups = Resolve(ctx, row);
  const LocalizedText text{row.text_zh, row.text_en};
  const std::string& body = Pick(text, ctx.playbook().language);
  std::string list;
  for (const std::string& ref : groups) {
    const auto parsed = ParseGroupRef(ref);
    if (!parsed) continue;
    Action send;
    send.type = ActionType::kSendMessage;
    send.platform = std::string(parsed->platform);
    send.group = std::string(parsed->id);
    send.text = body;
    ctx.Act(std::move(send), row.id);
    list += ref;
    list += '\n';
  }
  const Event& e = ctx.event();
  row.groups = std::move(list);
  row.count = static_cast<int64_t>(groups.size());
  row.status = "sent";
  row.sent_at = e.time;
  row.cause = e.platform + ":" + e.id;
  ctx.Put(row);
}

Status Create(ModuleContext& ctx) {
  const Event& e = ctx.event();
  QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(e));
  BroadcastRow row{.id = StringAt(payload, "id")};
  if (!IsBroadcastId(row.id)) return Status::Invalid("not a broadcast id", "id");
  if (ctx.Find(row)) return Status(Code::kAlreadyExists, fmt::format("broadcast '{}' exists", row.id), "id");
  if (payload.contains("text") && payload["text"].is_object()) {
    row.text_zh = StringAt(payload["text"], "zh");
    row.text_en = StringAt(payload["text"], "en");
  }
  if (row.text_zh.empty() && row.text_en.empty()) return Status::Invalid("required", "text");
  if (payload.contains("groups") && payload["groups"].is_array()) {
    row.target = "groups";
    for (const auto& g : payload["groups"]) {
      if (!g.is_string() || !ParseGroupRef(g.get<std::string>())) return Status::Invalid("\"platform:id\" each", "groups");
      row.groups += g.get<std::string>() + "\n";
    }
  } else if (!StringAt(payload, "group_type").empty()) {
    row.target = "group_type:" + StringAt(payload, "group_type");
  } else if (!StringAt(payload, "tag").empty()) {
    row.target = "tag:" + StringAt(payload, "tag");
  } else {
    return Status::Invalid("one of groups, group_type, tag is required", "groups");
  }
  row.at = payload.contains("at") && payload["at"].is_number_integer() ? payload["at"].get<int64_t>() : 0;
  row.created_by = StringAt(payload, "operator");
  row.created_at = e.time;
  if (row.at <= e.time) {
    row.at = e.time;
    Send(ctx, row);
    return Status::Ok();
  }
  ctx.Put(row);
  Action timer;
  timer.type = ActionType::kScheduleTimer;
  timer.timer = std::string(kTimerPrefix) + row.id;
  timer.due = row.at;
  ctx.Act(std::move(timer), row.id);
  return Status::Ok();
}

Status Cancel(ModuleContext& ctx) {
  QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(ctx.event()));
  auto row = ctx.Find(BroadcastRow{.id = StringAt(payload, "id")});
  if (!row) return Status::NotFound("no such broadcast");
  if (row->status != "scheduled") return Status::Invalid(fmt::format("it is {}", row->status), "id");
  row->status = "cancelled";
  ctx.Put(*row);
  return Status::Ok();
}

class BroadcastsModule final : public Module {
 public:
  std::string_view name() const override { return "broadcasts"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<BroadcastRow>()}; }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    if (e.type == EventType::kCommand) {
      if (e.command == "broadcasts.create") return Create(ctx);
      if (e.command == "broadcasts.cancel") return Cancel(ctx);
      return Status::Invalid(fmt::format("unknown command '{}'", e.command), "command");
    }
    if (e.type != EventType::kTimer || !ctx.timer().starts_with(kTimerPrefix)) return Status::Ok();
    auto row = ctx.Find(BroadcastRow{.id = std::string(ctx.timer().substr(kTimerPrefix.size()))});
    if (row && row->status == "scheduled") Send(ctx, *row);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Module> MakeBroadcastsModule() { return std::make_unique<BroadcastsModule>(); }

}  // namespace qz
