// qunzhu store: the event-log sub-seam. Owns the event log and the writer's transaction
// (StoreTxn), through which everything the engine derives from events is written, and the
// snapshot of that state the engine loads at start.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "model/action.hpp"
#include "model/entities.hpp"
#include "model/event.hpp"
#include "store/admin_store.hpp"

namespace qz {

// One row of the event log. `json` is the canonical form (EventToJson).
struct StoredEvent {
  int64_t seq = 0;  // assigned by AppendEvent, strictly increasing in commit order
  std::string platform;
  std::string source_id;  // Event::id
  CommunityId community_id = kNoId;
  GroupId group_id = kNoId;  // kNoId when the event names no group
  MemberId member_id = kNoId;
  EventType type = EventType::kMessage;
  TimeMs time = 0;
  std::string json;
  // The seq of the same member's previous event (0: none, or no member). Set by the writer,
  // which knows each member's newest event (Member::last_event_seq): the events of a member
  // form a chain from the member's last_event_seq, which MemberEvents follows. A chain instead
  // of a (member_id, seq) index, because that index costs an insert at a random place for every
  // event, about a quarter of the writer's time.
  int64_t member_prev_seq = 0;
  // The seq of the same group's previous event (0: none, or no group): the chain of a group's
  // events from Group::last_event_seq, which GroupEvents follows (a group's conversation).
  int64_t group_prev_seq = 0;
};

// Everything the engine needs in memory to continue after a restart, without replaying history.
// Vectors are ordered by primary key (id; identities by (community, platform, external_id);
// memberships by (group, member); names and tags by (member, name/tag)).
struct StateSnapshot {
  std::vector<Community> communities;
  std::vector<Group> groups;
  std::vector<Member> members;
  std::vector<Identity> identities;
  std::vector<Membership> memberships;
  std::vector<MemberName> names;
  std::vector<MemberTag> tags;
  // Modules' working state, ordered by (community_id, module, key). Not rebuilt by replay: it
  // is the modules' memory, not a function of the log alone.
  std::vector<ModuleStateEntry> module_state;
  int64_t last_seq = 0;
  friend bool operator==(const StateSnapshot&, const StateSnapshot&) = default;
};

// A write transaction. Owned by the single writer thread that began it; not thread-safe.
// Everything put through it becomes durable together at Commit(), or not at all: destroying an
// uncommitted transaction rolls it back.
class StoreTxn {
 public:
  virtual ~StoreTxn() = default;

  // Appends `event` unless (platform, source_id) is already in the log. Returns true and sets
  // event.seq when appended; false for a duplicate (nothing written).
  virtual Result<bool> AppendEvent(StoredEvent& event) = 0;

  // Insert-or-replace by primary key (Identity: (community_id, platform, external_id);
  // Membership: (group_id, member_id); MemberName: (member_id, name); MemberTag: (member_id, tag)).
  virtual Status PutCommunity(const Community& community) = 0;
  virtual Status PutGroup(const Group& group) = 0;
  virtual Status PutMember(const Member& member) = 0;
  virtual Status PutIdentity(const Identity& identity) = 0;
  virtual Status PutMembership(const Membership& membership) = 0;
  virtual Status PutMemberName(const MemberName& name) = 0;
  virtual Status PutTag(const MemberTag& tag) = 0;
  virtual Status DeleteTag(MemberId member_id, const std::string& tag) = 0;

  // What modules caused, written with their cause so a crash never loses one.
  //
  // Appends `record` to the outbox and sets record.id (increasing; the id passed in is ignored).
  // The action is stored as ActionToJson(record.action) and read back with ActionFromJson.
  // Fails with kAlreadyExists when record.idempotency_key is already in the outbox (committed
  // or earlier in this transaction), and with kInvalidArgument when action.payload is neither
  // empty nor a JSON object (it could not be read back). Stores that normalise JSON keep the
  // payload as ActionToJson writes it (compact, keys sorted).
  virtual Status AddAction(OutboxRecord& record) = 0;
  // Sets the delivery state (status, attempts, next_attempt_at, last_error, platform_ref,
  // updated_at) of record update.id to the update's, for every update in order (a later update
  // of the same id wins). Delivery writes a row's outcome here, in the transaction that logs its
  // action_done / action_failed event, so the two are durable together. An id that is not in
  // the outbox is skipped and appended to `missing` (the other updates are written): an outcome
  // for a row that is gone must not cost the events committed with it. An update with a status
  // outside ActionStatus fails with kInvalidArgument before anything is written.
  virtual Status UpdateActions(std::span<const OutboxUpdate> updates,
                               std::vector<int64_t>& missing) = 0;
  // Appends `task` and sets task.id (increasing; the id passed in is ignored).
  virtual Status AddTask(OperatorTask& task) = 0;
  // Insert-or-replace by (community_id, key), every other field replaced, and sets timer.id: a
  // new timer gets a new id, a replaced one keeps its id (the id passed in is ignored). A timer
  // put with due = 0 is kept as finished, not deleted, so its key keeps its id.
  virtual Status PutTimer(TimerRecord& timer) = 0;
  // Insert-or-replace by (community_id, module, key); an empty value deletes the entry (deleting
  // an absent entry is fine).
  virtual Status PutModuleState(const ModuleStateEntry& entry) = 0;
  // Insert-or-replace by slug, as AdminStore::PutPlaybook, but inside this transaction: the
  // playbook becomes visible with the events that installed it, or not at all.
  virtual Status PutPlaybook(const StoredPlaybook& playbook) = 0;

  // Makes the transaction durable (per the store's configured sync mode) before returning.
  virtual Status Commit() = 0;
};

// Thread-safety: Begin() and LoadState() are called by the writer thread only (one writer per
// store). ScanEvents and FindEvent may be called concurrently from any thread, also while a
// write transaction is open, and see only committed data.
class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual Result<std::unique_ptr<StoreTxn>> Begin() = 0;
  virtual Result<StateSnapshot> LoadState() = 0;
  // LoadState without the rows of the module tables `skip` names ("<module>.<table>"): the
  // writer's start, which leaves cold tables' rows in the store and reads one when a module asks
  // for it. A back end should not read those rows into memory at all (a year of moderation
  // decisions); this default reads everything, then drops them.
  virtual Result<StateSnapshot> LoadStateWithout(
      const std::function<bool(std::string_view module_table)>& skip) {
    auto state = LoadState();
    if (state.ok()) {
      std::erase_if(state->module_state, [&](const ModuleStateEntry& row) { return skip(row.module); });
    }
    return state;
  }

  // Events with seq > after_seq in ascending order, at most `limit`; for replay and export.
  virtual Result<std::vector<StoredEvent>> ScanEvents(int64_t after_seq, int limit) = 0;
  virtual Result<std::optional<StoredEvent>> FindEvent(const std::string& platform,
                                                       const std::string& source_id) = 0;

  // A bulk load of history (`qunzhu ingest`, `demo`) is about to start with no other writer: the
  // back end may stop maintaining what it rebuilds faster in one pass at the end (SQLite: the
  // member search index, otherwise some 200 µs of writer time per new member). EndBulkLoad
  // rebuilds it; a process that dies in between leaves that to the next open. Both from the
  // thread that owns the writer, with no transaction open and no Ingest running. Default:
  // nothing to defer.
  virtual Status BeginBulkLoad() { return Status::Ok(); }
  virtual Status EndBulkLoad() { return Status::Ok(); }
};

}  // namespace qz
