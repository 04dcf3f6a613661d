// One measurement: the JSONL record of BENCHMARKS.md, latency statistics, process memory and
// the progress line.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "options.h"

namespace pgqrs_bench {

using SteadyClock = std::chrono::steady_clock;

// Latency samples (milliseconds) from many threads. Each thread records into its own
// vector (LatencyRecorder::Local) and merges once at the end, so recording is lock-free.
class Latencies {
 public:
  void merge(std::vector<double>&& samples);
  std::size_t count() const { return samples_.size(); }
  // q in [0, 1]; 0 when empty. Sorts on first use.
  double quantile(double q);
  double mean();

 private:
  std::mutex mu_;
  std::vector<double> samples_;
  bool sorted_ = false;
};

inline double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Resident set size now / at its peak, in KiB (Linux /proc, getrusage).
std::int64_t current_rss_kb();
std::int64_t peak_rss_kb();

// The record every scenario fills; `extra` holds scenario-specific fields.
struct Record {
  std::string scenario, backend;
  std::uint32_t consumers = 0, batch = 0;
  std::uint64_t messages = 0;
  double msgs_per_s = 0, wall_ms = 0;
  double p50_ms = 0, p95_ms = 0, p99_ms = 0, mean_ms = 0;
  std::uint64_t errors = 0;
  nlohmann::json extra = nlohmann::json::object();

  void set_latencies(Latencies& lat);
  nlohmann::json to_json(const Options& o) const;
};

// "git describe"-like revision of the source tree the binary was built from, or "unknown".
std::string git_rev();
std::string host_name();

void write_jsonl(std::ostream& out, const nlohmann::json& record);
void write_table(std::ostream& out, const nlohmann::json& record);

// A progress line on stderr, redrawn every 500 ms from a background thread while the
// scenario runs: "<scenario> <done>/<total> <rate>/s". Disabled with --quiet.
class Progress {
 public:
  Progress(std::string what, std::uint64_t total, bool enabled);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void add(std::uint64_t n) { done_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  void phase(std::string what);

 private:
  void draw(bool final);
  std::mutex mu_;
  std::string what_;
  const std::uint64_t total_;
  const bool enabled_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<bool> stop_{false};
  SteadyClock::time_point start_ = SteadyClock::now();
  std::thread thread_;
};

}  // namespace pgqrs_bench
