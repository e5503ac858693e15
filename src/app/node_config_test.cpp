#include "app/node_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace qz {
namespace {

std::function<const char*(const char*)> FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(NodeConfig, EmptyFileGivesTheDefaults) {
  auto config = ParseNodeConfig("", "n.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(config->server.io_threads, 2);
  EXPECT_EQ(config->storage.backend, "sqlite");
  EXPECT_EQ(config->storage.data_dir, "./data");
  EXPECT_EQ(config->storage.sync, SyncMode::kFull);
  EXPECT_TRUE(config->platforms.empty());
}

TEST(NodeConfig, ReadsEverySection) {
  auto config = ParseNodeConfig(
      "[server]\nlisten = \"0.0.0.0:9000\"\nio_threads = 4\nport_file = \"/tmp/p\"\n"
      "playbooks = [\"a.toml\", \"b.toml\"]\nsecure_cookies = true\n"
      "[storage]\nbackend = \"sqlite\"\ndata_dir = \"/var/lib/qunzhu\"\nsync = \"normal\"\n",
      "n.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.listen, "0.0.0.0:9000");
  EXPECT_EQ(config->server.io_threads, 4);
  EXPECT_EQ(config->server.port_file, "/tmp/p");
  EXPECT_EQ(config->server.playbooks, (std::vector<std::string>{"a.toml", "b.toml"}));
  EXPECT_TRUE(config->server.secure_cookies);
  EXPECT_EQ(config->storage.data_dir, "/var/lib/qunzhu");
  EXPECT_EQ(config->storage.sync, SyncMode::kNormal);
}

TEST(NodeConfig, ReportsEveryProblemWithPathAndLine) {
  auto config = ParseNodeConfig(
      "[server]\nlisten = \"nowhere\"\nio_threads = 0\ncolour = \"red\"\n"
      "[storage]\nbackend = \"postgres\"\nsync = \"sometimes\"\n"
      "[extra]\n",
      "n.toml");
  ASSERT_FALSE(config.ok());
  const std::string& m = config.status().message();
  EXPECT_EQ(config.status().field(), "server.listen");
  EXPECT_NE(m.find("n.toml:2: server.listen: 'nowhere' is not HOST:PORT"), std::string::npos) << m;
  EXPECT_NE(m.find("n.toml:3: server.io_threads: 0 is out of range (1 to 64)"), std::string::npos)
      << m;
  EXPECT_NE(m.find("n.toml:4: server.colour: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("n.toml:6: storage.backend: unknown back end 'postgres' (accepted: sqlite)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("n.toml:7: storage.sync: 'sometimes' is not a sync mode (accepted: full, "
                   "normal)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("n.toml:8: extra: unknown key"), std::string::npos) << m;
}

TEST(NodeConfig, PlatformTablesWithoutAReaderAreUnknownPlatforms) {
  auto config = ParseNodeConfig("[platforms.telegram]\ntoken = 1\n[platforms.wecom]\n", "n.toml");
  ASSERT_FALSE(config.ok());
  const std::string& m = config.status().message();
  EXPECT_NE(m.find("n.toml:1: platforms.telegram: unknown platform 'telegram'"), std::string::npos)
      << m;
  EXPECT_NE(m.find("n.toml:3: platforms.wecom: unknown platform 'wecom'"), std::string::npos) << m;
}

TEST(NodeConfig, PlatformTablesGoToTheReaderAndStayAvailable) {
  std::vector<std::string> seen;
  int64_t rate = 0;
  auto reader = [&](std::string_view name, TableReader& section) {
    seen.emplace_back(name);
    section.Int("rate", rate, 1, 100);
  };
  auto config =
      ParseNodeConfig("[platforms.sandbox]\nrate = 5\n[platforms.telegram]\nrate = 7\n", "n.toml",
                      reader);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(seen, (std::vector<std::string>{"sandbox", "telegram"}));
  ASSERT_EQ(config->platforms.size(), 2u);
  EXPECT_EQ(config->platforms[1].name, "telegram");
  EXPECT_EQ(config->platforms[1].table["rate"].value_or(int64_t{0}), 7);
  EXPECT_EQ(config->platforms[1].line, 3u);

  // Keys the reader did not read are unknown, under the platform's path.
  auto bad = ParseNodeConfig("[platforms.sandbox]\nrate = 5\nspeed = 1\n", "n.toml", reader);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "platforms.sandbox.speed");
  EXPECT_NE(bad.status().message().find("n.toml:3: platforms.sandbox.speed: unknown key"),
            std::string::npos);
  // A platform that is not a table.
  auto scalar = ParseNodeConfig("[platforms]\nsandbox = 1\n", "n.toml", reader);
  ASSERT_FALSE(scalar.ok());
  EXPECT_EQ(scalar.status().field(), "platforms.sandbox");
}

TEST(NodeConfig, ExampleFileParses) {
  std::vector<std::string> platforms;
  auto config = LoadNodeConfig(std::string(QZ_SOURCE_DIR) + "/qunzhu.example.toml",
                               [&](std::string_view name, TableReader& section) {
                                 platforms.emplace_back(name);
                                 // Adapters are not wired to the file yet: accept their keys.
                                 for (auto&& [key, node] : section.table()) section.Skip(key.str());
                               });
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
  EXPECT_FALSE(config->server.secure_cookies);
  EXPECT_EQ(config->storage.backend, "sqlite");
  EXPECT_FALSE(platforms.empty());
}

TEST(NodeConfig, MissingFileNamesIt) {
  auto config = LoadNodeConfig("/nonexistent/qunzhu.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("/nonexistent/qunzhu.toml"), std::string::npos);
}

TEST(NodeConfig, EnvironmentValuesAreValidatedNamingTheVariable) {
  auto env = ReadEnvironment(FakeEnv({{"QZ_IO_THREADS", "lots"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().field(), "QZ_IO_THREADS");
  env = ReadEnvironment(FakeEnv({{"QZ_SYNC", "maybe"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().field(), "QZ_SYNC");
  env = ReadEnvironment(FakeEnv({{"QZ_LISTEN", "8080"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().field(), "QZ_LISTEN");
  // Empty counts as unset.
  env = ReadEnvironment(FakeEnv({{"QZ_DATA", ""}}));
  ASSERT_TRUE(env.ok());
  EXPECT_FALSE(env->data_dir.has_value());
}

// Flags override the environment, which overrides the file, which overrides the defaults.
TEST(NodeConfig, PrecedenceFlagsThenEnvironmentThenFileThenDefaults) {
  auto config = ParseNodeConfig(
      "[server]\nlisten = \"10.0.0.1:1\"\nio_threads = 3\n"
      "[storage]\ndata_dir = \"/from/file\"\nsync = \"normal\"\n",
      "n.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto env = ReadEnvironment(
      FakeEnv({{"QZ_LISTEN", "10.0.0.2:2"}, {"QZ_DATA", "/from/env"}, {"QZ_IO_THREADS", "5"}}));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  ConfigOverrides flags;
  flags.listen = "10.0.0.3:3";
  ApplyOverrides(*config, *env);
  ApplyOverrides(*config, flags);
  EXPECT_EQ(config->server.listen, "10.0.0.3:3");        // flag over env over file
  EXPECT_EQ(config->storage.data_dir, "/from/env");      // env over file
  EXPECT_EQ(config->server.io_threads, 5);               // env over file
  EXPECT_EQ(config->storage.sync, SyncMode::kNormal);    // file over default
  EXPECT_EQ(config->storage.backend, "sqlite");          // default
  EXPECT_TRUE(config->server.port_file.empty());         // default
}

TEST(ParseListen, SplitsHostAndPort) {
  auto a = ParseListen("127.0.0.1:0", "f");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  EXPECT_FALSE(ParseListen("host:65536", "f").ok());
  EXPECT_FALSE(ParseListen("host:", "f").ok());
  EXPECT_FALSE(ParseListen(":80", "f").ok());
  EXPECT_EQ(ParseListen("host:x", "--listen").status().field(), "--listen");
}

}  // namespace
}  // namespace qz
