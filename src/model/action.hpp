// qunzhu model: actions (what modules want done), their durable outbox records, operator tasks
// and timers. Plain values: the engine creates them, the store persists them, the delivery
// workers and platform adapters carry them out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/entities.hpp"

namespace qz {

enum class ActionType : uint8_t {
  // Platform actions: go through the outbox to a platform adapter.
  kSendMessage = 1,  // to a group
  kReply = 2,        // to a message in a group (reply_to)
  kSendDirect = 3,   // a direct message to a member
  kDeleteMessage = 4,
  kWarn = 5,         // a reply to the offender quoting the rule
  kMute = 6,         // for duration_s seconds
  kRemoveMember = 7,
  kUnmute = 8,
  kUnban = 9,
  kCreateInvite = 10,
  // Engine actions: applied by the engine in the same transaction as their cause.
  kSetTag = 11,
  kAwardPoints = 12,  // points may be negative (a deduction)
  kScheduleTimer = 13,
  kOpenTask = 14,  // a to-do for a human operator, with the reason and the evidence
  // Platform actions added later (the numbers are stored, so new ones go at the end).
  kSetAnnouncement = 15,  // the group's announcement (群公告) or description, to `text`
  // Approves (`approve`) or rejects a join request (a join_request event): `member` asked to
  // join `group`; `request` is the event's platform handle; `text` the reason given on a reject.
  kAnswerJoinRequest = 16,
  // Asks the platform who is in `group` and with which role (Telegram: the administrators;
  // OneBot: every member); the adapter brings the answer in as member_synced events.
  kSyncMembers = 17,
};
inline constexpr int kActionTypeCount = 17;

std::string_view ActionTypeName(ActionType type);
std::optional<ActionType> ParseActionType(std::string_view name);
bool IsPlatformAction(ActionType type);
// Whether carrying out a platform action twice ends as once (a delete, a mute, a removal) rather
// than showing members something twice (a message, a warning, an announcement, an invite).
bool RepeatIsHarmless(ActionType type);

// What a platform adapter can do, as a bit set over the platform action types.
class Capabilities {
 public:
  constexpr Capabilities() = default;
  static Capabilities All();
  constexpr Capabilities& Add(ActionType t) {
    bits_ |= Bit(t);
    return *this;
  }
  constexpr bool Has(ActionType t) const { return (bits_ & Bit(t)) != 0; }
  // True when the platform deduplicates sends by the action's idempotency key, so a send whose
  // outcome is unknown (crash between send and record) may be retried safely.
  bool dedupes_sends = false;

 private:
  static constexpr uint32_t Bit(ActionType t) { return uint32_t{1} << static_cast<int>(t); }
  uint32_t bits_ = 0;
};

// An intent. Which fields matter depends on `type`; `cause_event` and `rule` record why.
struct Action {
  ActionType type = ActionType::kSendMessage;
  CommunityId community_id = kNoId;
  std::string community;  // slug
  std::string platform;
  std::string group;      // external group id (kNoId/empty for a direct message)
  GroupId group_id = kNoId;
  std::string member;     // external user id of the target member
  MemberId member_id = kNoId;
  std::string text;       // the message (send, reply, warn, DM) or the task's reason
  std::string reply_to;   // source id of the message replied to or deleted
  int64_t duration_s = 0; // mute
  std::string tag;        // set_tag
  bool remove_tag = false;
  int64_t points = 0;     // award_points
  std::string timer;      // schedule_timer: the timer key (unique per community)
  TimeMs due = 0;         // schedule_timer: when
  std::string payload;    // schedule_timer: JSON object text handed back in the timer event
  std::string evidence;   // open_task: a link or event reference for the human
  std::string request;    // answer_join_request: the join_request event's `request` handle
  bool approve = false;   // answer_join_request: approve (else reject)
  std::string cause_event;  // "<platform>:<id>" of the event that caused the action
  std::string rule;         // "<module>" or "<module>.<rule>"
  friend bool operator==(const Action&, const Action&) = default;
};

// JSON for the outbox payload and the API. ActionFromJson validates and names the field.
std::string ActionToJson(const Action& action);
Result<Action> ActionFromJson(std::string_view json);

enum class ActionStatus : uint8_t {
  kPending = 0,       // waiting for its next attempt
  kSending = 1,       // an attempt is under way (if found after a restart: outcome unknown)
  kDone = 2,
  kFailed = 3,        // given up: refused, or out of attempts
  kPossiblySent = 4,  // outcome unknown and the platform cannot deduplicate: not resent
};
std::string_view ActionStatusName(ActionStatus status);
std::optional<ActionStatus> ParseActionStatus(std::string_view name);

// A platform action in the durable outbox.
struct OutboxRecord {
  int64_t id = 0;  // assigned by StoreTxn::AddAction
  Action action;
  std::string idempotency_key;  // stable per (cause event, rule, n-th action of that rule)
  ActionStatus status = ActionStatus::kPending;
  int attempts = 0;
  TimeMs next_attempt_at = 0;
  std::string last_error;
  std::string platform_ref;  // the platform's id for the result (e.g. the sent message id)
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  friend bool operator==(const OutboxRecord&, const OutboxRecord&) = default;
};

// A change of an outbox record's delivery state, written by the delivery workers.
struct OutboxUpdate {
  int64_t id = 0;
  ActionStatus status = ActionStatus::kPending;
  int attempts = 0;
  TimeMs next_attempt_at = 0;
  std::string last_error;
  std::string platform_ref;
  TimeMs updated_at = 0;
};

// A to-do for a human (operator task): what to do, why, and the evidence.
struct OperatorTask {
  int64_t id = 0;  // assigned by StoreTxn::AddTask
  CommunityId community_id = kNoId;
  GroupId group_id = kNoId;
  MemberId member_id = kNoId;
  std::string kind;  // e.g. "degraded:remove_member", "review"
  std::string reason;
  std::string evidence;
  std::string cause_event;
  std::string rule;
  bool open = true;
  TimeMs created_at = 0;
  friend bool operator==(const OperatorTask&, const OperatorTask&) = default;
};

// A durable timer. `rule` is empty for a one-shot timer, else a recurrence (see
// engine/recurrence.hpp): "daily 06:20", "weekly mon,wed,fri 20:00", "cron 0 20 * * 1-5".
struct TimerRecord {
  int64_t id = 0;  // assigned on first Put
  CommunityId community_id = kNoId;
  std::string community;  // slug, for the timer event
  std::string key;  // unique per community; putting the same key replaces the timer
  std::string rule;
  std::string time_zone{kDefaultTimeZone};
  TimeMs due = 0;  // the next firing; 0 = no further firing (finished)
  std::string payload;  // JSON object text or empty
  std::string cause_event;
  // The content's version, set by the store on every put: 1 when the key is new, one more at
  // each replacement. A firing carries the version it read, so a replacement that lands while
  // the timer fires (even with the same due) is told apart from the content that fired.
  int64_t version = 0;
  friend bool operator==(const TimerRecord&, const TimerRecord&) = default;
};

// Per-module working state that must survive restarts (counters, windows, streaks), keyed by
// (community, module, key). Written in the same transaction as the event that changed it.
struct ModuleStateEntry {
  CommunityId community_id = kNoId;
  std::string module;
  std::string key;
  std::string value;
  friend bool operator==(const ModuleStateEntry&, const ModuleStateEntry&) = default;
};

}  // namespace qz
