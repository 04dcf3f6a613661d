// pgqrs_queue_worker: a small producer / consumer process for the multi-process tests.
//
//   pgqrs_queue_worker produce DSN QUEUE COUNT [options]
//       Enqueues {"n": i} for i in [0, COUNT) as a named producer, in batches.
//   pgqrs_queue_worker consume DSN QUEUE OUTFILE [EXPECTED] [options]
//       Handles messages with dequeue().worker(consumer).handle(...).poll(store), appending
//       each processed payload's "n" to OUTFILE (one per line). Without EXPECTED it stops
//       once the queue is empty; with EXPECTED it keeps polling until the queue has
//       EXPECTED archived messages and nothing pending, delayed or leased (so a consumer
//       started before the producer does not give up early).
//
// Options (anywhere after the command):
//   --batch N         produce: messages per batch_enqueue (default 100);
//                     consume: messages per lease (default 10)
//   --pause-ms N      produce: sleep N ms after each batch (default 0)
//   --lease S         consume: visibility timeout in seconds (default: config)
//   --resilient       keep going through connection failures (fault-injection tests):
//                     produce retries a failed batch; when the failure said the outcome is
//                     unknown, the batch's first n is appended to --unknown-log first (the
//                     batch may then exist twice). consume re-creates its consumer and polls
//                     again; messages whose archive was lost come back after their lease.
//                     Each failure is reported on stderr ("resilient: ...").
//   --unknown-log F   see --resilient
//   --hold-ms N       consume: the handler takes N ms (real time) per message, so that
//                     leases overlap (flow-control tests)
//   --concurrency-keys K  produce: message n gets concurrency key "k<n % K>"
//   --dedup-keys K    produce: message n gets dedup key "d<n % K>", enqueued one at a time
// The schema comes from the environment (PGQRS_SCHEMA), like every other setting.
//
// Exit codes: 0 success, 1 a pgqrs error escaped, 2 usage, 3 other error, 4 timed out.
// The schema and the queue must exist (the test creates them).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pgqrs/pgqrs.h"

namespace {

using namespace std::chrono_literals;

constexpr auto kOverallTimeout = std::chrono::minutes(4);

struct Options {
  std::optional<long> batch;
  long pause_ms = 0;
  std::optional<long> lease_s;
  bool resilient = false;
  std::string unknown_log;
  long hold_ms = 0;
  long concurrency_keys = 0;
  long dedup_keys = 0;
};

// The flow fields of message n (--concurrency-keys, --dedup-keys).
pgqrs::MessageOptions FlowOf(long n, const Options& opt) {
  pgqrs::MessageOptions o;
  if (opt.concurrency_keys > 0) o.concurrency_key = "k" + std::to_string(n % opt.concurrency_keys);
  if (opt.dedup_keys > 0) o.dedup_key = "d" + std::to_string(n % opt.dedup_keys);
  return o;
}

pgqrs::Store Open(const std::string& dsn) {
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = dsn;
  config.poll_interval_ms = 20;
  return pgqrs::connect_with_config(config);
}

// True for the failures a resilient worker rides out: the database went away or the
// worker's own bookkeeping was cut short by that (a status change that never happened).
bool Transient(const pgqrs::Error& e) {
  return e.code() == pgqrs::ErrorCode::kConnection || e.code() == pgqrs::ErrorCode::kTimeout ||
         e.code() == pgqrs::ErrorCode::kStateTransition;
}

int Produce(const std::string& dsn, const std::string& queue, long count, const Options& opt) {
  const auto deadline = std::chrono::steady_clock::now() + kOverallTimeout;
  pgqrs::Store store = Open(dsn);
  auto producer = pgqrs::producer("mp-producer-" + std::to_string(::getpid()), queue).create(store);
  const long batch_size = opt.dedup_keys > 0 ? 1 : opt.batch.value_or(100);
  for (long start = 0; start < count; start += batch_size) {
    std::vector<pgqrs::json> batch;
    for (long n = start; n < std::min(count, start + batch_size); ++n) {
      batch.push_back(pgqrs::json{{"n", n}});
    }
    for (;;) {
      try {
        std::vector<std::int64_t> ids;
        if (opt.concurrency_keys > 0 || opt.dedup_keys > 0) {
          auto b = pgqrs::enqueue().worker(producer);
          for (long i = 0; i < static_cast<long>(batch.size()); ++i) {
            b.message(batch[static_cast<std::size_t>(i)], FlowOf(start + i, opt));
          }
          ids = b.execute(store);
        } else {
          ids = producer.batch_enqueue(batch);
        }
        if (ids.size() != batch.size()) {
          std::cerr << "produce: batch_enqueue returned " << ids.size() << " ids for "
                    << batch.size() << " payloads\n";
          return 3;
        }
        break;
      } catch (const pgqrs::ConnectionError& e) {
        if (!opt.resilient) throw;
        std::cerr << "resilient: produce batch " << start << " failed"
                  << (e.outcome_unknown() ? " (outcome unknown)" : "") << ": " << e.what() << "\n";
        if (e.outcome_unknown() && !opt.unknown_log.empty()) {
          std::ofstream(opt.unknown_log, std::ios::app) << start << ' ' << batch.size() << '\n';
        }
      } catch (const pgqrs::TimeoutError& e) {
        if (!opt.resilient) throw;
        std::cerr << "resilient: produce batch " << start << " timed out: " << e.what() << "\n";
      }
      if (std::chrono::steady_clock::now() > deadline) return 4;
      std::this_thread::sleep_for(100ms);
    }
    if (opt.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opt.pause_ms));
  }
  try {
    producer.suspend();
    producer.shutdown();
  } catch (const pgqrs::Error& e) {
    if (!opt.resilient) throw;
    std::cerr << "resilient: producer shutdown failed: " << e.what() << "\n";
  }
  return 0;
}

int Consume(const std::string& dsn, const std::string& queue, const std::string& outfile,
            std::optional<std::uint64_t> expected, const Options& opt) {
  pgqrs::Store store = Open(dsn);
  std::ofstream out(outfile, std::ios::app);
  if (!out) {
    std::cerr << "consume: cannot open " << outfile << "\n";
    return 3;
  }
  const auto deadline = std::chrono::steady_clock::now() + kOverallTimeout;
  int generation = 0;
  std::optional<pgqrs::Consumer> consumer;
  for (;;) {
    try {
      if (!consumer) {
        consumer = pgqrs::consumer("mp-consumer-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(generation++),
                                   queue)
                       .create(store);
      }
      auto builder = pgqrs::dequeue()
                         .worker(*consumer)
                         .batch(static_cast<std::uint32_t>(opt.batch.value_or(10)))
                         .until_empty();
      if (opt.lease_s) builder.with_vt(std::chrono::seconds(*opt.lease_s));
      auto handler = builder.handle([&](const pgqrs::QueueMessage& m) {
        if (opt.hold_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opt.hold_ms));
        out << m.payload.at("n").get<long>() << '\n';
        out.flush();
      });
      pgqrs::PollStats stats = handler.poll(store);
      if (stats.stop != pgqrs::PollStop::kEmpty) {
        std::cerr << "consume: poll stopped unexpectedly: " << pgqrs::to_string(stats.stop) << "\n";
        return 3;
      }
      if (!expected) break;
      pgqrs::QueueMetrics m = pgqrs::admin(store).queue_metrics(queue);
      if (m.archived >= *expected && m.pending + m.leased + m.delayed == 0) break;
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "consume: timed out; archived " << m.archived << " of " << *expected
                  << ", pending " << m.pending << ", leased " << m.leased << ", delayed "
                  << m.delayed << "\n";
        return 4;
      }
    } catch (const pgqrs::Error& e) {
      if (!opt.resilient || !Transient(e)) throw;
      std::cerr << "resilient: consume: " << pgqrs::to_string(e.code()) << ": " << e.what() << "\n";
      consumer.reset();  // its status may be stuck mid-change: carry on as a new worker
      if (std::chrono::steady_clock::now() > deadline) return 4;
    }
    std::this_thread::sleep_for(20ms);
  }
  try {
    consumer->suspend();
    consumer->shutdown();
  } catch (const pgqrs::Error& e) {
    if (!opt.resilient) throw;
    std::cerr << "resilient: consumer shutdown failed: " << e.what() << "\n";
  }
  return 0;
}

int Usage() {
  std::cerr << "usage: pgqrs_queue_worker produce DSN QUEUE COUNT [options]\n"
               "       pgqrs_queue_worker consume DSN QUEUE OUTFILE [EXPECTED] [options]\n"
               "options: --batch N --pause-ms N --lease S --resilient --unknown-log FILE\n"
               "         --hold-ms N --concurrency-keys K --dedup-keys K\n";
  return 2;
}

// Splits "--flag [value]" options out of `args`; false on a malformed option.
bool TakeOptions(std::vector<std::string>& args, Options& opt) {
  std::vector<std::string> positional;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (!a.starts_with("--")) {
      positional.push_back(a);
      continue;
    }
    if (a == "--resilient") {
      opt.resilient = true;
      continue;
    }
    if (i + 1 >= args.size()) return false;
    const std::string& v = args[++i];
    if (a == "--batch") {
      opt.batch = std::stol(v);
    } else if (a == "--pause-ms") {
      opt.pause_ms = std::stol(v);
    } else if (a == "--lease") {
      opt.lease_s = std::stol(v);
    } else if (a == "--unknown-log") {
      opt.unknown_log = v;
    } else if (a == "--hold-ms") {
      opt.hold_ms = std::stol(v);
    } else if (a == "--concurrency-keys") {
      opt.concurrency_keys = std::stol(v);
    } else if (a == "--dedup-keys") {
      opt.dedup_keys = std::stol(v);
    } else {
      return false;
    }
  }
  args = std::move(positional);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    Options opt;
    if (!TakeOptions(args, opt)) return Usage();
    if (args.size() == 4 && args[0] == "produce") {
      return Produce(args[1], args[2], std::stol(args[3]), opt);
    }
    if ((args.size() == 4 || args.size() == 5) && args[0] == "consume") {
      std::optional<std::uint64_t> expected;
      if (args.size() == 5) expected = std::stoull(args[4]);
      return Consume(args[1], args[2], args[3], expected, opt);
    }
    return Usage();
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs error (" << pgqrs::to_string(e.code()) << "): " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
}
