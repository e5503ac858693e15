// qunzhu platform/onebot: the OneBot v11 translation layer (QQ through NapCat, LLOneBot,
// Lagrange.OneBot): event reports → canonical events and facts, outbox actions → API calls, API
// responses → outcomes, and the reports' signature. Pure: no sockets, threads or clock; the
// transports (HTTP POST receiver, HTTP API client, reverse WebSocket) and the adapter sit on top.
//
// Ids. QQ numbers (self_id, group_id, user_id) are written as decimal strings in events and sent
// as JSON integers. A message id is per bot account, so a message's event id is
// "<self_id>:<message_id>": a reply or a delete names the account that must do it
// (OneBotCall::self_id), and two accounts in one group report the same message as two ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/action.hpp"
#include "model/event.hpp"
#include "platform/adapter.hpp"

namespace qz::onebot {

// The events' `platform` for every OneBot account (all of them are QQ).
inline constexpr std::string_view kPlatform = "qq";

struct ParseOptions {
  std::string platform{kPlatform};  // the adapter may serve QQ under another name
  // The offset event times are written in (OneBot times are bare Unix seconds): China's.
  int16_t time_offset_minutes = 480;
};

// ---- Inbound: one event report (an HTTP POST body or a reverse-WebSocket event frame) ----

// A message recalled (撤回) in a group, by its author or by an admin (group_recall).
struct Recall {
  std::string group;
  std::string message;      // the recalled message's event id, "<self_id>:<message_id>"
  std::string author;       // who sent it
  std::string operator_id;  // who recalled it (the author when they recalled their own)
  TimeMs time = 0;
};

// A member muted (禁言) or unmuted by an admin (group_ban), or the whole group (全员禁言).
struct Ban {
  std::string group;
  std::string member;  // empty: the whole group (user_id 0)
  std::string operator_id;
  int64_t duration_s = 0;  // as reported (0 on lift_ban)
  bool lifted = false;     // sub_type lift_ban
  TimeMs time = 0;
};

// The bot account is invited to a group (request_type group, sub_type invite; any sub_type but
// add). Not a member's event: a person accepts it in QQ (or JoinRequestCall(flag, "invite", …)).
// A request to join (sub_type add) is a canonical join_request event instead.
struct JoinRequest {
  std::string flag;  // opaque; handed back to set_group_add_request
  std::string group;
  std::string user;      // who invited the bot
  std::string comment;   // at most 4096 bytes
  std::string sub_type;  // as reported: "invite"
  TimeMs time = 0;
};

// Link health (meta_event): heartbeats and lifecycle.
struct Meta {
  enum class Kind : uint8_t { kHeartbeat, kLifecycle };
  Kind kind = Kind::kHeartbeat;
  std::string sub_type;        // lifecycle: "enable", "disable" or "connect"
  int64_t interval_ms = 0;     // heartbeat: time to the next one; 0 when not reported
  std::optional<bool> online;  // heartbeat: status.online / status.good, when reported
  std::optional<bool> good;
  TimeMs time = 0;
};

// A report that needs nothing from qunzhu (friend requests, pokes, the bot's own messages…).
struct Ignored {
  std::string what;  // e.g. "request:friend", "notice:notify:poke", "message_sent"
};

struct Report {
  std::string self_id;  // the bot account the report came through
  // An Event is a canonical message, member_joined, member_left, join_request, member_synced,
  // bot_added or bot_removed, ready for the EventSink.
  std::variant<Event, Recall, Ban, JoinRequest, Meta, Ignored> content;
  // A message's pictures (http(s) URLs, at most kMaxImageUrls): for the adapter to fetch and
  // decode QR codes from into the event's `qr` (core/image/qr.hpp) before submitting it.
  std::vector<std::string> image_urls;
};
inline constexpr size_t kMaxImageUrls = 16;

// Parses one report. What the canonical events hold:
//  - message (group or private): id "<self_id>:<message_id>"; group = group_id (empty for a
//    private message: a direct message); member = user_id; name = sender.card, else
//    sender.nickname; role from sender.role; time = time * 1000. `message` may be the string
//    (CQ code) or the array form, `raw_message` when it is absent. Segments: text concatenated
//    (cut at kMaxTextBytes); face dropped; at → mentions (a QQ number, or "all"); reply →
//    reply_to "<self_id>:<id>"; image → kind image; record → voice; video → video; file →
//    file; redbag → redpacket; json → card, or miniprogram when its app is
//    "com.tencent.miniapp…"; xml, contact → card; share → link (its url in `url`). The first
//    of these kinds wins; an unknown segment type makes the kind "other" when nothing else set
//    one; with neither, a text with an http(s) link is "link". Every segment other than text,
//    face, at and reply is kept whole in attrs `onebot_segments` (up to 32 KiB; beyond that
//    they are counted in `onebot_segments_dropped`), so nothing is lost.
//    A message sent by the bot account itself is Ignored.
//  - notice group_increase → member_joined (via.inviter = operator_id for sub_type invite);
//    group_decrease → member_left (kick: removed; leave: left). Their id is
//    "<self_id>:<notice_type>:<group>:<user>:<time>", so a redelivered report is a duplicate;
//    attrs keep `onebot_sub_type` and `onebot_operator`. About the bot itself (user_id is
//    self_id, or sub_type kick_me): bot_added (group_increase) or bot_removed (group_decrease),
//    the same id and attrs, member = operator_id when reported and not the bot (who invited,
//    approved or removed it). group_admin → member_synced with role admin (set) or member
//    (unset), id "<self_id>:admin:<group>:<user>:<time>" (about the bot itself: Ignored,
//    "notice:group_admin:<sub_type>:self"). group_recall → Recall; group_ban →
//    Ban; any other notice → Ignored.
//  - request group, sub_type add → join_request: id "<self_id>:request:<group>:<user>:<time>",
//    member = user_id, text = comment (cut at 4096 bytes), request = "<self_id>:<flag>" (the
//    account that received it answers it; at most kMaxIdBytes in all: a longer flag is an error,
//    as it could not be answered). Other sub_types (invite: the bot is
//    invited) → JoinRequest. friend and other request types → Ignored.
//  - meta_event heartbeat, lifecycle → Meta; others → Ignored. post_type message_sent (the
//    bot's own messages) and unknown post types → Ignored.
// Errors (kInvalidArgument) name the field: malformed JSON, a missing or mistyped post_type,
// self_id, time (Unix seconds within 2000..2100), group_id, user_id, message_id, message
// segments. Ids are JSON integers or strings of decimal digits. The sender's names and role are
// best-effort (the spec says so): a mistyped one is left out. Every Event returned passes
// EventParser (docs/events.md) as EventToJson writes it.
//
// Not thread-safe (it reuses its buffers): one per thread.
class ReportParser {
 public:
  explicit ReportParser(ParseOptions options = {});
  ~ReportParser();
  ReportParser(const ReportParser&) = delete;
  ReportParser& operator=(const ReportParser&) = delete;

  Result<Report> Parse(std::string_view json);

 private:
  struct Impl;
  Impl* impl_;  // owned; pimpl keeps simdjson out of every includer
};

// True when `header` (the X-Signature value) is "sha1=<hex>" with hex the HMAC-SHA1 of the raw
// `body` keyed with `secret` (hex digits of either case), compared in constant time. False for
// a missing or ill-formed header, and for an empty secret: implementations send no signature
// when none is configured (NapCat signs with its `token`, only when it is non-empty;
// Lagrange.OneBot with its `Secret`), so an adapter without a secret must not call this.
bool VerifySignature(std::string_view secret, std::string_view body, std::string_view header);

// ---- Outbound: API calls ----

struct OneBotCall {
  std::string action;  // e.g. "send_group_msg": the HTTP path /<action> or the frame's "action"
  std::string params;  // a JSON object text
  // The account that must make the call, when it refers to a message (reply, warn, delete: the
  // <self_id> of "<self_id>:<message_id>"); empty: any account in the group.
  std::string self_id;
  friend bool operator==(const OneBotCall&, const OneBotCall&) = default;
};

// QQ's longest mute: 30 days. BuildCall clamps longer mutes to it (set_group_ban refuses more).
inline constexpr int64_t kMaxMuteSeconds = 30 * 24 * 3600;

// The call that carries out a platform action:
//   send_message → send_group_msg {group_id, message:[text]}
//   reply, warn  → send_group_msg {group_id, message:[reply {id}, text]} (reply_to required)
//   send_direct  → send_private_msg {user_id, message:[text]}
//   delete_message → delete_msg {message_id} (the message's event id in reply_to)
//   mute         → set_group_ban {group_id, user_id, duration} (clamped to kMaxMuteSeconds;
//                  duration_s <= 0, "until unmuted", is kMaxMuteSeconds)
//   unmute       → set_group_ban {…, duration: 0}
//   remove_member → set_group_kick {group_id, user_id, reject_add_request: false}
//   answer_join_request → set_group_add_request {flag: request, sub_type: "add", approve,
//                  reason: text when rejecting, else ""} (a join_request event's answer)
//   sync_members → get_group_member_list (GroupMemberListCall); the adapter turns its answer
//                  into member_synced events (MemberSyncedEvents)
// group and member must be decimal QQ numbers fitting int64, reply_to a message's event id
// "<self_id>:<message_id>", texts non-empty UTF-8 (a rejection's reason may be empty), request
// non-empty; errors (kInvalidArgument) name the Action field (group, member, reply_to, text,
// duration_s, request). Other actions (unban, create_invite, set_announcement, engine actions)
// are kInvalidArgument on `type`: OneBotCapabilities() does not declare them.
Result<OneBotCall> BuildCall(const OutboxRecord& record);

// set_group_add_request {flag, sub_type, approve, reason}: answers a request (`sub_type` as it
// was reported: add or invite; `reason` is shown on a refusal).
Result<OneBotCall> JoinRequestCall(std::string_view flag, std::string_view sub_type, bool approve,
                                   std::string_view reason);
// get_group_member_list {group_id, no_cache: true} (a sync wants the list as it is now, not the
// implementation's cached copy; implementations without no_cache ignore it); its data is read by
// ParseGroupMembers.
Result<OneBotCall> GroupMemberListCall(std::string_view group);

// The reverse-WebSocket request frame {"action":…,"params":…,"echo":"<echo>"}; the response
// carries the same echo back.
std::string CallEnvelope(const OneBotCall& call, std::string_view echo);

// send_message, reply, warn, send_direct, delete_message, mute, unmute, remove_member,
// answer_join_request, sync_members. QQ has no unban (a removed member may join again), no
// invite links and no announcements through OneBot v11, and sends are not deduplicated.
Capabilities OneBotCapabilities();
// {.per_second = 2}: no published limit; implementations queue rate-limited calls every 500 ms
// (go-cqhttp's api.rate_limit_interval), see adapter.hpp. No published per-chat figure.
RateLimits OneBotRateLimits();

// ---- API responses ----

struct Response {
  // kDone for status ok or async (platform_ref "<self_id>:<message_id>" when data.message_id is
  // present); kFailed for status failed ("retcode N: <wording|message|msg>"), 404 (unknown
  // action) and other 4xx; kRetry for HTTP 401/403 (a missing or wrong access token: every call
  // fails until it is fixed, and none should be lost meanwhile), 408, 429, 5xx, and a 2xx body
  // that is not a OneBot response.
  PerformResult result;
  int64_t retcode = 0;  // as reported; 0 when absent
  std::string echo;     // the request's echo: a string's content, other JSON as written
  std::string data;     // `data` as minified JSON; "null" when absent
};
// `http_status`: the HTTP API's status, or 200 for a WebSocket response frame. `self_id`: the
// account that made the call, for platform_ref.
Response ParseResponse(int http_status, std::string_view body, std::string_view self_id);

// One row of get_group_member_list's data.
struct GroupMember {
  std::string user_id;
  std::string nickname;
  std::string card;          // the group nickname (群名片); empty when none
  std::optional<Role> role;  // owner, admin or member; absent when not reported
  TimeMs join_time = 0;      // 0 when not reported
};
// The most members one sync takes in: QQ groups hold at most a few thousand, so more is a
// broken answer, and each member is an event in one sync's batches.
inline constexpr size_t kMaxGroupMembers = 10000;

struct GroupMemberList {
  std::vector<GroupMember> members;  // in the answer's order, at most kMaxGroupMembers
  size_t skipped = 0;    // rows that are not an object or have no valid user_id
  size_t truncated = 0;  // rows beyond kMaxGroupMembers, not read
};
// Reads Response::data of get_group_member_list: an array of member objects. Defensive, as one
// odd row must not lose the others: a row that is not an object or has no user_id (a QQ number)
// is skipped and counted; the other fields are best-effort (a mistyped one is left out); rows
// beyond kMaxGroupMembers are counted, not read. Errors (kInvalidArgument, field "data") only
// when data is not JSON or not an array.
Result<GroupMemberList> ParseGroupMembers(std::string_view data);

// The member_synced events of one member list of `group`, one per member whose user_id is not
// in `bots` (the adapter's own accounts, which are not community members): member = user_id,
// name = card, else nickname; role when reported; id "sync:<group>:<user>:<role>:<now ms>" (the
// role part empty when not reported): new at each sync, so a role that changes back is seen; the
// writer keeps out of the log a sync that changes nothing (docs/events.md); time = join_time when it is reported and within the accepted dates (when the
// membership began: a new membership starts then, and a sync does not make members who never
// spoke look seen now), else `now`. Every event passes EventParser.
std::vector<Event> MemberSyncedEvents(std::string_view group, const std::vector<GroupMember>& members,
                                      const std::vector<std::string>& bots, TimeMs now,
                                      const ParseOptions& options = {});

}  // namespace qz::onebot
