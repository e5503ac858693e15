// qunzhu store: the seam between the engine and durable storage. Owns the event log, the
// materialised entities and API tokens. Back ends (sqlite/, later postgres/) implement Store and
// must pass the conformance suite in store_conformance.hpp.
#pragma once

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

struct StoredPlaybook {
  std::string community;  // slug
  std::string toml;       // the source text, as validated
  TimeMs updated_at = 0;
  friend bool operator==(const StoredPlaybook&, const StoredPlaybook&) = default;
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

  // Insert-or-replace of a community's playbook text by slug, with the change it causes.
  virtual Status PutPlaybook(const StoredPlaybook& playbook) = 0;

  // Makes the transaction durable (per the store's configured sync mode) before returning.
  virtual Status Commit() = 0;
};

struct MemberQuery {
  std::optional<CommunityId> community_id;
  std::optional<GroupId> group_id;  // only members with an active membership in this group
  std::string q;                    // substring of display name or of an identity's external id
  int limit = 50;                   // 1..1000
  MemberId after_id = kNoId;        // cursor: members with id > after_id, ascending
};

struct MemberProfile {
  Member member;
  std::vector<Identity> identities;
  std::vector<Membership> memberships;
  std::vector<MemberName> names;
  std::vector<MemberTag> tags;
};

struct StoreStats {
  int64_t events = 0;
  int64_t members = 0;
  int64_t groups = 0;
  int64_t communities = 0;
};

struct ActionQuery {
  std::optional<ActionStatus> status;
  std::optional<GroupId> group_id;
  int limit = 50;          // 1..1000
  int64_t after_id = 0;    // cursor: ids > after_id, ascending
};

struct ActionCounts {
  int64_t pending = 0, sending = 0, done = 0, failed = 0, possibly_sent = 0;
  friend bool operator==(const ActionCounts&, const ActionCounts&) = default;
};

struct TaskQuery {
  bool open_only = true;
  int limit = 50;        // 1..1000
  int64_t after_id = 0;  // ascending
};

// A pending timer's place in the scheduler's index.
struct TimerDue {
  int64_t id = 0;
  TimeMs due = 0;
  friend bool operator==(const TimerDue&, const TimerDue&) = default;
};


struct ApiToken {
  std::string hash;  // SHA-256 hex of the secret; the secret itself is never stored
  std::string name;
  TimeMs created_at = 0;
};

// Thread-safety: Begin() and LoadState() are called by the writer thread only (one writer per
// store). The read methods may be called concurrently from any thread, also while a write
// transaction is open, and see only committed data. So may the few writes of the Store itself
// (UpdateTimerDue, PutPlaybook, PutToken): each commits on its own (they are not
// part of any StoreTxn) and may have to wait for the writer's transaction; a store that makes
// them wait says how long and fails with kUnavailable after that.
class Store {
 public:
  virtual ~Store() = default;

  virtual Result<std::unique_ptr<StoreTxn>> Begin() = 0;
  virtual Result<StateSnapshot> LoadState() = 0;

  virtual Result<StoreStats> Stats() = 0;
  virtual Result<std::vector<Community>> ListCommunities() = 0;
  virtual Result<std::vector<Group>> ListGroups(std::optional<CommunityId> community_id) = 0;
  // Ascending by id from the cursor.
  virtual Result<std::vector<Member>> ListMembers(const MemberQuery& query) = 0;
  virtual Result<MemberProfile> GetMember(MemberId id) = 0;  // kNotFound if absent
  // A member's events, newest first, with seq < before_seq (0 = from the newest), following
  // the chain from Member::last_event_seq through StoredEvent::member_prev_seq. Cheapest when
  // before_seq is the seq of one of the member's events (the cursor of a previous page); any
  // other value walks the chain from the newest event down to it.
  virtual Result<std::vector<StoredEvent>> MemberEvents(MemberId id, int64_t before_seq,
                                                        int limit) = 0;
  // Events with seq > after_seq in ascending order, at most `limit`; for replay and export.
  virtual Result<std::vector<StoredEvent>> ScanEvents(int64_t after_seq, int limit) = 0;
  virtual Result<std::optional<StoredEvent>> FindEvent(const std::string& platform,
                                                       const std::string& source_id) = 0;

  // The outbox, for delivery (any thread). Delivery's writes go through StoreTxn::UpdateActions.
  // The pending and sending records, ascending by id.
  virtual Result<std::vector<OutboxRecord>> LoadOpenActions() = 0;
  // Records with id > query.after_id, ascending, only those with query.status and in
  // query.group_id when given; at most query.limit, clamped to 1..1000.
  virtual Result<std::vector<OutboxRecord>> ListActions(const ActionQuery& query) = 0;
  // The number of records in each status; cheap (not a scan of the outbox).
  virtual Result<ActionCounts> CountActions() = 0;

  // Tasks with id > query.after_id, ascending, only open ones when query.open_only; at most
  // query.limit, clamped to 1..1000.
  virtual Result<std::vector<OperatorTask>> ListTasks(const TaskQuery& query) = 0;

  // Timers, for the scheduler and the writer (any thread; committed data only).
  //
  // Every pending timer (due != 0) at once, ascending by id: a convenience for tests and tools
  // (ScanTimerDues, then GetTimers; not one snapshot). The engine never holds every timer at
  // once: the scheduler pages through ScanTimerDues, the writer asks FindTimers for its
  // playbook schedules'.
  Result<std::vector<TimerRecord>> LoadTimers();
  // The pending timers' ids and dues only, ascending by (due, id), those after `after` in that
  // order (nullopt: from the first), at most `limit` (none when limit <= 0): what the
  // scheduler's index needs at start, read without the payloads (the SQLite store reads an index
  // of dues, not the table). Pass the last of a page as the next `after`.
  virtual Result<std::vector<TimerDue>> ScanTimerDues(std::optional<TimerDue> after, int limit) = 0;
  // A community's pending timers whose key starts with `prefix` (bytewise), ascending by id;
  // found through the (community, key) key, without reading the community's other timers.
  virtual Result<std::vector<TimerRecord>> FindTimers(CommunityId community_id,
                                                      std::string_view prefix) = 0;
  // The timers with these ids, as committed, ascending by id, all read from one committed
  // snapshot: finished ones (due 0) included, ids the store does not have left out, an id given
  // twice read once. `ids` may come in any order and any number (the store batches them).
  virtual Result<std::vector<TimerRecord>> GetTimers(std::span<const int64_t> ids) = 0;
  // Compare-and-set of a timer's next firing: sets timer `id`'s due to `due` only while it is
  // still `expected` (a writer may have replaced the timer meanwhile); returns whether it applied.
  // False for an unknown id; true when due == expected and the timer still has it (a probe).
  virtual Result<bool> UpdateTimerDue(int64_t id, TimeMs expected, TimeMs due) = 0;

  // Playbooks by community slug (any thread; autocommitted). PutPlaybook inserts or replaces
  // by slug; LoadPlaybooks returns all of them ordered by slug (bytewise).
  virtual Status PutPlaybook(const StoredPlaybook& playbook) = 0;
  virtual Result<std::vector<StoredPlaybook>> LoadPlaybooks() = 0;

  // API tokens (their own small autocommitted writes; any thread).
  virtual Status PutToken(const ApiToken& token) = 0;
  virtual Result<bool> HasToken(const std::string& hash) = 0;
};

inline Result<std::vector<TimerRecord>> Store::LoadTimers() {
  std::vector<int64_t> ids;
  for (std::optional<TimerDue> after;;) {
    auto page = ScanTimerDues(after, 4096);
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    after = page->back();
    for (const TimerDue& t : *page) ids.push_back(t.id);
  }
  auto timers = GetTimers(ids);
  if (!timers.ok()) return timers.status();
  std::erase_if(*timers, [](const TimerRecord& t) { return t.due == 0; });  // finished since
  return timers;
}

}  // namespace qz
