#include "modules/moderation/moderation.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/text/utf8.hpp"
#include "modules/moderation/config.hpp"
#include "modules/moderation/decide.hpp"
#include "modules/moderation/rules.hpp"
#include "modules/moderation/tables.hpp"

namespace qz {
namespace {

using moderation::Analysis;
using moderation::ModerationConfig;

class ModerationModule final : public Module {
 public:
  std::string_view name() const override { return "moderation"; }
  std::string_view section() const override { return "moderation"; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook&,
                                                    ConfigProblems& problems) const override {
    return moderation::ParseModerationSection(node, problems);
  }

  std::vector<TableInfo> tables() const override {
    return {DescribeTable<moderation::DecisionRow>(), DescribeTable<moderation::StandingRow>(),
            DescribeTable<moderation::BlacklistRow>(), DescribeTable<moderation::BurstRow>(),
            DescribeTable<moderation::EchoRow>(), DescribeTable<moderation::CounterRow>()};
  }

  // Normalising and matching is the costly part: it runs before the writer.
  std::shared_ptr<const Prepared> Prepare(const Event& event,
                                          const SectionConfig& section) const override {
    const auto& config = static_cast<const ModerationConfig&>(section);
    if (event.type != EventType::kMessage || IsDirectMessage(event) || !config.enabled ||
        config.rules == nullptr) {
      return nullptr;
    }
    return moderation::Analyzer::Run(*config.rules, event.text, config.normalized_appeal_words, event.qr);
  }

  Status OnEvent(ModuleContext& ctx) override {
    const Event& e = ctx.event();
    switch (e.type) {
      case EventType::kCommand:
        return moderation::HandleCommand(ctx);
      case EventType::kMemberJoined:
        return moderation::HandleJoin(ctx);
      case EventType::kMessage:
        // A private chat with the bot is seen by nobody else: nothing to moderate.
        return IsDirectMessage(e) ? Status::Ok() : moderation::HandleMessage(ctx);
      default:
        return Status::Ok();
    }
  }
};

}  // namespace

std::unique_ptr<Module> MakeModerationModule() { return std::make_unique<ModerationModule>(); }

}  // namespace qz
