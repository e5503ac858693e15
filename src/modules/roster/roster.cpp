#include "modules/roster/roster.hpp"

namespace qz {
namespace {

constexpr int64_t kMinSyncEveryS = 3600;
constexpr int64_t kMaxSyncEveryS = 30 * 86400;

class RosterModule final : public Module {
 public:
  std::string_view name() const override { return "roster"; }
  std::string_view section() const override { return "roster"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<RosterSyncedRow>()}; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook&,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<RosterConfig>();
    if (node == nullptr) return config;
    const toml::table* table = ExpectTable(*node, "roster", "a table ([roster])", problems);
    if (table == nullptr) return config;
    TableReader r(*table, "roster", problems);
    config->enabled = true;  // the section's presence means "on" unless it says otherwise
    r.Bool("enabled", config->enabled);
    if (ReadDuration(r, "sync_every", config->sync_every_s) &&
        (config->sync_every_s < kMinSyncEveryS || config->sync_every_s > kMaxSyncEveryS)) {
      r.Invalid("sync_every", "must be from 1h to 30d");
    }
    r.Done();
    return config;
  }

  Status OnEvent(ModuleContext& ctx) override {
    const auto& config = ctx.config<RosterConfig>();
    if (!config.enabled) return Status::Ok();
    const Event& e = ctx.event();
    const Group* group = ctx.group();
    // Every event of the community passes here: the cheap checks first, then one row lookup.
    if (group == nullptr || IsSystemEvent(e.type) || group->bot_left_at != 0) return Status::Ok();
    RosterSyncedRow row{.group = group->id};
    if (auto last = ctx.Find(row)) {
      if (e.time - last->last_sync < config.sync_every_s * 1000) return Status::Ok();
      row = std::move(*last);
    }
    Action sync;
    sync.type = ActionType::kSyncMembers;
    sync.platform = group->platform;
    sync.group = group->external_id;
    ctx.Act(std::move(sync), "sync");
    row.platform = group->platform;
    row.group_ref = group->external_id;
    row.last_sync = e.time;  // the event's time, not the clock: replay rebuilds the same row
    ctx.Put(row);
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Module> MakeRosterModule() { return std::make_unique<RosterModule>(); }

}  // namespace qz
