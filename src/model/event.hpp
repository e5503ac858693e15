// qunzhu model: the canonical event, the only thing that enters the engine (docs/events.md).
// Owns parsing and validating one JSON object into an Event and writing an Event back out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"

namespace qz {

enum class EventType : uint8_t {
  kMessage = 1,
  kMemberJoined = 2,
  kMemberLeft = 3,
  kCheckin = 4,
  kLinkClick = 5,
  kOrder = 6,
  kTagChanged = 7,
  // Produced by qunzhu itself (platform "qunzhu" or the action's platform); `member` optional.
  kTimer = 8,          // a durable timer came due
  kActionDone = 9,     // the platform confirmed an action from the outbox
  kActionFailed = 10,  // an action failed for good (or was possibly sent; see `error`)
  kPointsChanged = 11, // points awarded (positive) or deducted (negative)
  kPlaybookApplied = 12,  // a playbook named a community the log had not seen: creates it
  kCommand = 13,  // an operator's command to one module (undo a decision…), via the API
  // Added later (the numbers are stored, so new ones go at the end).
  kJoinRequest = 14,   // `member` asks to join `group` (not yet a member); `request` answers it
  kMemberSynced = 15,  // the platform lists `member` in `group` (with `role`): a member sync
  // About a group rather than a member (system events):
  kGroupBound = 16,     // `group` moves to the community `to` (an operator's binding)
  kGroupMigrated = 17,  // the platform re-keyed `group` as `to` (a Telegram supergroup upgrade)
  kBotRemoved = 18,     // the bot is no longer in `group`: nothing is sent there any more
  kBotAdded = 19,       // the bot is in `group` (again)
};
inline constexpr int kEventTypeCount = 19;

// System events concern the engine rather than one member; for them `member` is optional.
bool IsSystemEvent(EventType type);

std::string_view EventTypeName(EventType type);
std::optional<EventType> ParseEventType(std::string_view name);

enum class MessageKind : uint8_t {
  kText, kImage, kLink, kFile, kCard, kMiniprogram, kVoice, kVideo, kRedpacket, kOther,
};
std::string_view MessageKindName(MessageKind kind);
std::optional<MessageKind> ParseMessageKind(std::string_view name);

// A member's role in one group as the platform reports it.
enum class Role : uint8_t { kMember = 0, kAssistant = 1, kAdmin = 2, kOwner = 3 };
std::string_view RoleName(Role role);
std::optional<Role> ParseRole(std::string_view name);

// kMoved: the group moved to another community (group_bound); the member of the new community
// holds the membership from then on.
enum class LeaveReason : uint8_t { kLeft, kRemoved, kMoved };
std::string_view LeaveReasonName(LeaveReason reason);

enum class TagOp : uint8_t { kAdd, kRemove };

// One event. Strings are owned; which fields are meaningful depends on `type` (see
// docs/events.md). Unknown JSON keys are preserved verbatim in `attrs` (a JSON object text,
// "{}" when there were none) so nothing a platform sent is lost.
struct Event {
  std::string id;        // source id, unique per platform
  EventType type = EventType::kMessage;
  TimeMs time = 0;       // UTC ms
  int16_t time_offset = 0;  // minutes east of UTC the time was written in
  std::string platform;
  std::string community;  // slug; empty = the group's community, or the default one
  std::string group;      // external group id on `platform`
  std::string group_name;
  std::string member;     // external user id on `platform`
  std::string name;       // the member's display name as seen in this event
  std::optional<Role> role;

  // message
  MessageKind kind = MessageKind::kText;
  std::string text;
  std::string reply_to;
  std::vector<std::string> mentions;
  // payloads of QR codes found in the message's images, decoded by the adapter (the image bytes
  // never enter the log; core/image/qr.hpp decodes them), for moderation to read like text
  std::vector<std::string> qr;
  // member_joined
  std::string via_inviter;  // external user id of the inviter
  std::string via_code;     // invite code or channel
  // member_left
  LeaveReason reason = LeaveReason::kLeft;
  // link_click
  std::string url;
  // order: amount in 1/10000 of the currency unit, parsed from a decimal string
  int64_t amount_e4 = 0;
  std::string currency;
  std::string product;
  // tag_changed
  std::string tag;
  TagOp tag_op = TagOp::kAdd;
  // timer: the timer's key and the payload it was scheduled with (a JSON object text or empty)
  std::string timer;
  std::string payload;
  // command: "<module>.<verb>" (shown only to that module); its arguments are in `payload`
  std::string command;
  // action_done / action_failed: the outbox action id, its type, and the platform's reason
  std::string action;
  std::string action_type;
  std::string error;
  // points_changed (also `reason` text in `text`)
  int64_t points = 0;
  // join_request: the platform's handle for answering it (OneBot's flag); its `text` is what
  // the applicant wrote (an answer, a comment), `via` the invite used
  std::string request;
  // group_bound: the community slug; group_migrated: the group's new id
  std::string to;

  std::string attrs = "{}";
};

// A message sent to the bot in a private chat (no group): keyword joining, verification
// answers. It changes no group's counters and moderation does not judge it.
inline bool IsDirectMessage(const Event& e) {
  return e.type == EventType::kMessage && e.group.empty();
}

// Limits that keep one event from being a memory bomb.
inline constexpr size_t kMaxIdBytes = 256;
inline constexpr size_t kMaxCommunityBytes = 128;  // a community's slug
inline constexpr size_t kMaxTextBytes = 64 * 1024;
inline constexpr size_t kMaxMentions = 256;
// `qr`: the bounds core/image/qr.hpp's DecodeQrCodes answers within (kMaxQrPayloads,
// kMaxQrPayloadBytes), restated here so the model does not depend on the image decoders.
inline constexpr size_t kMaxQrCodes = 8;
inline constexpr size_t kMaxQrCodeBytes = 2048;
// The unknown fields kept in `attrs`, all together (their minified JSON), and a timer's payload.
inline constexpr size_t kMaxAttrsBytes = 64 * 1024;
inline constexpr size_t kMaxPayloadBytes = 64 * 1024;
// The largest order amount, in 1/10000 units: 1,000,000,000,000 currency units. Far beyond any
// real order, and small enough that sums of billions of orders stay far from int64 overflow.
inline constexpr int64_t kMaxAmountE4 = 10'000'000'000'000'000;
// Event times are accepted from 2000-01-01 to 2100-12-31, the date as written (in its own
// offset): older or later dates are typing or clock errors, and would sort a member's
// first/last seen times to absurd values.
inline constexpr int kMinEventYear = 2000;
inline constexpr int kMaxEventYear = 2100;

// Parses an amount such as "199", "199.9", "0.0001" into 1/10000 units. At most 4 decimals,
// no sign, no exponent, at most kMaxAmountE4 (1000000000000). Errors name the field "amount".
Result<int64_t> ParseAmountE4(std::string_view text);
std::string FormatAmountE4(int64_t amount_e4);

// Parses and validates one event object. Errors name the field (e.g. "time", "via.inviter").
// Thread-safe; cheap enough for the ingest hot path (simdjson underneath).
class EventParser {
 public:
  EventParser();
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // `json` must be one JSON object.
  Result<Event> Parse(std::string_view json);

 private:
  struct Impl;
  Impl* impl_;  // owned; pimpl keeps simdjson out of every includer
};

// Splits a request body into event objects: a JSON array of objects, or NDJSON (one object a
// line, blank lines ignored). Each element is the raw JSON text of one event (views into
// `body`), or the error for that element if it is not well-formed. A body that is not an array
// at all is one error for the whole body.
struct RawItem {
  std::string_view json;
  Status error;  // not ok: this element could not even be framed as JSON
};
Result<std::vector<RawItem>> SplitJsonArray(std::string_view body);
std::vector<RawItem> SplitNdjson(std::string_view body);

// `text` as a JSON string literal, quotes included. The bytes are copied as they are: `text`
// must be valid UTF-8 for the result to be valid JSON (events' strings are validated).
std::string JsonString(std::string_view text);
void AppendJsonString(std::string& out, std::string_view text);

// Writes the canonical JSON form of `event` (the form stored in the log and returned by the
// API): known fields in a fixed order, unknown ones from `attrs` after them.
std::string EventToJson(const Event& event);

}  // namespace qz
