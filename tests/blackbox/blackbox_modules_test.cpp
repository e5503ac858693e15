// Black-box tests of modules end to end: the sandbox welcome through the outbox, invite codes
// (joins, QR codes, live codes overflowing) and broadcasts with their delivery.
#include "blackbox_fixture.hpp"
#include "core/image/qr.hpp"

namespace qzbb {
namespace {

// ---------------------------------------------------------------------------------------------
// The first module end to end: a member joins a sandbox group through the API, and the bot's
// welcome (from the playbook given at start) appears in the group's conversation, delivered
// through the outbox by the background delivery thread.

constexpr const char* kWelcomePlaybook = R"([community]
slug = "camp"
name = "7天成长营"
rules = "1. 不发广告 2. 改群昵称"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "成长营1群"

[welcome]
text = "欢迎 {member.name} 加入{group.name}！群规：{group.rules}"
)";

// Polls the sandbox conversation of `group` until a bot message appears (or ~20 s pass).
json WaitForBotMessage(const Server& s, const std::string& group) {
  for (int i = 0; i < 200; ++i) {
    const HttpResponse r = s.Get("/api/v1/sandbox/groups/" + group + "/messages?limit=1000");
    const json j = r.Json();
    if (r.status == 200 && j.contains("messages")) {
      for (const json& m : j["messages"]) {
        if (m.value("kind", "") == "bot") return m;
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  return json();
}

TEST_F(Blackbox, SandboxJoinIsWelcomedThroughTheOutbox) {
  const std::string playbook = tmp_ / "camp.toml";
  ASSERT_TRUE(WriteFile(playbook, kWelcomePlaybook));
  const std::string data = tmp_ / "data";
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, data, {"--playbook", playbook}));

  const HttpResponse join =
      qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token,
                 "application/json", R"({"member":"u1","name":"小明"})");
  ASSERT_EQ(join.status, 200) << join.Describe();
  EXPECT_EQ(join.Json()["accepted"], 1) << join.body;

  const json welcome = WaitForBotMessage(server, "camp-1");
  ASSERT_TRUE(welcome.is_object()) << "no welcome appeared in camp-1";
  EXPECT_EQ(welcome["text"], "欢迎 小明 加入成长营1群！群规：1. 不发广告 2. 改群昵称");

  // The action is recorded with its cause and becomes done. The sandbox shows the message as
  // soon as the platform call returns; the outbox row is marked done right after: wait for it.
  HttpResponse actions;
  json list = json::array();
  for (int i = 0; i < 200 && list.empty(); ++i) {
    actions = server.Get("/api/v1/actions?status=done");
    ASSERT_EQ(actions.status, 200) << actions.Describe();
    list = actions.Json()["actions"];
    if (list.empty()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(list.size(), 1u) << actions.body;
  EXPECT_EQ(list[0]["type"], "send_message");
  EXPECT_EQ(list[0]["action"]["rule"], "welcome");
  EXPECT_EQ(list[0]["action"]["cause_event"], "sandbox:" + join.Json()["event"]["id"].get<std::string>());

  // A malformed sandbox request names the field.
  const HttpResponse bad = qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/messages",
                                      server.token, "application/json", R"({"member":"u1"})");
  EXPECT_TRUE(IsError(bad, 400, "invalid_argument")) << bad.body;
  EXPECT_EQ(bad.Json()["error"]["field"], "text") << bad.body;

  // After a restart the playbook is still in force and new sandbox events are new (their ids
  // do not repeat the first run's), so the next member is welcomed too.
  server.process->Terminate();
  Server restarted;
  ASSERT_NO_FATAL_FAILURE(StartServer(restarted, data));
  const HttpResponse second =
      qzbb::Post(restarted.port, "/api/v1/sandbox/groups/camp-1/join", restarted.token,
                 "application/json", R"({"member":"u2","name":"小红"})");
  ASSERT_EQ(second.status, 200) << second.Describe();
  EXPECT_EQ(second.Json()["accepted"], 1) << second.body;
  bool welcomed = false;
  for (int i = 0; i < 200 && !welcomed; ++i) {
    const json j = restarted.Get("/api/v1/sandbox/groups/camp-1/messages?limit=1000").Json();
    for (const json& m : j.value("messages", json::array())) {
      if (m.value("kind", "") == "bot" && m.value("text", "").find("欢迎 小红") == 0) welcomed = true;
    }
    if (!welcomed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(welcomed) << "the member who joined after the restart was not welcomed";
}



constexpr const char* kInvitesPlaybook = R"([community]
slug = "default"

[[groups]]
platform = "sandbox"
id = "camp-1"
name = "营1"
type = "core_user"
capacity = 1
invite = "https://t.me/+camp1"

[[groups]]
platform = "sandbox"
id = "camp-2"
name = "营2"
type = "core_user"
capacity = 1
invite = "https://t.me/+camp2"

[invites]
base_url = "https://qz.example.com"

[[invites.live]]
code = "camp"
name = "成长营"
group_type = "core_user"
overflow = "营{n}"

[[invites.keywords]]
keywords = ["入群"]
live = "camp"
)";

TEST_F(Blackbox, InviteCodesRecordJoinsDrawQrCodesAndLiveCodesOverflow) {
  const std::string playbook = tmp_ / "invites.toml";
  ASSERT_TRUE(WriteFile(playbook, kInvitesPlaybook));
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data", {"--playbook", playbook}));
  auto post = [&](const std::string& body) {
    return qzbb::Post(server.port, "/api/v1/invites", server.token, "application/json", body);
  };

  // A channel code for a group of this community.
  const HttpResponse created = post(R"({"group":"sandbox:camp-1","channel":"海报","operator":"ops"})");
  ASSERT_EQ(created.status, 201) << created.Describe();
  const std::string code = created.Json()["code"];
  EXPECT_EQ(code.size(), 10u);
  EXPECT_EQ(created.Json()["url"], "https://qz.example.com/j/" + code);
  EXPECT_EQ(created.Json()["channel"], "海报");
  EXPECT_EQ(created.Json()["joins"], 0);
  // Bad input names the field and leaves nothing behind.
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:nowhere"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","colour":"red"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","code":"a b"})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post(R"({"group":"sandbox:camp-1","code":"camp"})"), 409, "already_exists"));
  EXPECT_EQ(qzbb::Post(server.port, "/api/v1/invites", "", "application/json", "{}").status, 401);

  // A join by the code is recorded with its channel.
  const HttpResponse join = qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token,
                                       "application/json", R"({"member":"u1","name":"小明","code":")" + code + "\"}");
  ASSERT_EQ(join.status, 200) << join.Describe();
  json got;
  for (int i = 0; i < 100; ++i) {
    got = server.Get("/api/v1/invites/" + code).Json();
    if (got.value("joins", 0) == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(got["joins"], 1) << got.dump();
  ASSERT_EQ(got["join_list"].size(), 1u) << got.dump();
  EXPECT_EQ(got["join_list"][0]["member"], "sandbox:u1");
  EXPECT_EQ(got["join_list"][0]["name"], "小明");
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/nosuchcode"), 404, "not_found"));
  // Joins page by member.
  ASSERT_EQ(qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-1/join", server.token, "application/json",
                       R"({"member":"u3","name":"小李","code":")" + code + "\"}")
                .status,
            200);
  for (int i = 0; i < 100 && server.Get("/api/v1/invites/" + code).Json().value("joins", 0) < 2; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  const json first = server.Get("/api/v1/invites/" + code + "?limit=1").Json();
  ASSERT_EQ(first["join_list"].size(), 1u) << first.dump();
  EXPECT_EQ(first["next_cursor"], "sandbox:u1");
  const json second = server.Get("/api/v1/invites/" + code + "?limit=1&cursor=sandbox:u1").Json();
  ASSERT_EQ(second["join_list"].size(), 1u) << second.dump();
  EXPECT_EQ(second["join_list"][0]["member"], "sandbox:u3");
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/" + code + "?limit=0"), 400, "invalid_argument"));

  // Its QR code, read back from the PNG; the SVG draws it too.
  const HttpResponse png = server.Get("/api/v1/invites/" + code + "/qr?format=png");
  ASSERT_EQ(png.status, 200) << png.Describe();
  EXPECT_EQ(png.headers.at("content-type"), "image/png");
  auto decoded = qz::DecodeQrCodes(png.body);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0], "https://qz.example.com/j/" + code);
  const HttpResponse svg = server.Get("/api/v1/invites/" + code + "/qr?format=svg");
  EXPECT_EQ(svg.headers.at("content-type"), "image/svg+xml");
  EXPECT_EQ(svg.body.rfind("<svg", 0), 0u);
  EXPECT_TRUE(IsError(server.Get("/api/v1/invites/" + code + "/qr?format=gif"), 400, "invalid_argument"));

  // The public landing address needs no token: a 302 to the group's link.
  const HttpResponse land = qzbb::Get(server.port, "/j/" + code, "");
  EXPECT_EQ(land.status, 302) << land.Describe();
  EXPECT_EQ(land.headers.at("location"), "https://t.me/+camp1");

  // 关键词拉群 in a private chat with the bot: camp-1 is full, so the keyword hands out camp-2.
  const HttpResponse dm = qzbb::Post(server.port, "/api/v1/sandbox/direct", server.token, "application/json",
                                     R"({"member":"u9","name":"阿九","text":" 入 群！"})");
  ASSERT_EQ(dm.status, 200) << dm.Describe();
  EXPECT_EQ(dm.Json()["event"].count("group"), 0u) << dm.body;
  json chat;
  for (int i = 0; i < 100; ++i) {
    chat = server.Get("/api/v1/sandbox/direct/u9").Json();
    if (chat.value("messages", json::array()).size() >= 2) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(chat["messages"].size(), 2u) << chat.dump();
  EXPECT_EQ(chat["messages"][0]["text"], " 入 群！");
  EXPECT_EQ(chat["messages"][1]["kind"], "direct");
  EXPECT_NE(chat["messages"][1]["text"].get<std::string>().find("https://t.me/+camp2"), std::string::npos)
      << chat.dump();
  EXPECT_TRUE(IsError(qzbb::Post(server.port, "/api/v1/sandbox/direct", server.token, "application/json",
                                 R"({"member":"u9"})"),
                      400, "invalid_argument"));

  // The live code: camp-1 is full (u1), so camp-2; then both full: a page and an operator task.
  {
    const HttpResponse second = qzbb::Get(server.port, "/j/camp", "");
    EXPECT_EQ(second.status, 302) << second.Describe();
    if (second.status == 302) {
      EXPECT_EQ(second.headers.at("location"), "https://t.me/+camp2");
    }
  }
  ASSERT_EQ(qzbb::Post(server.port, "/api/v1/sandbox/groups/camp-2/join", server.token, "application/json",
                       R"({"member":"u2","name":"小红","code":"camp"})")
                .status,
            200);
  HttpResponse full;
  for (int i = 0; i < 100; ++i) {
    full = qzbb::Get(server.port, "/j/camp", "");
    if (full.status == 503) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(full.status, 503) << full.Describe();
  EXPECT_NE(full.body.find("营3"), std::string::npos) << full.body;
  const json live = server.Get("/api/v1/invites/camp").Json();
  EXPECT_EQ(live["kind"], "live");
  EXPECT_EQ(live["hands_out"], nullptr);
  EXPECT_EQ(live["next_overflow"], "营3");
  EXPECT_EQ(live["groups"].size(), 2u);
  const json tasks = server.Get("/api/v1/tasks").Json();
  int asked = 0;
  for (const json& t : tasks.value("tasks", json::array())) {
    if (t.value("reason", "").find("create group 营3") != std::string::npos) ++asked;
  }
  EXPECT_EQ(asked, 1) << tasks.dump();
}



TEST_F(Blackbox, BroadcastsGoToEachGroupAndShowTheirDelivery) {
  Server server;
  ASSERT_NO_FATAL_FAILURE(StartServer(server, tmp_ / "data"));
  auto post = [&](const std::string& target, const std::string& body) {
    return qzbb::Post(server.port, target, server.token, "application/json", body);
  };
  for (const char* g : {"g1", "g2"}) {
    ASSERT_EQ(post(std::string("/api/v1/sandbox/groups/") + g + "/join", R"({"member":"u1","name":"小明"})").status, 200);
  }
  // Bad input names the field and creates nothing.
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"groups":["sandbox:g1"]})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["g1"]})"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"tag":"a"})"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"at":"tomorrow"})"), 400,
                      "invalid_argument"));
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts", R"({"text":"x","groups":["sandbox:g1"],"colour":1})"), 400,
                      "invalid_argument"));

  const HttpResponse now = post("/api/v1/broadcasts", R"({"text":{"zh":"通知：今晚直播","en":"Live tonight"},"groups":["sandbox:g1","sandbox:g2"]})");
  ASSERT_EQ(now.status, 201) << now.Describe();
  EXPECT_EQ(now.Json()["status"], "sent");
  EXPECT_EQ(now.Json()["groups"], 2);
  const std::string id = now.Json()["id"];
  json got;
  for (int i = 0; i < 100; ++i) {
    got = server.Get("/api/v1/broadcasts/" + id).Json();
    if (got["delivery"].value("done", 0) == 2) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(got["delivery"]["done"], 2) << got.dump();
  ASSERT_EQ(got["deliveries"].size(), 2u) << got.dump();
  EXPECT_EQ(got["deliveries"][0]["group"], "sandbox:g1");
  EXPECT_EQ(got["deliveries"][0]["status"], "done");
  const json bot = WaitForBotMessage(server, "g2");
  ASSERT_TRUE(bot.is_object());
  EXPECT_EQ(bot["text"], "通知：今晚直播");

  // A scheduled one can be cancelled once.
  const HttpResponse later = post("/api/v1/broadcasts", R"({"text":"明天见","groups":["sandbox:g1"],"at":"2099-01-01T08:00:00+08:00"})");
  ASSERT_EQ(later.status, 201) << later.Describe();
  EXPECT_EQ(later.Json()["status"], "scheduled");
  const std::string later_id = later.Json()["id"];
  const HttpResponse cancelled = post("/api/v1/broadcasts/" + later_id + "/cancel", "{}");
  ASSERT_EQ(cancelled.status, 200) << cancelled.Describe();
  EXPECT_EQ(cancelled.Json()["status"], "cancelled");
  EXPECT_TRUE(IsError(post("/api/v1/broadcasts/" + later_id + "/cancel", "{}"), 400, "invalid_argument"));
  EXPECT_TRUE(IsError(server.Get("/api/v1/broadcasts/nope"), 404, "not_found"));
}

}  // namespace
}  // namespace qzbb
