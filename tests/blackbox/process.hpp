// Black-box test support: temporary directories and child processes of the real qunzhu binary.
// Each child's stdout and stderr go to files (in the test's temporary directory) so a failing
// test can print what the process said.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "testing/temp_dir.hpp"

namespace qzbb {

using namespace std::chrono_literals;

using qz::testing::TempDir;

// How a child ended.
struct ExitStatus {
  bool exited = false;  // true: exit(code); false: killed by `signal`
  int code = -1;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  std::string ToString() const;
};

std::string ReadFile(const std::string& path);
bool WriteFile(const std::string& path, const std::string& content);

// One child process. Destroying a Process that still runs SIGKILLs and reaps it.
// Start it from the test's main thread: the child is also killed when the thread that started
// it ends (PR_SET_PDEATHSIG), so a crashed or timed-out test leaves no server behind.
class Process {
 public:
  // Starts `argv` (argv[0] is the executable path) with stdout/stderr redirected to
  // `<log_prefix>.stdout` / `<log_prefix>.stderr` and stdin from `stdin_path` (or /dev/null).
  // Returns nullopt (with the reason in *error) when fork or exec fails.
  static std::optional<Process> Start(const std::vector<std::string>& argv,
                                      const std::string& log_prefix,
                                      const std::string& stdin_path = "",
                                      std::string* error = nullptr);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool running();  // false once it has ended (and been reaped)
  bool Signal(int sig);
  // Waits for the end; nullopt if it is still running after `timeout`.
  std::optional<ExitStatus> Wait(std::chrono::milliseconds timeout);
  // SIGKILL and reap.
  ExitStatus Kill();
  // SIGTERM and wait up to `timeout`; SIGKILLed (and the result says so) if still running.
  ExitStatus Terminate(std::chrono::milliseconds timeout = 30s);
  std::optional<ExitStatus> exit_status() const { return status_; }

  const std::string& stdout_path() const { return stdout_path_; }
  const std::string& stderr_path() const { return stderr_path_; }
  std::string Stdout() const { return ReadFile(stdout_path_); }
  std::string Stderr() const { return ReadFile(stderr_path_); }
  std::string Describe() const;  // the command line and how it ended, for messages

 private:
  Process() = default;
  bool Reap(bool block);

  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::string command_;
  std::string stdout_path_, stderr_path_;
};

// Runs a command to its end (SIGKILLed after `timeout`) and returns its output.
struct RunResult {
  ExitStatus status;
  std::string out, err;
  std::string command;
  bool timed_out = false;
  std::string Describe() const;  // everything, for failure messages
};
RunResult Run(const std::vector<std::string>& argv, const std::string& log_prefix,
              std::chrono::milliseconds timeout = 120s, const std::string& stdin_path = "");

// Waits until `path` holds a complete line with a port number (the server writes it once it is
// listening). Gives up when `process` ends or after `timeout`.
std::optional<uint16_t> WaitForPortFile(const std::string& path, Process& process,
                                        std::chrono::milliseconds timeout);

}  // namespace qzbb
