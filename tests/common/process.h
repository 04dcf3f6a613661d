// Child processes for tests: spawning a program with extra environment variables, running a
// program with its output captured, running a function in a forked child that reports back
// a string, waiting with a deadline, and killing. Header-only; shared by the unit and integration
// tests.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
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

// What RunCaptured saw: the exit code (-1 unless the program exited), the signal that ended
// it (0: none), everything it wrote, and why the run itself failed (empty: it did not).
struct CapturedRun {
  int exit_code = -1;
  int term_signal = 0;
  std::string out;
  std::string err;
  std::string failure;
};

// Runs argv[0] with exactly `env` as its environment (nothing inherited), in `cwd`, with
// `input` on stdin, and captures its stdout and stderr. A program silent for `silence_limit`
// is killed (failure says so). `input` must fit in a pipe buffer (64 KiB).
inline CapturedRun RunCaptured(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env,
                               const std::filesystem::path& cwd, const std::string& input = "",
                               std::chrono::milliseconds silence_limit = std::chrono::minutes(1)) {
  CapturedRun result;
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0) {
    result.failure = "pipe failed";
    return result;
  }
  std::vector<std::string> argv_storage(argv);
  std::vector<char*> argv_ptrs;
  for (auto& a : argv_storage) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  std::vector<std::string> env_storage(env);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.failure = "fork failed";
    return result;
  }
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      ::close(fd);
    }
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv_ptrs[0], argv_ptrs.data(), envp.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  // Small inputs fit in the pipe buffer, so writing before reading cannot deadlock.
  if (!input.empty() && ::write(in_pipe[1], input.data(), input.size()) < 0) {
    result.failure = "write to the child's stdin failed";
  }
  ::close(in_pipe[1]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    if (::poll(fds, 2, static_cast<int>(silence_limit.count())) <= 0) {
      if (errno == EINTR) continue;
      result.failure =
          "the child produced no output for " + std::to_string(silence_limit.count()) + " ms";
      ::kill(pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
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
