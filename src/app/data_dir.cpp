#include "app/data_dir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace qz {
namespace {

namespace fs = std::filesystem;

// The pid written by the holder, or "" when unreadable (it may not have written it yet).
std::string ReadHolderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return {};
  std::string pid(buf, static_cast<size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return {};
  return pid;
}

}  // namespace

Status EnsureDataDir(const std::string& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return Status::Ok();
  const fs::path path = fs::path(dir).lexically_normal();
  if (path.has_parent_path() && !path.parent_path().empty()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) {
      return Status::Unavailable(
          fmt::format("cannot create data directory {}: {}", dir, ec.message()));
    }
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Unavailable(
        fmt::format("cannot create data directory {}: {}", dir, std::strerror(errno)));
  }
  // mkdir's mode is filtered by the umask, which can only remove bits; a process that raced us
  // to create it decided its mode itself.
  if (!fs::is_directory(dir, ec)) {
    return Status::Unavailable(fmt::format("data directory {} is not a directory", dir));
  }
  return Status::Ok();
}

Result<DataDirLock> DataDirLock::Acquire(const std::string& dir) {
  QZ_RETURN_IF_ERROR(EnsureDataDir(dir));
  const std::string path = (fs::path(dir) / kLockFile).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable(fmt::format("cannot open the lock file {}: {}", path,
                                           std::strerror(errno)));
  }
  DataDirLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) {
      return Status::Unavailable(fmt::format("cannot lock {}: {}", path, std::strerror(err)));
    }
    const std::string pid = ReadHolderPid(fd);
    return Status::Unavailable(fmt::format(
        "data directory {} is in use by another qunzhu process ({}; lock file {}): stop it "
        "first, or give this one another data directory",
        dir, pid.empty() ? std::string("pid unknown") : "pid " + pid, path));
  }
  const std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    // The lock holds without the pid; only the next process's message is poorer.
  }
  return lock;
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  // Closing the last descriptor of the open file releases the flock.
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace qz
