// Black-box tests of roles per community (issue 11) through the real binary: an account that is
// a viewer, and an operator in the community `camp` (`qunzhu user grant`), undoes a moderation
// decision, closes a task and posts in a sandbox group of camp, and is refused (403 naming the
// role and the community) in the community `fans`; the CLI's grant, revoke and list round trip.
#include <string>
#include <vector>

#include "console_fixture.hpp"

namespace qzbb {
namespace {

// A community with a sandbox group (where moderation acts) and a Telegram group (the default node
// has no Telegram adapter: every join there opens an operator task instead of the welcome).
std::string Playbook(const std::string& slug) {
  return "[community]\nslug = \"" + slug + "\"\nname = \"" + slug + "\"\n\n" +
         "[[groups]]\nplatform = \"sandbox\"\nid = \"" + slug + "-1\"\nname = \"" + slug +
         " 1\"\n\n[[groups]]\nplatform = \"telegram\"\nid = \"tg-" + slug + "\"\nname = \"" + slug +
         " tg\"\n\n[welcome]\ntext = \"欢迎 {member.name}\"\n\n[moderation]\nladder = [\"warn\"]\n";
}

class ConsoleRoles : public ConsoleApi {
 protected:
  // Serves camp and fans, each with a moderation decision (an ad in its sandbox group) and an
  // open task (a join in its Telegram group).
  void ServeTwoCommunities() {
    ASSERT_NO_FATAL_FAILURE(Serve({"--playbook", File("camp.toml", Playbook("camp")), "--playbook",
                                   File("fans.toml", Playbook("fans"))}));
    for (const std::string slug : {"camp", "fans"}) {
      const HttpResponse ad =
          Post("/api/v1/sandbox/groups/" + slug + "-1/messages",
               {{"member", "spam-" + slug},
                {"name", "广告哥"},
                {"text", "加我微信 abc12345 低价代购 http://spam.example.com 快来"}});
      ASSERT_EQ(ad.status, 200) << ad.Describe();
      const HttpResponse join = Post("/api/v1/events", json::array({{{"id", "join-" + slug},
                                                                     {"type", "member_joined"},
                                                                     {"time", "2026-03-01T10:00:00+08:00"},
                                                                     {"platform", "telegram"},
                                                                     {"group", "tg-" + slug},
                                                                     {"member", "u-" + slug},
                                                                     {"name", "新人"}}}));
      ASSERT_EQ(join.status, 200) << join.Describe();
    }
    ASSERT_TRUE(WaitFor([&] { return DecisionId("camp") != 0 && DecisionId("fans") != 0; }))
        << Get("/api/v1/moderation/decisions?community=fans").body;
    ASSERT_TRUE(WaitFor([&] { return TaskId("camp") != 0 && TaskId("fans") != 0; }))
        << Get("/api/v1/tasks").body;
  }

  // The newest decision of `slug`, 0 when there is none.
  int64_t DecisionId(const std::string& slug) {
    const json d = Get("/api/v1/moderation/decisions?community=" + slug).Json();
    return d.is_object() && !d["decisions"].empty() ? d["decisions"][0]["id"].get<int64_t>() : 0;
  }
  // The first open task of the community `slug`, 0 when there is none.
  int64_t TaskId(const std::string& slug) {
    const json c = Get("/api/v1/communities").Json();
    int64_t community = 0;
    for (const json& x : c.value("communities", json::array())) {
      if (x["slug"] == slug) community = x["id"];
    }
    for (const json& t : Get("/api/v1/tasks").Json().value("tasks", json::array())) {
      if (t["community_id"] == community) return t["id"];
    }
    return 0;
  }

  // `qunzhu user ...` on the data directory; a failure unless it exits `code`.
  RunResult User(const std::vector<std::string>& args, int code = 0) {
    std::vector<std::string> argv = {"user"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data", data_});
    RunResult r = Cli(argv, "lead-password-1\n");
    EXPECT_EQ(r.status.code, code) << r.Describe();
    return r;
  }

  static std::string Message(const HttpResponse& r) {
    const json j = r.Json();
    return j.is_object() && j.contains("error") ? j["error"].value("message", "") : "";
  }
};

TEST_F(ConsoleRoles, AViewerWhoIsAnOperatorInOneCommunityActsThereOnly) {
  ASSERT_NO_FATAL_FAILURE(ServeTwoCommunities());
  User({"create", "lead", "--role", "viewer"});
  User({"grant", "lead", "--community", "camp", "--role", "operator"});
  const Browser lead = SignIn("lead", "lead-password-1");
  const json session = FromBrowser(lead, "GET", "/api/v1/session").Json();
  EXPECT_EQ(session["role"], "viewer");
  EXPECT_EQ(session["communities"], json({{"camp", "operator"}})) << session.dump();

  // In camp: undo a decision, close a task, post in the sandbox group.
  const auto undo = [&](const std::string& slug) {
    return FromBrowser(lead, "POST",
                       "/api/v1/moderation/decisions/" + std::to_string(DecisionId(slug)) +
                           "/undo?community=" + slug,
                       {{"operator", "lead"}});
  };
  const auto close = [&](const std::string& slug) {
    return FromBrowser(lead, "POST", "/api/v1/tasks/" + std::to_string(TaskId(slug)) + "/close",
                       {{"note", "已处理"}});
  };
  const auto post = [&](const std::string& slug) {
    return FromBrowser(lead, "POST", "/api/v1/sandbox/groups/" + slug + "-1/messages",
                       {{"member", "m1"}, {"text", "早上好"}});
  };
  const int64_t camp_task = TaskId("camp");
  const HttpResponse undone = undo("camp");
  ASSERT_EQ(undone.status, 200) << undone.Describe();
  EXPECT_EQ(undone.Json()["status"], "undone") << undone.body;
  const HttpResponse closed = close("camp");
  ASSERT_EQ(closed.status, 200) << closed.Describe();
  EXPECT_EQ(closed.Json()["task"]["closed_by"], "lead");
  EXPECT_EQ(post("camp").status, 200);

  // In fans: refused, naming the role and the community; nothing changed.
  const int64_t fans_decision = DecisionId("fans");
  for (const HttpResponse& r : {undo("fans"), close("fans"), post("fans")}) {
    EXPECT_EQ(r.status, 403) << r.Describe();
    EXPECT_EQ(ErrorCode(r), "permission_denied") << r.body;
    EXPECT_NE(Message(r).find("in the community 'fans'; the account 'lead' has the role viewer"),
              std::string::npos)
        << r.body;
  }
  EXPECT_NE(Message(close("fans")).find("needs the role assistant"), std::string::npos);
  EXPECT_EQ(Get("/api/v1/moderation/decisions/" + std::to_string(fans_decision) +
                "?community=fans")
                .Json()["status"],
            "applied");
  EXPECT_NE(TaskId("fans"), 0) << "still open";
  EXPECT_NE(camp_task, TaskId("camp")) << "camp's task was closed";

  // Outside communities the base role counts: a viewer.
  const HttpResponse events = FromBrowser(lead, "POST", "/api/v1/events", json::array());
  EXPECT_EQ(events.status, 403) << events.Describe();
  const HttpResponse playbook = FromBrowser(lead, "GET", "/api/v1/communities/camp/playbook");
  EXPECT_EQ(playbook.status, 200) << "reading stays a viewer's";

  // Revoked: the open session is refused in camp at once.
  User({"revoke", "lead", "--community", "camp"});
  EXPECT_EQ(FromBrowser(lead, "GET", "/api/v1/session").Json()["communities"], json::object());
  EXPECT_EQ(post("camp").status, 403);
}

TEST_F(ConsoleRoles, TheCommandLineGrantsListsAndRevokes) {
  ASSERT_NO_FATAL_FAILURE(ServeTwoCommunities());
  User({"create", "lead", "--role", "operator"});
  User({"grant", "lead", "--community", "fans", "--role", "viewer"});
  const RunResult granted = User({"grant", "lead", "--community", "camp", "--role", "admin"});
  EXPECT_NE(granted.out.find("'lead' has the role admin in the community 'camp'"),
            std::string::npos)
      << granted.Describe();
  const RunResult listed = User({"list"});
  EXPECT_NE(listed.out.find("COMMUNITIES"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("camp=admin,fans=viewer"), std::string::npos) << listed.out;

  // Refused input changes nothing: an unknown community or role, owner, an unknown account.
  EXPECT_NE(User({"grant", "lead", "--community", "nope", "--role", "viewer"}, 2)
                .err.find("no community 'nope'"),
            std::string::npos);
  EXPECT_NE(User({"grant", "lead", "--community", "camp", "--role", "owner"}, 2)
                .err.find("owner is a global role"),
            std::string::npos);
  User({"grant", "lead", "--community", "camp", "--role", "boss"}, 2);
  User({"grant", "nobody", "--community", "camp", "--role", "viewer"}, 1);
  User({"revoke", "lead", "--community", "nope"}, 2);

  // The API shows what the command line set, by slug.
  json accounts = Get("/api/v1/accounts").Json()["accounts"];
  for (const json& a : accounts) {
    if (a["name"] == "lead") {
      EXPECT_EQ(a["communities"], json({{"camp", "admin"}, {"fans", "viewer"}})) << a.dump();
    }
  }

  User({"revoke", "lead", "--community", "camp"});
  User({"revoke", "lead", "--community", "camp"});  // not granted: no error
  User({"revoke", "lead", "--community", "fans"});
  const RunResult after = User({"list"});
  EXPECT_EQ(after.out.find("camp="), std::string::npos) << after.out;
  EXPECT_EQ(after.out.find("fans="), std::string::npos) << after.out;

  // The last enabled owner stays an owner everywhere.
  const RunResult last = User({"grant", "admin", "--community", "camp", "--role", "admin"}, 1);
  EXPECT_NE(last.err.find("last_owner"), std::string::npos) << last.Describe();

  for (const char* sub : {"grant", "revoke"}) {
    const RunResult help = Cli({"user", sub, "--help"});
    EXPECT_EQ(help.status.code, 0) << help.Describe();
    EXPECT_NE(help.out.find("--community"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("Owner is global"), std::string::npos) << help.out;
  }
}

}  // namespace
}  // namespace qzbb
