// Black-box tests of the command line: help, ingest with its counts and rejected lines, demo then
// replay, and binding a group to a community with replay agreeing.
#include "blackbox_fixture.hpp"

namespace qzbb {
namespace {

// ---------------------------------------------------------------------------------------------
// 4. CLI

TEST_F(Blackbox, CliHelp) {
  const RunResult help = Cli({"--help"});
  EXPECT_EQ(help.status.code, 0) << help.Describe();
  for (const char* word : {"serve", "ingest", "replay", "demo", "init", "token"}) {
    EXPECT_NE(help.out.find(word), std::string::npos) << word << " missing from --help:\n"
                                                      << help.out;
  }
  const RunResult sub = Cli({"ingest", "--help"});
  EXPECT_EQ(sub.status.code, 0) << sub.Describe();
  EXPECT_NE(sub.out.find("--data"), std::string::npos) << sub.out;
  const RunResult bad = Cli({"no-such-command"});
  EXPECT_NE(bad.status.code, 0) << bad.Describe();
  EXPECT_TRUE(bad.status.exited) << bad.Describe();
}

TEST_F(Blackbox, CliIngestReportsCountsAndRejectedLines) {
  const std::string data = tmp_ / "data";
  const std::string file = tmp_ / "events.ndjson";
  const json a = MixedEvent("cli-a", 6), b = MixedEvent("cli-b", 1), d = MixedEvent("cli-d", 3);
  json c = MixedEvent("cli-c", 7);
  c.erase("member");
  const std::string text = a.dump() + "\n" +    // 1
                           b.dump() + "\r\n" +  // 2 (CRLF is fine)
                           "{\"id\": oops\n" +  // 3 malformed
                           "\n" +               // 4 blank: ignored
                           a.dump() + "\n" +    // 5 duplicate of line 1
                           c.dump() + "\n" +    // 6 no member
                           d.dump();            // 7 no final newline
  ASSERT_TRUE(WriteFile(file, text));

  const RunResult first = Cli({"ingest", "--data", data, file});
  EXPECT_EQ(first.status.code, 0) << first.Describe();
  const std::optional<IngestSummary> s1 = ParseIngestSummary(LastLine(first.out));
  ASSERT_TRUE(s1.has_value()) << first.Describe();
  EXPECT_EQ(s1->accepted, 3);
  EXPECT_EQ(s1->duplicates, 1);
  EXPECT_EQ(s1->rejected, 2);
  // Rejected lines are reported with their line number (and the reason naming the field).
  EXPECT_NE(first.err.find("line 3: "), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("line 6: member"), std::string::npos) << first.err;
  for (const char* good_line : {"line 1:", "line 2:", "line 4:", "line 5:", "line 7:"}) {
    EXPECT_EQ(first.err.find(good_line), std::string::npos) << first.err;
  }

  // Again, from standard input: everything is a duplicate now.
  const RunResult second = Cli({"ingest", "--data", data, "-"}, 120s, file);
  EXPECT_EQ(second.status.code, 0) << second.Describe();
  const std::optional<IngestSummary> s2 = ParseIngestSummary(LastLine(second.out));
  ASSERT_TRUE(s2.has_value()) << second.Describe();
  EXPECT_EQ(s2->accepted, 0);
  EXPECT_EQ(s2->duplicates, 4);
  EXPECT_EQ(s2->rejected, 2);

  const RunResult missing = Cli({"ingest", "--data", data, tmp_ / "no-such-file.ndjson"});
  EXPECT_TRUE(missing.status.exited && missing.status.code != 0) << missing.Describe();

  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();

  // The server sees what the CLI ingested.
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  EXPECT_EQ(Stats(server)["events"], 3);
}

TEST_F(Blackbox, CliDemoThenReplayMatches) {
  const std::string data = tmp_ / "demo";
  const RunResult demo = Cli({"demo", "--data", data, "--members", "300", "--days", "7"});
  ASSERT_EQ(demo.status.code, 0) << demo.Describe();
  long long events = -1, demo_duplicates = -1, demo_rejected = -1;
  const size_t at = demo.out.find("demo community loaded: ");
  ASSERT_NE(at, std::string::npos) << demo.Describe();
  ASSERT_EQ(std::sscanf(demo.out.c_str() + at,
                        "demo community loaded: %lld events (%lld duplicates, %lld rejected)",
                        &events, &demo_duplicates, &demo_rejected),
            3)
      << demo.Describe();
  EXPECT_EQ(demo_rejected, 0);
  const std::string duplicates = std::to_string(demo_duplicates);
  EXPECT_GT(events, 300);

  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
  EXPECT_NE(replay.out.find("replayed " + std::to_string(events) + " events"), std::string::npos)
      << replay.Describe();

  // The same seed writes the same NDJSON; ingesting it elsewhere gives the same number of events.
  const std::string out1 = tmp_ / "demo1.ndjson", out2 = tmp_ / "demo2.ndjson";
  const RunResult w1 = Cli({"demo", "--members", "300", "--days", "7", "--out", out1});
  const RunResult w2 = Cli({"demo", "--members", "300", "--days", "7", "--out", out2});
  ASSERT_EQ(w1.status.code, 0) << w1.Describe();
  ASSERT_EQ(w2.status.code, 0) << w2.Describe();
  const std::string nd = ReadFile(out1);
  EXPECT_FALSE(nd.empty());
  EXPECT_TRUE(nd == ReadFile(out2)) << "demo --out is not deterministic";
  const RunResult ingest = Cli({"ingest", "--data", tmp_ / "from-ndjson", out1});
  EXPECT_EQ(ingest.status.code, 0) << ingest.Describe();
  EXPECT_NE(ingest.out.find("ingested " + std::to_string(events) + " events (" + duplicates +
                            " duplicates, 0 rejected)"),
            std::string::npos)
      << ingest.Describe();

  // The server agrees with the demo's count.
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  const json stats = Stats(server);
  EXPECT_EQ(stats["events"], events);
  EXPECT_EQ(stats["communities"], 2);  // the camp and the fan community
  EXPECT_GT(stats["members"].get<int64_t>(), 0);
  EXPECT_GE(stats["groups"].get<int64_t>(),
            4);  // at least one WeCom/QQ camp and Telegram/QQ fan group
}

TEST_F(Blackbox, AGroupIsBoundToACommunityAndReplayAgrees) {
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data));
  auto put = [&](const std::string& target, const std::string& body,
                 const std::string& type = "application/json") {
    HttpRequest r;
    r.method = "PUT";
    r.target = target;
    r.headers = {{"Authorization", "Bearer " + server.token}, {"Content-Type", type}};
    r.body = body;
    return qzbb::Send(server.port, r);
  };
  // The group is seen first (in the default community), then bound to camp.
  const json seen = json::array(
      {{{"id", "m1"}, {"type", "message"}, {"time", "2026-03-01T08:00:00+08:00"},
        {"platform", "qq"}, {"group", "g9"}, {"member", "u1"}, {"name", "小明"}, {"text", "你好"}}});
  ASSERT_TRUE(IsIngestAnswer(server.Post(seen), 1, 0, 0));
  ASSERT_EQ(put("/api/v1/communities/camp/playbook",
                "[community]\nslug = \"camp\"\nname = \"Camp\"\n", "application/toml")
                .status,
            200);
  // Bad input names the field and binds nothing.
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":"nowhere"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":1})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", R"({"community":"camp","x":1})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/qq/g9", "[]"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(put("/api/v1/groups/QQ/g9", R"({"community":"camp"})"), 400, "invalid_argument"));
  HttpRequest anonymous;
  anonymous.method = "PUT";
  anonymous.target = "/api/v1/groups/qq/g9";
  anonymous.headers = {{"Content-Type", "application/json"}};
  anonymous.body = R"({"community":"camp"})";
  EXPECT_EQ(qzbb::Send(server.port, anonymous).status, 401);

  const HttpResponse bound = put("/api/v1/groups/qq/g9", R"({"community":"camp"})");
  ASSERT_EQ(bound.status, 200) << bound.Describe();
  const json communities = server.Get("/api/v1/communities").Json()["communities"];
  int64_t camp = 0;
  for (const json& c : communities) {
    if (c["slug"] == "camp") camp = c["id"];
  }
  ASSERT_NE(camp, 0) << communities.dump();
  EXPECT_EQ(bound.Json()["community_id"], camp);
  EXPECT_EQ(bound.Json()["member_count"], 1);
  EXPECT_EQ(bound.Json()["bot_present"], true);
  // The group's next event belongs to camp; its member came along.
  const json next = json::array(
      {{{"id", "m2"}, {"type", "message"}, {"time", "2026-03-01T09:00:00+08:00"},
        {"platform", "qq"}, {"group", "g9"}, {"member", "u1"}, {"text", "我在"}}});
  ASSERT_TRUE(IsIngestAnswer(server.Post(next), 1, 0, 0));
  const json members =
      server.Get("/api/v1/members?community=" + std::to_string(camp)).Json()["members"];
  ASSERT_EQ(members.size(), 1u) << members.dump();
  EXPECT_EQ(members[0]["display_name"], "小明");
  // A group not seen yet can be bound before the bot joins it.
  const HttpResponse early = put("/api/v1/groups/qq/g10", R"({"community":"camp"})");
  ASSERT_EQ(early.status, 200) << early.Describe();
  EXPECT_EQ(early.Json()["community_id"], camp);

  ASSERT_TRUE(server.process->Terminate(60s).ok());
  const RunResult replay = Cli({"replay", "--data", data});
  EXPECT_EQ(replay.status.code, 0) << replay.Describe();
  EXPECT_NE(replay.out.find("matches"), std::string::npos) << replay.Describe();
}

}  // namespace
}  // namespace qzbb
