#include "app/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "automation/automation.hpp"
#include "playbook/playbook.hpp"

namespace qz {
namespace {
const SystemClock kSystemClock;
}  // namespace

std::vector<std::unique_ptr<Module>> MakeModules() {
  std::vector<std::unique_ptr<Module>> modules;
  modules.push_back(MakeWelcomeModule());
  modules.push_back(MakeScheduleModule());
  return modules;
}

Node::Node(NodeOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &kSystemClock) {}

Node::~Node() {
  if (options_.background) {
    if (delivery_) delivery_->Stop();
    if (scheduler_) scheduler_->Stop();
  }
  // Delivery and scheduler submit to ingest: they go first, then ingest drains, then the store.
  delivery_.reset();
  scheduler_.reset();
  ingest_.reset();
  modules_.clear();
  store_.reset();
}

Result<std::unique_ptr<Node>> Node::Open(NodeOptions options) {
  std::unique_ptr<Node> node(new Node(std::move(options)));
  const NodeOptions& o = node->options_;
  if (o.lock_data_dir) {
    auto lock = DataDirLock::Acquire(o.data_dir);
    if (!lock.ok()) return lock.status();
    node->lock_.emplace(std::move(*lock));
  } else {
    QZ_RETURN_IF_ERROR(EnsureDataDir(o.data_dir));
  }
  auto store = OpenSqliteStore({.path = (std::filesystem::path(o.data_dir) / "qunzhu.db").string(),
                                .sync = o.sync});
  if (!store.ok()) return store.status();
  node->store_ = std::move(*store);

  // Playbooks in force are the stored ones; they are applied through the writer below.
  std::map<std::string, std::shared_ptr<const Playbook>, std::less<>> books;
  auto stored = node->store_->LoadPlaybooks();
  if (!stored.ok()) return stored.status();
  for (const StoredPlaybook& sp : *stored) {
    auto pb = ParsePlaybook(sp.toml, "stored playbook of " + sp.community);
    if (!pb.ok()) {
      return Status::Invalid(fmt::format("the stored playbook of community '{}' no longer "
                                         "validates: {}", sp.community, pb.status().message()));
    }
    books.emplace(pb->community, std::make_shared<const Playbook>(std::move(*pb)));
  }

  EngineOptions engine;
  engine.clock = node->clock_;
  node->modules_ = MakeModules();
  for (auto& m : node->modules_) engine.modules.push_back(m.get());
  Delivery::AdapterMap adapters;
  for (PlatformAdapter* a : o.adapters) {
    engine.capabilities.emplace(std::string(a->platform()), a->capabilities());
    adapters.emplace(std::string(a->platform()), a);
  }
  engine.playbooks = std::make_shared<const PlaybookSet>(std::move(books));
  auto ingest = Ingest::Start(*node->store_, o.ingest, std::move(engine));
  if (!ingest.ok()) return ingest.status();
  node->ingest_ = std::move(*ingest);

  auto delivery = Delivery::Open(*node->store_, *node->ingest_, *node->clock_, std::move(adapters),
                                 o.delivery);
  if (!delivery.ok()) return delivery.status();
  node->delivery_ = std::move(*delivery);
  auto scheduler = Scheduler::Open(*node->store_, *node->ingest_, *node->clock_, o.scheduler);
  if (!scheduler.ok()) return scheduler.status();
  node->scheduler_ = std::move(*scheduler);

  Delivery* d = node->delivery_.get();
  Scheduler* s = node->scheduler_.get();
  node->ingest_->SetCommitListener([d, s](const BatchEffects& effects) {
    if (!effects.actions.empty()) d->Enqueue(effects.actions);
    if (!effects.timers.empty()) s->Add(effects.timers);
  });

  // Re-apply the stored playbooks so their schedules have timers (an unchanged schedule keeps
  // its pending firing), then the files given on the command line.
  // Hold the snapshot: SetPlaybook replaces the set while we walk it.
  const std::shared_ptr<const PlaybookSet> in_force = node->ingest_->playbooks();
  for (const auto& [slug, pb] : in_force->all()) {
    QZ_RETURN_IF_ERROR(node->ingest_->SetPlaybook(pb));
  }
  for (const std::string& file : o.playbook_files) {
    std::ifstream in(file);
    if (!in) return Status::Invalid(fmt::format("cannot read {}", file), "--playbook");
    std::stringstream text;
    text << in.rdbuf();
    QZ_RETURN_IF_ERROR(node->ApplyPlaybook(text.str(), file));
  }
  if (o.background) {
    node->delivery_->Start();
    node->scheduler_->Start();
  }
  return node;
}

Status Node::ApplyPlaybook(std::string_view toml, std::string_view source) {
  auto pb = ParsePlaybook(toml, source);
  if (!pb.ok()) return pb.status();
  QZ_RETURN_IF_ERROR(store_->PutPlaybook({pb->community, std::string(toml), clock_->Now()}));
  return ingest_->SetPlaybook(std::make_shared<const Playbook>(std::move(*pb)));
}

Node::RunResult Node::RunDue() {
  RunResult total;
  // Timers first: what they cause is delivered in the same call.
  while (true) {
    const auto fired = scheduler_->RunDue();
    const auto sent = delivery_->RunDue();
    total.timers += fired.fired;
    total.actions += sent.attempted;
    if (fired.fired == 0 && sent.attempted == 0) {
      const TimeMs a = fired.next_due, b = sent.next_due;
      total.next_due = a == 0 ? b : b == 0 ? a : std::min(a, b);
      return total;
    }
  }
}

}  // namespace qz
