#include "platform/sandbox/sandbox.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/image/qr.hpp"
#include "core/time.hpp"
#include "core/toml_reader.hpp"

namespace qz {
namespace {

constexpr TimeMs kForever = std::numeric_limits<TimeMs>::max();
// The sandbox pretends to be a platform in China Standard Time: its events carry +08:00.
constexpr int16_t kOffsetMinutes = 480;

// Limits as the event parser applies them, so an event made here always parses.
constexpr size_t kMaxNameBytes = 512;
// A sync_members answer goes to the sink in batches of this many events (a large group's list
// in one batch could exceed what ingest queues).
constexpr size_t kSyncBatch = 1000;
static_assert(kMaxQrPayloads == kMaxQrCodes && kMaxQrPayloadBytes == kMaxQrCodeBytes,
              "what DecodeQrCodes answers must fit the event's qr field");

Status CheckField(const std::string& value, std::string_view field, size_t max_bytes,
                  bool required) {
  if (required && value.empty()) return Status::Invalid("required", std::string(field));
  if (value.size() > max_bytes) {
    return Status::Invalid(fmt::format("longer than {} bytes", max_bytes), std::string(field));
  }
  return Status::Ok();
}

Status CheckMessageFields(const std::string& group, const std::string& member,
                          const std::string& name, const std::string& text,
                          const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckField(group, "group", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(member, "member", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(name, "name", kMaxNameBytes, false));
  QZ_RETURN_IF_ERROR(CheckField(text, "text", kMaxTextBytes, false));
  return CheckField(community, "community", kMaxCommunityBytes, false);
}

// What each platform action needs besides its type. A direct message needs only the member.
bool NeedsGroup(ActionType t) { return t != ActionType::kSendDirect; }
bool NeedsMember(ActionType t) {
  switch (t) {
    case ActionType::kSendDirect:
    case ActionType::kMute:
    case ActionType::kUnmute:
    case ActionType::kRemoveMember:
    case ActionType::kUnban:
    case ActionType::kAnswerJoinRequest:  // whom the approval lets in
      return true;
    default:
      return false;
  }
}

class SandboxFactory final : public AdapterFactory {
 public:
  std::string_view platform() const override { return "sandbox"; }
  std::unique_ptr<PlatformAdapter> Create(TableReader& section,
                                          const AdapterEnv& env) const override {
    const size_t problems_before = section.problems().size();
    SandboxOptions options;
    // Past the numbers of earlier runs of this log: see SandboxOptions::first_event_number.
    options.first_event_number = env.clock.Now() * 1000;
    section.Int("first_event_number", options.first_event_number, 1, kMaxEventNumber);
    section.Bool("dedupes_sends", options.dedupes_sends);
    if (const toml::table* failures = section.Table("failures")) {
      TableReader f(*failures, section.PathOf("failures"), section.problems());
      f.Int("percent", options.failures.fail_percent, 0, 100);
      f.Int("retry_after_ms", options.failures.retry_after_ms, 0, kMaxRetryAfterMs);
      int64_t seed = 0;
      if (f.Int("seed", seed, 0)) options.failures.seed = static_cast<uint64_t>(seed);
      f.Done();
    }
    options.rate_limits = ReadRateLimits(section, {});
    if (section.problems().size() != problems_before) return nullptr;
    return std::make_unique<SandboxPlatform>(env.clock, options);
  }

 private:
  // Room for a thousand events a millisecond for millennia; far from overflow.
  static constexpr int64_t kMaxEventNumber = int64_t{1} << 60;
  static constexpr int64_t kMaxRetryAfterMs = 24 * 3600 * 1000;
};

}  // namespace

std::unique_ptr<AdapterFactory> MakeSandboxFactory() { return std::make_unique<SandboxFactory>(); }

Status SandboxPlatform::Start(EventSink& sink) {
  std::lock_guard lock(mu_);
  sink_ = &sink;
  return Status::Ok();
}

void SandboxPlatform::Stop() {
  std::lock_guard lock(mu_);  // a Perform reporting holds it until its report is durable
  sink_ = nullptr;
}

SandboxPlatform::SandboxPlatform(const Clock& clock, int64_t first_event_number)
    : SandboxPlatform(clock, SandboxOptions{.first_event_number = first_event_number}) {}

SandboxPlatform::SandboxPlatform(const Clock& clock, SandboxOptions options)
    : clock_(clock),
      dedupes_sends_(options.dedupes_sends),
      rate_limits_(options.rate_limits),
      next_event_(options.first_event_number) {
  SetFailures(options.failures);
}

Capabilities SandboxPlatform::capabilities() const {
  Capabilities c = Capabilities::All();
  c.dedupes_sends = dedupes_sends_;
  return c;
}

uint64_t SandboxPlatform::NextRandom() {  // splitmix64: tiny, deterministic, well mixed
  uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SandboxPlatform::Recording {
 public:
  explicit Recording(SandboxPlatform& sandbox) : sandbox_(sandbox), lock_(sandbox.mu_) {}
  ~Recording() { sandbox_.TellWatchers(); }  // before lock_ is released
  Recording(const Recording&) = delete;
  Recording& operator=(const Recording&) = delete;

 private:
  SandboxPlatform& sandbox_;
  std::lock_guard<std::mutex> lock_;
};

SandboxEntry& SandboxPlatform::Append(const std::string& group, std::string kind,
                                      const std::string& member) {
  std::deque<SandboxEntry>& conversation = conversations_[group];
  SandboxEntry& e = conversation.emplace_back();
  e.seq = next_seq_++;
  e.time = clock_.Now();
  e.group = group;
  e.kind = std::move(kind);
  e.member = member;
  if (!watchers_.empty()) untold_.emplace_back(group, e.seq);
  return e;
}

void SandboxPlatform::TellWatchers() {
  for (const auto& [group, seq] : untold_) {
    const std::deque<SandboxEntry>& conversation = conversations_[group];
    // Entries are in seq order: the one told of is found by bisection.
    auto it = std::lower_bound(conversation.begin(), conversation.end(), seq,
                               [](const SandboxEntry& e, int64_t s) { return e.seq < s; });
    if (it == conversation.end() || it->seq != seq) continue;
    for (const auto& [id, changed] : watchers_) changed(*it);
  }
  untold_.clear();
}

SandboxPlatform::WatchId SandboxPlatform::Watch(std::function<void(const SandboxEntry&)> changed) {
  std::lock_guard lock(mu_);
  const WatchId id = next_watch_++;
  watchers_.emplace(id, std::move(changed));
  return id;
}

void SandboxPlatform::Unwatch(WatchId id) {
  std::lock_guard lock(mu_);
  watchers_.erase(id);
}

PerformResult SandboxPlatform::Perform(const OutboxRecord& record) {
  Recording lock(*this);
  ++perform_calls_;
  PerformResult result;
  // Failure injection comes first, so the n-th call fails or not regardless of what it asks.
  if (failures_.fail_percent > 0) {
    const uint64_t r = NextRandom();
    if (static_cast<int>(r % 100) < failures_.fail_percent) {
      result.kind = PerformResult::Kind::kRetry;
      if ((r >> 32) % 2 == 0) {
        result.retry_after_ms = failures_.retry_after_ms;
        result.error = fmt::format("429 Too Many Requests: retry after {} ms (injected)",
                                   failures_.retry_after_ms);
      } else {
        result.error = "503 Service Unavailable (injected)";
      }
      return result;
    }
  }
  const std::string& key = record.idempotency_key;
  if (!key.empty() && dedupes_sends_) {
    if (auto it = performed_.find(key); it != performed_.end()) {
      result.platform_ref = it->second;  // already done: the platform answers as it did then
      return result;
    }
  }
  const Action& a = record.action;
  auto refuse = [&](std::string error) {
    result.kind = PerformResult::Kind::kFailed;
    result.error = std::move(error);
    return result;
  };
  if (!IsPlatformAction(a.type)) {
    return refuse(fmt::format("{} is not a platform action", ActionTypeName(a.type)));
  }
  if (NeedsGroup(a.type) && a.group.empty()) return refuse("group: required");
  if (NeedsMember(a.type) && a.member.empty()) return refuse("member: required");

  const TimeMs now = clock_.Now();
  auto bot_message = [&](std::string kind) -> SandboxEntry& {
    SandboxEntry& e = Append(a.group, std::move(kind), a.member);
    e.text = a.text;
    e.reply_to = a.reply_to;
    e.message_id = fmt::format("bot:{}", e.seq);
    result.platform_ref = e.message_id;
    return e;
  };
  SandboxEntry* entry = nullptr;
  switch (a.type) {
    case ActionType::kSendMessage:
    case ActionType::kReply:
      entry = &bot_message("bot");
      break;
    case ActionType::kWarn:
      entry = &bot_message("warn");
      break;
    case ActionType::kSendDirect:
      entry = &bot_message("direct");
      break;
    case ActionType::kDeleteMessage: {
      for (SandboxEntry& m : conversations_[a.group]) {
        if (m.kind == "message" && m.message_id == a.reply_to && !m.deleted) {
          m.deleted = true;
          if (!watchers_.empty()) untold_.emplace_back(a.group, m.seq);
        }
      }
      entry = &Append(a.group, "delete", a.member);
      entry->message_id = a.reply_to;
      result.platform_ref = a.reply_to;
      break;
    }
    case ActionType::kMute: {
      entry = &Append(a.group, "mute", a.member);
      entry->duration_s = a.duration_s;
      entry->text = a.text;
      muted_until_[{a.group, a.member}] = a.duration_s > 0 && a.duration_s < (kForever - now) / 1000
                                              ? now + a.duration_s * 1000
                                              : kForever;
      break;
    }
    case ActionType::kUnmute:
      entry = &Append(a.group, "unmute", a.member);
      muted_until_.erase({a.group, a.member});
      break;
    case ActionType::kRemoveMember:
      entry = &Append(a.group, "remove", a.member);
      entry->text = a.text;
      removed_.insert({a.group, a.member});
      if (auto it = members_.find(a.group); it != members_.end()) it->second.erase(a.member);
      break;
    case ActionType::kUnban:
      // Lifts the ban only: the member may join again (a removed member posts after a Join).
      entry = &Append(a.group, "unban", a.member);
      break;
    case ActionType::kSetAnnouncement:
      entry = &Append(a.group, "announcement", {});
      entry->text = a.text;
      break;
    case ActionType::kCreateInvite: {
      entry = &Append(a.group, "invite", a.member);
      entry->text =
          fmt::format("https://sandbox.qunzhu.invalid/join/{}/{}", a.group, next_invite_++);
      result.platform_ref = entry->text;
      break;
    }
    case ActionType::kAnswerJoinRequest:
    case ActionType::kSyncMembers:
      if (Status st = PerformReported(a, entry); !st.ok()) {
        result.kind = PerformResult::Kind::kRetry;
        result.error = st.message();
        return result;
      }
      break;
    default:
      return refuse(fmt::format("{} is not a platform action", ActionTypeName(a.type)));
  }
  entry->action_id = record.id;
  if (!key.empty()) {
    performed_.insert_or_assign(key, result.platform_ref);
    ++recorded_count_[key];
  }
  return result;
}

Status SandboxPlatform::PerformReported(const Action& a, SandboxEntry*& entry) {
  const TimeMs now = clock_.Now();
  std::vector<Event> report;
  if (a.type == ActionType::kSyncMembers) {
    if (auto it = members_.find(a.group); it != members_.end()) {
      for (const auto& [id, m] : it->second) {
        Event e = NewEvent(EventType::kMemberSynced, 's', a.group, id, {}, now);
        e.name = m.name;
        e.role = m.role;
        report.push_back(std::move(e));
      }
    }
  } else if (a.approve && !(members_.contains(a.group) && members_[a.group].contains(a.member))) {
    // The platform lets the applicant in and tells the bot so, as it does for any join.
    Event e = NewEvent(EventType::kMemberJoined, 'j', a.group, a.member, {}, now);
    if (auto it = requests_.find(a.request); it != requests_.end()) e.name = it->second;
    report.push_back(std::move(e));
  }
  if (sink_ != nullptr) {
    for (size_t i = 0; i < report.size(); i += kSyncBatch) {
      const auto from = report.begin() + static_cast<std::ptrdiff_t>(i);
      const auto n = static_cast<std::ptrdiff_t>(std::min(kSyncBatch, report.size() - i));
      const SinkResult r = sink_->SubmitAndWait(std::vector<Event>(from, from + n));
      if (!r.status.ok()) {
        return Status::Unavailable(fmt::format("the report of {} was not taken: {}",
                                               ActionTypeName(a.type), r.status.message()));
      }
    }
  }
  if (a.type == ActionType::kSyncMembers) {
    entry = &Append(a.group, "sync", {});
    entry->text = fmt::format("{} member{}", report.size(), report.size() == 1 ? "" : "s");
    return Status::Ok();
  }
  entry = &Append(a.group, a.approve ? "approve" : "reject", a.member);
  entry->text = a.text;
  entry->request = a.request;
  requests_.erase(a.request);
  if (!report.empty()) {
    removed_.erase({a.group, a.member});
    NoteMember(a.group, a.member, report.front().name);
    SandboxEntry& join = Append(a.group, "join", a.member);
    join.name = report.front().name;
    join.message_id = report.front().id;
  }
  return Status::Ok();
}

void SandboxPlatform::NoteMember(const std::string& group, const std::string& member,
                                 const std::string& name) {
  SandboxMember& m = members_[group][member];
  m.id = member;
  if (!name.empty()) m.name = name;
}

Status SandboxPlatform::CheckCanPost(const std::string& group, const std::string& member,
                                     TimeMs now) const {
  if (removed_.contains({group, member})) {
    return Status::Invalid(
        fmt::format("{} was removed from {} and has not joined again", member, group), "member");
  }
  if (auto it = muted_until_.find({group, member}); it != muted_until_.end() && it->second > now) {
    return Status::Invalid(it->second == kForever
                               ? fmt::format("{} is muted in {} until unmuted", member, group)
                               : fmt::format("{} is muted in {} until {}", member, group,
                                             FormatRfc3339(it->second, kOffsetMinutes)),
                           "member");
  }
  return Status::Ok();
}

Event SandboxPlatform::NewEvent(EventType type, char id_kind, const std::string& group,
                                const std::string& member, const std::string& community,
                                TimeMs now) {
  Event e;
  e.id = fmt::format("sandbox:{}:{}", id_kind, next_event_++);
  e.type = type;
  e.time = now;
  e.time_offset = kOffsetMinutes;
  e.platform = "sandbox";
  e.community = community;
  e.group = group;
  e.member = member;
  return e;
}

Result<Event> SandboxPlatform::PostMessage(const std::string& group, const std::string& member,
                                           const std::string& name, const std::string& text,
                                           const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckMessageFields(group, member, name, text, community));
  return RecordMessage(group, member, name, text, community, false, {});
}

Result<Event> SandboxPlatform::PostDirect(const std::string& member, const std::string& name,
                                          const std::string& text, const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckField(member, "member", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(name, "name", kMaxNameBytes, false));
  QZ_RETURN_IF_ERROR(CheckField(text, "text", kMaxTextBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(community, "community", kMaxCommunityBytes, false));
  return RecordMessage({}, member, name, text, community, false, {});
}

Result<Event> SandboxPlatform::PostImage(const std::string& group, const std::string& member,
                                         const std::string& name, std::string_view image,
                                         const std::string& text, const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckMessageFields(group, member, name, text, community));
  QZ_ASSIGN_OR_RETURN(std::vector<std::string> qr, DecodeQrCodes(image));
  return RecordMessage(group, member, name, text, community, true, std::move(qr));
}

Result<Event> SandboxPlatform::RecordMessage(const std::string& group, const std::string& member,
                                             const std::string& name, const std::string& text,
                                             const std::string& community, bool image,
                                             std::vector<std::string> qr) {
  Recording lock(*this);
  const TimeMs now = clock_.Now();
  QZ_RETURN_IF_ERROR(CheckCanPost(group, member, now));
  Event e = NewEvent(EventType::kMessage, 'm', group, member, community, now);
  e.name = name;
  e.text = text;
  if (image) e.kind = MessageKind::kImage;
  e.qr = qr;
  if (!group.empty()) NoteMember(group, member, name);  // posting there: evidently a member
  SandboxEntry& entry = Append(group, "message", member);
  entry.name = name;
  entry.text = text;
  entry.message_id = e.id;
  entry.image = image;
  entry.qr = std::move(qr);
  return e;
}

Result<Event> SandboxPlatform::Join(const std::string& group, const std::string& member,
                                    const std::string& name, const std::string& inviter,
                                    const std::string& code, const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckField(group, "group", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(member, "member", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(name, "name", kMaxNameBytes, false));
  QZ_RETURN_IF_ERROR(CheckField(inviter, "via.inviter", kMaxIdBytes, false));
  QZ_RETURN_IF_ERROR(CheckField(code, "via.code", kMaxIdBytes, false));
  QZ_RETURN_IF_ERROR(CheckField(community, "community", kMaxCommunityBytes, false));
  Recording lock(*this);
  const TimeMs now = clock_.Now();
  removed_.erase({group, member});  // joining again lifts a removal (a mute stays)
  NoteMember(group, member, name);
  Event e = NewEvent(EventType::kMemberJoined, 'j', group, member, community, now);
  e.name = name;
  e.via_inviter = inviter;
  e.via_code = code;
  SandboxEntry& entry = Append(group, "join", member);
  entry.name = name;
  entry.message_id = e.id;
  return e;
}

Result<Event> SandboxPlatform::Leave(const std::string& group, const std::string& member,
                                     const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckField(group, "group", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(member, "member", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(community, "community", kMaxCommunityBytes, false));
  Recording lock(*this);
  const TimeMs now = clock_.Now();
  Event e = NewEvent(EventType::kMemberLeft, 'l', group, member, community, now);
  e.reason = LeaveReason::kLeft;
  if (auto it = members_.find(group); it != members_.end()) it->second.erase(member);
  SandboxEntry& entry = Append(group, "leave", member);
  entry.message_id = e.id;
  return e;
}

Result<Event> SandboxPlatform::Request(const std::string& group, const std::string& member,
                                       const std::string& name, const std::string& text,
                                       const std::string& community) {
  QZ_RETURN_IF_ERROR(CheckMessageFields(group, member, name, text, community));
  Recording lock(*this);
  const TimeMs now = clock_.Now();
  Event e = NewEvent(EventType::kJoinRequest, 'r', group, member, community, now);
  e.name = name;
  e.text = text;
  e.request = fmt::format("req-{}", next_request_++);
  requests_[e.request] = name;
  SandboxEntry& entry = Append(group, "request", member);
  entry.name = name;
  entry.text = text;
  entry.message_id = e.id;
  entry.request = e.request;
  return e;
}

Status SandboxPlatform::SetRole(const std::string& group, const std::string& member, Role role) {
  QZ_RETURN_IF_ERROR(CheckField(group, "group", kMaxIdBytes, true));
  QZ_RETURN_IF_ERROR(CheckField(member, "member", kMaxIdBytes, true));
  std::lock_guard lock(mu_);
  NoteMember(group, member, {});
  members_[group][member].role = role;
  return Status::Ok();
}

std::vector<SandboxMember> SandboxPlatform::Members(const std::string& group) const {
  std::lock_guard lock(mu_);
  std::vector<SandboxMember> out;
  if (auto it = members_.find(group); it != members_.end()) {
    for (const auto& [id, m] : it->second) out.push_back(m);
  }
  return out;
}

std::vector<SandboxEntry> SandboxPlatform::Conversation(const std::string& group, int64_t after_seq,
                                                        size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<SandboxEntry> out;
  auto it = conversations_.find(group);
  if (it == conversations_.end()) return out;
  const std::deque<SandboxEntry>& entries = it->second;
  auto from = std::upper_bound(entries.begin(), entries.end(), after_seq,
                               [](int64_t seq, const SandboxEntry& e) { return seq < e.seq; });
  const size_t n = std::min(limit, static_cast<size_t>(entries.end() - from));
  out.assign(from, from + static_cast<std::ptrdiff_t>(n));
  return out;
}

std::vector<SandboxEntry> SandboxPlatform::DirectConversation(const std::string& member,
                                                              int64_t after_seq,
                                                              size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<SandboxEntry> out;
  for (const auto& [group, entries] : conversations_) {
    for (const SandboxEntry& e : entries) {
      if (e.seq > after_seq && e.member == member && (group.empty() || e.kind == "direct")) {
        out.push_back(e);
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const SandboxEntry& a, const SandboxEntry& b) { return a.seq < b.seq; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<std::string> SandboxPlatform::Groups() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [group, entries] : conversations_) {
    if (!group.empty()) out.push_back(group);
  }
  return out;
}

void SandboxPlatform::SetFailures(SandboxFailures failures) {
  std::lock_guard lock(mu_);
  failures_ = failures;
  failures_.fail_percent = std::clamp(failures_.fail_percent, 0, 100);
  rng_state_ = failures.seed;
}

int SandboxPlatform::RecordedCount(const std::string& idempotency_key) const {
  std::lock_guard lock(mu_);
  auto it = recorded_count_.find(idempotency_key);
  return it == recorded_count_.end() ? 0 : it->second;
}

int64_t SandboxPlatform::perform_calls() const {
  std::lock_guard lock(mu_);
  return perform_calls_;
}

}  // namespace qz
