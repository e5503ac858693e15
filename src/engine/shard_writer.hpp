// qunzhu engine: the shard writer applies events to the State and appends them to the log in
// one store transaction per batch. It is the single place where an event's effect on the
// materialised state is defined, shared by live ingest and by replay.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "engine/state.hpp"
#include "model/event.hpp"
#include "store/store.hpp"

namespace qz {

// An event to apply, with its canonical JSON (computed by the caller, off the writer thread).
struct WriteItem {
  const Event* event = nullptr;
  const std::string* json = nullptr;
};

enum class Outcome : uint8_t { kAppended, kDuplicate, kRejected };

struct ItemOutcome {
  Outcome outcome = Outcome::kAppended;
  Status error;  // for kRejected
};

// Thread-compatible: one writer thread owns the ShardWriter, its State and the Store's write side.
class ShardWriter {
 public:
  // Loads the state from `store`. `store` must outlive the writer.
  static Result<std::unique_ptr<ShardWriter>> Open(Store& store);

  // Applies `items` in order inside one transaction and commits it. On success every item has an
  // outcome. On failure nothing of the batch is durable, the in-memory state is reloaded from the
  // store, and the failure is returned.
  Result<std::vector<ItemOutcome>> ApplyBatch(std::span<const WriteItem> items);

  const State& state() const { return state_; }

 private:
  ShardWriter(Store& store, State state) : store_(store), state_(std::move(state)) {}

  // What an event refers to, resolved without changing the state (so a duplicate changes
  // nothing); ids of entities that do not exist yet are the ones creation will assign.
  struct Refs {
    CommunityId community = kNoId;
    bool new_community = false;
    GroupId group = kNoId;
    bool new_group = false;
    MemberId member = kNoId;
    bool new_member = false;
  };
  Result<Refs> Resolve(const Event& event) const;
  void Materialize(const Event& event, const Refs& refs);
  void Apply(const Event& event, const Refs& refs);
  // The member behind (community, platform, external id), created if absent.
  MemberId EnsureMember(CommunityId community, const std::string& platform,
                        const std::string& external_id, TimeMs seen);
  Status Reload();

  Store& store_;
  State state_;
};

}  // namespace qz
