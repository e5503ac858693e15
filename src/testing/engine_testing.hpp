// qunzhu testing: engine helpers for tests: terse event batches, and a forwarding decorator of
// Ingest for tests that watch or break single calls. Test code only.
#pragma once

#include <memory>
#include <string_view>

#include "engine/ingest.hpp"
#include "model/event.hpp"

namespace qz::testing {

// Parses NDJSON lines into a batch, as the API does.
inline IngestBatch Batch(std::string_view ndjson) {
  EventParser parser;
  auto items = SplitNdjson(ndjson);
  return ParseBatch(items, parser);
}

// Forwards every call to another Ingest; a test overrides Submit.
class ForwardingIngest : public Ingest {
 public:
  explicit ForwardingIngest(Ingest& real) : real_(real) {}
  void Submit(IngestBatch batch, Done done) override {
    real_.Submit(std::move(batch), std::move(done));
  }
  void SetCommitListener(CommitListener listener) override {
    real_.SetCommitListener(std::move(listener));
  }
  Status SetPlaybook(std::shared_ptr<const Playbook> playbook, std::string toml) override {
    return real_.SetPlaybook(std::move(playbook), std::move(toml));
  }
  Status OpenTask(std::string community, std::string kind, std::string reason) override {
    return real_.OpenTask(std::move(community), std::move(kind), std::move(reason));
  }
  std::shared_ptr<const PlaybookSet> playbooks() const override { return real_.playbooks(); }
  const IngestMetrics& metrics() const override { return real_.metrics(); }
  double state_load_seconds() const override { return real_.state_load_seconds(); }

 protected:
  Ingest& real_;
};

}  // namespace qz::testing
