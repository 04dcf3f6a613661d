// Child processes for tests: spawning a program with extra environment variables, running a
// function in a forked child that reports back a string, waiting with a deadline, and
// killing. Header-only; shared by the unit and integration tests.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace pgqrs_test {

// Starts args[0] with this process's environment plus `extra_env` ("NAME=value");
// stdout / stderr are appended to `stdout_file` / `stderr_file` when given (one file when
// they are equal). Returns the pid, or -1.
inline pid_t Spawn(const std::vector<std::string>& args,
                   const std::vector<std::string>& extra_env = {},
                   const std::string& stderr_file = "", const std::string& stdout_file = "") {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings(extra_env);
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  constexpr int kAppend = O_WRONLY | O_CREAT | O_APPEND;
  if (!stdout_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, stdout_file.c_str(), kAppend, 0644);
  }
  if (!stderr_file.empty() && stderr_file == stdout_file) {
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  } else if (!stderr_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, 2, stderr_file.c_str(), kAppend, 0644);
  }
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Starts `args` with stdout and stderr both appended to `output`. Returns the pid, or -1.
inline pid_t SpawnLogged(const std::vector<std::string>& args,
                         const std::filesystem::path& output) {
  return Spawn(args, {}, output.string(), output.string());
}

// SIGKILLs `pid` and reaps it; returns its wait status.
inline int KillAndReap(pid_t pid) {
  int status = 0;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

// Exit code of `pid`, waiting at most `limit` (then SIGKILL, -1). -2: killed by a signal.
inline int WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      KillAndReap(pid);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Waits for every pid until `deadline`; kills the remaining ones after it. Returns the
// exit status per pid (-1 killed / abnormal).
inline std::map<pid_t, int> WaitAll(const std::vector<pid_t>& pids,
                                    std::chrono::steady_clock::time_point deadline) {
  std::map<pid_t, int> result;
  std::set<pid_t> running(pids.begin(), pids.end());
  while (!running.empty()) {
    for (auto it = running.begin(); it != running.end();) {
      int status = 0;
      if (::waitpid(*it, &status, WNOHANG) == *it) {
        result[*it] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        it = running.erase(it);
      } else {
        ++it;
      }
    }
    if (running.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (pid_t p : running) {
        KillAndReap(p);
        result[p] = -1;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

// What a forked child reported: its exit code (-1: it did not exit normally) and the
// string its function returned.
struct ChildResult {
  int exit_code = -1;
  std::string output;
};

// A function run in a forked child of this process. The child runs `fn`, writes the string
// it returns to a pipe and _exit()s: 0 on success, 1 when `fn` threw (the output is then
// the exception's message), 2 when the write failed. Children run concurrently; wait()
// collects one. The child has a copy of the parent's memory but none of its other threads,
// so `fn` must not depend on them, nor on handles a fork breaks (an open Turso database).
class ForkedChild {
 public:
  explicit ForkedChild(const std::function<std::string()>& fn) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return;
    }
    if (pid_ == 0) {
      ::close(fds[0]);
      int code = 0;
      std::string out;
      try {
        out = fn();
      } catch (const std::exception& e) {
        out = e.what();
        code = 1;
      } catch (...) {
        out = "unknown exception";
        code = 1;
      }
      const ssize_t written = ::write(fds[1], out.data(), out.size());
      ::_exit(written == static_cast<ssize_t>(out.size()) ? code : 2);
    }
    ::close(fds[1]);
    read_fd_ = fds[0];
  }
  ~ForkedChild() {
    if (read_fd_ >= 0) ::close(read_fd_);
    if (pid_ > 0) KillAndReap(pid_);
  }
  ForkedChild(const ForkedChild&) = delete;
  ForkedChild& operator=(const ForkedChild&) = delete;

  bool started() const { return pid_ > 0; }

  // Reads the child's output to its end and reaps it. Call once.
  ChildResult wait() {
    ChildResult result;
    if (pid_ <= 0) {
      result.output = "fork failed";
      return result;
    }
    char buf[4096];
    for (ssize_t n; (n = ::read(read_fd_, buf, sizeof buf)) > 0;)
      result.output.append(buf, buf + n);
    ::close(read_fd_);
    read_fd_ = -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    return result;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
};

// Runs `fn` in a forked child and waits for it (see ForkedChild).
inline ChildResult RunForked(const std::function<std::string()>& fn) {
  return ForkedChild(fn).wait();
}

}  // namespace pgqrs_test
