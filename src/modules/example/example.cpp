#include "modules/example/example.hpp"

#include <fmt/format.h>

#include "engine/module_text.hpp"

namespace qz {
namespace {

class ExampleModule final : public Module {
 public:
  std::string_view name() const override { return "example"; }
  std::string_view section() const override { return "example"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<Ping>()}; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook&,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<ExampleConfig>();
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "example", "a table ([example])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "example", problems);
    config->enabled = true;
    r.Bool("enabled", config->enabled);
    if (r.String("trigger", config->trigger) &&
        (config->trigger.empty() || config->trigger.size() > 64)) {
      r.Invalid("trigger", "must be 1 to 64 bytes");
    }
    if (r.Has("reply")) config->reply = ReadText(r, "reply", TextKind::kMember);
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    const auto& config = ctx.config<ExampleConfig>();
    if (!config.enabled || e.type != EventType::kMessage || IsDirectMessage(e) ||
        ctx.member() == nullptr ||
        ctx.message_deleted() || e.text != config.trigger) {
      return Status::Ok();
    }
    Ping ping = ctx.Find(Ping{.member = ctx.member()->id}).value_or(Ping{.member = ctx.member()->id});
    ++ping.count;
    ping.last = e.time;  // the event's time, not the clock: replay must rebuild the same row
    ctx.Put(ping);
    Action reply;
    reply.type = ActionType::kReply;
    reply.reply_to = e.id;
    reply.text = fmt::format("{} (#{})",
                             Render(config.reply, ctx.playbook().language,
                                    TemplateVarsFor(ctx, e.platform, e.group)),
                             ping.count);
    ctx.Act(std::move(reply), "reply");
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Module> MakeExampleModule() { return std::make_unique<ExampleModule>(); }

}  // namespace qz
