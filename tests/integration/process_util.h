// Helpers for integration tests that run worker processes (pgqrs_queue_worker,
// pgqrs_workflow_worker): a scratch dir,
// spawning with extra environment variables, waiting with a deadline, reading the
// numbers a consumer logged. Header-only; each test binary includes it once.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace pgqrs_test {

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "pgqrs-it") {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Starts args[0] with this process's environment plus `extra_env` ("NAME=value");
// stderr goes to `stderr_file` when given. Returns the pid, or -1.
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

// Exit code of `pid`, waiting at most `limit` (then SIGKILL, -1). -2: killed by a signal.
inline int WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
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
        ::kill(p, SIGKILL);
        int status = 0;
        ::waitpid(p, &status, 0);
        result[p] = -1;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return result;
}

inline std::vector<long> ReadNumbers(const std::filesystem::path& file) {
  std::vector<long> out;
  std::ifstream in(file);
  long n = 0;
  while (in >> n) out.push_back(n);
  return out;
}

inline std::string ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace pgqrs_test
