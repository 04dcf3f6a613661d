// queue.drain --prune-archived N: a retention prune of N archived messages running while the
// consumers drain (issue 14: "pruning a million archived rows must not stall consumers").
//
// The N archived rows live in their own queue (so the drained queue's counts stay exact),
// seeded by one INSERT … SELECT on Postgres (enqueueing and draining a million messages
// first would take longer than the measurement). start() runs pgqrs::prune on that queue in
// a background thread; finish() joins it. The drain rate while the prune ran is what the
// record reports beside the overall rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "pgqrs/pgqrs.h"
#include "report.h"

namespace pgqrs_bench {

class ConcurrentPrune {
 public:
  // Seeds `rows` archived messages (archived an hour ago) in a fresh queue of `store`.
  // UsageError unless the store is Postgres.
  ConcurrentPrune(const pgqrs::Store& store, std::uint64_t rows, Progress& progress);
  ~ConcurrentPrune();
  ConcurrentPrune(const ConcurrentPrune&) = delete;
  ConcurrentPrune& operator=(const ConcurrentPrune&) = delete;

  // Starts the prune; `processed()` is read when it ends (the drain's count so far).
  void start(std::function<std::uint64_t()> processed);
  // Waits for the prune and adds its figures to `extra`: prune_rows, prune_deleted,
  // prune_ms, prune_checkpointed, processed_during_prune, msgs_per_s_during_prune (null if the
  // drain ended first: then the drain ran entirely under the prune and msgs_per_s is that rate).
  void finish(nlohmann::json& extra, SteadyClock::time_point drain_start,
              SteadyClock::time_point drain_end);

 private:
  const pgqrs::Store& store_;
  std::string queue_;
  std::uint64_t rows_;
  std::thread thread_;
  bool checkpointed_ = false;  // the seed's WAL was flushed before the drain
  std::uint64_t deleted_ = 0;
  std::uint64_t processed_at_end_ = 0;
  SteadyClock::time_point end_;
  std::string error_;
};

}  // namespace pgqrs_bench
