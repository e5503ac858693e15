#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace qz {
namespace {

namespace fs = std::filesystem;

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("qz-data-dir-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static mode_t Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 07777;
  }

  fs::path root_;
};

TEST_F(DataDirTest, NewDirectoryIsPrivateToItsOwner) {
  const fs::path dir = root_ / "a" / "b" / "data";
  ASSERT_TRUE(EnsureDataDir(dir.string()).ok());
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(Mode(dir), 0700u);
}

TEST_F(DataDirTest, ExistingDirectoryKeepsItsMode) {
  const fs::path dir = root_ / "data";
  fs::create_directory(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  ASSERT_TRUE(EnsureDataDir(dir.string()).ok());
  EXPECT_EQ(Mode(dir), 0755u);
}

TEST_F(DataDirTest, AFileInTheWayIsAnError) {
  const fs::path file = root_ / "data";
  std::ofstream(file) << "x";
  EXPECT_FALSE(EnsureDataDir(file.string()).ok());
}

TEST_F(DataDirTest, SecondLockIsRefusedNamingTheDirectoryAndThePid) {
  const std::string dir = (root_ / "data").string();
  auto first = DataDirLock::Acquire(dir);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(Mode(root_ / "data"), 0700u);
  std::ifstream pid_file(root_ / "data" / kLockFile);
  std::string pid;
  std::getline(pid_file, pid);
  EXPECT_EQ(pid, std::to_string(getpid()));

  auto second = DataDirLock::Acquire(dir);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_NE(second.status().message().find("data directory " + dir +
                                           " is in use by another qunzhu process (pid " + pid +
                                           ";"),
            std::string::npos)
      << second.status().message();
}

TEST_F(DataDirTest, LockIsReleasedWithItsOwner) {
  const std::string dir = (root_ / "data").string();
  {
    auto first = DataDirLock::Acquire(dir);
    ASSERT_TRUE(first.ok());
    DataDirLock moved = std::move(*first);  // the moved-from lock releases nothing
    EXPECT_FALSE(DataDirLock::Acquire(dir).ok());
  }
  EXPECT_TRUE(DataDirLock::Acquire(dir).ok());
}

}  // namespace
}  // namespace qz
