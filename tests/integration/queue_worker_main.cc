// pgqrs_queue_worker: a small producer / consumer process for the multi-process test.
//
//   pgqrs_queue_worker produce DSN QUEUE COUNT
//       Enqueues {"n": i} for i in [0, COUNT) as a named producer, in batches.
//   pgqrs_queue_worker consume DSN QUEUE OUTFILE [EXPECTED]
//       Handles messages with dequeue().worker(consumer).handle(...).poll(store), appending
//       each processed payload's "n" to OUTFILE (one per line). Without EXPECTED it stops
//       once the queue is empty; with EXPECTED it keeps polling until the queue has
//       EXPECTED archived messages and nothing pending, delayed or leased (so a consumer
//       started before the producer does not give up early).
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

pgqrs::Store Open(const std::string& dsn) {
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = dsn;
  config.poll_interval_ms = 20;
  return pgqrs::connect_with_config(config);
}

int Produce(const std::string& dsn, const std::string& queue, long count) {
  pgqrs::Store store = Open(dsn);
  auto producer = pgqrs::producer("mp-producer-" + std::to_string(::getpid()), queue).create(store);
  constexpr long kBatch = 100;
  for (long start = 0; start < count; start += kBatch) {
    std::vector<pgqrs::json> batch;
    for (long n = start; n < std::min(count, start + kBatch); ++n) {
      batch.push_back(pgqrs::json{{"n", n}});
    }
    auto ids = producer.batch_enqueue(batch);
    if (ids.size() != batch.size()) {
      std::cerr << "produce: batch_enqueue returned " << ids.size() << " ids for " << batch.size()
                << " payloads\n";
      return 3;
    }
  }
  producer.suspend();
  producer.shutdown();
  return 0;
}

int Consume(const std::string& dsn, const std::string& queue, const std::string& outfile,
            std::optional<std::uint64_t> expected) {
  pgqrs::Store store = Open(dsn);
  auto consumer = pgqrs::consumer("mp-consumer-" + std::to_string(::getpid()), queue).create(store);
  std::ofstream out(outfile, std::ios::app);
  if (!out) {
    std::cerr << "consume: cannot open " << outfile << "\n";
    return 3;
  }
  auto handler = pgqrs::dequeue().worker(consumer).batch(10).until_empty().handle(
      [&](const pgqrs::QueueMessage& m) {
        out << m.payload.at("n").get<long>() << '\n';
        out.flush();
      });
  const auto deadline = std::chrono::steady_clock::now() + kOverallTimeout;
  for (;;) {
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
                << ", pending " << m.pending << ", leased " << m.leased << ", delayed " << m.delayed
                << "\n";
      return 4;
    }
    std::this_thread::sleep_for(20ms);
  }
  consumer.suspend();
  consumer.shutdown();
  return 0;
}

int Usage() {
  std::cerr << "usage: pgqrs_queue_worker produce DSN QUEUE COUNT\n"
               "       pgqrs_queue_worker consume DSN QUEUE OUTFILE [EXPECTED]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 4 && args[0] == "produce") {
      return Produce(args[1], args[2], std::stol(args[3]));
    }
    if ((args.size() == 4 || args.size() == 5) && args[0] == "consume") {
      std::optional<std::uint64_t> expected;
      if (args.size() == 5) expected = std::stoull(args[4]);
      return Consume(args[1], args[2], args[3], expected);
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
