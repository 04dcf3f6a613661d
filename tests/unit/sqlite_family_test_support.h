// Shared helpers of the SQLite-family backend unit tests (sqlite_family_*_test.cc): a
// scratch directory, backends opened through make_sqlite_backend() with a hand-filled Dsn,
// a raw driver connection for tampering/holding locks, and the fixture that runs each
// behaviour test on a file database and on ":memory:". Time is always injected.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/sqlite/sqlite_backend.h"
#include "backend/sqlite/sqlite_driver.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace pgqrs_sqlite_test {

using namespace std::chrono_literals;
using pgqrs::QueueMessage;
using pgqrs::TimePoint;
using pgqrs::WorkerKind;
using pgqrs::WorkerStatus;
using pgqrs::backend::Backend;
using pgqrs::backend::DequeueParams;
using pgqrs::backend::EnqueueParams;

// A fixed, microsecond-aligned start time: values read back compare equal.
inline const TimePoint kT0 = TimePoint(std::chrono::seconds(1'700'000'000));

class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("pgqrs-sqlite-unit-" + std::to_string(rd()) + std::to_string(rd()));
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

inline pgqrs::backend::Dsn sqlite_dsn(const std::string& path) {
  return path == ":memory:" ? pgqrs::backend::Dsn() : pgqrs::backend::Dsn::sqlite_file(path);
}

inline pgqrs::Config test_config() {
  pgqrs::Config config;
  config.max_connections = 4;
  config.connection_timeout_seconds = 10;
  return config;
}

inline std::unique_ptr<Backend> open_backend(const std::string& path,
                                             const pgqrs::Config& config = test_config()) {
  return pgqrs::backend::make_sqlite_backend(config, sqlite_dsn(path));
}

// A raw libsqlite3 connection to `path`, outside the backend (to tamper or hold locks).
inline std::unique_ptr<pgqrs::sqlite_family::Connection> raw_connection(const std::string& path) {
  pgqrs::sqlite::SqliteOptions options;
  options.path = path;
  options.busy_timeout = 2s;
  return pgqrs::sqlite::SqliteDriver(options).open();
}

inline std::vector<std::int64_t> ids_of(const std::vector<QueueMessage>& messages) {
  std::vector<std::int64_t> ids;
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

// Drains `queue` with its own consumer; returns the ids it archived.
inline std::vector<std::int64_t> drain(Backend& backend, const std::string& queue,
                                       const std::string& worker_name) {
  const auto worker =
      backend.register_worker(worker_name, WorkerKind::kConsumer, queue, "host", 1, kT0).id;
  std::vector<std::int64_t> mine;
  for (;;) {
    DequeueParams p;
    p.queue = queue;
    p.limit = 7;
    p.lease = 1h;  // time does not move: nothing is redelivered
    p.consumer_worker_id = worker;
    p.now = kT0;
    const auto got = backend.dequeue(p);
    if (got.empty()) return mine;
    const auto ids = ids_of(got);
    const auto applied = backend.archive(ids, worker, kT0);
    if (std::count(applied.begin(), applied.end(), true) != static_cast<long>(ids.size())) {
      throw std::runtime_error("archive of a fresh lease did not apply");
    }
    mine.insert(mine.end(), ids.begin(), ids.end());
  }
}

inline void fill(Backend& backend, const std::string& queue, int n) {
  EnqueueParams p;
  p.queue = queue;
  for (int i = 0; i < n; ++i) p.payloads.push_back(std::to_string(i));
  p.visible_at = p.now = kT0;
  backend.enqueue(p);
}

// Every behaviour test runs on a file database and on ":memory:" (the parameter). Derive a
// fixture per test file and instantiate it with PGQRS_SQLITE_STORAGE_TESTS(Fixture).

class SqliteBackendTest : public ::testing::TestWithParam<bool /*in_memory*/> {
 protected:
  void SetUp() override {
    path_ = GetParam() ? ":memory:" : (dir_.path() / "queue.db").string();
    backend_ = open_backend(path_);
    backend_->install();
  }

  Backend& be() { return *backend_; }

  std::int64_t make_queue(const std::string& name) { return be().create_queue(name, kT0).id; }

  std::int64_t make_worker(const std::string& name, const std::string& queue,
                           WorkerKind kind = WorkerKind::kConsumer, TimePoint now = kT0) {
    return be().register_worker(name, kind, queue, "test-host", 4242, now).id;
  }

  std::vector<std::int64_t> enqueue(const std::string& queue, int n, TimePoint visible_at = kT0,
                                    TimePoint now = kT0) {
    EnqueueParams p;
    p.queue = queue;
    for (int i = 0; i < n; ++i) p.payloads.push_back(R"({"n":)" + std::to_string(i) + "}");
    p.visible_at = visible_at;
    p.now = now;
    return be().enqueue(p);
  }

  std::vector<QueueMessage> dequeue(const std::string& queue, std::uint32_t limit,
                                    std::int64_t worker, TimePoint now = kT0,
                                    pgqrs::Duration lease = 30s, std::int32_t max_read_ct = 5) {
    DequeueParams p;
    p.queue = queue;
    p.limit = limit;
    p.lease = lease;
    p.consumer_worker_id = worker;
    p.now = now;
    p.max_read_ct = max_read_ct;
    return be().dequeue(p);
  }

  ScratchDir dir_;
  std::string path_;
  std::unique_ptr<Backend> backend_;
};

}  // namespace pgqrs_sqlite_test

#define PGQRS_SQLITE_STORAGE_TESTS(Fixture)                                            \
  INSTANTIATE_TEST_SUITE_P(Storage, Fixture, ::testing::Values(false, true),           \
                           [](const ::testing::TestParamInfo<bool>& param_info) {      \
                             return std::string(param_info.param ? "memory" : "file"); \
                           })
