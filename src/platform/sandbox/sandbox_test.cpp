#include "platform/sandbox/sandbox.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/toml_reader.hpp"

namespace qz {
namespace {

constexpr TimeMs kStart = 1772323200000;  // 2026-03-01T00:00:00Z

OutboxRecord Record(int64_t id, ActionType type, std::string group = "g1",
                    std::string member = "u1") {
  OutboxRecord r;
  r.id = id;
  r.idempotency_key = fmt::format("key-{}", id);
  r.action.type = type;
  r.action.platform = "sandbox";
  r.action.group = std::move(group);
  r.action.member = std::move(member);
  return r;
}

SandboxEntry Last(const SandboxPlatform& s, const std::string& group) {
  auto entries = s.Conversation(group);
  EXPECT_FALSE(entries.empty());
  return entries.empty() ? SandboxEntry{} : entries.back();
}

TEST(Sandbox, DeclaresEveryPlatformActionAndDedupes) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  EXPECT_EQ(s.platform(), "sandbox");
  const Capabilities c = s.capabilities();
  EXPECT_TRUE(c.dedupes_sends);
  for (int t = 1; t <= static_cast<int>(ActionType::kCreateInvite); ++t) {
    EXPECT_TRUE(c.Has(static_cast<ActionType>(t))) << t;
  }
  EXPECT_TRUE(c.Has(ActionType::kSetAnnouncement));
  EXPECT_TRUE(c.Has(ActionType::kAnswerJoinRequest));
  EXPECT_TRUE(c.Has(ActionType::kSyncMembers));
  EXPECT_FALSE(c.Has(ActionType::kSetTag));
}

TEST(Sandbox, RecordsEachActionKind) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  auto posted = s.PostMessage("g1", "u1", "Ann", "spam spam");
  ASSERT_TRUE(posted.ok()) << posted.status().ToString();

  OutboxRecord send = Record(1, ActionType::kSendMessage);
  send.action.text = "welcome";
  PerformResult r = s.Perform(send);
  ASSERT_EQ(r.kind, PerformResult::Kind::kDone) << r.error;
  SandboxEntry e = Last(s, "g1");
  EXPECT_EQ(e.kind, "bot");
  EXPECT_EQ(e.text, "welcome");
  EXPECT_EQ(e.action_id, 1);
  EXPECT_EQ(e.time, kStart);
  EXPECT_EQ(e.message_id, r.platform_ref);
  EXPECT_EQ(r.platform_ref.rfind("bot:", 0), 0u) << r.platform_ref;

  OutboxRecord reply = Record(2, ActionType::kReply);
  reply.action.text = "hello Ann";
  reply.action.reply_to = posted->id;
  r = s.Perform(reply);
  ASSERT_EQ(r.kind, PerformResult::Kind::kDone);
  e = Last(s, "g1");
  EXPECT_EQ(e.kind, "bot");
  EXPECT_EQ(e.reply_to, posted->id);
  EXPECT_NE(r.platform_ref, s.Conversation("g1")[1].message_id);  // a new message id

  OutboxRecord del = Record(3, ActionType::kDeleteMessage);
  del.action.reply_to = posted->id;
  ASSERT_EQ(s.Perform(del).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(Last(s, "g1").kind, "delete");
  EXPECT_TRUE(s.Conversation("g1")[0].deleted);
  EXPECT_EQ(s.Conversation("g1")[0].message_id, posted->id);

  OutboxRecord warn = Record(4, ActionType::kWarn);
  warn.action.text = "rule 1: no spam";
  ASSERT_EQ(s.Perform(warn).kind, PerformResult::Kind::kDone);
  e = Last(s, "g1");
  EXPECT_EQ(e.kind, "warn");
  EXPECT_EQ(e.text, "rule 1: no spam");
  EXPECT_EQ(e.member, "u1");

  OutboxRecord mute = Record(5, ActionType::kMute);
  mute.action.duration_s = 600;
  ASSERT_EQ(s.Perform(mute).kind, PerformResult::Kind::kDone);
  e = Last(s, "g1");
  EXPECT_EQ(e.kind, "mute");
  EXPECT_EQ(e.duration_s, 600);

  ASSERT_EQ(s.Perform(Record(6, ActionType::kUnmute)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(Last(s, "g1").kind, "unmute");
  ASSERT_EQ(s.Perform(Record(7, ActionType::kRemoveMember)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(Last(s, "g1").kind, "remove");
  ASSERT_EQ(s.Perform(Record(8, ActionType::kUnban)).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(Last(s, "g1").kind, "unban");

  OutboxRecord dm = Record(9, ActionType::kSendDirect, "", "u2");
  dm.action.text = "psst";
  ASSERT_EQ(s.Perform(dm).kind, PerformResult::Kind::kDone);
  e = Last(s, "");
  EXPECT_EQ(e.kind, "direct");
  EXPECT_EQ(e.member, "u2");
  EXPECT_EQ(e.text, "psst");

  r = s.Perform(Record(10, ActionType::kCreateInvite, "g2", ""));
  ASSERT_EQ(r.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(r.platform_ref, "https://sandbox.qunzhu.invalid/join/g2/1");
  EXPECT_EQ(Last(s, "g2").kind, "invite");
  r = s.Perform(Record(11, ActionType::kCreateInvite, "g2", ""));
  EXPECT_EQ(r.platform_ref, "https://sandbox.qunzhu.invalid/join/g2/2");

  EXPECT_EQ(s.Groups(), (std::vector<std::string>{"g1", "g2"}));  // DMs ("") are not a group
  EXPECT_EQ(s.perform_calls(), 11);
}

TEST(Sandbox, RefusesActionsMissingWhatTheyNeed) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  PerformResult r = s.Perform(Record(1, ActionType::kSendMessage, ""));
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(r.error.find("group"), std::string::npos) << r.error;
  r = s.Perform(Record(2, ActionType::kMute, "g1", ""));
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(r.error.find("member"), std::string::npos) << r.error;
  r = s.Perform(Record(3, ActionType::kSetTag));
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  r = s.Perform(Record(4, ActionType::kAnswerJoinRequest, "g1", ""));  // whom to let in?
  EXPECT_EQ(r.kind, PerformResult::Kind::kFailed);
  EXPECT_NE(r.error.find("member"), std::string::npos) << r.error;
  EXPECT_TRUE(s.Conversation("g1").empty());
  EXPECT_EQ(s.RecordedCount("key-1"), 0);
}

TEST(Sandbox, SameKeyIsRecordedOnceAndAnswersTheFirstRef) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  OutboxRecord send = Record(1, ActionType::kSendMessage);
  send.action.text = "once";
  PerformResult first = s.Perform(send);
  clock.Advance(5000);
  PerformResult second = s.Perform(send);
  ASSERT_EQ(first.kind, PerformResult::Kind::kDone);
  ASSERT_EQ(second.kind, PerformResult::Kind::kDone);
  EXPECT_EQ(first.platform_ref, second.platform_ref);
  EXPECT_EQ(s.Conversation("g1").size(), 1u);
  EXPECT_EQ(s.RecordedCount("key-1"), 1);
  EXPECT_EQ(s.perform_calls(), 2);

  OutboxRecord other = send;
  other.idempotency_key = "key-other";
  EXPECT_NE(s.Perform(other).platform_ref, first.platform_ref);
  EXPECT_EQ(s.Conversation("g1").size(), 2u);
  EXPECT_EQ(s.RecordedCount("never-seen"), 0);
}

// The outcome of each of `n` sends under the given failures, as 'd' (done), 't' (429) or 'x'.
std::string Outcomes(const SandboxFailures& failures, int n) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  s.SetFailures(failures);
  std::string out;
  for (int i = 0; i < n; ++i) {
    PerformResult r = s.Perform(Record(i + 1, ActionType::kSendMessage));
    if (r.kind == PerformResult::Kind::kDone) {
      out += 'd';
      EXPECT_EQ(s.RecordedCount(fmt::format("key-{}", i + 1)), 1);
    } else {
      EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
      EXPECT_EQ(s.RecordedCount(fmt::format("key-{}", i + 1)), 0);  // a failure records nothing
      if (r.retry_after_ms > 0) {
        EXPECT_EQ(r.retry_after_ms, failures.retry_after_ms);
        EXPECT_NE(r.error.find("429"), std::string::npos) << r.error;
        out += 't';
      } else {
        EXPECT_NE(r.error.find("503"), std::string::npos) << r.error;
        out += 'x';
      }
    }
  }
  EXPECT_EQ(static_cast<int64_t>(std::count(out.begin(), out.end(), 'd')),
            static_cast<int64_t>(s.Conversation("g1", 0, 1 << 20).size()));
  return out;
}

TEST(Sandbox, FailureInjectionIsRoughlyTheRateAndDeterministic) {
  const SandboxFailures failures{.fail_percent = 30, .retry_after_ms = 2500, .seed = 42};
  const int n = 10000;
  const std::string a = Outcomes(failures, n);
  const std::string b = Outcomes(failures, n);
  EXPECT_EQ(a, b);  // the same seed, the same outcomes
  const auto throttled = std::count(a.begin(), a.end(), 't');
  const auto errors = std::count(a.begin(), a.end(), 'x');
  // 30% of 10,000: 3,000 with a standard deviation of about 46; each half about 1,500 (sd 39).
  EXPECT_NEAR(static_cast<double>(throttled + errors), 3000, 250);
  EXPECT_NEAR(static_cast<double>(throttled), 1500, 200);
  EXPECT_NEAR(static_cast<double>(errors), 1500, 200);

  const std::string other_seed =
      Outcomes({.fail_percent = 30, .retry_after_ms = 2500, .seed = 7}, n);
  EXPECT_NE(a, other_seed);
  const std::string none = Outcomes({}, 1000);
  EXPECT_EQ(none, std::string(1000, 'd'));
  const std::string all = Outcomes({.fail_percent = 100}, 1000);
  EXPECT_EQ(std::count(all.begin(), all.end(), 'd'), 0);
}

TEST(Sandbox, MutedMemberCannotPostUntilTheMuteEnds) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  ASSERT_TRUE(s.PostMessage("g1", "u1", "Ann", "before").ok());
  OutboxRecord mute = Record(1, ActionType::kMute);
  mute.action.duration_s = 60;
  ASSERT_EQ(s.Perform(mute).kind, PerformResult::Kind::kDone);
  auto refused = s.PostMessage("g1", "u1", "Ann", "let me talk");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().field(), "member");
  EXPECT_NE(refused.status().message().find("muted"), std::string::npos);
  EXPECT_TRUE(s.PostMessage("g2", "u1", "Ann", "elsewhere is fine").ok());
  EXPECT_TRUE(s.PostMessage("g1", "u2", "Bob", "others too").ok());
  clock.Advance(59'999);
  EXPECT_FALSE(s.PostMessage("g1", "u1", "Ann", "still muted").ok());
  clock.Advance(1);
  EXPECT_TRUE(s.PostMessage("g1", "u1", "Ann", "free again").ok());

  // An unmute ends a mute early; a mute without a duration lasts until then.
  OutboxRecord forever = Record(2, ActionType::kMute);
  ASSERT_EQ(s.Perform(forever).kind, PerformResult::Kind::kDone);
  clock.Advance(365LL * 24 * 3600 * 1000);
  EXPECT_FALSE(s.PostMessage("g1", "u1", "Ann", "a year later").ok());
  ASSERT_EQ(s.Perform(Record(3, ActionType::kUnmute)).kind, PerformResult::Kind::kDone);
  EXPECT_TRUE(s.PostMessage("g1", "u1", "Ann", "unmuted").ok());
  // Refused posts are not in the conversation.
  int messages = 0;
  for (const SandboxEntry& e : s.Conversation("g1")) messages += e.kind == "message";
  EXPECT_EQ(messages, 4);
}

TEST(Sandbox, RemovedMemberCannotPostUntilJoiningAgain) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  ASSERT_TRUE(s.Join("g1", "u1", "Ann").ok());
  ASSERT_EQ(s.Perform(Record(1, ActionType::kRemoveMember)).kind, PerformResult::Kind::kDone);
  auto refused = s.PostMessage("g1", "u1", "Ann", "hello?");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().field(), "member");
  ASSERT_EQ(s.Perform(Record(2, ActionType::kUnban)).kind, PerformResult::Kind::kDone);
  EXPECT_FALSE(s.PostMessage("g1", "u1", "Ann", "unbanned, not yet back").ok());
  ASSERT_TRUE(s.Join("g1", "u1", "Ann").ok());
  EXPECT_TRUE(s.PostMessage("g1", "u1", "Ann", "back").ok());
}

TEST(Sandbox, MemberSideValidatesAndNamesTheField) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  auto r = s.PostMessage("", "u1", "Ann", "hi");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "group");
  r = s.PostMessage("g1", "", "Ann", "hi");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "member");
  r = s.PostMessage("g1", "u1", "Ann", std::string(kMaxTextBytes + 1, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "text");
  EXPECT_TRUE(s.PostMessage("g1", "u1", "Ann", std::string(kMaxTextBytes, 'x')).ok());
  r = s.PostMessage(std::string(kMaxIdBytes + 1, 'g'), "u1", "Ann", "hi");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "group");
  r = s.Join("g1", "", "Ann");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "member");
  r = s.Join("g1", "u1", "Ann", std::string(kMaxIdBytes + 1, 'i'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "via.inviter");
  r = s.Leave("", "u1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field(), "group");
  EXPECT_EQ(s.Conversation("g1").size(), 1u);  // only the one valid post
}

TEST(Sandbox, MemberEventsAreCanonicalAndParse) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  auto join = s.Join("g1", "u1", "Ann", "u0", "spring", "acme");
  clock.Advance(1000);
  auto msg = s.PostMessage("g1", "u1", "Ann", "hello \"world\"\n", "acme");
  clock.Advance(1000);
  auto leave = s.Leave("g1", "u1");
  ASSERT_TRUE(join.ok() && msg.ok() && leave.ok());

  EXPECT_EQ(join->id, "sandbox:j:1");
  EXPECT_EQ(join->type, EventType::kMemberJoined);
  EXPECT_EQ(join->via_inviter, "u0");
  EXPECT_EQ(join->via_code, "spring");
  EXPECT_EQ(msg->id, "sandbox:m:2");
  EXPECT_EQ(msg->type, EventType::kMessage);
  EXPECT_EQ(msg->time, kStart + 1000);
  EXPECT_EQ(leave->id, "sandbox:l:3");
  EXPECT_EQ(leave->type, EventType::kMemberLeft);
  EXPECT_EQ(leave->community, "");

  EventParser parser;
  for (const Event* e : {&*join, &*msg, &*leave}) {
    const std::string json = EventToJson(*e);
    auto parsed = parser.Parse(json);
    ASSERT_TRUE(parsed.ok()) << json << ": " << parsed.status().ToString();
    EXPECT_EQ(parsed->id, e->id);
    EXPECT_EQ(parsed->type, e->type);
    EXPECT_EQ(parsed->time, e->time);
    EXPECT_EQ(parsed->time_offset, 480);
    EXPECT_EQ(parsed->platform, "sandbox");
    EXPECT_EQ(parsed->community, e->community);
    EXPECT_EQ(parsed->group, "g1");
    EXPECT_EQ(parsed->member, "u1");
    EXPECT_EQ(parsed->text, e->text);
    EXPECT_EQ(parsed->via_inviter, e->via_inviter);
    EXPECT_EQ(parsed->via_code, e->via_code);
    EXPECT_EQ(EventToJson(*parsed), json);
  }
  EXPECT_NE(EventToJson(*msg).find("+08:00"), std::string::npos);

  // The conversation holds them in order, with the message's event id.
  auto entries = s.Conversation("g1");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].kind, "join");
  EXPECT_EQ(entries[1].kind, "message");
  EXPECT_EQ(entries[1].message_id, msg->id);
  EXPECT_EQ(entries[1].name, "Ann");
  EXPECT_EQ(entries[2].kind, "leave");
  EXPECT_EQ(s.Conversation("g1", entries[0].seq).size(), 2u);
  EXPECT_EQ(s.Conversation("g1", 0, 1).size(), 1u);
  EXPECT_TRUE(s.Conversation("g1", entries[2].seq).empty());

  SandboxPlatform later(clock, 1000);
  EXPECT_EQ(later.PostMessage("g1", "u1", "Ann", "hi")->id, "sandbox:m:1000");
}

// ---- The factory and its [platforms.sandbox] section ----

// Creates the sandbox from a section's TOML text the way PlatformRegistry::CreateAll does;
// `problems` receives what was reported.
std::unique_ptr<PlatformAdapter> FromSection(std::string_view toml, const Clock& clock,
                                             ConfigProblems& problems) {
  auto doc = ParseToml(toml, "test.toml", 1 << 16);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  if (!doc.ok()) return nullptr;
  TableReader section(*doc, "platforms.sandbox", problems);
  auto factory = MakeSandboxFactory();
  EXPECT_EQ(factory->platform(), "sandbox");
  auto adapter = factory->Create(section, AdapterEnv{clock, "/nonexistent"});
  section.Done();
  return problems.empty() ? std::move(adapter) : nullptr;
}

TEST(SandboxFactory, DefaultsNumberEventsFromTheClockWithoutLimits) {
  ManualClock clock(kStart);
  ConfigProblems problems("test.toml");
  auto adapter = FromSection("", clock, problems);
  ASSERT_NE(adapter, nullptr) << problems.ToStatus().ToString();
  auto* sandbox = dynamic_cast<SandboxPlatform*>(adapter.get());
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->rate_limits(), RateLimits{});
  EXPECT_TRUE(sandbox->capabilities().dedupes_sends);
  EXPECT_EQ(sandbox->PostMessage("g1", "u1", "Ann", "hi")->id,
            fmt::format("sandbox:m:{}", kStart * 1000));
}

TEST(SandboxFactory, ReadsEveryKey) {
  ManualClock clock(kStart);
  ConfigProblems problems("test.toml");
  auto adapter = FromSection(R"(
first_event_number = 7
dedupes_sends = false
failures = { percent = 100, retry_after_ms = 2500, seed = 3 }
rate_limits = { per_second = 30, per_chat_per_second = 1, per_chat_per_minute = 20 }
)",
                             clock, problems);
  ASSERT_NE(adapter, nullptr) << problems.ToStatus().ToString();
  auto* sandbox = dynamic_cast<SandboxPlatform*>(adapter.get());
  ASSERT_NE(sandbox, nullptr);
  EXPECT_EQ(sandbox->rate_limits(),
            (RateLimits{.per_second = 30, .per_chat_per_second = 1, .per_chat_per_minute = 20}));
  EXPECT_FALSE(sandbox->capabilities().dedupes_sends);
  EXPECT_EQ(sandbox->PostMessage("g1", "u1", "Ann", "hi")->id, "sandbox:m:7");
  // Every attempt fails (100%): transient, some with the configured retry_after.
  bool saw_retry_after = false;
  for (int i = 1; i <= 20; ++i) {
    PerformResult r = sandbox->Perform(Record(i, ActionType::kSendMessage));
    EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
    saw_retry_after |= r.retry_after_ms == 2500;
  }
  EXPECT_TRUE(saw_retry_after);
  EXPECT_TRUE(sandbox->Conversation("g1").size() == 1u);  // only the member's message
}

TEST(SandboxFactory, RejectsUnknownKeysAndBadValuesWithTheirPathAndLine) {
  ManualClock clock(kStart);
  ConfigProblems problems("test.toml");
  auto adapter = FromSection(R"(
dedupes_sends = true
failure_rate = 0.3
failures = { percent = 130 }
rate_limits = { per_chat_per_second = -1, per_hour = 5 }
)",
                             clock, problems);
  EXPECT_EQ(adapter, nullptr);
  const Status st = problems.ToStatus();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.field(), "platforms.sandbox.failure_rate");
  EXPECT_NE(st.message().find("test.toml:3: platforms.sandbox.failure_rate: unknown key"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("test.toml:4: platforms.sandbox.failures.percent: 130 is out of "
                              "range"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("test.toml:5: platforms.sandbox.rate_limits.per_chat_per_second"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("test.toml:5: platforms.sandbox.rate_limits.per_hour: unknown key"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(problems.size(), 4u) << st.message();
}

TEST(Sandbox, WithoutDedupingARepeatedKeyIsSentAgain) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock, SandboxOptions{.dedupes_sends = false});
  EXPECT_FALSE(s.capabilities().dedupes_sends);
  const OutboxRecord send = Record(1, ActionType::kSendMessage);
  const PerformResult first = s.Perform(send);
  const PerformResult again = s.Perform(send);
  EXPECT_NE(first.platform_ref, again.platform_ref);
  EXPECT_EQ(s.RecordedCount("key-1"), 2);
  EXPECT_EQ(s.Conversation("g1").size(), 2u);
}

TEST(Sandbox, StartAndStopLeaveTheMemberSideWorking) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  class NoSink final : public EventSink {
   public:
    void Submit(std::vector<Event>, Done done) override {
      ++submits;
      done(SinkResult{});
    }
    int submits = 0;
  } sink;
  ASSERT_TRUE(s.Start(sink).ok());
  EXPECT_TRUE(s.PostMessage("g1", "u1", "Ann", "hi").ok());
  s.Stop();
  EXPECT_EQ(sink.submits, 0);  // the member side returns its events to the caller
  EXPECT_EQ(s.Perform(Record(1, ActionType::kSendMessage)).kind, PerformResult::Kind::kDone);
}

// A sink that keeps what the platform reports, or refuses it (as a full ingest queue does).
class RecordingSink final : public EventSink {
 public:
  void Submit(std::vector<Event> events, Done done) override {
    SinkResult r;
    if (refuse) {
      r.status = Status(Code::kResourceExhausted, "queue full");
    } else {
      r.accepted = static_cast<int64_t>(events.size());
      for (Event& e : events) this->events.push_back(std::move(e));
    }
    done(std::move(r));
  }
  std::vector<Event> events;
  bool refuse = false;
};

TEST(Sandbox, AJoinRequestIsAnEventAndItsApprovalAJoin) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  RecordingSink sink;
  ASSERT_TRUE(s.Start(sink).ok());
  auto asked = s.Request("g1", "u1", "Ann", "问题：暗号？\n答案：芝麻开门");
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->type, EventType::kJoinRequest);
  EXPECT_EQ(asked->id, "sandbox:r:1");
  EXPECT_EQ(asked->request, "req-1");
  EXPECT_EQ(asked->text, "问题：暗号？\n答案：芝麻开门");
  EXPECT_EQ(Last(s, "g1").kind, "request");
  EXPECT_EQ(Last(s, "g1").request, "req-1");
  EXPECT_TRUE(s.Members("g1").empty());  // asking is not being in the group
  EXPECT_TRUE(sink.events.empty());      // the member side returns its event to the caller

  OutboxRecord approve = Record(1, ActionType::kAnswerJoinRequest);
  approve.action.request = asked->request;
  approve.action.approve = true;
  clock.Advance(1000);
  ASSERT_EQ(s.Perform(approve).kind, PerformResult::Kind::kDone);
  const auto entries = s.Conversation("g1");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].kind, "approve");
  EXPECT_EQ(entries[1].member, "u1");
  EXPECT_EQ(entries[1].request, "req-1");
  EXPECT_EQ(entries[1].action_id, 1);
  EXPECT_EQ(entries[2].kind, "join");
  ASSERT_EQ(sink.events.size(), 1u);
  const Event& joined = sink.events[0];
  EXPECT_EQ(joined.type, EventType::kMemberJoined);
  EXPECT_EQ(joined.member, "u1");
  EXPECT_EQ(joined.name, "Ann");
  EXPECT_EQ(joined.group, "g1");
  EXPECT_EQ(joined.time, kStart + 1000);
  EXPECT_EQ(entries[2].message_id, joined.id);
  EXPECT_EQ(s.Members("g1"), (std::vector<SandboxMember>{{"u1", "Ann", Role::kMember}}));
  // Repeated (same key): recorded once, nothing reported again.
  ASSERT_EQ(s.Perform(approve).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(s.Conversation("g1").size(), 3u);
  EXPECT_EQ(sink.events.size(), 1u);

  // A rejection is recorded with its reason and lets nobody in.
  auto other = s.Request("g1", "u2", "Bob", "hi");
  ASSERT_TRUE(other.ok());
  OutboxRecord reject = Record(2, ActionType::kAnswerJoinRequest, "g1", "u2");
  reject.action.request = other->request;
  reject.action.text = "wrong pass phrase";
  ASSERT_EQ(s.Perform(reject).kind, PerformResult::Kind::kDone);
  EXPECT_EQ(Last(s, "g1").kind, "reject");
  EXPECT_EQ(Last(s, "g1").text, "wrong pass phrase");
  EXPECT_EQ(sink.events.size(), 1u);
  EXPECT_EQ(s.Members("g1").size(), 1u);
  s.Stop();
}

TEST(Sandbox, SyncListsTheMembersItKnowsWithTheirRoles) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  RecordingSink sink;
  ASSERT_TRUE(s.Start(sink).ok());
  ASSERT_TRUE(s.Join("g1", "u1", "Ann").ok());
  ASSERT_TRUE(s.PostMessage("g1", "u2", "Bob", "hi").ok());  // posting: evidently in it
  ASSERT_TRUE(s.Join("g1", "u3", "Cy").ok());
  ASSERT_TRUE(s.Leave("g1", "u3").ok());
  ASSERT_TRUE(s.SetRole("g1", "boss", Role::kOwner).ok());
  ASSERT_TRUE(s.SetRole("g1", "u2", Role::kAdmin).ok());
  EXPECT_EQ(s.SetRole("", "u2", Role::kAdmin).field(), "group");
  const auto done = PerformResult::Kind::kDone;
  ASSERT_EQ(s.Perform(Record(1, ActionType::kRemoveMember, "g1", "u1")).kind, done);

  ASSERT_EQ(s.Perform(Record(2, ActionType::kSyncMembers, "g1", "")).kind, done);
  EXPECT_EQ(Last(s, "g1").kind, "sync");
  EXPECT_EQ(Last(s, "g1").text, "2 members");
  ASSERT_EQ(sink.events.size(), 2u);
  EXPECT_EQ(sink.events[0].type, EventType::kMemberSynced);
  EXPECT_EQ(sink.events[0].member, "boss");
  EXPECT_EQ(sink.events[0].role, Role::kOwner);
  EXPECT_EQ(sink.events[1].member, "u2");
  EXPECT_EQ(sink.events[1].name, "Bob");
  EXPECT_EQ(sink.events[1].role, Role::kAdmin);
  EventParser parser;
  for (const Event& e : sink.events) {
    auto parsed = parser.Parse(EventToJson(e));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  }
  // A group the sandbox knows nothing of: an empty list.
  ASSERT_EQ(s.Perform(Record(3, ActionType::kSyncMembers, "g9", "")).kind, done);
  EXPECT_EQ(Last(s, "g9").text, "0 members");
  EXPECT_EQ(sink.events.size(), 2u);
  // A refused report is a retry, and nothing is recorded.
  sink.refuse = true;
  PerformResult r = s.Perform(Record(4, ActionType::kSyncMembers, "g1", ""));
  EXPECT_EQ(r.kind, PerformResult::Kind::kRetry);
  EXPECT_NE(r.error.find("queue full"), std::string::npos) << r.error;
  EXPECT_EQ(s.RecordedCount("key-4"), 0);
  EXPECT_EQ(Last(s, "g1").action_id, 2);
  // Without a sink (stopped) it is done, and nobody is told.
  s.Stop();
  ASSERT_EQ(s.Perform(Record(4, ActionType::kSyncMembers, "g1", "")).kind, done);
  EXPECT_EQ(Last(s, "g1").action_id, 4);
}


TEST(Sandbox, WatchersAreToldOfEachCompleteEntryAndOfAMessageMarkedDeleted) {
  ManualClock clock(kStart);
  SandboxPlatform s(clock);
  ASSERT_TRUE(s.PostMessage("g1", "u0", "Zed", "before anyone watched").ok());
  std::vector<SandboxEntry> told;
  const SandboxPlatform::WatchId id = s.Watch([&](const SandboxEntry& e) { told.push_back(e); });

  auto posted = s.PostMessage("g1", "u1", "Ann", "spam spam");
  ASSERT_TRUE(posted.ok());
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].kind, "message");
  EXPECT_EQ(told[0].text, "spam spam");  // complete: filled in after Append
  EXPECT_EQ(told[0].message_id, posted->id);

  OutboxRecord del = Record(1, ActionType::kDeleteMessage);
  del.action.reply_to = posted->id;
  ASSERT_EQ(s.Perform(del).kind, PerformResult::Kind::kDone);
  ASSERT_EQ(told.size(), 3u);
  EXPECT_EQ(told[1].seq, told[0].seq);  // the message again, now deleted
  EXPECT_TRUE(told[1].deleted);
  EXPECT_EQ(told[2].kind, "delete");
  EXPECT_EQ(told[2].message_id, posted->id);

  ASSERT_TRUE(s.Join("g2", "u2", "Bo").ok());
  ASSERT_EQ(told.size(), 4u);
  EXPECT_EQ(told[3].group, "g2");

  s.Unwatch(id);
  ASSERT_TRUE(s.PostMessage("g1", "u1", "Ann", "after").ok());
  EXPECT_EQ(told.size(), 4u);
}

}  // namespace
}  // namespace qz
