// Helpers for the S3 backend tests: they run against the S3-compatible test server started
// by scripts/s3-test-server (moto on 127.0.0.1), and are skipped with that reason when
// PGQRS_TEST_S3_BUCKET is not set. Header-only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/expect_throw.h"

#include "backend/s3/s3_client.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"
#include "pgqrs/s3.h"

namespace pgqrs_test {

#define PGQRS_SKIP_UNLESS_S3()                                                         \
  do {                                                                                 \
    if (std::getenv("PGQRS_TEST_S3_BUCKET") == nullptr) {                              \
      GTEST_SKIP() << "PGQRS_TEST_S3_BUCKET is not set: these tests need the S3 test " \
                      "server (scripts/s3-test-server run ...)";                       \
    }                                                                                  \
  } while (0)

// True if `text` contains any of `needles` (case-sensitive).
inline bool ContainsAny(const std::string& text, const std::vector<std::string>& needles) {
  for (const auto& n : needles) {
    if (text.find(n) != std::string::npos) return true;
  }
  return false;
}

inline std::string S3Bucket() { return std::getenv("PGQRS_TEST_S3_BUCKET"); }

inline std::string UniqueKey(const std::string& prefix) {
  std::random_device rd;
  return "tests/" + prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()) +
         ".sqlite";
}

inline pgqrs::Config S3Config(const std::string& key, const std::filesystem::path& cache_dir,
                              pgqrs::DurabilityMode mode = pgqrs::DurabilityMode::kDurable) {
  pgqrs::Config c = pgqrs::Config::from_dsn("s3://" + S3Bucket() + "/" + key);
  c.s3.mode = mode;
  c.s3.cache_dir = cache_dir.string();
  c.poll_interval_ms = 10;
  return c;
}

// The backend's own client, straight to the test server (no proxy).
inline pgqrs::s3::S3Client DirectClient() {
  return pgqrs::s3::S3Client(pgqrs::s3::S3Settings::from_environment(S3Bucket()));
}

// Sets an environment variable for the lifetime of the object (connect reads AWS_*).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// scripts/s3_fault_proxy.py in front of the test server, for the object's lifetime.
class FaultProxy {
 public:
  explicit FaultProxy(const std::vector<std::string>& fault_args) {
    out_ = dir_.path() / "proxy.out";
    std::vector<std::string> args = {"/bin/sh", "-c", ""};
    std::string cmd = "exec python3 '" PGQRS_SOURCE_DIR "/scripts/s3_fault_proxy.py' --upstream '" +
                      std::string(std::getenv("AWS_ENDPOINT_URL")) + "'";
    for (const auto& a : fault_args) cmd += " '" + a + "'";
    cmd += " > '" + out_.string() + "'";
    args[2] = cmd;
    pid_ = Spawn(args, {}, (dir_.path() / "proxy.err").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(out_);
      std::string word;
      int port = 0;
      if (in >> word >> port && word == "PORT" && port > 0) {
        url_ = "http://127.0.0.1:" + std::to_string(port);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "the fault proxy did not start";
  }
  ~FaultProxy() {
    if (pid_ > 0) KillAndReap(pid_);
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  const std::string& url() const { return url_; }
  // The faults it injected (one line each).
  std::string log() const {
    std::ifstream in(dir_.path() / "proxy.err");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  ScratchDir dir_{"pgqrs-proxy"};
  std::filesystem::path out_;
  pid_t pid_ = -1;
  std::string url_;
};

// Every message row of `queue` (archived included), read through a fresh durable store on
// its own cache, straight from the server.
inline std::vector<pgqrs::QueueMessage> RemoteMessages(const std::string& key,
                                                       const std::string& queue) {
  ScratchDir dir("pgqrs-s3-verify");
  pgqrs::Store s = pgqrs::connect_with_config(S3Config(key, dir.path()));
  return pgqrs::admin(s).list_messages(queue, 100000, /*include_archived=*/true);
}

}  // namespace pgqrs_test
