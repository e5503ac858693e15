// Node: adapters start after the pipeline and stop first; playbooks are validated completely
// before anything is stored, and a stored playbook that no longer validates does not stop it.
#include "app/node.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "app/ingest_sink.hpp"
#include "app/platforms.hpp"
#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"
#include "platform/sandbox/sandbox.hpp"

namespace qz {
namespace {

constexpr TimeMs kStart = 1772323200000;  // 2026-03-01T00:00:00Z

Event Message(const std::string& platform, const std::string& id) {
  Event e;
  e.id = fmt::format("{}:{}", platform, id);
  e.type = EventType::kMessage;
  e.time = kStart;
  e.platform = platform;
  e.group = "g1";
  e.member = "u1";
  e.text = id;
  return e;
}

// An adapter that writes its lifecycle into a shared log and pushes one event through the sink
// when it starts and one when it stops (both must be durable: the pipeline runs at both times).
class LifecycleAdapter final : public PlatformAdapter {
 public:
  LifecycleAdapter(std::string name, std::vector<std::string>& log, Status start = Status::Ok())
      : name_(std::move(name)), log_(log), start_(std::move(start)) {}
  std::string_view platform() const override { return name_; }
  Capabilities capabilities() const override {
    return Capabilities().Add(ActionType::kSendMessage);
  }
  RateLimits rate_limits() const override { return {}; }
  Status Start(EventSink& sink) override {
    log_.push_back("start " + name_);
    if (!start_.ok()) return start_;
    sink_ = &sink;
    Record(sink.SubmitAndWait({Message(name_, "at-start")}));
    return Status::Ok();
  }
  void Stop() override {
    log_.push_back("stop " + name_);
    Record(sink_->SubmitAndWait({Message(name_, "at-stop")}));
  }
  PerformResult Perform(const OutboxRecord&) override { return {}; }

 private:
  void Record(const SinkResult& r) {
    log_.push_back(fmt::format("{} accepted {}{}", name_, r.accepted,
                               r.status.ok() ? "" : " " + r.status.ToString()));
  }
  std::string name_;
  std::vector<std::string>& log_;
  Status start_;
  EventSink* sink_ = nullptr;
};

class NodeTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Node>> Open(std::vector<std::unique_ptr<PlatformAdapter>> adapters) {
    NodeOptions o;
    o.data_dir = dir_.path();
    o.sync = SyncMode::kNormal;
    o.clock = &clock_;
    o.background = false;
    o.adapters = std::move(adapters);
    return Node::Open(std::move(o));
  }
  int64_t StoredEvents() {
    auto node = Open({});
    EXPECT_TRUE(node.ok()) << node.status().ToString();
    if (!node.ok()) return -1;
    auto stats = (*node)->store().Stats();
    EXPECT_TRUE(stats.ok());
    return stats.ok() ? stats->events : -1;
  }

  testing::TempDir dir_;
  ManualClock clock_{kStart};
  std::vector<std::string> log_;
};

TEST_F(NodeTest, StartsAdaptersWhenThePipelineIsUpAndStopsThemFirst) {
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  adapters.push_back(std::make_unique<LifecycleAdapter>("alpha", log_));
  adapters.push_back(std::make_unique<LifecycleAdapter>("beta", log_));
  {
    auto node = Open(std::move(adapters));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    ASSERT_NE((*node)->adapter("beta"), nullptr);
    EXPECT_EQ((*node)->adapter("beta")->platform(), "beta");
    EXPECT_EQ((*node)->adapter("gamma"), nullptr);
    EXPECT_EQ(log_.size(), 4u);
  }
  // Started in order, stopped in reverse, each able to submit at both ends of its life.
  EXPECT_EQ(log_, (std::vector<std::string>{"start alpha", "alpha accepted 1", "start beta",
                                            "beta accepted 1", "stop beta", "beta accepted 1",
                                            "stop alpha", "alpha accepted 1"}));
  EXPECT_EQ(StoredEvents(), 4);
}

TEST_F(NodeTest, AnAdapterThatCannotStartFailsTheNodeAndTheStartedOnesStop) {
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  adapters.push_back(std::make_unique<LifecycleAdapter>("alpha", log_));
  adapters.push_back(
      std::make_unique<LifecycleAdapter>("beta", log_, Status::Unavailable("port 8443 is in use")));
  adapters.push_back(std::make_unique<LifecycleAdapter>("gamma", log_));
  auto node = Open(std::move(adapters));
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().code(), Code::kUnavailable);
  EXPECT_EQ(node.status().message(), "the beta adapter did not start: port 8443 is in use");
  EXPECT_EQ(log_, (std::vector<std::string>{"start alpha", "alpha accepted 1", "start beta",
                                            "stop alpha", "alpha accepted 1"}));
}

TEST_F(NodeTest, TwoAdaptersForOnePlatformAreRefused) {
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  adapters.push_back(std::make_unique<LifecycleAdapter>("alpha", log_));
  adapters.push_back(std::make_unique<LifecycleAdapter>("alpha", log_));
  auto node = Open(std::move(adapters));
  ASSERT_FALSE(node.ok());
  EXPECT_EQ(node.status().field(), "adapters");
  EXPECT_EQ(node.status().message(), "two adapters for platform alpha");
  EXPECT_TRUE(log_.empty());  // nothing started
}

TEST_F(NodeTest, TheSinkValidatesLikeTheApiAndCountsDuplicates) {
  auto node = Open({});
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  IngestSink sink((*node)->ingest());
  Event bad = Message("sandbox", "m2");
  bad.type = EventType::kMemberJoined;
  bad.group.clear();  // a join needs its group
  SinkResult r = sink.SubmitAndWait({Message("sandbox", "m1"), bad, Message("sandbox", "m3")});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.accepted, 2);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].index, 1u);
  EXPECT_EQ(r.rejected[0].error.field(), "group") << r.rejected[0].error.ToString();
  r = sink.SubmitAndWait({Message("sandbox", "m1")});
  EXPECT_EQ(r.accepted, 0);
  EXPECT_EQ(r.duplicates, 1);
  auto stats = (*node)->store().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->events, 2);
}

// ---- Platforms from config ----

TEST(Platforms, TheDefaultConfigMakesTheSandbox) {
  ManualClock clock(kStart);
  auto adapters = CreateAdapters(kDefaultPlatforms, "built-in", {clock, "/nonexistent"});
  ASSERT_TRUE(adapters.ok()) << adapters.status().ToString();
  ASSERT_EQ(adapters->size(), 1u);
  EXPECT_NE(dynamic_cast<SandboxPlatform*>(adapters->front().get()), nullptr);
}

TEST(Platforms, EveryRegisteredFactoryOnce) {
  PlatformRegistry registry;
  ASSERT_TRUE(RegisterPlatforms(registry).ok());
  EXPECT_EQ(registry.platforms(), (std::vector<std::string>{"qq", "sandbox", "telegram"}));
  EXPECT_FALSE(RegisterPlatforms(registry).ok());  // a second registration is refused
}

TEST(Platforms, AnUnknownKeyIsRejectedWithItsPathAndLine) {
  ManualClock clock(kStart);
  auto adapters = CreateAdapters("[platforms.sandbox]\ndedupes_sends = false\nfailure_rate = 3\n",
                                 "node.toml", {clock, "/nonexistent"});
  ASSERT_FALSE(adapters.ok());
  EXPECT_EQ(adapters.status().field(), "platforms.sandbox.failure_rate");
  EXPECT_NE(adapters.status().message().find(
                "node.toml:3: platforms.sandbox.failure_rate: unknown key (expected one of: "),
            std::string::npos)
      << adapters.status().message();
}

TEST(Platforms, UnknownPlatformsAndTopLevelKeysAndSyntaxErrorsAreRejected) {
  ManualClock clock(kStart);
  auto unknown = CreateAdapters("[platforms.telegrm]\ntoken = \"x\"\n[server]\n", "node.toml",
                                {clock, "/nonexistent"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find(
                "node.toml:1: platforms.telegrm: no adapter for platform 'telegrm'"),
            std::string::npos)
      << unknown.status().message();
  EXPECT_NE(unknown.status().message().find("node.toml:3: server: unknown key"), std::string::npos)
      << unknown.status().message();
  auto syntax = CreateAdapters("[platforms.sandbox\n", "node.toml", {clock, "/nonexistent"});
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("node.toml:1:"), std::string::npos)
      << syntax.status().message();
}

// Playbooks.

constexpr std::string_view kGood = R"toml(
[community]
slug = "camp"
[welcome]
text = "欢迎 {member.name}"
)toml";

NodeOptions PlaybookNodeOptions(const std::string& dir, const Clock& clock) {
  NodeOptions o;
  o.data_dir = dir;
  o.sync = SyncMode::kNormal;
  o.clock = &clock;
  o.background = false;
  return o;
}

TEST(Node, ARejectedPlaybookChangesNothing) {
  testing::TempDir dir;
  ManualClock clock(1772323200000);
  {
    auto node = Node::Open(PlaybookNodeOptions(dir.path(), clock));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    // An unknown time zone is refused before anything is stored or applied.
    std::string bad(kGood);
    bad.insert(bad.find("\n[welcome]"), "\ntime_zone = \"Asia/Atlantis\"");
    const Status st = (*node)->ApplyPlaybook(bad, "camp.toml");
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_EQ(st.field(), "community.time_zone");
    EXPECT_NE(st.message().find("unknown time zone \"Asia/Atlantis\""), std::string::npos)
        << st.message();
    auto stored = (*node)->store().LoadPlaybooks();
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored->empty());
    EXPECT_TRUE((*node)->ingest().playbooks()->all().empty());
    // So is a schedule whose rule cannot run.
    EXPECT_FALSE((*node)
                     ->ApplyPlaybook("[community]\nslug = \"camp\"\n[[schedules]]\nname = \"m\"\n"
                                     "rule = \"daily 25:61\"\ngroup = \"sandbox:g\"\ntext = \"t\"\n",
                                     "camp.toml")
                     .ok());
    EXPECT_TRUE((*node)->store().LoadPlaybooks()->empty());
    ASSERT_TRUE((*node)->ApplyPlaybook(kGood, "camp.toml").ok());
    EXPECT_EQ((*node)->store().LoadPlaybooks()->size(), 1u);
  }
  // The node starts again with the stored playbook.
  auto again = Node::Open(PlaybookNodeOptions(dir.path(), clock));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->ingest().playbooks()->all().count("camp"), 1u);
}

TEST(Node, AStoredPlaybookThatNoLongerValidatesDoesNotStopTheNode) {
  testing::TempDir dir;
  ManualClock clock(1772323200000);
  {
    auto store = testing::OpenStore(dir.path());
    // As after an upgrade that dropped a section: the stored text no longer validates.
    ASSERT_TRUE(store->PutPlaybook({"camp", "[community]\nslug = \"camp\"\n[retired]\nx = 1\n", 1})
                    .ok());
    ASSERT_TRUE(store->PutPlaybook({"ok", "[community]\nslug = \"ok\"\n", 1}).ok());
  }
  auto node = Node::Open(PlaybookNodeOptions(dir.path(), clock));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  // The other community's playbook is in force; the broken one is kept as stored, not applied,
  // and an operator task says so.
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("ok"), 1u);
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("camp"), 0u);
  auto stored = (*node)->store().LoadPlaybooks();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->size(), 2u);
  auto tasks = (*node)->store().ListTasks({.open_only = true});
  ASSERT_TRUE(tasks.ok());
  ASSERT_EQ(tasks->size(), 1u);
  EXPECT_EQ((*tasks)[0].kind, "playbook_invalid");
  EXPECT_NE((*tasks)[0].reason.find("retired"), std::string::npos) << (*tasks)[0].reason;
  // Replacing it fixes the community.
  ASSERT_TRUE((*node)->ApplyPlaybook("[community]\nslug = \"camp\"\n", "fixed.toml").ok());
  EXPECT_EQ((*node)->ingest().playbooks()->all().count("camp"), 1u);
}

}  // namespace
}  // namespace qz
