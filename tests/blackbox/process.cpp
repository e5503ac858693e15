#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace qzbb {

namespace fs = std::filesystem;

std::string ExitStatus::ToString() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal != 0)
    return std::string("killed by signal ") + std::to_string(signal) + " (" + ::strsignal(signal) +
           ")";
  return "not ended";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  return static_cast<bool>(out);
}

std::optional<Process> Process::Start(const std::vector<std::string>& argv,
                                      const std::string& log_prefix, const std::string& stdin_path,
                                      std::string* error) {
  if (argv.empty()) {
    if (error) *error = "empty command";
    return std::nullopt;
  }
  Process p;
  p.stdout_path_ = log_prefix + ".stdout";
  p.stderr_path_ = log_prefix + ".stderr";
  for (const auto& a : argv) {
    if (!p.command_.empty()) p.command_ += ' ';
    p.command_ += a;
  }
  // Everything the child needs is prepared before fork: after fork only async-signal-safe calls.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path;
  const pid_t parent = ::getpid();

  // A pipe with close-on-exec tells the parent whether exec succeeded (EOF) or not (errno).
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    if (error) *error = std::string("pipe2: ") + std::strerror(errno);
    return std::nullopt;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    if (error) *error = std::string("fork: ") + std::strerror(errno);
    ::close(status_pipe[0]);
    ::close(status_pipe[1]);
    return std::nullopt;
  }
  if (pid == 0) {
    ::close(status_pipe[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    // Default signal dispositions and an empty mask (gtest or the runner may have changed them).
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const int in = ::open(in_path.c_str(), O_RDONLY);
    const int out = ::open(p.stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = ::open(p.stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = 0;
    if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
        ::dup2(err, 2) < 0) {
      e = errno;
    } else {
      ::execv(args[0], args.data());
      e = errno;
    }
    [[maybe_unused]] ssize_t n = ::write(status_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  p.pid_ = pid;
  if (n > 0) {
    if (error) *error = "cannot start " + argv[0] + ": " + std::strerror(child_errno);
    p.Reap(true);
    return std::nullopt;
  }
  return p;
}

Process::Process(Process&& other) noexcept { *this = std::move(other); }

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) Kill();
    pid_ = other.pid_;
    status_ = other.status_;
    command_ = std::move(other.command_);
    stdout_path_ = std::move(other.stdout_path_);
    stderr_path_ = std::move(other.stderr_path_);
    other.pid_ = -1;
    other.status_.reset();
  }
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !status_) Kill();
}

bool Process::Reap(bool block) {
  if (status_) return true;
  if (pid_ <= 0) return false;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  ExitStatus s;
  if (r < 0) {  // not our child any more (should not happen): report it as unknown
    s.exited = false;
    s.signal = 0;
  } else if (WIFEXITED(st)) {
    s.exited = true;
    s.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    s.exited = false;
    s.signal = WTERMSIG(st);
  }
  status_ = s;
  return true;
}

bool Process::running() { return pid_ > 0 && !Reap(false); }

bool Process::Signal(int sig) {
  if (pid_ <= 0 || status_) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<ExitStatus> Process::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
  return status_;
}

ExitStatus Process::Kill() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    Reap(true);
  }
  return status_.value_or(ExitStatus{});
}

ExitStatus Process::Terminate(std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  Signal(SIGTERM);
  if (auto s = Wait(timeout)) return *s;
  return Kill();
}

std::string Process::Describe() const {
  return "`" + command_ + "` (pid " + std::to_string(pid_) + ", " +
         (status_ ? status_->ToString() : std::string("running")) + ")";
}

std::string RunResult::Describe() const {
  std::string s = "`" + command + "` ended with " + status.ToString();
  if (timed_out) s += " (timed out, killed)";
  s += "\n--- stdout ---\n" + out + "\n--- stderr ---\n" + err + "\n--------------";
  return s;
}

RunResult Run(const std::vector<std::string>& argv, const std::string& log_prefix,
              std::chrono::milliseconds timeout, const std::string& stdin_path) {
  RunResult r;
  for (const auto& a : argv) {
    if (!r.command.empty()) r.command += ' ';
    r.command += a;
  }
  std::string error;
  auto p = Process::Start(argv, log_prefix, stdin_path, &error);
  if (!p) {
    r.err = error;
    return r;
  }
  if (auto s = p->Wait(timeout)) {
    r.status = *s;
  } else {
    r.timed_out = true;
    r.status = p->Kill();
  }
  r.out = p->Stdout();
  r.err = p->Stderr();
  return r;
}

std::optional<uint16_t> WaitForPortFile(const std::string& path, Process& process,
                                        std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // The server writes "PORT\n"; until the newline is there the write may be partial.
    const std::string text = ReadFile(path);
    if (!text.empty() && text.back() == '\n') {
      char* end = nullptr;
      const long port = std::strtol(text.c_str(), &end, 10);
      if (end != text.c_str() && port > 0 && port <= 65535) return static_cast<uint16_t>(port);
      return std::nullopt;
    }
    if (!process.running()) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace qzbb
