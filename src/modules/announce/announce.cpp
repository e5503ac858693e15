#include "modules/announce/announce.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "engine/payload.hpp"
#include "core/hash.hpp"
#include "engine/module_text.hpp"

namespace qz {
namespace {

// Per group ("platform:id"): what was set last.
struct AnnouncedRow {
  static constexpr std::string_view kTable = "announced";
  std::string group;
  // The fingerprint the setting timer carried (AnnouncementFingerprint, in hex): taken from the
  // logged timer event, not recomputed, so `replay` rebuilds the same row whatever playbook is
  // in force when it runs.
  std::string fingerprint;
  int64_t at = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("group", group);
    v.Value("fingerprint", fingerprint);
    v.Value("at", at);
  }
};

constexpr size_t kMaxEntries = 100;

class AnnounceModule final : public Module {
 public:
  std::string_view name() const override { return "announce"; }
  std::string_view section() const override { return "announcements"; }
  std::vector<TableInfo> tables() const override { return {DescribeTable<AnnouncedRow>()}; }

  std::shared_ptr<const SectionConfig> ParseSection(const toml::node* node, const Playbook& common,
                                                    ConfigProblems& problems) const override {
    auto config = std::make_shared<AnnounceConfig>();
    if (node == nullptr) return config;
    std::map<std::string, size_t, std::less<>> owner;  // group → the entry that sets it
    ReadTables(*node, "announcements", "[[announcements]]", kMaxEntries, problems, [&](TableReader& r, size_t i) {
      Announcement a;
      (void)ReadGroupTargets(r, common, a.groups);
      for (const std::string& g : a.groups) {
        if (auto [it, fresh] = owner.try_emplace(g, i); !fresh) {
          r.Invalid(r.Has("group") ? "group" : r.Has("groups") ? "groups" : "group_type",
                    fmt::format("group \"{}\" already has its announcement from announcements[{}]", g, it->second));
        }
      }
      const size_t before = problems.size();
      a.text = ReadText(r, "text", TextKind::kGroup);
      if (a.text.empty() && problems.size() == before) {
        r.Invalid("text", r.Has("text") ? "must not be empty" : "required (the announcement)");
      }
      r.Done();
      config->entries.push_back(std::move(a));
    });
    return config;
  }

  std::vector<StandingTimer> StandingTimers(const Playbook& playbook) const override {
    std::vector<StandingTimer> timers;
    const auto* config = playbook.Section<AnnounceConfig>(section());
    if (config == nullptr) return timers;
    for (size_t i = 0; i < config->entries.size(); ++i) {
      const Announcement& a = config->entries[i];
      for (const std::string& group : a.groups) {
        const auto ref = ParseGroupRef(group);
        if (!ref) continue;
        nlohmann::json payload = {{"entry", i},
                                  {"group", group},
                                  {"fingerprint", fmt::format("{:016x}", AnnouncementFingerprint(a, playbook, ref->platform, ref->id))}};
        // Once (empty rule): when the playbook first asks for it, and again whenever it changes.
        timers.push_back({fmt::format("{}@{}", i, group), "", payload.dump()});
      }
    }
    return timers;
  }

  Status OnEvent(ModuleContext& ctx) override {
    if (ctx.event().type != EventType::kTimer) return Status::Ok();
    QZ_ASSIGN_OR_RETURN(const nlohmann::json payload, EventPayload(ctx.event()));
    if (!payload.contains("entry") || !payload["entry"].is_number_unsigned() ||
        !payload.contains("group") || !payload["group"].is_string() || !payload.contains("fingerprint") ||
        !payload["fingerprint"].is_string()) {
      return Status::Invalid("not an announcement timer", "payload");
    }
    const auto& config = ctx.config<AnnounceConfig>();
    const auto entry = payload["entry"].get<size_t>();
    const std::string group = StringAt(payload, "group");
    if (entry >= config.entries.size()) return Status::Ok();  // removed by a reload meanwhile
    const Announcement& a = config.entries[entry];
    if (std::find(a.groups.begin(), a.groups.end(), group) == a.groups.end()) return Status::Ok();
    const auto ref = ParseGroupRef(group);
    if (!ref) return Status::Ok();
    Action set;
    set.type = ActionType::kSetAnnouncement;
    set.platform = ref->platform;
    set.group = ref->id;
    set.text = Render(a.text, ctx.playbook().language, TemplateVarsFor(ctx, set.platform, set.group));
    AnnouncedRow row{.group = group};
    row.fingerprint = StringAt(payload, "fingerprint");
    if (auto last = ctx.Find(row); last && last->fingerprint == row.fingerprint) return Status::Ok();
    row.at = ctx.event().time;
    ctx.Put(row);
    ctx.Act(std::move(set));
    return Status::Ok();
  }
};

}  // namespace

uint64_t AnnouncementFingerprint(const Announcement& a, const Playbook& playbook, std::string_view platform,
                                 std::string_view id) {
  const LocalizedText& rules = playbook.RulesFor(platform, id);
  const GroupSettings* settings = playbook.FindGroup(platform, id);
  uint64_t h = kFnv1a64Offset;
  for (std::string_view part : {std::string_view(a.text.zh), std::string_view(a.text.en), std::string_view(rules.zh),
                                std::string_view(rules.en), settings ? std::string_view(settings->name) : "",
                                std::string_view(playbook.name), std::string_view(playbook.community)}) {
    h = Fnv1a64("\x1f", Fnv1a64(part, h));
  }
  return h;
}

std::unique_ptr<Module> MakeAnnounceModule() { return std::make_unique<AnnounceModule>(); }

}  // namespace qz
