// Black-box tests of durability: kill -9 and SIGTERM under load lose no acknowledged event and
// apply none twice; the same batch twice (or from several clients at once) is applied once; a
// graceful restart keeps the state; members and their events read back as written.
#include "blackbox_fixture.hpp"

namespace qzbb {
namespace {

// ---------------------------------------------------------------------------------------------
// 1. kill -9 while events stream in: every acknowledged event survives, none is applied twice.

class KillNine : public Blackbox {
 protected:
  void Scenario(const std::vector<std::string>& serve_args);
};

void KillNine::Scenario(const std::vector<std::string>& serve_args) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, serve_args));

  Streamer streamer(server.port, server.token, /*threads=*/2, /*batch_size=*/100, "k9");
  streamer.Start();
  const auto start = Clock::now();
  // Stream for ~1.5 s (or 40 acknowledged batches), and at least until a few batches are acked.
  while ((streamer.acked_batches() < 40 && Clock::now() - start < 1500ms) ||
         (streamer.acked_batches() < 4 && Clock::now() - start < 30s)) {
    std::this_thread::sleep_for(5ms);
  }
  const bool mid_stream = streamer.finished_threads() == 0;
  const ExitStatus killed = server.process->Kill();
  streamer.Stop();
  EXPECT_TRUE(mid_stream) << "a streaming thread stopped before the kill";
  EXPECT_FALSE(killed.exited) << killed.ToString();
  EXPECT_EQ(killed.signal, SIGKILL) << killed.ToString();
  for (const auto& e : streamer.errors()) ADD_FAILURE() << e;

  const auto batches = streamer.batches();
  const Split split = SplitBatches(batches);
  ASSERT_GE(split.acked.size(), 400u) << "too few batches acknowledged before the kill";
  std::printf("[          ] %zu events acknowledged, %zu in flight at the kill\n",
              split.acked.size(), split.unacked.size());

  // Per member: messages acknowledged, and messages sent at all (acknowledged or in flight).
  std::map<int, int64_t> acked_messages, sent_messages;
  std::map<int, std::set<std::string>> acked_ids;
  int64_t sent_message_total = 0;
  auto member_of = [](const json& e) {
    return std::stoi(e.at("member").get<std::string>().substr(1));
  };
  for (const auto& e : split.acked) {
    acked_ids[member_of(e)].insert(e["id"].get<std::string>());
    if (IsMessage(e)) ++acked_messages[member_of(e)];
  }
  for (const auto* list : {&split.acked, &split.unacked}) {
    for (const auto& e : *list) {
      if (IsMessage(e)) {
        ++sent_messages[member_of(e)];
        ++sent_message_total;
      }
    }
  }

  // Restart on the same data directory.
  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data, serve_args));
  const json stats = Stats(restarted);
  ASSERT_FALSE(stats.empty());
  EXPECT_GE(stats["events"].get<int64_t>(), static_cast<int64_t>(split.acked.size()));
  EXPECT_LE(stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));

  // Every acknowledged event is in the log: sending it again is a duplicate, nothing is applied.
  const Totals again = PostAll(restarted, split.acked);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, static_cast<int64_t>(split.acked.size()));
  EXPECT_EQ(again.rejected, 0);
  EXPECT_EQ(Stats(restarted), stats);

  // Members: the message counter equals the messages the log holds for them, each event once.
  std::vector<int> checked;
  for (const auto& [m, n] : acked_messages) {
    if (checked.size() < 10 && n > 0 && (m % 3 == 0 || acked_messages.size() < 30))
      checked.push_back(m);
  }
  ASSERT_FALSE(checked.empty());
  std::map<int, int64_t> member_ids;
  for (const int m : checked) {
    SCOPED_TRACE("member " + MemberKey(m));
    const int64_t id = FindMember(restarted, m);
    ASSERT_NE(id, 0);
    member_ids[m] = id;
    const json profile = Profile(restarted, id);
    ASSERT_FALSE(profile.empty());
    const MemberLog log = ReadMemberLog(restarted, id);
    ASSERT_TRUE(log.ok) << log.error;
    EXPECT_EQ(profile["counters"]["messages"].get<int64_t>(), log.messages);
    EXPECT_GE(log.messages, acked_messages[m]);
    EXPECT_LE(log.messages, sent_messages[m]);
    for (const auto& id_text : log.ids)
      EXPECT_EQ(log.ids.count(id_text), 1u) << id_text << " twice in the log";
    for (const auto& acked_id : acked_ids[m]) {
      EXPECT_EQ(log.ids.count(acked_id), 1u)
          << "acknowledged event " << acked_id << " is not in the member's log";
    }
  }

  // Now the batches that were in flight at the kill: each of their events is new or a duplicate
  // (if its batch had committed), and afterwards every event sent is applied exactly once.
  const Totals rest = PostAll(restarted, split.unacked);
  ASSERT_TRUE(rest.ok);
  EXPECT_EQ(rest.rejected, 0);
  EXPECT_EQ(rest.accepted + rest.duplicates, static_cast<int64_t>(split.unacked.size()));
  EXPECT_EQ(rest.accepted, static_cast<int64_t>(split.acked.size() + split.unacked.size()) -
                               stats["events"].get<int64_t>());
  const json final_stats = Stats(restarted);
  EXPECT_EQ(final_stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));
  for (const int m : checked) {
    SCOPED_TRACE("member " + MemberKey(m));
    const json profile = Profile(restarted, member_ids[m]);
    ASSERT_FALSE(profile.empty());
    EXPECT_EQ(profile["counters"]["messages"].get<int64_t>(), sent_messages[m]);
  }
  const HttpResponse groups = restarted.Get("/api/v1/groups");
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  int64_t group_messages = 0;
  const json group_list = groups.Json();
  ASSERT_TRUE(group_list.contains("groups")) << groups.Describe();
  for (const auto& g : group_list["groups"]) group_messages += g.at("messages").get<int64_t>();
  EXPECT_EQ(group_messages, sent_message_total);

  // A graceful stop, then the log replayed from scratch gives the same state.
  const ExitStatus stopped = restarted.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

// The default, --sync full: a commit is fsynced before the answer.
TEST_F(KillNine, DefaultSyncLosesNoAcknowledgedEventAndAppliesNoneTwice) { Scenario({}); }

// --sync normal is documented to survive a crash of the process (not of the machine).
TEST_F(KillNine, SyncNormalLosesNoAcknowledgedEventAndAppliesNoneTwice) {
  Scenario({"--sync", "normal"});
}

// A graceful stop (SIGTERM) under load: in-flight requests finish, every acknowledged event is
// durable, and the process exits 0.
TEST_F(Blackbox, SigtermUnderLoadKeepsEveryAcknowledgedEvent) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, {"--sync", "normal"}));
  Streamer streamer(server.port, server.token, 2, 50, "term");
  streamer.Start();
  const auto start = Clock::now();
  while (streamer.acked_batches() < 4 && Clock::now() - start < 30s)
    std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(300ms);
  const ExitStatus stopped = server.process->Terminate(60s);
  streamer.Stop();
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  for (const auto& e : streamer.errors()) ADD_FAILURE() << e;
  const Split split = SplitBatches(streamer.batches());
  ASSERT_GE(split.acked.size(), 200u);

  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  const Totals again = PostAll(restarted, split.acked);
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(again.accepted, 0);
  EXPECT_EQ(again.duplicates, static_cast<int64_t>(split.acked.size()));
  const json stats = Stats(restarted);
  ASSERT_FALSE(stats.empty());
  EXPECT_GE(stats["events"].get<int64_t>(), static_cast<int64_t>(split.acked.size()));
  EXPECT_LE(stats["events"].get<int64_t>(),
            static_cast<int64_t>(split.acked.size() + split.unacked.size()));
}

// ---------------------------------------------------------------------------------------------
// 2. Idempotence

TEST_F(Blackbox, SameBatchTwiceIsAppliedOnce) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int64_t n = 0; n < 60; ++n)
    events.push_back(MixedEvent("idem-" + std::to_string(n), n, 20, 2));

  ASSERT_TRUE(IsIngestAnswer(server.Post(Array(events)), 60, 0, 0));
  const json stats = Stats(server);
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats["events"], 60);
  EXPECT_EQ(stats["groups"], 2);
  EXPECT_EQ(stats["communities"], 1);
  const int64_t id = FindMember(server, 6 * 7919 % 20);  // event 6 (a message) is about him
  ASSERT_NE(id, 0);
  const json profile = Profile(server, id);
  ASSERT_FALSE(profile.empty());
  EXPECT_GT(profile["counters"]["messages"].get<int64_t>(), 0);

  // The same batch again, as JSON and as NDJSON: all duplicates, nothing changes.
  EXPECT_TRUE(IsIngestAnswer(server.Post(Array(events)), 0, 60, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_TRUE(IsIngestAnswer(server.PostNdjson(ToNdjson(events)), 0, 60, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_EQ(Profile(server, id), profile);

  // A known (platform, id) is a duplicate whatever its body says.
  json changed = events[6];
  changed["member"] = "someone-else";
  changed["text"] = "a different body";
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({changed})), 0, 1, 0));
  EXPECT_EQ(Stats(server), stats);
  EXPECT_EQ(Profile(server, id), profile);

  // The same new event twice in one batch is applied once.
  const json fresh = MixedEvent("idem-fresh", 6, 20, 2);
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({fresh, fresh})), 1, 1, 0));
  json after = Stats(server);
  EXPECT_EQ(after["events"], 61);
  EXPECT_EQ(Profile(server, id)["counters"]["messages"].get<int64_t>(),
            profile["counters"]["messages"].get<int64_t>() + 1);

  // The same id on another platform is another event.
  json other = fresh;
  other["platform"] = "qq";
  EXPECT_TRUE(IsIngestAnswer(server.Post(json::array({other})), 1, 0, 0));
  EXPECT_EQ(Stats(server)["events"], 62);
}

// The same batch from several clients at once (a platform retrying while the first attempt is
// still in flight): the copies may land in one group commit; each event is applied exactly once.
TEST_F(Blackbox, ConcurrentCopiesOfABatchAreAppliedOnce) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  constexpr int kClients = 4, kRounds = 5, kEvents = 200;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<json> events;
    for (int64_t n = 0; n < kEvents; ++n) {
      events.push_back(MixedEvent("conc-" + std::to_string(round) + "-" + std::to_string(n),
                                  round * kEvents + n, 40, 3));
    }
    const std::string body = Array(events).dump();
    std::vector<HttpResponse> answers(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        answers[static_cast<size_t>(c)] =
            qzbb::Post(server.port, "/api/v1/events", server.token, "application/json", body);
      });
    }
    for (auto& t : clients) t.join();
    int64_t accepted = 0, duplicates = 0;
    for (const auto& r : answers) {
      ASSERT_EQ(r.status, 200) << r.Describe();
      const json j = r.Json();
      accepted += j.value("accepted", int64_t{-1});
      duplicates += j.value("duplicates", int64_t{-1});
      EXPECT_TRUE(j.contains("rejected") && j["rejected"].empty()) << r.body;
    }
    EXPECT_EQ(accepted, kEvents) << "round " << round;
    EXPECT_EQ(duplicates, (kClients - 1) * kEvents) << "round " << round;
  }
  EXPECT_EQ(Stats(server)["events"], kRounds * kEvents);
  const ExitStatus stopped = server.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
}

// Paging through /api/v1/members with `cursor` visits every member once, in ascending id order;
// `group` and `q` filter.
TEST_F(Blackbox, MembersPageWithCursorAndFilter) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  std::vector<json> events;
  for (int m = 0; m < 45; ++m) {
    events.push_back(BaseEvent("page-" + std::to_string(m), "message", m, m % 3, m));
  }
  ASSERT_TRUE(IsIngestAnswer(server.Post(Array(events)), 45, 0, 0));
  std::vector<int64_t> ids;
  std::string cursor;
  for (int page = 0; page < 100; ++page) {
    const HttpResponse r = server.Get("/api/v1/members?limit=7" + cursor);
    ASSERT_EQ(r.status, 200) << r.Describe();
    const json j = r.Json();
    ASSERT_TRUE(j.contains("members") && j.contains("next_cursor")) << r.body;
    EXPECT_LE(j["members"].size(), 7u);
    for (const auto& m : j["members"]) ids.push_back(m.at("id").get<int64_t>());
    if (j["next_cursor"].is_null()) break;
    cursor = "&cursor=" + (j["next_cursor"].is_string() ? j["next_cursor"].get<std::string>()
                                                        : j["next_cursor"].dump());
  }
  EXPECT_EQ(ids.size(), 45u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), ids.size());

  // group: the members active in g1 (members 1, 4, 7, …: 15 of them).
  const HttpResponse groups = server.Get("/api/v1/groups");
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  int64_t g1 = 0;
  const json group_list = groups.Json();
  for (const auto& g : group_list["groups"]) {
    if (g.value("external_id", "") == "g1") g1 = g["id"].get<int64_t>();
  }
  ASSERT_NE(g1, 0) << groups.body;
  const HttpResponse in_g1 = server.Get("/api/v1/members?limit=1000&group=" + std::to_string(g1));
  ASSERT_EQ(in_g1.status, 200) << in_g1.Describe();
  const json in_g1_list = in_g1.Json();
  EXPECT_EQ(in_g1_list["members"].size(), 15u) << in_g1.body;
  for (const auto& m : in_g1_list["members"]) {
    const std::string name = m.value("display_name", "");
    const int k = std::stoi(name.substr(name.rfind('u') + 1));
    EXPECT_EQ(k % 3, 1) << name;
  }
  // q: a substring of display names and of platform ids. "u4" matches u4 and u40…u44.
  const HttpResponse q = server.Get("/api/v1/members?limit=1000&q=u4");
  ASSERT_EQ(q.status, 200) << q.Describe();
  EXPECT_EQ(q.Json()["members"].size(), 6u) << q.body;
  const HttpResponse none = server.Get("/api/v1/members?q=" + UrlEncode("没有这个人"));
  ASSERT_EQ(none.status, 200) << none.Describe();
  EXPECT_TRUE(none.Json()["members"].empty()) << none.body;
}

// docs/events.md: the log keeps each event in canonical form with its original offset and every
// unknown key; /members/{id}/events gives them back newest first with their seq.
TEST_F(Blackbox, MemberEventsComeBackInCanonicalForm) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  json first = BaseEvent("canon-1", "message", 5, 0, 0);
  first["time"] = "2026-03-01T08:00:00.250-05:00";
  first["text"] = "引号 \" 反斜杠 \\ 换行\n";
  first["x_meta"] = {{"nested", json::array({1, 2, 3})}, {"flag", true}};
  json second = BaseEvent("canon-2", "order", 5, 0, 60);
  second["amount"] = "9.9";
  ASSERT_TRUE(IsIngestAnswer(server.Post(json::array({first, second})), 2, 0, 0));
  const int64_t id = FindMember(server, 5);
  ASSERT_NE(id, 0);
  const HttpResponse r = server.Get("/api/v1/members/" + std::to_string(id) + "/events");
  ASSERT_EQ(r.status, 200) << r.Describe();
  const json events = r.Json().value("events", json::array());
  ASSERT_EQ(events.size(), 2u) << r.body;
  EXPECT_GT(events[0].value("seq", 0), events[1].value("seq", 0));  // newest first
  const json& order = events[0];
  const json& message = events[1];
  EXPECT_EQ(order.value("id", ""), "canon-2");
  EXPECT_EQ(order.value("amount", ""), "9.90") << order.dump();
  EXPECT_EQ(order.value("currency", ""), "CNY") << order.dump();
  EXPECT_EQ(message.value("id", ""), "canon-1");
  EXPECT_EQ(message.value("time", ""), "2026-03-01T08:00:00.250-05:00") << message.dump();
  EXPECT_EQ(message.value("text", ""), first["text"].get<std::string>());
  EXPECT_EQ(message.value("x_meta", json()), first["x_meta"]) << message.dump();
  EXPECT_EQ(message.value("kind", ""), "text");
  const json profile = Profile(server, id);
  EXPECT_EQ(profile["counters"].value("orders", 0), 1) << profile.dump();
  EXPECT_EQ(profile["counters"].value("order_amount", ""), "9.90") << profile.dump();
  EXPECT_EQ(profile["counters"].value("messages", 0), 1) << profile.dump();
}


// ---------------------------------------------------------------------------------------------
// 5. Restart

TEST_F(Blackbox, GracefulRestartKeepsTheState) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  std::vector<json> events;
  for (int64_t n = 0; n < 600; ++n)
    events.push_back(MixedEvent("restart-" + std::to_string(n), n, 50, 3));
  const Totals t = PostAll(server, events, 200);
  ASSERT_TRUE(t.ok);
  EXPECT_EQ(t.accepted, 600);

  const json stats = Stats(server);
  ASSERT_FALSE(stats.empty());
  EXPECT_EQ(stats["events"], 600);
  const int64_t id = FindMember(server, 7);
  ASSERT_NE(id, 0);
  const json profile = Profile(server, id);
  ASSERT_FALSE(profile.empty());
  const HttpResponse member_events =
      server.Get("/api/v1/members/" + std::to_string(id) + "/events?limit=5");
  const HttpResponse groups = server.Get("/api/v1/groups");
  const HttpResponse communities = server.Get("/api/v1/communities");
  const HttpResponse members = server.Get("/api/v1/members?limit=1000");
  ASSERT_EQ(member_events.status, 200) << member_events.Describe();
  ASSERT_EQ(groups.status, 200) << groups.Describe();
  ASSERT_EQ(communities.status, 200) << communities.Describe();
  ASSERT_EQ(members.status, 200) << members.Describe();
  int64_t max_id = 0;
  const json member_list = members.Json();
  for (const auto& mem : member_list["members"])
    max_id = std::max(max_id, mem["id"].get<int64_t>());
  EXPECT_EQ(member_list["members"].size(), stats["members"].get<size_t>());
  const std::string token_before = ReadFile(data + "/admin.token");

  const ExitStatus stopped = server.process->Terminate(60s);
  EXPECT_TRUE(stopped.ok()) << stopped.ToString();

  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  EXPECT_EQ(ReadFile(data + "/admin.token"), token_before);
  EXPECT_EQ(Stats(restarted), stats);
  EXPECT_EQ(Profile(restarted, id), profile);
  EXPECT_EQ(restarted.Get("/api/v1/members/" + std::to_string(id) + "/events?limit=5").Json(),
            member_events.Json());
  EXPECT_EQ(restarted.Get("/api/v1/groups").Json(), groups.Json());
  EXPECT_EQ(restarted.Get("/api/v1/communities").Json(), communities.Json());
  EXPECT_EQ(restarted.Get("/api/v1/members?limit=1000").Json(), members.Json());

  // The reloaded state carries on: counters continue, new ids follow the old ones.
  json next = BaseEvent("restart-next", "message", 7, 0, 99999);
  next["text"] = "after the restart";
  json newcomer = BaseEvent("restart-newcomer", "member_joined", 1000, 0, 99999);
  ASSERT_TRUE(IsIngestAnswer(restarted.Post(json::array({next, newcomer})), 2, 0, 0));
  EXPECT_EQ(Profile(restarted, id)["counters"]["messages"].get<int64_t>(),
            profile["counters"]["messages"].get<int64_t>() + 1);
  const int64_t newcomer_id = FindMember(restarted, 1000);
  EXPECT_EQ(newcomer_id, max_id + 1);
  const json after = Stats(restarted);
  EXPECT_EQ(after["events"], 602);
  EXPECT_EQ(after["members"].get<int64_t>(), stats["members"].get<int64_t>() + 1);

  const ExitStatus stopped2 = restarted.process->Terminate(60s);
  EXPECT_TRUE(stopped2.ok()) << stopped2.ToString();
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

}  // namespace
}  // namespace qzbb
