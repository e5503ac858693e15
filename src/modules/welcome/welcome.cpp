#include "modules/welcome/welcome.hpp"

#include "engine/module_text.hpp"

namespace qz {
namespace {

class WelcomeModule final : public Module {
 public:
  std::string_view name() const override { return "welcome"; }
  std::string_view section() const override { return "welcome"; }

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
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    if (e.type != EventType::kMemberJoined) return Status::Ok();
    const auto& config = ctx.config<WelcomeConfig>();
    if (!config.enabled || config.text.empty()) return Status::Ok();
    // Staff joining (an owner/admin/assistant) is not greeted as a new member.
    if (e.role && *e.role != Role::kMember) return Status::Ok();
    Action send;
    send.type = ActionType::kSendMessage;
    send.platform = e.platform;
    send.group = e.group;
    send.member = e.member;
    send.text = Render(config.text, ctx.playbook().language, TemplateVarsFor(ctx, e.platform, e.group));
    ctx.Act(std::move(send));
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Module> MakeWelcomeModule() { return std::make_unique<WelcomeModule>(); }

}  // namespace qz
