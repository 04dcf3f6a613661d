// workflow.steps.
#include <atomic>
#include <iostream>
#include <thread>
#include <vector>

#include "scenarios.h"

namespace pgqrs_bench {
namespace {

using pgqrs::json;

// The time of one commit on this store: p50 of single-message enqueues (one statement /
// transaction each) on a scratch queue, `threads` threads enqueueing at once (200 each), so
// that the yardstick meets the same contention for CPUs and for the log flush as the steps
// it is compared with. The yardstick for the step overhead.
double one_commit_ms(const pgqrs::Store& store, std::uint32_t threads) {
  const std::string queue = fresh_name("commit");
  store.queue(queue);
  Latencies lat;
  std::vector<std::thread> workers;
  for (std::uint32_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> samples;
      for (int i = 0; i < 200; ++i) {
        const auto t0 = SteadyClock::now();
        pgqrs::enqueue().message(json{{"n", i}, {"t", t}}).to(queue).execute(store);
        samples.push_back(ms_between(t0, SteadyClock::now()));
      }
      lat.merge(std::move(samples));
    });
  }
  for (auto& w : workers) w.join();
  drop_queue(store, queue, {});
  return lat.quantile(0.5);
}

}  // namespace

// W runs of a workflow with S no-op steps, served by K worker threads (each its own
// consumer) until the queue is empty. Latency samples: one workflow_step call (acquire,
// no-op body, record), i.e. the step overhead, compared with one commit.
Record run_workflow_steps(const Options& o) {
  pgqrs::Store store = open_store(o, o.consumers);
  const double commit_ms = one_commit_ms(store, o.consumers);
  const double commit_ms_one_thread = o.consumers > 1 ? one_commit_ms(store, 1) : commit_ms;
  const std::string name = fresh_name("steps");
  Latencies latencies;
  std::atomic<std::uint64_t> steps_done{0};
  Progress progress("workflow.steps trigger", o.messages, !o.quiet);
  pgqrs::WorkflowDef def(name, [&](pgqrs::Run& run, const json& input) {
    std::vector<double> samples;
    for (std::uint32_t i = 0; i < o.steps; ++i) {
      const auto t0 = SteadyClock::now();
      pgqrs::workflow_step(run, "s" + std::to_string(i), [&] { return static_cast<int>(i); });
      samples.push_back(ms_between(t0, SteadyClock::now()));
    }
    steps_done += o.steps;
    progress.add(1);
    latencies.merge(std::move(samples));
    return json{{"n", input.at("n")}};
  });
  pgqrs::workflow().name(def).create(store);
  const auto trigger_start = SteadyClock::now();
  for (std::uint64_t n = 0; n < o.messages; ++n) {
    pgqrs::workflow().name(def).trigger(json{{"n", n}}).execute(store);
    progress.add(1);
  }
  const double trigger_ms = ms_between(trigger_start, SteadyClock::now());
  std::vector<pgqrs::Consumer> consumers;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    consumers.push_back(pgqrs::consumer(name + "-w" + std::to_string(i), name).create(store));
  }
  progress.phase("workflow.steps");
  std::atomic<std::uint64_t> failures{0};
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto stats = pgqrs::workflow().name(def).consumer(consumers[i]).until_empty().poll(store);
        failures += stats.failed + stats.lease_lost;
      } catch (const pgqrs::Error& e) {
        std::cerr << "\npgqrs-bench: workflow worker " << i << ": " << e.what() << "\n";
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto end = SteadyClock::now();
  const std::uint64_t succeeded = count_runs(store, name, pgqrs::WorkflowStatus::kSuccess);
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = o.consumers;
  r.batch = 1;
  r.messages = o.messages;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(succeeded) / (r.wall_ms / 1000.0);
  r.set_latencies(latencies);
  r.errors = failures + (o.messages - std::min(o.messages, succeeded));
  r.extra = {{"steps", o.steps},
             {"runs_per_s", r.msgs_per_s},
             {"steps_per_s", static_cast<double>(steps_done.load()) / (r.wall_ms / 1000.0)},
             {"step_samples", latencies.count()},
             {"commit_ms", commit_ms},
             {"commit_ms_one_thread", commit_ms_one_thread},
             {"step_overhead_vs_one_thread_commit",
              commit_ms_one_thread > 0 ? r.p50_ms / commit_ms_one_thread : 0.0},
             {"step_overhead_vs_commit", commit_ms > 0 ? r.p50_ms / commit_ms : 0.0},
             {"trigger_ms", trigger_ms}};
  drop_queue(store, name, consumers, /*keep_queue=*/true);
  return r;
}

}  // namespace pgqrs_bench
