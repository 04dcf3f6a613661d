#include "options.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <limits>

namespace pgqrs_bench {
namespace {

template <class T>
T parse_unsigned(const std::string& flag, const std::string& text, T min, T max) {
  T value{};
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) {
    throw UsageError(flag + ": expected a whole number, got '" + text + "'");
  }
  if (value < min || value > max) {
    throw UsageError(flag + ": " + text + " is out of range [" + std::to_string(min) + ", " +
                     std::to_string(max) + "]");
  }
  return value;
}

double parse_rate(const std::string& flag, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isfinite(value)) {
    throw UsageError(flag + ": expected a number, got '" + text + "'");
  }
  if (value <= 0 || value > 1e6) throw UsageError(flag + ": " + text + " is out of range (0, 1e6]");
  return value;
}

}  // namespace

const std::vector<std::string>& scenario_names() {
  static const std::vector<std::string> names = {
      "queue.drain",       "queue.enqueue",   "queue.latency",  "workflow.steps",
      "workflow.recovery", "workflow.signal", "workflow.fanout"};
  return names;
}

std::string usage() {
  return R"(usage: pgqrs-bench --scenario NAME --dsn DSN [options]

scenarios:
  queue.drain        prefill --messages, then --consumers threads (each its own consumer
                     worker) run dequeue().handle_batch(...).until_empty().poll()
  queue.enqueue      --consumers producer threads enqueue --messages in batches of --batch
  queue.latency      one producer enqueues at --rate msg/s; --consumers poll with a handler;
                     latency = enqueue commit -> handler start
  workflow.steps     --messages runs of a workflow with --steps no-op steps, --consumers workers
  workflow.recovery  a worker process is SIGKILLed mid-run and restarted; counts finished
                     steps executed again (must be 0)
  workflow.signal    --messages runs wait in recv (no lease held); a send to one at a time;
                     latency = send -> its recv returns (the wake-up)
  workflow.fanout    one parent starts --messages children and gathers them; --consumers
                     child workers; counts the parent's executions

options:
  --consumers N      threads (consumers, producers or workflow workers)      [1]
  --batch N          lease batch (drain, latency) or enqueue batch (enqueue)   [1]
  --messages N       messages (queue.*) or runs (workflow.*)   [scenario default]
  --rate R           queue.latency: messages per second                       [1000]
  --steps N          workflow.*: steps per run                                [5]
  --rss-mark N       queue.drain: also sample RSS after N messages            [10000]
  --lease S          lease (visibility timeout) in seconds                    [30]
  --keys K           queue.drain: message n has concurrency key n % K         [none]
  --key-concurrency N  queue.drain: the queue's key_concurrency (needs --keys)   [none]
  --priorities P     queue.drain: message n has priority n % P                [all 0]
  --prune-archived N queue.drain (Postgres): prune N archived rows while draining [none]
  --label TEXT       copied into the record
  --format F         table | jsonl (stdout)                                   [jsonl]
  --output FILE      also append the JSONL record to FILE
  --quiet            no progress line on stderr
  --help
)";
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  std::vector<std::string> args(argv + 1, argv + argc);
  bool seen_scenario = false, seen_dsn = false, seen_lease = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << usage();
      return std::nullopt;
    }
    if (flag == "--quiet") {
      o.quiet = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + flag + "'");
    if (i + 1 >= args.size()) throw UsageError(flag + ": missing value");
    const std::string& value = args[++i];
    if (flag == "--scenario") {
      const auto& names = scenario_names();
      if (std::find(names.begin(), names.end(), value) == names.end()) {
        throw UsageError("--scenario: unknown scenario '" + value +
                         "' (queue.drain, queue.enqueue, queue.latency, workflow.steps, "
                         "workflow.recovery, workflow.signal, workflow.fanout)");
      }
      o.scenario = value;
      seen_scenario = true;
    } else if (flag == "--dsn") {
      if (value.empty()) throw UsageError("--dsn: empty");
      o.dsn = value;
      seen_dsn = true;
    } else if (flag == "--consumers") {
      o.consumers = parse_unsigned<std::uint32_t>(flag, value, 1, 256);
    } else if (flag == "--batch") {
      o.batch = parse_unsigned<std::uint32_t>(flag, value, 1, 10000);
    } else if (flag == "--messages") {
      o.messages = parse_unsigned<std::uint64_t>(flag, value, 1, 100'000'000);
    } else if (flag == "--rate") {
      o.rate = parse_rate(flag, value);
    } else if (flag == "--steps") {
      o.steps = parse_unsigned<std::uint32_t>(flag, value, 1, 1000);
    } else if (flag == "--rss-mark") {
      o.rss_mark = parse_unsigned<std::uint64_t>(flag, value, 1, 100'000'000);
    } else if (flag == "--lease") {
      o.lease_seconds = parse_unsigned<std::uint32_t>(flag, value, 1, 86400);
      seen_lease = true;
    } else if (flag == "--keys") {
      o.keys = parse_unsigned<std::uint32_t>(flag, value, 1, 10'000'000);
    } else if (flag == "--key-concurrency") {
      o.key_concurrency = parse_unsigned<std::uint32_t>(flag, value, 1, 1'000'000);
    } else if (flag == "--prune-archived") {
      o.prune_archived = parse_unsigned<std::uint64_t>(flag, value, 1, 100'000'000);
    } else if (flag == "--priorities") {
      o.priorities = parse_unsigned<std::uint32_t>(flag, value, 1, 1'000'000);
    } else if (flag == "--label") {
      o.label = value;
    } else if (flag == "--format") {
      if (value == "jsonl") {
        o.format = Format::kJsonl;
      } else if (value == "table") {
        o.format = Format::kTable;
      } else {
        throw UsageError("--format: expected table or jsonl, got '" + value + "'");
      }
    } else if (flag == "--output") {
      if (value.empty()) throw UsageError("--output: empty file name");
      o.output = value;
    } else if (flag == "--worker-child") {
      o.worker_child_log = value;
    } else if (flag == "--worker-workflow") {
      o.worker_workflow = value;
    } else {
      throw UsageError("unknown flag '" + flag + "'");
    }
  }
  if (!seen_scenario) throw UsageError("--scenario is required");
  if (!seen_dsn) throw UsageError("--dsn is required");
  if (o.scenario == "workflow.recovery" && !seen_lease) o.lease_seconds = 2;
  if (o.worker_child_log && (o.scenario != "workflow.recovery" || o.worker_workflow.empty())) {
    throw UsageError("--worker-child is internal to workflow.recovery (with --worker-workflow)");
  }
  if (o.messages == 0) {
    if (o.scenario == "queue.drain" || o.scenario == "queue.enqueue") {
      o.messages = 50000;
    } else if (o.scenario == "queue.latency") {
      o.messages = std::max<std::uint64_t>(200, static_cast<std::uint64_t>(o.rate * 5));
    } else if (o.scenario == "workflow.steps") {
      o.messages = 2000;
    } else if (o.scenario == "workflow.signal" || o.scenario == "workflow.fanout") {
      o.messages = 1000;
    } else {
      o.messages = 200;
    }
  }
  if (o.key_concurrency && o.keys == 0) {
    throw UsageError("--key-concurrency: needs --keys (messages without a key are not limited)");
  }
  if ((o.keys > 0 || o.priorities > 0 || o.prune_archived > 0) && o.scenario != "queue.drain") {
    throw UsageError("--keys / --priorities / --prune-archived: only for queue.drain");
  }
  if (o.scenario == "queue.enqueue" && o.batch > 100000) {
    throw UsageError("--batch: too large");
  }
  return o;
}

}  // namespace pgqrs_bench
