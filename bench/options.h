// pgqrs-bench command line: every flag, its default and its validation.
//
// A bad command line is a UsageError (exit status 2) that names the flag and the bad value;
// nothing is measured. Defaults follow ../shared/docs/BENCHMARKS.md (M = 50,000 for drain).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgqrs_bench {

// Thrown for an invalid command line; main() prints it with the usage and exits 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Format { kJsonl, kTable };

struct Options {
  std::string scenario;  // queue.drain | queue.enqueue | queue.latency | workflow.steps |
                         // workflow.recovery | workflow.signal | workflow.fanout
  std::string dsn;
  std::uint32_t consumers = 1;       // consumer / producer / workflow-worker threads
  std::uint32_t batch = 1;           // lease (drain, latency) or enqueue batch size
  std::uint64_t messages = 0;        // 0 = the scenario's default
  double rate = 1000;                // queue.latency: messages per second
  std::uint32_t steps = 5;           // workflow.*: no-op steps per run
  std::uint64_t rss_mark = 10000;    // queue.drain: sample RSS once this many are processed
  std::uint32_t lease_seconds = 30;  // workflow.recovery: 2 unless given
  // queue.drain flow control (issue 14): message n gets concurrency key n % keys (0 = none)
  // and priority n % priorities (0 = all priority 0); the queue gets key_concurrency.
  std::uint32_t keys = 0;
  std::optional<std::uint32_t> key_concurrency;
  std::uint32_t priorities = 0;
  // queue.drain, Postgres: a retention prune of this many archived rows (of another queue)
  // runs while the consumers drain (bench/prune_load.h). 0 = none.
  std::uint64_t prune_archived = 0;
  std::string label;  // free text copied into the record (bench/run uses it for grouping)
  Format format = Format::kJsonl;
  std::optional<std::string> output;  // append JSONL here (stdout gets the chosen format)
  bool quiet = false;                 // no progress line on stderr
  // Internal: run as the workflow worker child of workflow.recovery.
  std::optional<std::string> worker_child_log;  // --worker-child LOG
  std::string worker_workflow;                  // --worker-workflow NAME
};

// The scenario names, in the order `--help` lists them.
const std::vector<std::string>& scenario_names();

// Parses argv[1..]. Returns nullopt for --help (usage already printed to stdout).
std::optional<Options> parse_options(int argc, char** argv);

// The usage text.
std::string usage();

}  // namespace pgqrs_bench
