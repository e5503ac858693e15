// qunzhu platform/sandbox: a built-in platform whose groups and members are simulated and that
// supports every capability. Owns the simulated conversations (members' messages and what the
// bot sent, deleted, muted, removed), failure injection for tests, and turning a simulated
// member's message, join, leave or join request into a canonical event. Serves tests, the demo
// and try-it-out.
// Configured by the [platforms.sandbox] section (MakeSandboxFactory).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "model/event.hpp"
#include "platform/adapter.hpp"

namespace qz {

// One line of a simulated group's conversation.
struct SandboxEntry {
  int64_t seq = 0;  // increasing per sandbox
  TimeMs time = 0;
  std::string group;
  // "message" (a member's), "bot" (the bot sent text), "delete", "warn", "mute", "unmute",
  // "remove", "unban", "direct" (a DM to `member`), "invite" (an invite link created),
  // "announcement" (the group's announcement set to `text`), "approve" / "reject" (a join
  // request answered; `text` the reason given on a reject), "sync" (the members listed, `text`
  // says how many), and the member side: "join", "leave", "request" (asked to join, `text` what
  // they wrote).
  std::string kind;
  std::string member;  // who wrote it, or whom the action targets
  std::string name;
  std::string text;
  std::string message_id;  // the event id of a member's message; the bot's own message id
  std::string reply_to;
  int64_t duration_s = 0;       // mute
  bool deleted = false;         // a member's message the bot deleted
  bool image = false;           // a member's message is a picture (the caption in `text`)
  std::vector<std::string> qr;  // the payloads of the QR codes found in that picture
  int64_t action_id = 0;        // for the bot's entries: the outbox action
  std::string request;          // "request", "approve", "reject": the join request's handle
};

// A member of a simulated group as the sandbox knows them: from joins, posts and approved
// requests (until they leave or are removed), with the role the platform gave them (SetRole).
struct SandboxMember {
  std::string id;
  std::string name;
  Role role = Role::kMember;
  friend bool operator==(const SandboxMember&, const SandboxMember&) = default;
};

// Failure injection: each Perform fails with probability `fail_percent` (deterministic from
// `seed`), half of the failures as 429 with `retry_after_ms`, half as a 5xx; both are kRetry.
struct SandboxFailures {
  int fail_percent = 0;  // 0..100
  TimeMs retry_after_ms = 1000;
  uint64_t seed = 1;
};

struct SandboxOptions {
  // The first <n> of the member-side event ids. Event ids must stay unique in the log across
  // restarts (a repeated id is a duplicate and silently ignored), so a process that runs a
  // sandbox against an existing log should start past the numbers it used (the factory's
  // default is the clock in thousandths of a millisecond); tests keep 1 and get
  // "sandbox:m:1", "sandbox:m:2", ...
  int64_t first_event_number = 1;
  // true: a repeated idempotency key is recorded once (declared as Capabilities::dedupes_sends).
  // false: the sandbox behaves as a platform that cannot deduplicate: a repeat is sent again.
  bool dedupes_sends = true;
  SandboxFailures failures;
  RateLimits rate_limits;  // none by default: the sandbox is as fast as delivery
};

// Thread-safe: Perform (delivery threads) and the member side (HTTP threads) may race.
// Inbound: the member side does not go through the sink: PostMessage, Join, Leave and Request
// return the event to their caller (the sandbox's HTTP routes, the scenario runner), which
// ingests it and answers its own client once it is durable. What the platform itself reports
// after an action goes through the sink Start was given: the applicant's join after an approved
// join request, the member_synced events answering sync_members. Before Start and after Stop
// there is nobody to tell: the action is carried out and nothing is reported.
class SandboxPlatform final : public PlatformAdapter {
 public:
  explicit SandboxPlatform(const Clock& clock, int64_t first_event_number = 1);
  SandboxPlatform(const Clock& clock, SandboxOptions options);

  std::string_view platform() const override { return "sandbox"; }
  // Every platform action; sends deduplicated by idempotency key unless configured otherwise.
  Capabilities capabilities() const override;
  RateLimits rate_limits() const override { return rate_limits_; }
  Status Start(EventSink& sink) override;
  void Stop() override;  // returns once no Perform is reporting to the sink any more
  // Records the action in its group's conversation (or fails per the injected failures; a
  // failed attempt records nothing). The same idempotency key performed twice is recorded once
  // and answers the same platform_ref (unless dedupes_sends is off: then it is recorded again
  // with a new one). A direct message without a group is recorded in the
  // conversation of group "" (not listed by Groups). Actions about messages the sandbox never
  // saw (events may reach the engine without passing through PostMessage) are recorded all the
  // same. A mute of duration_s <= 0 lasts until an unmute. An approved join request makes the
  // applicant a member (their member_joined is reported, unless the sandbox has them in the
  // group already); sync_members reports one member_synced per member it knows in the group
  // (none for a group it knows nothing of). A report the sink refuses is kRetry, and nothing is
  // recorded. kFailed only for an action that is not a platform action or lacks the group /
  // member it needs (the error names the field).
  PerformResult Perform(const OutboxRecord& record) override;

  // The member side. Each returns the canonical event to ingest (ids "sandbox:<kind>:<n>"),
  // after recording it in the conversation; kInvalidArgument names a bad field; a member who is
  // muted (until a time on the clock) or removed cannot post: kInvalidArgument, field "member".
  Result<Event> PostMessage(const std::string& group, const std::string& member,
                            const std::string& name, const std::string& text,
                            const std::string& community = {});
  // A member's picture: `image` is the file (PNG or JPEG, DecodeQrCodes' limits). The payloads
  // of the QR codes in it go into the event's `qr` and its kind is "image"; the bytes themselves
  // are kept nowhere. `text` is the caption (may be empty). Decodes on the caller's thread,
  // outside the sandbox's lock. An unreadable picture: kInvalidArgument naming "image".
  Result<Event> PostImage(const std::string& group, const std::string& member,
                          const std::string& name, std::string_view image,
                          const std::string& text = {}, const std::string& community = {});
  // A member's private chat with the bot: a message event without a group (IsDirectMessage),
  // recorded in the conversation of group "" (see DirectConversation).
  Result<Event> PostDirect(const std::string& member, const std::string& name,
                           const std::string& text, const std::string& community = {});
  Result<Event> Join(const std::string& group, const std::string& member, const std::string& name,
                     const std::string& inviter = {}, const std::string& code = {},
                     const std::string& community = {});
  Result<Event> Leave(const std::string& group, const std::string& member,
                      const std::string& community = {});
  // A person asks to join `group` (join_request, id "sandbox:r:<n>"), writing `text` (their
  // answer to the group's question); the event's `request` is the handle the bot answers with
  // ("req-<n>"). They are not a member until a request is approved.
  Result<Event> Request(const std::string& group, const std::string& member,
                        const std::string& name, const std::string& text,
                        const std::string& community = {});
  // The platform makes `member` an owner, admin, assistant or plain member of `group` (in the
  // app, unseen by qunzhu: no event). A sync_members then reports it.
  Status SetRole(const std::string& group, const std::string& member, Role role);
  // The members the sandbox knows in `group`, by id.
  std::vector<SandboxMember> Members(const std::string& group) const;

  // The conversation of `group` after `after_seq`, oldest first, at most `limit`.
  std::vector<SandboxEntry> Conversation(const std::string& group, int64_t after_seq = 0,
                                         size_t limit = 1000) const;
  // One member's private chat with the bot, oldest first: what they wrote to it and every
  // direct message the bot sent them (also those sent about a group, such as an appeal hint).
  std::vector<SandboxEntry> DirectConversation(const std::string& member, int64_t after_seq = 0,
                                               size_t limit = 1000) const;
  std::vector<std::string> Groups() const;

  // A live feed of the conversations (the console's sandbox chat): `changed` gets a copy of each
  // entry recorded from now on, in any group, and again of an entry that changed (a message
  // marked deleted), once the operation that recorded it is complete. It runs on the thread
  // that recorded it with the sandbox's lock held: it must be quick and must not call the
  // sandbox. Returns the id for Unwatch; after Unwatch returns it is not called again.
  using WatchId = uint64_t;
  WatchId Watch(std::function<void(const SandboxEntry&)> changed);
  void Unwatch(WatchId id);

  void SetFailures(SandboxFailures failures);
  // How many times an action with this idempotency key was recorded (0 or 1 unless broken, or
  // more when dedupes_sends is off),
  // and how many Perform calls were made in all; for tests of "never sent twice".
  int RecordedCount(const std::string& idempotency_key) const;
  int64_t perform_calls() const;

 private:
  using MemberKey = std::pair<std::string, std::string>;  // (group, member)

  // The lock of an operation that records entries: before unlocking, it tells the watchers of
  // what the operation recorded (complete by then).
  class Recording;
  // All with mu_ held.
  SandboxEntry& Append(const std::string& group, std::string kind, const std::string& member);
  void TellWatchers();
  uint64_t NextRandom();
  // A member's message (a picture when `image`, with the QR payloads `qr`) after its fields
  // were checked.
  Result<Event> RecordMessage(const std::string& group, const std::string& member,
                              const std::string& name, const std::string& text,
                              const std::string& community, bool image,
                              std::vector<std::string> qr);
  Status CheckCanPost(const std::string& group, const std::string& member, TimeMs now) const;
  Event NewEvent(EventType type, char id_kind, const std::string& group, const std::string& member,
                 const std::string& community, TimeMs now);
  // A member is in `group` (name updated when given; the role kept).
  void NoteMember(const std::string& group, const std::string& member, const std::string& name);
  // answer_join_request and sync_members: reports what follows through the sink, then records
  // the action (its entry in `entry`). An error (the sink refused the report) records nothing.
  Status PerformReported(const Action& a, SandboxEntry*& entry);

  const Clock& clock_;
  const bool dedupes_sends_;
  const RateLimits rate_limits_;

  mutable std::mutex mu_;  // guards everything below
  int64_t next_seq_ = 1;
  int64_t next_event_ = 1;   // <n> of the member-side event ids
  int64_t next_invite_ = 1;  // <n> of the invite links
  int64_t next_request_ = 1;  // <n> of the join requests' handles
  EventSink* sink_ = nullptr;  // between Start and Stop
  int64_t perform_calls_ = 0;
  uint64_t rng_state_ = 1;
  SandboxFailures failures_;
  // By group, by seq. A deque: appending never moves the entries (no copying as it grows).
  std::map<std::string, std::deque<SandboxEntry>> conversations_;
  std::unordered_map<std::string, std::string> performed_;  // idempotency key -> ref
  std::unordered_map<std::string, int> recorded_count_;
  std::map<MemberKey, TimeMs> muted_until_;
  std::set<MemberKey> removed_;  // until they join again
  // By group, by member id: who the sandbox has seen in the group and is still there.
  std::map<std::string, std::map<std::string, SandboxMember>> members_;
  // Join requests not answered yet: handle -> the applicant's name.
  std::unordered_map<std::string, std::string> requests_;
  // Entries recorded or changed since the watchers were last told: (group, seq).
  std::vector<std::pair<std::string, int64_t>> untold_;
  std::map<WatchId, std::function<void(const SandboxEntry&)>> watchers_;
  WatchId next_watch_ = 1;
};

// Makes the sandbox from its section:
//   [platforms.sandbox]
//   first_event_number = 1        # default: the clock in thousandths of a millisecond
//   dedupes_sends = true
//   failures = { percent = 30, retry_after_ms = 1000, seed = 1 }   # default: none
//   rate_limits = { per_second = 30, per_chat_per_second = 1, per_chat_per_minute = 20 }
std::unique_ptr<AdapterFactory> MakeSandboxFactory();

}  // namespace qz
