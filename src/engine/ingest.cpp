#include "engine/ingest.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "engine/shard_writer.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace qz {

IngestBatch ParseBatch(std::span<const RawItem> items, EventParser& parser) {
  IngestBatch batch;
  batch.events.reserve(items.size());
  batch.json.reserve(items.size());
  batch.indexes.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].error.ok()) {
      batch.rejected.push_back({i, items[i].error});
      continue;
    }
    auto event = parser.Parse(items[i].json);
    if (!event.ok()) {
      batch.rejected.push_back({i, event.status()});
      continue;
    }
    batch.json.push_back(EventToJson(*event));
    batch.events.push_back(std::move(*event));
    batch.indexes.push_back(i);
  }
  return batch;
}

IngestResult Ingest::SubmitAndWait(IngestBatch batch) {
  std::promise<IngestResult> promise;
  auto future = promise.get_future();
  Submit(std::move(batch), [&promise](IngestResult r) { promise.set_value(std::move(r)); });
  return future.get();
}

namespace {

// One writer thread owns the ShardWriter (and so every shard's state on this node). SQLite
// admits one writer at a time, so more writer threads would only queue on its lock; the
// PostgreSQL back end will run one writer per leased shard.
class IngestImpl final : public Ingest {
 public:
  IngestImpl(std::unique_ptr<ShardWriter> writer, IngestOptions options, double load_seconds)
      : writer_(std::move(writer)), options_(options), load_seconds_(load_seconds) {
    playbooks_.store(std::make_shared<const PlaybookSet>(writer_->playbooks()));
    thread_ = std::thread([this] { Run(); });
  }

  ~IngestImpl() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void Submit(IngestBatch batch, Done done) override {
    for (const OutboxUpdate& u : batch.outbox_updates) {
      if (static_cast<int>(u.status) > static_cast<int>(ActionStatus::kPossiblySent)) {
        // Refused here, alone: in the writer it would fail the whole group commit.
        IngestResult refused;
        refused.status = Status::Invalid(
            fmt::format("outbox update of action {}: unknown status {}", u.id,
                        static_cast<int>(u.status)),
            "outbox_updates");
        done(std::move(refused));
        return;
      }
    }
    Prepare(batch);
    const auto n = static_cast<int64_t>(batch.events.size());
    bool stopping;
    std::vector<IngestBatch> spent;  // freed on this thread, after the lock
    {
      std::unique_lock lock(mu_);
      spent.swap(spent_);
      stopping = stopping_;
      if (!stopping_ && (queued_ == 0 || queued_ + n <= static_cast<int64_t>(options_.max_queued_events))) {
        queued_ += n;
        metrics_.queued_events.store(queued_, std::memory_order_relaxed);
        queue_.push_back(Pending{std::move(batch), std::move(done), nullptr, nullptr});
        lock.unlock();
        cv_.notify_one();
        return;
      }
    }
    IngestResult refused;
    refused.status = stopping ? Status::Unavailable("shutting down")
                               : Status(Code::kResourceExhausted,
                                        "ingest queue is full; retry shortly");
    done(std::move(refused));
  }

  void SetCommitListener(CommitListener listener) override {
    std::lock_guard lock(mu_);
    listener_ = std::move(listener);
  }

  Status SetPlaybook(std::shared_ptr<const Playbook> playbook, std::string toml) override {
    return OnWriter([this, playbook = std::move(playbook), toml = std::move(toml)] {
      auto effects = writer_->ApplyPlaybook(playbook, toml);
      if (!effects.ok()) return effects.status();
      playbooks_.store(std::make_shared<const PlaybookSet>(writer_->playbooks()));
      Notify(*effects);
      spdlog::info("playbook of community '{}' in force", playbook->community);
      return Status::Ok();
    });
  }

  Status OpenTask(std::string community, std::string kind, std::string reason) override {
    return OnWriter([&] { return writer_->OpenTask(community, std::move(kind), std::move(reason)); });
  }

  std::shared_ptr<const PlaybookSet> playbooks() const override {
    return playbooks_.load();
  }

  const IngestMetrics& metrics() const override { return metrics_; }
  double state_load_seconds() const override { return load_seconds_; }

 private:
  // A caller's batch of events, or (when `op` is set) work for the writer between batches.
  struct Pending {
    IngestBatch batch;
    Done done;
    std::function<Status()> op;
    std::promise<Status>* op_done = nullptr;
  };

  // Runs the modules' Prepare over the batch on this (the submitting) thread, against the
  // playbooks in force now; the writer redoes what a reload made stale.
  void Prepare(IngestBatch& batch) const {
    const ModuleRegistry* modules = writer_->modules();
    if (modules == nullptr || batch.events.empty()) return;
    const auto playbooks = playbooks_.load();
    batch.prepared.clear();
    batch.prepared.resize(batch.events.size());
    for (size_t i = 0; i < batch.events.size(); ++i) {
      batch.prepared[i] = PrepareEvent(*modules, *playbooks, batch.events[i]);
    }
  }

  // Runs `op` on the writer thread between two batches; blocks until it ran.
  Status OnWriter(std::function<Status()> op) {
    std::promise<Status> done;
    auto future = done.get_future();
    {
      std::lock_guard lock(mu_);
      if (stopping_) return Status::Unavailable("shutting down");
      queue_.push_back(Pending{{}, {}, std::move(op), &done});
    }
    cv_.notify_one();
    return future.get();
  }

  void Run() {
    std::vector<Pending> taken;
    std::vector<WriteItem> items;
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        if (queue_.front().op) {
          Pending work = std::move(queue_.front());
          queue_.pop_front();
          lock.unlock();
          work.op_done->set_value(work.op());
          continue;
        }
        // Group commit: take whole caller batches until the commit is big enough. A caller's
        // batch is never split, so it commits atomically.
        size_t events = 0;
        while (!queue_.empty() && !queue_.front().op &&
               (taken.empty() ||
                events + queue_.front().batch.events.size() <= options_.max_batch_events)) {
          events += queue_.front().batch.events.size();
          taken.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_ -= static_cast<int64_t>(events);
        metrics_.queued_events.store(queued_, std::memory_order_relaxed);
      }
      Commit(taken, items);
      items.clear();
      Discard(taken);
    }
  }

  // Frees applied batches. While more work is queued, the next Submit frees them on its own
  // thread instead: freeing a commit's events and JSON is a few percent of the writer's time.
  void Discard(std::vector<Pending>& taken) {
    {
      std::lock_guard lock(mu_);
      if (!queue_.empty()) {
        for (Pending& p : taken) spent_.push_back(std::move(p.batch));
        taken.clear();
        return;
      }
    }
    taken.clear();
  }

  void Commit(std::vector<Pending>& taken, std::vector<WriteItem>& items) {
    std::vector<OutboxUpdate> updates;  // every caller's, in order
    for (const auto& p : taken) {
      for (size_t i = 0; i < p.batch.events.size(); ++i) {
        items.push_back({&p.batch.events[i], &p.batch.json[i],
                         p.batch.prepared.empty() ? nullptr : &p.batch.prepared[i]});
      }
      updates.insert(updates.end(), p.batch.outbox_updates.begin(), p.batch.outbox_updates.end());
    }
    const auto start = std::chrono::steady_clock::now();
    auto result = writer_->ApplyBatch(items, updates);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!result.ok()) {
      metrics_.failed_commits.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("commit of {} events failed, nothing applied: {}", items.size(),
                    result.status().ToString());
      for (auto& p : taken) {
        IngestResult r;
        r.status = result.status();
        p.done(std::move(r));
      }
      return;
    }
    metrics_.commits.fetch_add(1, std::memory_order_relaxed);
    metrics_.commit_seconds.Observe(seconds);
    Notify(result->effects);
    const std::vector<ItemOutcome>* outcomes = &result->outcomes;
    size_t k = 0;
    for (auto& p : taken) {
      IngestResult r;
      // Rare (a row the store lost): each caller hears of the ids among its own updates.
      for (int64_t id : result->missing_actions) {
        if (std::any_of(p.batch.outbox_updates.begin(), p.batch.outbox_updates.end(),
                        [id](const OutboxUpdate& u) { return u.id == id; })) {
          r.missing_actions.push_back(id);
        }
      }
      r.rejected = std::move(p.batch.rejected);
      const size_t parse_rejected = r.rejected.size();
      for (size_t i = 0; i < p.batch.events.size(); ++i, ++k) {
        const ItemOutcome& o = (*outcomes)[k];
        switch (o.outcome) {
          case Outcome::kAppended: ++r.accepted; break;
          case Outcome::kDuplicate: ++r.duplicates; break;
          case Outcome::kRejected: r.rejected.push_back({p.batch.indexes[i], o.error}); break;
        }
      }
      if (r.rejected.size() != parse_rejected) {
        std::sort(r.rejected.begin(), r.rejected.end(),
                  [](const ItemError& a, const ItemError& b) { return a.index < b.index; });
      }
      metrics_.ingested.fetch_add(r.accepted, std::memory_order_relaxed);
      metrics_.duplicates.fetch_add(r.duplicates, std::memory_order_relaxed);
      metrics_.rejected.fetch_add(static_cast<int64_t>(r.rejected.size()), std::memory_order_relaxed);
      p.done(std::move(r));
    }
  }

  // Hands what a commit produced to the listener (delivery, scheduler); writer thread.
  void Notify(const BatchEffects& effects) {
    if (effects.actions.empty() && effects.timers.empty()) return;
    CommitListener listener;
    {
      std::lock_guard lock(mu_);
      listener = listener_;
    }
    if (listener) listener(effects);
  }

  std::unique_ptr<ShardWriter> writer_;  // writer thread only
  const IngestOptions options_;
  const double load_seconds_;
  IngestMetrics metrics_;

  std::mutex mu_;  // guards queue_, queued_, stopping_
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::vector<IngestBatch> spent_;  // applied batches for the next Submit to free
  CommitListener listener_;
  std::atomic<std::shared_ptr<const PlaybookSet>> playbooks_;
  int64_t queued_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Ingest>> Ingest::Start(Store& store, IngestOptions options,
                                              EngineOptions engine) {
  const auto start = std::chrono::steady_clock::now();
  auto writer = ShardWriter::Open(store, std::move(engine));
  if (!writer.ok()) return writer.status();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return std::unique_ptr<Ingest>(new IngestImpl(std::move(*writer), options, seconds));
}

}  // namespace qz
