#include "platform/adapter.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/toml_reader.hpp"

namespace qz {
namespace {

// An adapter that only knows its name and its limits.
class FakeAdapter final : public PlatformAdapter {
 public:
  FakeAdapter(std::string name, RateLimits limits) : name_(std::move(name)), limits_(limits) {}
  std::string_view platform() const override { return name_; }
  Capabilities capabilities() const override { return {}; }
  RateLimits rate_limits() const override { return limits_; }
  Status Start(EventSink&) override { return Status::Ok(); }
  void Stop() override {}
  PerformResult Perform(const OutboxRecord&) override { return {}; }

 private:
  std::string name_;
  RateLimits limits_;
};

// Reads a `token` (required) and the rate limits over {1, 1, 1}.
class FakeFactory final : public AdapterFactory {
 public:
  explicit FakeFactory(std::string name) : name_(std::move(name)) {}
  std::string_view platform() const override { return name_; }
  std::unique_ptr<PlatformAdapter> Create(TableReader& section, const AdapterEnv&) const override {
    std::string token;
    section.Require("token", "the bot's token");
    section.String("token", token);
    const RateLimits limits = ReadRateLimits(section, {1, 1, 1});
    if (token.empty()) return nullptr;
    return std::make_unique<FakeAdapter>(name_, limits);
  }

 private:
  std::string name_;
};

struct Created {
  std::vector<std::unique_ptr<PlatformAdapter>> adapters;
  Status status;
};

Created CreateFrom(const PlatformRegistry& registry, std::string_view toml) {
  auto doc = ParseToml(toml, "node.toml", 1 << 16);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  if (!doc.ok()) return {};
  ConfigProblems problems("node.toml");
  TableReader root(*doc, "", problems);
  Created out;
  ManualClock clock(0);
  if (const toml::table* platforms = root.Table("platforms")) {
    TableReader reader(*platforms, "platforms", problems);
    out.adapters = registry.CreateAll(reader, AdapterEnv{clock, "/nonexistent"});
    reader.Done();
  }
  root.Done();
  out.status = problems.ToStatus();
  return out;
}

PlatformRegistry TwoPlatforms() {
  PlatformRegistry registry;
  EXPECT_TRUE(registry.Add(std::make_unique<FakeFactory>("alpha")).ok());
  EXPECT_TRUE(registry.Add(std::make_unique<FakeFactory>("beta")).ok());
  return registry;
}

TEST(PlatformRegistry, KnowsEachPlatformOnce) {
  PlatformRegistry registry = TwoPlatforms();
  const Status again = registry.Add(std::make_unique<FakeFactory>("alpha"));
  EXPECT_EQ(again.code(), Code::kInvalidArgument);
  EXPECT_EQ(registry.platforms(), (std::vector<std::string>{"alpha", "beta"}));
  ASSERT_NE(registry.Find("beta"), nullptr);
  EXPECT_EQ(registry.Find("beta")->platform(), "beta");
  EXPECT_EQ(registry.Find("gamma"), nullptr);
}

TEST(PlatformRegistry, CreatesOneAdapterPerSectionWithItsLimits) {
  Created c = CreateFrom(TwoPlatforms(), R"(
[platforms.beta]
token = "b"
[platforms.alpha]
token = "a"
[platforms.alpha.rate_limits]
per_chat_per_second = 2
per_chat_per_minute = 0
)");
  ASSERT_TRUE(c.status.ok()) << c.status.ToString();
  ASSERT_EQ(c.adapters.size(), 2u);
  EXPECT_EQ(c.adapters[0]->platform(), "alpha");
  EXPECT_EQ(c.adapters[0]->rate_limits(),
            (RateLimits{.per_second = 1, .per_chat_per_second = 2, .per_chat_per_minute = 0}));
  EXPECT_EQ(c.adapters[1]->platform(), "beta");
  EXPECT_EQ(c.adapters[1]->rate_limits(), (RateLimits{1, 1, 1}));
}

TEST(PlatformRegistry, ReportsEveryProblemWithItsPathAndCreatesNothing) {
  Created c = CreateFrom(TwoPlatforms(), R"(
[platforms.alpha]
token = "a"
tokn = "typo"
[platforms.beta]
rate_limits = { per_second = "fast" }
[platforms.gamma]
token = "c"
)");
  EXPECT_TRUE(c.adapters.empty());  // alpha is fine, but the document is not
  ASSERT_FALSE(c.status.ok());
  const std::string& m = c.status.message();
  EXPECT_EQ(c.status.field(), "platforms.alpha.tokn");
  EXPECT_NE(m.find("node.toml:4: platforms.alpha.tokn: unknown key (expected one of: "
                   "token, rate_limits)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("node.toml:5: platforms.beta.token: required"), std::string::npos) << m;
  EXPECT_NE(m.find("node.toml:6: platforms.beta.rate_limits.per_second: expected a number"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("platforms.gamma: no adapter for platform 'gamma' in this build (known: "
                   "alpha, beta)"),
            std::string::npos)
      << m;
}

TEST(PlatformRegistry, ASectionMustBeATable) {
  Created c = CreateFrom(TwoPlatforms(), "platforms = { alpha = 3 }\n");
  EXPECT_TRUE(c.adapters.empty());
  EXPECT_EQ(c.status.field(), "platforms.alpha");
  EXPECT_NE(c.status.message().find("expected a table, got an integer"), std::string::npos)
      << c.status.message();
}

// A sink that answers on another thread, as ingest's writer does.
class ThreadedSink final : public EventSink {
 public:
  ~ThreadedSink() override {
    for (std::thread& t : threads_) t.join();
  }
  void Submit(std::vector<Event> events, Done done) override {
    threads_.emplace_back([n = events.size(), done = std::move(done)] {
      SinkResult r;
      r.accepted = static_cast<int64_t>(n);
      done(std::move(r));
    });
  }

 private:
  std::vector<std::thread> threads_;
};

TEST(EventSink, SubmitAndWaitReturnsTheAnswer) {
  ThreadedSink sink;
  SinkResult r = sink.SubmitAndWait(std::vector<Event>(3));
  EXPECT_TRUE(r.status.ok());
  EXPECT_EQ(r.accepted, 3);
}

}  // namespace
}  // namespace qz
