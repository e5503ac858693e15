#include "engine/replay.hpp"

#include <fmt/format.h>

#include "engine/module_registry.hpp"
#include "engine/shard_writer.hpp"
#include "model/event.hpp"

namespace qz {
namespace {

constexpr int kChunk = 8192;

template <typename T, typename Key, typename Describe>
void DiffList(std::string_view what, const std::vector<T>& live, const std::vector<T>& rebuilt,
              Key key, Describe describe, size_t max, std::vector<std::string>& out) {
  size_t i = 0, j = 0;
  while ((i < live.size() || j < rebuilt.size()) && out.size() < max) {
    if (j >= rebuilt.size() || (i < live.size() && key(live[i]) < key(rebuilt[j]))) {
      out.push_back(fmt::format("{} {} is in the live state but not in the rebuilt one", what,
                                describe(live[i])));
      ++i;
    } else if (i >= live.size() || key(rebuilt[j]) < key(live[i])) {
      out.push_back(fmt::format("{} {} is in the rebuilt state but not in the live one", what,
                                describe(rebuilt[j])));
      ++j;
    } else {
      if (!(live[i] == rebuilt[j])) {
        out.push_back(fmt::format("{} {} differs between the live and the rebuilt state", what,
                                  describe(live[i])));
      }
      ++i;
      ++j;
    }
  }
}

}  // namespace

std::vector<std::string> DiffSnapshots(const StateSnapshot& a, const StateSnapshot& b, size_t max) {
  std::vector<std::string> out;
  DiffList("community", a.communities, b.communities, [](const Community& c) { return c.id; },
           [](const Community& c) { return fmt::format("{} ({})", c.id, c.slug); }, max, out);
  DiffList("group", a.groups, b.groups, [](const Group& g) { return g.id; },
           [](const Group& g) { return fmt::format("{} ({}:{})", g.id, g.platform, g.external_id); },
           max, out);
  DiffList("member", a.members, b.members, [](const Member& m) { return m.id; },
           [](const Member& m) { return fmt::format("{} ({})", m.id, m.display_name); }, max, out);
  DiffList("identity", a.identities, b.identities,
           [](const Identity& i) { return std::tie(i.community_id, i.platform, i.external_id); },
           [](const Identity& i) {
             return fmt::format("{}:{} in community {}", i.platform, i.external_id, i.community_id);
           },
           max, out);
  DiffList("membership", a.memberships, b.memberships,
           [](const Membership& m) { return std::make_pair(m.group_id, m.member_id); },
           [](const Membership& m) {
             return fmt::format("of member {} in group {}", m.member_id, m.group_id);
           },
           max, out);
  DiffList("name", a.names, b.names, [](const MemberName& n) { return std::tie(n.member_id, n.name); },
           [](const MemberName& n) { return fmt::format("'{}' of member {}", n.name, n.member_id); },
           max, out);
  DiffList("module state row", a.module_state, b.module_state,
           [](const ModuleStateEntry& e) { return std::tie(e.community_id, e.module, e.key); },
           [](const ModuleStateEntry& e) {
             return fmt::format("{} {} in community {}", e.module, e.key, e.community_id);
           },
           max, out);
  DiffList("tag", a.tags, b.tags, [](const MemberTag& t) { return std::tie(t.member_id, t.tag); },
           [](const MemberTag& t) { return fmt::format("'{}' of member {}", t.tag, t.member_id); },
           max, out);
  return out;
}

Result<ReplayReport> Replay(Store& source, Store& scratch, const ModuleRegistry* modules,
                            const std::function<void(int64_t)>& progress) {
  ReplayReport report;
  EngineOptions engine;
  if (modules != nullptr) {
    engine.modules = modules;
    engine.module_mode = ModuleMode::kReplay;
    auto stored = source.LoadPlaybooks();
    if (!stored.ok()) return stored.status();
    std::map<std::string, std::shared_ptr<const Playbook>, std::less<>> books;
    for (const StoredPlaybook& sp : *stored) {
      auto pb = ParsePlaybook(sp.toml, "stored playbook of " + sp.community, *modules);
      if (!pb.ok()) {
        report.differences.push_back(fmt::format(
            "the stored playbook of '{}' no longer parses; replayed without it: {}", sp.community,
            pb.status().message()));
        continue;
      }
      std::string slug = pb->community;  // read before the move below
      books.emplace(std::move(slug), std::make_shared<const Playbook>(std::move(*pb)));
    }
    engine.playbooks = std::make_shared<const PlaybookSet>(std::move(books));
  }
  auto writer = ShardWriter::Open(scratch, std::move(engine));
  if (!writer.ok()) return writer.status();
  if ((*writer)->state().member_count() != 0) {
    return Status::Invalid("the scratch store for a replay must be empty");
  }
  EventParser parser;
  int64_t after = 0;
  std::vector<Event> events;
  std::vector<WriteItem> items;
  while (true) {
    auto chunk = source.ScanEvents(after, kChunk);
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) break;
    events.clear();
    events.reserve(chunk->size());
    for (const StoredEvent& row : *chunk) {
      auto e = parser.Parse(row.json);
      if (!e.ok()) {
        return Status::Internal(fmt::format("event seq {} in the log does not parse: {}", row.seq,
                                            e.status().ToString()));
      }
      events.push_back(std::move(*e));
    }
    items.clear();
    for (size_t i = 0; i < events.size(); ++i) items.push_back({&events[i], &(*chunk)[i].json});
    auto outcomes = (*writer)->ApplyBatch(items);
    if (!outcomes.ok()) return outcomes.status();
    for (size_t i = 0; i < outcomes->outcomes.size(); ++i) {
      const ItemOutcome& o = outcomes->outcomes[i];
      if (o.outcome != Outcome::kAppended &&
          report.differences.size() < report.max_differences) {
        report.differences.push_back(fmt::format(
            "event seq {} ({}:{}) was {} on replay", (*chunk)[i].seq, (*chunk)[i].platform,
            (*chunk)[i].source_id,
            o.outcome == Outcome::kDuplicate ? "a duplicate" : "rejected: " + o.error.ToString()));
      }
    }
    report.events += static_cast<int64_t>(chunk->size());
    after = chunk->back().seq;
    if (progress) progress(report.events);
  }
  auto live = source.LoadState();
  if (!live.ok()) return live.status();
  auto rebuilt = scratch.LoadState();
  if (!rebuilt.ok()) return rebuilt.status();
  auto diffs = DiffSnapshots(*live, *rebuilt, report.max_differences - report.differences.size());
  report.differences.insert(report.differences.end(), diffs.begin(), diffs.end());
  return report;
}

}  // namespace qz
