// The engine side of the module seam: isolation of failing modules, timers delivered to their
// owner, derived events and their depth cap, message_deleted, the routing of every action, the
// history modes, and module state rebuilt by replay.
#include "engine/module_runner.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <functional>

#include "engine/replay.hpp"
#include "engine/shard_writer.hpp"
#include "testing/engine_testing.hpp"
#include "testing/store_testing.hpp"
#include "testing/temp_dir.hpp"

namespace qz {
namespace {

struct Counter {
  static constexpr std::string_view kTable = "counts";
  int64_t member = 0;
  int64_t n = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("n", n);
  }
};

// An ephemeral table: in the writer's memory only.
struct Window {
  static constexpr std::string_view kTable = "window";
  static constexpr bool kEphemeral = true;
  int64_t member = 0;
  int64_t n = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("n", n);
  }
};

// A cold table: stored, and in the writer's memory only until flushed.
struct Record {
  static constexpr std::string_view kTable = "records";
  static constexpr bool kCold = true;
  int64_t member = 0;
  int64_t n = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("member", member);
    v.Value("n", n);
  }
};

// A table no module declares.
struct Other {
  static constexpr std::string_view kTable = "other";
  int64_t id = 0;
  template <class V>
  void Fields(V& v) {
    v.Key("id", id);
  }
};

// A module whose behaviour each test sets.
class TestModule final : public Module {
 public:
  explicit TestModule(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  std::vector<TableInfo> tables() const override {
    return {DescribeTable<Counter>(), DescribeTable<Window>(), DescribeTable<Record>()};
  }
  std::shared_ptr<const Prepared> Prepare(const Event& event, const SectionConfig&) const override {
    if (!prepare) return nullptr;
    ++prepare_calls;
    return prepare(event);
  }
  Status OnEvent(ModuleContext& ctx) override {
    seen.push_back(ctx.event().id);
    return on_event ? on_event(ctx) : Status::Ok();
  }
  std::function<Status(ModuleContext&)> on_event;
  std::function<std::shared_ptr<const Prepared>(const Event&)> prepare;
  mutable std::atomic<int> prepare_calls{0};
  std::vector<std::string> seen;

 private:
  std::string name_;
};

// Counts the member's messages in its table.
Status Count(ModuleContext& ctx) {
  if (ctx.member() == nullptr || ctx.event().type != EventType::kMessage) return Status::Ok();
  Counter c = ctx.Find(Counter{.member = ctx.member()->id}).value_or(Counter{.member = ctx.member()->id});
  ++c.n;
  ctx.Put(c);
  return Status::Ok();
}

std::string Message(std::string_view id, std::string_view member, std::string_view text = "hi") {
  return fmt::format(
      R"({{"id":"{}","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"sandbox","group":"g1","member":"{}","text":"{}"}})",
      id, member, text);
}

class ModuleRunnerTest : public ::testing::Test {
 protected:
  // Registers modules a, b (in that order) and opens a writer over a fresh store.
  void Open(ModuleMode mode = ModuleMode::kLive) {
    registry_ = std::make_unique<ModuleRegistry>();
    auto a = std::make_unique<TestModule>("a");
    auto b = std::make_unique<TestModule>("b");
    a_ = a.get();
    b_ = b.get();
    ASSERT_TRUE(registry_->Add(std::move(a)).ok());
    ASSERT_TRUE(registry_->Add(std::move(b)).ok());
    metrics_ = std::make_unique<ModuleMetrics>(2);
    EngineOptions engine;
    engine.clock = &clock_;
    engine.modules = registry_.get();
    engine.module_mode = mode;
    engine.module_metrics = metrics_.get();
    engine.capabilities.emplace("sandbox", Capabilities::All());
    auto writer = ShardWriter::Open(*store_, std::move(engine));
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
  }

  BatchResult Apply(const std::string& ndjson) {
    IngestBatch batch = testing::Batch(ndjson);
    std::vector<WriteItem> items;
    for (size_t i = 0; i < batch.events.size(); ++i) items.push_back({&batch.events[i], &batch.json[i]});
    auto r = writer_->ApplyBatch(items);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : BatchResult{};
  }

  std::vector<OperatorTask> Tasks() {
    auto t = store_->ListTasks({.open_only = false, .limit = 1000});
    EXPECT_TRUE(t.ok());
    return t.ok() ? *t : std::vector<OperatorTask>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_ = testing::OpenStore(dir_.path());
  ManualClock clock_{1772323200000};  // 2026-03-01T00:00:00Z
  std::unique_ptr<ModuleRegistry> registry_;
  std::unique_ptr<ModuleMetrics> metrics_;
  std::unique_ptr<ShardWriter> writer_;
  TestModule* a_ = nullptr;
  TestModule* b_ = nullptr;
};

struct Upper final : Prepared {
  std::string text;
};

TEST_F(ModuleRunnerTest, PreparedWorkIsHandedToTheModuleAndRedoneOnlyWhenMissingOrStale) {
  Open();
  a_->prepare = [](const Event& e) {
    auto p = std::make_shared<Upper>();
    for (char c : e.text) p->text += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return p;
  };
  std::vector<std::string> got;
  a_->on_event = [&](ModuleContext& ctx) {
    const Upper* u = ctx.prepared<Upper>();
    got.push_back(u == nullptr ? "<null>" : u->text);
    return Status::Ok();
  };
  IngestBatch batch = testing::Batch(Message("m1", "u1", "abc") + "\n" + Message("m2", "u1", "xy"));
  // m1 prepared ahead (as Submit does) with a marker the writer would not compute itself;
  // m2 not prepared: the writer runs Prepare.
  PreparedEvent ahead(2);
  auto marked = std::make_shared<Upper>();
  marked->text = "PREPARED-AHEAD";
  ahead[0] = PreparedEntry{registry_->ConfigFor(0, Playbook{}), marked};
  std::vector<WriteItem> items = {{&batch.events[0], &batch.json[0], &ahead},
                                  {&batch.events[1], &batch.json[1], nullptr}};
  a_->prepare_calls = 0;
  ASSERT_TRUE(writer_->ApplyBatch(items).ok());
  EXPECT_EQ(got, (std::vector<std::string>{"PREPARED-AHEAD", "XY"}));
  EXPECT_EQ(a_->prepare_calls, 1);
  EXPECT_EQ(writer_->runner()->prepared_on_writer(), 1);

  // Prepared against a config that is not the one in force: redone on the writer.
  IngestBatch next = testing::Batch(Message("m3", "u1", "q"));
  PreparedEvent stale(2);
  stale[0] = PreparedEntry{std::make_shared<SectionConfig>(), marked};
  std::vector<WriteItem> one = {{&next.events[0], &next.json[0], &stale}};
  ASSERT_TRUE(writer_->ApplyBatch(one).ok());
  EXPECT_EQ(got.back(), "Q");

  // PrepareEvent runs every module's Prepare against the config in force.
  PreparedEvent prepared = PrepareEvent(*registry_, PlaybookSet{}, batch.events[1]);
  ASSERT_EQ(prepared.size(), 2u);
  EXPECT_EQ(static_cast<const Upper&>(*prepared[0].value).text, "XY");
  EXPECT_EQ(prepared[0].config, registry_->ConfigFor(0, Playbook{}));
  EXPECT_EQ(prepared[1].value, nullptr);  // b prepares nothing
}

TEST_F(ModuleRunnerTest, AFailingOrThrowingModuleIsIsolated) {
  Open();
  a_->on_event = [](ModuleContext& ctx) -> Status {
    EXPECT_TRUE(Count(ctx).ok());  // staged, then dropped with the failure
    Action send{.type = ActionType::kSendMessage};
    send.text = "never sent";
    ctx.Act(send);
    return Status::Internal("broken rule file");
  };
  b_->on_event = Count;
  BatchResult r = Apply(Message("m1", "u1"));
  ASSERT_EQ(r.outcomes.size(), 1u);
  EXPECT_EQ(r.outcomes[0].outcome, Outcome::kAppended);  // the event still commits
  EXPECT_TRUE(r.effects.actions.empty());
  auto state = store_->LoadState();
  ASSERT_TRUE(state.ok());
  ASSERT_EQ(state->module_state.size(), 1u);  // b's row only
  EXPECT_EQ(state->module_state[0].module, "b.counts");
  EXPECT_EQ(metrics_->failures(0), 1);
  EXPECT_EQ(metrics_->failures(1), 0);
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].kind, "module_failed:a");
  EXPECT_NE(tasks[0].reason.find("broken rule file"), std::string::npos);

  // A throw is a failure too; within the hour it opens no second task.
  a_->on_event = [](ModuleContext&) -> Status { throw std::runtime_error("boom"); };
  r = Apply(Message("m2", "u1"));
  EXPECT_EQ(r.outcomes[0].outcome, Outcome::kAppended);
  EXPECT_EQ(metrics_->failures(0), 2);
  EXPECT_EQ(Tasks().size(), 1u);
  clock_.Advance(2 * 60 * 60 * 1000);
  Apply(Message("m3", "u1"));
  EXPECT_EQ(Tasks().size(), 2u);
  // b kept counting through all of it.
  state = store_->LoadState();
  EXPECT_EQ(state->module_state[0].value, R"({"n":3})");
}

TEST_F(ModuleRunnerTest, WritingAnUndeclaredTableFailsTheModule) {
  Open();
  a_->on_event = [](ModuleContext& ctx) {
    ctx.Put(Other{.id = 1});
    return Status::Ok();
  };
  Apply(Message("m1", "u1"));
  EXPECT_EQ(metrics_->failures(0), 1);
  EXPECT_TRUE(store_->LoadState()->module_state.empty());
}

TEST_F(ModuleRunnerTest, TimersAreNamespacedAndDeliveredToTheirOwnerOnly) {
  Open();
  a_->on_event = [](ModuleContext& ctx) {
    if (ctx.event().type == EventType::kMessage) {
      Action t{.type = ActionType::kScheduleTimer};
      t.timer = "remind:u1";
      t.due = ctx.event().time + 1000;
      ctx.Act(t);
    }
    return Status::Ok();
  };
  BatchResult r = Apply(Message("m1", "u1"));
  ASSERT_EQ(r.effects.timers.size(), 1u);
  EXPECT_EQ(r.effects.timers[0].key, "a:remind:u1");
  std::string timer_seen;
  a_->on_event = [&](ModuleContext& ctx) {
    timer_seen = std::string(ctx.timer());
    return Status::Ok();
  };
  a_->seen.clear();
  b_->seen.clear();
  Apply(R"({"id":"timer:1:1","type":"timer","time":"2026-03-01T08:00:01+08:00","platform":"qunzhu","community":"default","timer":"a:remind:u1"})");
  EXPECT_EQ(a_->seen.size(), 1u);
  EXPECT_TRUE(b_->seen.empty());
  EXPECT_EQ(timer_seen, "remind:u1");
  // A reserved or empty key fails the module.
  a_->on_event = [](ModuleContext& ctx) {
    Action t{.type = ActionType::kScheduleTimer};
    t.timer = "playbook:x";
    ctx.Act(t);
    return Status::Ok();
  };
  Apply(Message("m2", "u1"));
  EXPECT_EQ(metrics_->failures(0), 1);
}

TEST_F(ModuleRunnerTest, EveryActionIsRouted) {
  Open();
  a_->on_event = [](ModuleContext& ctx) {
    if (ctx.event().type != EventType::kMessage) return Status::Ok();
    Action tag{.type = ActionType::kSetTag};
    tag.tag = "talker";
    ctx.Act(tag, "tag");
    Action points{.type = ActionType::kAwardPoints};
    points.points = 5;
    ctx.Act(points, "points");
    Action task{.type = ActionType::kOpenTask};
    task.text = "look at this";
    ctx.Act(task, "task");
    Action send{.type = ActionType::kSendMessage};
    send.text = "hello";
    ctx.Act(send, "send");
    Action elsewhere{.type = ActionType::kMute};
    elsewhere.platform = "wecom";  // no adapter serves it: degraded to a task
    elsewhere.group = "w1";
    elsewhere.member = "x";
    ctx.Act(elsewhere, "mute");
    return Status::Ok();
  };
  BatchResult r = Apply(Message("m1", "u1"));
  ASSERT_EQ(r.effects.actions.size(), 1u);
  EXPECT_EQ(r.effects.actions[0].action.rule, "a.send");
  EXPECT_EQ(r.effects.actions[0].action.group, "g1");  // filled from the cause
  EXPECT_EQ(r.effects.derived_events, 2);
  auto state = store_->LoadState();
  ASSERT_EQ(state->tags.size(), 1u);
  EXPECT_EQ(state->tags[0].tag, "talker");
  EXPECT_EQ(state->members[0].points, 5);
  auto tasks = Tasks();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].kind, "review");
  EXPECT_EQ(tasks[0].rule, "a.task");
  EXPECT_EQ(tasks[1].kind, "degraded:mute");
  // The derived events were shown to the modules in turn, after their cause.
  ASSERT_GE(b_->seen.size(), 3u);
  EXPECT_EQ(b_->seen[0], "m1");
  EXPECT_EQ(b_->seen[1], "sandbox:m1#a.tag#0");
}

TEST_F(ModuleRunnerTest, DerivedEventsStopAtTheDepthCap) {
  Open();
  int derived = 0;
  a_->on_event = [&](ModuleContext& ctx) {
    Event d;
    d.type = EventType::kMessage;
    d.group = "g1";
    d.member = "u1";
    ctx.Derive(d);  // every event derives another: only the cap stops it
    ++derived;
    return Status::Ok();
  };
  BatchResult r = Apply(Message("m1", "u1"));
  EXPECT_EQ(r.effects.derived_events, 4);  // EngineOptions::max_derived_depth
  EXPECT_EQ(store_->Stats()->events, 5);
}

TEST_F(ModuleRunnerTest, LaterModulesSeeADeletedMessage) {
  Open();
  a_->on_event = [](ModuleContext& ctx) {
    if (ctx.event().text == "spam") ctx.Act(Action{.type = ActionType::kDeleteMessage}, "ads");
    return Status::Ok();
  };
  bool deleted_seen = false;
  b_->on_event = [&](ModuleContext& ctx) {
    deleted_seen = ctx.message_deleted();
    return Status::Ok();
  };
  Apply(Message("m1", "u1", "spam"));
  EXPECT_TRUE(deleted_seen);
  Apply(Message("m2", "u1", "hello"));
  EXPECT_FALSE(deleted_seen);
}

TEST_F(ModuleRunnerTest, ImportKeepsStateAndDerivedEventsButSendsNothing) {
  Open(ModuleMode::kImport);
  a_->on_event = [](ModuleContext& ctx) {
    if (ctx.event().type != EventType::kMessage) return Status::Ok();
    EXPECT_TRUE(Count(ctx).ok());
    Action send{.type = ActionType::kSendMessage};
    send.text = "history is not re-sent";
    ctx.Act(send);
    Action points{.type = ActionType::kAwardPoints};
    points.points = 1;
    ctx.Act(points);
    return Status::Ok();
  };
  BatchResult r = Apply(Message("m1", "u1"));
  EXPECT_TRUE(r.effects.actions.empty());
  EXPECT_EQ(r.effects.derived_events, 1);
  EXPECT_EQ(store_->LoadState()->module_state.size(), 1u);
}

TEST_F(ModuleRunnerTest, ReplayRebuildsAndComparesModuleState) {
  Open();
  a_->on_event = Count;
  Apply(Message("m1", "u1") + "\n" + Message("m2", "u1") + "\n" + Message("m3", "u2"));
  writer_.reset();
  {
    auto scratch = testing::OpenStore(dir_.path(), "scratch.db");
    auto report = Replay(*store_, *scratch, registry_.get());
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->differences.empty()) << report->differences[0];
  }
  // A row the log does not explain is found.
  {
    auto txn = store_->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->PutModuleState({1, "a.counts", "[1]", R"({"n":7})"}).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto scratch = testing::OpenStore(dir_.path(), "scratch2.db");
  auto report = Replay(*store_, *scratch, registry_.get());
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->differences.size(), 1u);
  EXPECT_NE(report->differences[0].find("module state row a.counts [1]"), std::string::npos)
      << report->differences[0];
}

TEST_F(ModuleRunnerTest, EphemeralRowsStayInMemoryAndAreNotReplayed) {
  Open();
  std::vector<int64_t> seen;
  const auto count_both = [&](ModuleContext& ctx) {
    if (ctx.member() == nullptr || ctx.event().type != EventType::kMessage) return Status::Ok();
    Window w = ctx.Find(Window{.member = ctx.member()->id}).value_or(Window{.member = ctx.member()->id});
    ++w.n;
    seen.push_back(w.n);
    ctx.Put(w);
    return Count(ctx);
  };
  a_->on_event = count_both;
  Apply(Message("m1", "u1"));
  Apply(Message("m2", "u1"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2}));  // kept across batches
  auto stored = store_->LoadState();
  ASSERT_TRUE(stored.ok());
  for (const ModuleStateEntry& row : stored->module_state) EXPECT_NE(row.module, "a.window");
  EXPECT_EQ(stored->module_state.size(), 1u);  // the persistent a.counts row only
  // A restart forgets them (the window counts from 1 again); the persistent table carries on.
  writer_.reset();
  Open();
  a_->on_event = count_both;
  Apply(Message("m3", "u1"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 1}));
  stored = store_->LoadState();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->module_state.size(), 1u);
  EXPECT_EQ(stored->module_state[0].value, R"({"n":3})");
  // Replay compares the persistent rows only.
  writer_.reset();
  auto scratch = testing::OpenStore(dir_.path(), "scratch.db");
  auto report = Replay(*store_, *scratch, registry_.get());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->differences.empty()) << report->differences[0];
}

TEST_F(ModuleRunnerTest, ColdRowsAreStoredLeaveMemoryWhenFlushedAndAreReadBackFromTheStore) {
  Open();
  std::vector<int64_t> seen;
  MemberId member = kNoId;
  const auto count_records = [&](ModuleContext& ctx) {
    if (ctx.member() == nullptr || ctx.event().type != EventType::kMessage) return Status::Ok();
    member = ctx.member()->id;
    Record r = ctx.Find(Record{.member = member}).value_or(Record{.member = member});
    ++r.n;
    seen.push_back(r.n);
    ctx.Put(r);
    return Status::Ok();
  };
  a_->on_event = count_records;
  // Within a batch the row is in memory (not yet flushed); after it, only in the store.
  Apply(Message("m1", "u1") + "\n" + Message("m2", "u1"));
  const std::string key = RowKey(Record{.member = member});
  EXPECT_EQ(writer_->state().FindModuleState(1, "a.records", key), nullptr);
  Apply(Message("m3", "u1"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(writer_->state().FindModuleState(1, "a.records", key), nullptr);
  auto stored = store_->GetModuleState(1, "a.records", key);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->value, R"({"n":3})");
  // A restart does not load them, and the count carries on from the store.
  writer_.reset();
  Open();
  a_->on_event = count_records;
  for (const ModuleStateEntry& row : writer_->state().ToSnapshot().module_state) {
    EXPECT_NE(row.module, "a.records");
  }
  Apply(Message("m4", "u1"));
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3, 4}));
  // Replay rebuilds and compares them like any stored row.
  writer_.reset();
  auto scratch = testing::OpenStore(dir_.path(), "scratch.db");
  auto report = Replay(*store_, *scratch, registry_.get());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->differences.empty()) << report->differences[0];
  auto rebuilt = scratch->GetModuleState(1, "a.records", key);
  ASSERT_TRUE(rebuilt.ok() && rebuilt->has_value());
  EXPECT_EQ((*rebuilt)->value, R"({"n":4})");
}

TEST(ModuleState, ATableCannotBeBothEphemeralAndCold) {
  TableInfo t = DescribeTable<Record>();
  EXPECT_TRUE(t.cold);
  EXPECT_TRUE(ValidateTable(t).ok());
  t.ephemeral = true;
  const Status st = ValidateTable(t);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("both ephemeral"), std::string::npos) << st.message();
}

TEST(ModuleRegistry, RejectsBadDeclarations) {
  ModuleRegistry r;
  EXPECT_TRUE(r.Add(std::make_unique<TestModule>("ok_1")).ok());
  EXPECT_EQ(r.Add(std::make_unique<TestModule>("ok_1")).code(), Code::kAlreadyExists);
  EXPECT_EQ(r.Add(std::make_unique<TestModule>("Bad Name")).code(), Code::kInvalidArgument);
  EXPECT_EQ(TimerOwner("a:remind:u1"), "a");
  EXPECT_EQ(TimerOwner("nocolon"), "");
}

}  // namespace
}  // namespace qz
