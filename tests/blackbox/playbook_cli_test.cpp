// `qunzhu playbook check` runs the same complete validation as the server; a PUT of a playbook
// the server refuses changes nothing, and the server starts again afterwards.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "http_client.hpp"
#include "process.hpp"

namespace qzbb {
namespace {

const std::string kBinary = QZ_BINARY;

RunResult Check(const TempDir& tmp, const std::string& name, const std::string& toml) {
  const std::string file = tmp / name;
  EXPECT_TRUE(WriteFile(file, toml));
  return Run({kBinary, "playbook", "check", file}, tmp / ("check-" + name));
}

TEST(PlaybookCheck, RunsTheServersCompleteValidation) {
  TempDir tmp;
  RunResult ok = Check(tmp, "ok.toml",
                       "[community]\nslug = \"camp\"\n[[schedules]]\nname = \"m\"\nrule = \"daily "
                       "06:20\"\ngroup = \"sandbox:g\"\ntext = \"早安\"\n");
  EXPECT_TRUE(ok.status.ok()) << ok.Describe();
  EXPECT_NE(ok.out.find("ok (community 'camp'"), std::string::npos) << ok.Describe();

  RunResult rule = Check(tmp, "rule.toml",
                         "[community]\nslug = \"camp\"\n[[schedules]]\nname = \"m\"\nrule = "
                         "\"daily 25:61\"\ngroup = \"sandbox:g\"\ntext = \"t\"\n");
  EXPECT_EQ(rule.status.code, 1) << rule.Describe();
  EXPECT_NE(rule.err.find("rule.toml:5: schedules[0].rule:"), std::string::npos) << rule.Describe();

  RunResult zone = Check(tmp, "zone.toml", "[community]\nslug = \"camp\"\ntime_zone = \"Asia/Atlantis\"\n");
  EXPECT_EQ(zone.status.code, 1) << zone.Describe();
  EXPECT_NE(zone.err.find("zone.toml:3: community.time_zone: unknown time zone"), std::string::npos)
      << zone.Describe();
}

TEST(PlaybookPut, ARefusedPlaybookIsNotStoredAndTheServerStartsAgain) {
  TempDir tmp;
  const std::string data = tmp / "data";
  for (int run = 0; run < 2; ++run) {
    const std::string port_file = tmp / ("port" + std::to_string(run));
    std::string error;
    auto server = Process::Start({kBinary, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                  "--port-file", port_file},
                                 tmp / ("serve" + std::to_string(run)), "", &error);
    ASSERT_TRUE(server.has_value()) << error;
    auto port = WaitForPortFile(port_file, *server, std::chrono::seconds(60));
    ASSERT_TRUE(port.has_value()) << "the server did not start: " << server->Describe() << "\n"
                                  << server->Stderr();
    std::string token;
    std::istringstream(ReadFile(data + "/admin.token")) >> token;
    if (run == 0) {
      HttpRequest put;
      put.method = "PUT";
      put.target = "/api/v1/communities/camp/playbook";
      put.headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/toml"}};
      put.body = "[community]\nslug = \"camp\"\ntime_zone = \"Asia/Atlantis\"\n";
      const HttpResponse r = Send(*port, put);
      EXPECT_EQ(r.status, 400) << r.Describe();
      EXPECT_EQ(r.Json()["error"]["field"], "community.time_zone") << r.body;
    }
    const HttpResponse get = Get(*port, "/api/v1/communities/camp/playbook", token);
    EXPECT_EQ(get.status, 404) << get.Describe();
    const ExitStatus stopped = server->Terminate();
    EXPECT_TRUE(stopped.ok()) << stopped.ToString();
  }
}

// The config file's [platforms.<name>] sections are read by the adapters' factories: a bad value
// stops `serve` with its line and key path.
TEST(ServeConfig, PlatformSectionsAreReadByTheirFactories) {
  TempDir tmp;
  ASSERT_TRUE(WriteFile(tmp / "node.toml",
                        "[storage]\ndata_dir = \"" + tmp / "data" +
                            "\"\n[platforms.sandbox]\ndedupes_sends = \"no\"\n"));
  RunResult r = qzbb::Run({kBinary, "serve", "--config", tmp / "node.toml", "--listen", "127.0.0.1:0"},
                    tmp / "serve");
  EXPECT_EQ(r.status.code, 2) << r.Describe();
  EXPECT_NE(r.err.find("node.toml:4: platforms.sandbox.dedupes_sends: expected a boolean"),
            std::string::npos)
      << r.Describe();
}

}  // namespace
}  // namespace qzbb
