// qunzhu app: the EventSink adapters push inbound events into, over the node's Ingest.
#pragma once

#include <vector>

#include "engine/ingest.hpp"
#include "platform/adapter.hpp"

namespace qz {

// Each event is written in canonical form and parsed back, which validates it exactly as the
// HTTP API validates what it receives: an adapter's malformed event is a rejection naming its
// field (RejectedEvent), never a bad row in the log. The batch then goes through ingest as one
// caller's batch (never split across commits), and `done` runs once it is durable.
// Thread-safe (Submit from any thread); `ingest` must outlive it.
class IngestSink final : public EventSink {
 public:
  explicit IngestSink(Ingest& ingest) : ingest_(ingest) {}
  void Submit(std::vector<Event> events, Done done) override;

 private:
  Ingest& ingest_;
};

}  // namespace qz
