// Helpers for tests that drive backend::Backend directly (the backend-contract half of the
// conformance suite and the driver unit tests): a fixed start time, and filling and
// draining a queue. Time is injected: nothing here reads a clock. Header-only.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"

namespace pgqrs_test {

// A fixed, whole-second start time: every backend stores it exactly, so values read back
// compare equal.
inline const pgqrs::TimePoint kT0 = pgqrs::TimePoint(std::chrono::seconds(1'700'000'000));

inline std::vector<std::int64_t> IdsOf(const std::vector<pgqrs::QueueMessage>& messages) {
  std::vector<std::int64_t> ids;
  ids.reserve(messages.size());
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

// Enqueues payloads "0" .. "n-1" to `queue`, visible at kT0.
inline void Fill(pgqrs::backend::Backend& backend, const std::string& queue, int n) {
  pgqrs::backend::EnqueueParams p;
  p.queue = queue;
  for (int i = 0; i < n; ++i) p.payloads.push_back(std::to_string(i));
  p.visible_at = p.now = kT0;
  backend.enqueue(p);
}

// Drains `queue` with its own consumer `worker_name` (leases of an hour at kT0, so nothing
// is redelivered) and returns the ids it archived. Throws std::runtime_error if an archive
// of a lease it just got does not apply.
inline std::vector<std::int64_t> Drain(pgqrs::backend::Backend& backend, const std::string& queue,
                                       const std::string& worker_name) {
  using namespace std::chrono_literals;
  const auto worker =
      backend.register_worker(worker_name, pgqrs::WorkerKind::kConsumer, queue, "host", 1, kT0).id;
  std::vector<std::int64_t> mine;
  for (;;) {
    pgqrs::backend::DequeueParams p;
    p.queue = queue;
    p.limit = 7;
    p.lease = 1h;  // time does not move: nothing is redelivered
    p.consumer_worker_id = worker;
    p.now = kT0;
    const auto got = backend.dequeue(p);
    if (got.empty()) return mine;
    const auto ids = IdsOf(got);
    const auto applied = backend.archive(ids, worker, kT0);
    if (std::count(applied.begin(), applied.end(), true) != static_cast<long>(ids.size())) {
      throw std::runtime_error("archive of a fresh lease did not apply");
    }
    mine.insert(mine.end(), ids.begin(), ids.end());
  }
}

// The largest size the write-ahead log `wal_path` reached while `writer` filled and drained
// 40 rounds of 1,000 messages on queue "work" (created here), with a reader opened by
// `open_reader` reading the queue's metrics in a loop the whole time (a dashboard, a
// watcher: a reader that never pauses). `reads` gets how many reads it made.
inline std::uintmax_t LargestWalUnderContinuousReads(
    pgqrs::backend::Backend& writer,
    const std::function<std::unique_ptr<pgqrs::backend::Backend>()>& open_reader,
    const std::string& wal_path, long& reads) {
  writer.create_queue("work", kT0);
  std::atomic<bool> stop{false};
  std::atomic<long> count{0};
  std::thread reader([&] {
    auto other = open_reader();
    while (!stop.load()) {
      other->queue_metrics("work", kT0, 5);
      ++count;
    }
  });
  std::uintmax_t largest = 0;
  try {
    for (int round = 0; round < 40; ++round) {
      Fill(writer, "work", 1000);
      if (Drain(writer, "work", "c" + std::to_string(round)).size() != 1000) {
        throw std::runtime_error("a round did not drain its 1,000 messages");
      }
      std::error_code ec;
      largest = std::max(largest, std::filesystem::file_size(wal_path, ec));
    }
  } catch (...) {
    stop = true;
    reader.join();
    throw;
  }
  stop = true;
  reader.join();
  reads = count.load();
  return largest;
}

}  // namespace pgqrs_test
