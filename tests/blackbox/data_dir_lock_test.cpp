// Black-box tests of the data directory: one qunzhu process at a time writes it (DIR/qunzhu.lock),
// a new one is created private to its owner, and `serve --config` reads its settings from a file.
// Each test starts the real binary (QZ_BINARY) in a fresh temporary directory.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "process.hpp"

#ifndef QZ_BINARY
#error "QZ_BINARY must be defined as the path of the qunzhu binary"
#endif

namespace qzbb {
namespace {

const std::string kBinary = QZ_BINARY;
constexpr auto kStartTimeout = 60s;

const char* kEvent =
    R"({"id":"e1","type":"message","time":"2026-03-01T08:00:00+08:00","platform":"sandbox",)"
    R"("group":"g1","member":"u1","text":"hi"})"
    "\n";

class DataDirLockTest : public ::testing::Test {
 protected:
  std::string data() const { return tmp_ / "data"; }

  // Starts `serve` on a free port and waits until it listens.
  Process StartServe(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kBinary, "serve", "--listen", "127.0.0.1:0", "--port-file",
                                     tmp_ / "port"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string error;
    auto p = Process::Start(argv, tmp_ / "serve", "", &error);
    EXPECT_TRUE(p.has_value()) << error;
    auto port = WaitForPortFile(tmp_ / "port", *p, kStartTimeout);
    EXPECT_TRUE(port.has_value()) << p->Describe() << "\n" << p->Stderr();
    return std::move(*p);
  }

  static mode_t Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  TempDir tmp_{"qz-lock"};
};

TEST_F(DataDirLockTest, SecondWriterIsRefusedNamingTheDirectoryAndThePid) {
  Process serve = StartServe({"--data", data()});
  const std::string held = "data directory " + data() +
                           " is in use by another qunzhu process (pid " +
                           std::to_string(serve.pid()) + ";";

  RunResult second = qzbb::Run({kBinary, "serve", "--data", data(), "--listen", "127.0.0.1:0"},
                         tmp_ / "second-serve", 30s);
  EXPECT_FALSE(second.timed_out) << second.Describe();
  EXPECT_TRUE(second.status.exited) << second.Describe();
  EXPECT_NE(second.status.code, 0) << second.Describe();
  EXPECT_NE(second.err.find(held), std::string::npos) << second.Describe();

  ASSERT_TRUE(WriteFile(tmp_ / "events.ndjson", kEvent));
  RunResult ingest = qzbb::Run({kBinary, "ingest", "--data", data(), tmp_ / "events.ndjson"},
                         tmp_ / "ingest");
  EXPECT_TRUE(ingest.status.exited) << ingest.Describe();
  EXPECT_NE(ingest.status.code, 0) << ingest.Describe();
  EXPECT_NE(ingest.err.find(held), std::string::npos) << ingest.Describe();

  // Adding a token to the running server is allowed (one row, SQLite's own locking).
  RunResult token = qzbb::Run({kBinary, "token", "create", "--data", data()}, tmp_ / "token");
  EXPECT_TRUE(token.status.ok()) << token.Describe();

  // The server was not disturbed, and once it stops the directory is free again.
  EXPECT_TRUE(serve.running()) << serve.Describe() << "\n" << serve.Stderr();
  EXPECT_TRUE(serve.Terminate().ok()) << serve.Describe() << "\n" << serve.Stderr();
  RunResult after = qzbb::Run({kBinary, "ingest", "--data", data(), tmp_ / "events.ndjson"},
                        tmp_ / "ingest-after");
  EXPECT_TRUE(after.status.ok()) << after.Describe();
  EXPECT_NE(after.out.find("ingested 1 events"), std::string::npos) << after.Describe();
}

TEST_F(DataDirLockTest, NewDataDirectoryIsPrivateExistingOneKeepsItsMode) {
  RunResult init = qzbb::Run({kBinary, "init", "--data", data()}, tmp_ / "init");
  ASSERT_TRUE(init.status.ok()) << init.Describe();
  EXPECT_EQ(Mode(data()), 0700u);

  const std::string shared = tmp_ / "shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 0755), 0);
  RunResult init_shared = qzbb::Run({kBinary, "init", "--data", shared}, tmp_ / "init-shared");
  ASSERT_TRUE(init_shared.status.ok()) << init_shared.Describe();
  EXPECT_EQ(Mode(shared), 0755u);
}

TEST_F(DataDirLockTest, ServeReadsTheConfigFileAndFlagsOverrideIt) {
  // The file names the data directory and a port file; the flags (StartServe) override the
  // listen address the file gives, which is not bindable.
  ASSERT_TRUE(WriteFile(tmp_ / "qunzhu.toml",
                        "[server]\nlisten = \"192.0.2.1:1\"\nio_threads = 1\n"
                        "[storage]\nbackend = \"sqlite\"\ndata_dir = \"" + data() +
                            "\"\nsync = \"normal\"\n"));
  Process serve = StartServe({"--config", tmp_ / "qunzhu.toml"});
  EXPECT_EQ(ReadFile(data() + "/qunzhu.lock"), std::to_string(serve.pid()) + "\n");
  EXPECT_EQ(Mode(data()), 0700u);
  EXPECT_TRUE(serve.Terminate().ok()) << serve.Stderr();
}

TEST_F(DataDirLockTest, ConfigProblemsAreAllReportedWithKeyPathAndLine) {
  ASSERT_TRUE(WriteFile(tmp_ / "bad.toml",
                        "[storage]\nbackend = \"postgres\"\n[server]\nspeed = 3\n"
                        "[platforms.nowhere]\n"));
  RunResult r = qzbb::Run({kBinary, "serve", "--config", tmp_ / "bad.toml"}, tmp_ / "bad");
  EXPECT_EQ(r.status.code, 2) << r.Describe();
  EXPECT_NE(r.err.find(":2: storage.backend: unknown back end 'postgres' (accepted: sqlite)"),
            std::string::npos)
      << r.Describe();
  EXPECT_NE(r.err.find(":4: server.speed: unknown key"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find(":5: platforms.nowhere: unknown platform 'nowhere'"), std::string::npos)
      << r.Describe();
}

}  // namespace
}  // namespace qzbb
