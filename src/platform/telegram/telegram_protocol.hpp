// qunzhu platform/telegram: the Telegram Bot API translation layer. Owns the mapping between Bot
// API JSON and qunzhu's values: Updates (getUpdates bodies, webhook bodies) into canonical events
// and the facts an adapter acts on; outbox actions into Bot API calls; Bot API responses into
// delivery outcomes. Pure functions: no I/O, no clock (time is passed in), no threads, no throws.
//
// The transport (HTTP client, long polling, webhook server) and the PlatformAdapter built on
// these functions live elsewhere; they own offsets, retries, secrets and group state.
//
// Event ids (unique per platform "telegram", so ingest deduplicates redeliveries):
//   message            <chat_id>:<message_id>
//   edited message     <chat_id>:<message_id>:e<edit_date>       (each edit is its own event)
//   member_joined      join:<chat_id>:<user_id>:<date>
//   member_left        left:<chat_id>:<user_id>:<date>
//   join_request       <bot_id>:join_request:<chat_id>:<user_id>:<date>  (each bot that may
//                      answer it receives it: one event per bot)
//   group_migrated     migrate:<old chat_id>                      (MigrationEvent)
//   bot_removed        bot_removed:<chat_id>:<bot_id>:<date>      (BotMembershipEvent), or
//                      forbidden:<chat_id>:<outbox id>            (RefusalEvent)
//   bot_added          bot_added:<chat_id>:<bot_id>:<date>        (BotMembershipEvent)
//   member_synced      sync:<chat_id>:<user_id>:<role>:<ms>       (SyncedMemberEvents)
// Joins and leaves have ids of their own, made only of what both of Telegram's reports of them
// carry (the service message in the chat, `new_chat_members` / `left_chat_member`, and the
// `chat_member` update), so the same join seen both ways is one event: whichever reaches ingest
// first is kept, the other is a duplicate. Two consequences: (1) the two reports carry the same
// `date` in practice but Telegram does not promise it; if they differ the join counts twice (a
// second join of an active member); (2) only the chat_member update knows the invite link, so
// within one getUpdates batch the service message's join is dropped in favour of the
// chat_member one (ParseGetUpdates); across batches or webhooks the first to arrive wins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "model/action.hpp"
#include "model/event.hpp"
#include "platform/adapter.hpp"

namespace qz::telegram {

inline constexpr std::string_view kPlatform = "telegram";

// ---- Inbound: updates ----

// A basic group was upgraded to a supergroup, which has a new chat id: events of the old id stop
// and those of the new one start. Reported twice by Telegram (`migrate_to_chat_id` in the old
// chat, `migrate_from_chat_id` in the new one); both give the same pair.
struct ChatMigration {
  int64_t old_chat_id = 0;
  int64_t new_chat_id = 0;
  TimeMs time = 0;
};

// The bot's own membership in a chat changed (`my_chat_member`). A private chat is a person who
// started (kAdded) or blocked (kKicked) the bot.
struct BotMembership {
  enum class Change : uint8_t {
    kAdded,     // not in the chat before, in it now (as member or admin: see `role`)
    kRemoved,   // in it before, left now (removed by `by`, or the chat was deleted)
    kKicked,    // in it before, banned now
    kPromoted,  // still in it, with a higher role
    kDemoted,   // still in it, with a lower role
    kOther,     // anything else (rights changed within a role; left → kicked)
  };
  Change change = Change::kOther;
  int64_t chat_id = 0;
  std::string chat_type;  // "group", "supergroup", "channel" or "private"
  std::string chat_title;
  int64_t bot_id = 0;         // the bot's own user id
  Role role = Role::kMember;  // the bot's role now (member also when it is out of the chat)
  int64_t by = 0;             // who made the change (from.id)
  TimeMs time = 0;
};

// One Update, translated. Exactly one of these holds: `error` is not ok; `events` is not empty;
// `migration` is set; `bot_membership` is set; `ignored` is not empty. (A migration's and a bot
// membership's own events are MigrationEvent's and BotMembershipEvent's: the adapter acts on the
// fact and submits the event.)
struct ParsedUpdate {
  // The update's id, for the polling offset; nullopt only when the update had no readable
  // integer `update_id` (then `error` says so).
  std::optional<int64_t> update_id;
  // Not ok: this update is malformed (the field is named, e.g. "message.chat.id"). Resending it
  // would fail again: count it, log it, move on.
  Status error;
  // Canonical events, platform "telegram", valid for EventParser. Several for one service
  // message that adds several members.
  std::vector<Event> events;
  std::optional<ChatMigration> migration;
  std::optional<BotMembership> bot_membership;
  // Nothing to do, and why: the update kind we do not translate ("callback_query"), "from a
  // bot", "channel", "service message", "member change without join or leave", "duplicate of a
  // chat_member join in this batch".
  std::string ignored;
};

struct UpdateBatch {
  std::vector<ParsedUpdate> updates;  // in the order received
  // The offset of the next getUpdates call: the highest readable update_id + 1, bad updates
  // included (they would fail again), or 0 when the batch had none (keep the current offset).
  int64_t next_offset = 0;
};

// A getUpdates response body, {"ok":true,"result":[Update, …]}. The whole call fails only when
// the body is not JSON, not such an envelope, or says ok:false (the status carries error_code and
// description; a 409 means another poller or a webhook is active): keep the offset and poll
// again later. Otherwise each update is translated on its own, a bad one being an error in its
// ParsedUpdate while the others still translate. `bot_id` is the user id of the bot the updates
// are for (its token's prefix): a join request, which each admin bot receives, names it.
Result<UpdateBatch> ParseGetUpdates(std::string_view body, int64_t bot_id);

// One webhook POST body (one Update), for bot `bot_id` (as above). A malformed body is an error
// in the result (without update_id when that cannot be read). Answer Telegram 2xx for it all
// the same: a redelivery would fail again.
ParsedUpdate ParseWebhookUpdate(std::string_view body, int64_t bot_id);

// The canonical event of a migration, for the engine to keep the group's history under its new
// id: group_migrated {group: old id, to: new id, time}. Its id is made of the old chat id only,
// so Telegram's two reports (and a call's 400 answer, see CallOutcome) are one event.
Event MigrationEvent(const ChatMigration& migration);
// The canonical event of the bot's own membership in a group or supergroup: bot_removed when it
// left or was removed or banned (kRemoved, kKicked), bot_added when it came in (kAdded); member
// is who did it (`by`, when known). nullopt for the other changes, and for private chats (a
// person who started or blocked the bot) and channels, which are no groups. The id is made of
// the update's own fields, so a redelivered update is a duplicate.
std::optional<Event> BotMembershipEvent(const BotMembership& membership);

// How a message's text and caption are read:
// - text = `text`, else `caption`, cut at kMaxTextBytes on a UTF-8 boundary (Telegram's own
//   limits are far below). kind: photo → image; animation, sticker, location, venue, poll,
//   dice, game, story, paid media, giveaway, invoice, checklist → other; voice, audio → voice;
//   video, video_note → video; document → file; contact → card; otherwise link when an entity
//   is `url` or `text_link`, else text. A message with none of these (a service message:
//   title changed, pinned…) is ignored.
// - entities (`entities` or `caption_entities`) count UTF-16 code units. `mention` adds the
//   "@name" it covers to mentions, `text_mention` its user's id; an entity whose range is
//   outside the text or splits a character is skipped. `text_link` targets are hidden from the
//   text, so they are kept for moderation in attrs "links" (distinct, in order, each cut at 2048
//   bytes, 32 KiB in all), whatever their range.
// - reply_to = "<chat_id>:<reply_to_message.message_id>", except a forum topic's implicit
//   reply to the topic's first message.
// - edited_message: attrs "edited":true; `time` is the edit's time (edit_date), not the
//   original's.
// - Bots: messages whose `from.is_bot` are ignored; a bot's own join or leave is kept, with attrs
//   "is_bot":true.
// - Joins and leaves: via.inviter is the adder / the invite link's creator; reason is removed
//   when someone other than the member made them leave (from.id differs), else left.
//   A chat_member update is a join when the member was not in the chat and now is (creator,
//   administrator, member, or restricted with is_member), a leave the other way round; the role
//   of a join follows the new status (creator → owner, administrator → admin, else member).
//   via.code is the invite link's name, else its URL.
// - chat_join_request (someone asked to join a group that approves joins, or through a link
//   that makes join requests): a join_request event; text = the applicant's bio, via.code as
//   for a join; request = "<bot_id>:<chat_id>:<user_id>", the handle an answer_join_request
//   action carries back (the adapter answers through the bot it names). Requests to join a
//   channel are ignored.

// UTF-16 helpers for entity offsets (Telegram counts UTF-16 code units; an astral character such
// as most emoji is two). `utf8` must be valid UTF-8.
size_t Utf16Length(std::string_view utf8);
// The part of `utf8` from UTF-16 unit `offset`, `length` units long; nullopt when the range is
// negative, beyond the text, or starts or ends inside a character.
std::optional<std::string_view> Utf16Substr(std::string_view utf8, int64_t offset, int64_t length);

// ---- Outbound: actions ----

// One Bot API call: POST https://api.telegram.org/bot<token>/<method> with `body` as
// application/json.
struct TelegramCall {
  std::string method;  // e.g. "sendMessage"
  std::string body;    // a JSON object
  friend bool operator==(const TelegramCall&, const TelegramCall&) = default;
};

// The longest text sendMessage accepts, in UTF-16 code units; longer is an error ("text"), never
// a silent cut.
inline constexpr size_t kMaxMessageUtf16 = 4096;
// The longest invite link name, in characters; a longer action text is cut to it (on a
// character boundary).
inline constexpr size_t kMaxInviteNameChars = 32;
// Telegram reads an until_date less than 30 s (or more than 366 days) ahead as "forever". A
// timed mute is therefore at least kMinRestrictSeconds long: 30 s plus 10 s for delivery latency
// and clock skew, so that a short mute never becomes a permanent one. More than 366 days is
// forever, as asked for in effect.
inline constexpr int64_t kMinRestrictSeconds = 40;
// remove_member is a kick: a ban that Telegram lifts after this, so the person may join again
// later (qunzhu's own blacklist removes them again on join when a rule says so).
inline constexpr int64_t kKickBanSeconds = 60;

// The call that performs `record.action` at `now`:
//   send_message       sendMessage {chat_id: group, text}
//   reply, warn        sendMessage {chat_id, text, reply_parameters: {message_id,
//                      allow_sending_without_reply: true}}; chat and message from reply_to
//                      ("<chat_id>:<message_id>", an edit's ":e<date>" suffix allowed; the
//                      chat must be `group` when that is set)
//   send_direct        sendMessage {chat_id: member, text}
//   delete_message     deleteMessage {chat_id, message_id} from reply_to (empty: the cause
//                      event, "telegram:<chat_id>:<message_id>")
//   mute               restrictChatMember {chat_id, user_id, permissions: all false,
//                      until_date}: duration_s <= 0 is until unmuted (until_date 0, the
//                      verify module's use), else now + max(duration_s, kMinRestrictSeconds)
//   unmute             restrictChatMember {chat_id, user_id, permissions: all true}
//   remove_member      banChatMember {chat_id, user_id, until_date: now + kKickBanSeconds,
//                      revoke_messages: false}
//   unban              unbanChatMember {chat_id, user_id, only_if_banned: true}
//   create_invite      createChatInviteLink {chat_id, name: text cut to kMaxInviteNameChars
//                      (omitted when empty), creates_join_request: false}
//   answer_join_request  approveChatJoinRequest or (approve false) declineChatJoinRequest
//                      {chat_id: group, user_id: member}; Telegram tells the applicant no
//                      reason, so `text` is not sent
//   sync_members       getChatAdministrators {chat_id: group}: the answer is read with
//                      ParseChatAdministrators and brought in with SyncedMemberEvents (Telegram
//                      lists the administrators only, not every member)
// Errors (kInvalidArgument, naming the field): ids that are not integers ("group", "member",
// "reply_to"), an empty, invalid UTF-8 or too long text ("text"), an action type Telegram is not
// declared capable of ("type").
Result<TelegramCall> BuildCall(const OutboxRecord& record, TimeMs now);

// The actions BuildCall maps (dedupes_sends false: Telegram has no idempotency key).
Capabilities TelegramCapabilities();
// Bot FAQ: 30 a second overall, 1 a second and 20 a minute into one chat.
RateLimits TelegramRateLimits();

// A Bot API answer, classified for delivery. `perform` is what PlatformAdapter::Perform
// returns; the flags are for the adapter to act on besides.
struct CallOutcome {
  PerformResult perform;
  // 403: the bot was removed from the chat, blocked by the user, or lost access: mark the group
  // (or the member's direct chat) inactive, and tell the engine of a group (RefusalEvent).
  // perform is kFailed.
  bool bot_removed = false;
  // 400 with parameters.migrate_to_chat_id: the group became a supergroup with this id; the
  // action may be redone there, and the engine told (MigrationEvent). perform is kFailed (this
  // call will never succeed).
  std::optional<int64_t> migrate_to_chat_id;
};

// Classifies the answer to a call of `method` (as in TelegramCall) with HTTP `status`:
//   ok:true            kDone; platform_ref "<chat_id>:<message_id>" of the sent message
//                      (sendMessage) or the link's URL (createChatInviteLink), else empty
//   429                kRetry, retry_after_ms from parameters.retry_after
//   5xx, not JSON      kRetry (also any status other than 2xx and 4xx)
//   401                kRetry (the token was refused: fixed by a restart, nothing lost)
//   403                kFailed, bot_removed
//   400 + migrate      kFailed, migrate_to_chat_id
//   deleteMessage 400 "message to delete not found": kDone (already gone)
//   approveChatJoinRequest 400 "USER_ALREADY_PARTICIPANT": kDone (they are in)
//   other 4xx          kFailed; error "<method>: <description>"
CallOutcome ParseCallResponse(std::string_view method, int status, std::string_view body);

// ---- Other reads ----

// One row of getChatAdministrators.
struct ChatAdmin {
  int64_t user_id = 0;
  Role role = Role::kAdmin;  // kOwner for the creator
  std::string name;
  bool is_bot = false;
};
// A getChatAdministrators response body. Any malformed row fails the whole list (a partial list
// would demote the missing admins).
Result<std::vector<ChatAdmin>> ParseChatAdministrators(std::string_view body);

// The member_synced events of a getChatAdministrators answer for `chat` (a chat id BuildCall
// accepted) at `now`: one per administrator that is not a bot, with its role (owner for the
// creator, else admin) and name. The id sync:<chat>:<user>:<role>:<now ms> is new at each sync,
// so a role that changes back is seen; the writer keeps out of the log a sync that changes nothing.
std::vector<Event> SyncedMemberEvents(std::string_view chat, const std::vector<ChatAdmin>& admins,
                                      TimeMs now);

// The bot_removed event of a 403 answer to outbox action `record_id` addressed to group `chat`
// (a chat id BuildCall accepted; the bot was removed from it or is not in it), at `now`; the id
// forbidden:<chat>:<record_id> makes a repeated report of one action's refusal a duplicate.
Event RefusalEvent(std::string_view chat, int64_t record_id, TimeMs now);

struct BotIdentity {
  int64_t id = 0;
  std::string username;
};
// A getMe response body.
Result<BotIdentity> ParseGetMe(std::string_view body);

}  // namespace qz::telegram
