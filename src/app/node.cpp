#include "app/node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "app/modules.hpp"
#include "playbook/playbook.hpp"

namespace qz {
namespace {
const SystemClock kSystemClock;
}  // namespace

Result<std::shared_ptr<const PlaybookSet>> LoadStoredPlaybooks(
    Store& store, const ModuleRegistry& modules,
    std::vector<std::pair<std::string, std::string>>* unusable) {
  std::map<std::string, std::shared_ptr<const Playbook>, std::less<>> books;
  auto stored = store.LoadPlaybooks();
  if (!stored.ok()) return stored.status();
  for (const StoredPlaybook& sp : *stored) {
    auto pb = ParsePlaybook(sp.toml, "stored playbook of " + sp.community, modules);
    if (!pb.ok()) {
      spdlog::error("the stored playbook of community '{}' no longer validates and is not "
                    "applied (replace it with PUT /api/v1/communities/{}/playbook): {}",
                    sp.community, sp.community, pb.status().message());
      if (unusable != nullptr) unusable->emplace_back(sp.community, pb.status().message());
      continue;
    }
    std::string slug = pb->community;  // read before the move below
    books.emplace(std::move(slug), std::make_shared<const Playbook>(std::move(*pb)));
  }
  return std::make_shared<const PlaybookSet>(std::move(books));
}

Node::Node(NodeOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &kSystemClock),
      adapters_(std::move(options_.adapters)) {
  options_.adapters.clear();
}

Node::~Node() {
  // Inbound traffic stops first, while everything it submits to still runs.
  for (size_t i = started_adapters_; i > 0; --i) adapters_[i - 1]->Stop();
  if (options_.background) {
    if (delivery_) delivery_->Stop();
    if (scheduler_) scheduler_->Stop();
  }
  // Delivery and scheduler submit to ingest: they go first, then ingest drains (running the
  // adapters' last completions, so the adapters outlive it), then the store.
  delivery_.reset();
  scheduler_.reset();
  ingest_.reset();
  sink_.reset();
  adapters_.clear();
  store_.reset();
  modules_.reset();
}

PlatformAdapter* Node::adapter(std::string_view platform) const {
  for (const auto& a : adapters_) {
    if (a->platform() == platform) return a.get();
  }
  return nullptr;
}

std::vector<PlatformAdapter*> Node::adapters() const {
  std::vector<PlatformAdapter*> out;
  for (const auto& a : adapters_) out.push_back(a.get());
  return out;
}

Result<std::unique_ptr<Node>> Node::Open(NodeOptions options) {
  std::unique_ptr<Node> node(new Node(std::move(options)));
  const NodeOptions& o = node->options_;
  std::set<std::string_view> platforms;
  for (const auto& a : node->adapters_) {
    if (a == nullptr) return Status::Invalid("a null adapter", "adapters");
    if (!platforms.insert(a->platform()).second) {
      return Status::Invalid(fmt::format("two adapters for platform {}", a->platform()),
                             "adapters");
    }
  }
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

  auto modules = MakeModuleRegistry();
  if (!modules.ok()) return modules.status();
  node->modules_ = std::move(*modules);
  node->module_metrics_ = std::make_unique<ModuleMetrics>(node->modules_->modules().size());

  // Playbooks in force are the stored ones; they are applied through the writer below. One that
  // no longer validates (say, after an upgrade) does not stop the node: it is logged, left as
  // stored for an operator to fix, and its community runs without it meanwhile (a task says so).
  std::vector<std::pair<std::string, std::string>> unusable;  // community, why
  auto books = LoadStoredPlaybooks(*node->store_, *node->modules_, &unusable);
  if (!books.ok()) return books.status();

  EngineOptions engine;
  engine.clock = node->clock_;
  engine.modules = node->modules_.get();
  engine.module_metrics = node->module_metrics_.get();
  Delivery::AdapterMap adapters;
  for (const auto& a : node->adapters_) {
    engine.capabilities.emplace(std::string(a->platform()), a->capabilities());
    adapters.emplace(std::string(a->platform()), a.get());
  }
  engine.playbooks = std::move(*books);
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
  for (auto& [community, why] : unusable) {
    QZ_RETURN_IF_ERROR(node->ingest_->OpenTask(
        community, "playbook_invalid",
        fmt::format("the stored playbook no longer validates and is not applied; the community "
                    "runs without it until it is replaced: {}",
                    why)));
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
  // The pipeline is up: inbound traffic may start.
  node->sink_ = std::make_unique<IngestSink>(*node->ingest_);
  for (auto& a : node->adapters_) {
    Status st = a->Start(*node->sink_);
    if (!st.ok()) {
      // The destructor stops the adapters started so far.
      return Status(st.code(),
                    fmt::format("the {} adapter did not start: {}", a->platform(), st.message()),
                    st.field());
    }
    ++node->started_adapters_;
  }
  return node;
}

Status Node::ApplyPlaybook(std::string_view toml, std::string_view source) {
  auto pb = ParsePlaybook(toml, source, *modules_);
  if (!pb.ok()) return pb.status();
  return ingest_->SetPlaybook(std::make_shared<const Playbook>(std::move(*pb)), std::string(toml));
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
