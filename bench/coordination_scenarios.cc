// workflow.signal and workflow.fanout (issue 15): the cost of waiting and of waking.
#include <atomic>
#include <chrono>
#include <iostream>
#include <stop_token>
#include <thread>
#include <vector>

#include "scenarios.h"

namespace pgqrs_bench {
namespace {

using pgqrs::json;
using namespace std::chrono_literals;

// K worker threads serving `def` until `stop` (each its own consumer).
class Workers {
 public:
  Workers(const pgqrs::Store& store, const pgqrs::WorkflowDef& def, std::uint32_t n,
          std::atomic<std::uint64_t>& failures) {
    for (std::uint32_t i = 0; i < n; ++i) {
      consumers_.push_back(
          pgqrs::consumer(def.name() + "-w" + std::to_string(i), def.name()).create(store));
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      threads_.emplace_back([&, i, def] {
        try {
          auto stats = pgqrs::workflow()
                           .name(def)
                           .consumer(consumers_[i])
                           .stop_token(stop_.get_token())
                           .poll(store);
          failures += stats.failed + stats.lease_lost;
        } catch (const pgqrs::Error& e) {
          std::cerr << "\npgqrs-bench: workflow worker " << def.name() << " " << i << ": "
                    << e.what() << "\n";
          ++failures;
        }
      });
    }
  }
  ~Workers() { stop(); }
  void stop() {
    stop_.request_stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  const std::vector<pgqrs::Consumer>& consumers() const { return consumers_; }

 private:
  std::stop_source stop_;
  std::vector<pgqrs::Consumer> consumers_;
  std::vector<std::thread> threads_;
};

// Waits (real time, up to `limit`) until `done` holds, checking every millisecond.
template <class F>
bool wait_until(F done, std::chrono::milliseconds limit) {
  const auto deadline = SteadyClock::now() + limit;
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace

// N runs each wait in recv("go"), served by K workers. Then a send to one waiting run at a
// time: latency = send called -> that run's recv returned in its handler (the wake-up). The
// sends go through a second Store (its own connections, no shared in-process wake-up), as
// from another process: on Postgres the wake-up travels by NOTIFY, elsewhere by polling.
// The record also says how many leases the waiting runs held (must be 0).
Record run_workflow_signal(const Options& o) {
  pgqrs::Store store = open_store(o, o.consumers + 2);
  const std::string name = fresh_name("signal");
  const std::uint64_t runs = o.messages;
  std::vector<std::atomic<std::int64_t>> woke_at_ns(runs);
  for (auto& w : woke_at_ns) w = 0;
  Progress progress("workflow.signal trigger", runs, !o.quiet);
  pgqrs::WorkflowDef def(name, [&](pgqrs::Run& run, const json& input) {
    auto got = run.recv("go", std::chrono::hours(1));
    const auto n = input.at("n").get<std::uint64_t>();
    woke_at_ns[n] = SteadyClock::now().time_since_epoch().count();
    return json{{"n", n}, {"got", got.value_or(json(nullptr))}};
  });
  pgqrs::workflow().name(def).create(store);
  std::vector<std::int64_t> run_ids;
  for (std::uint64_t n = 0; n < runs; ++n) {
    auto msg = pgqrs::workflow().name(def).trigger(json{{"n", n}}).execute(store);
    run_ids.push_back(pgqrs::run().message(msg).store(store).record().id);
    progress.add(1);
  }
  std::atomic<std::uint64_t> failures{0};
  Workers workers(store, def, o.consumers, failures);
  progress.phase("workflow.signal waiting");
  // Every run reaches its recv and is suspended.
  const bool all_waiting = wait_until(
      [&] {
        pgqrs::RunFilter f;
        f.workflow = name;
        f.status = pgqrs::WorkflowStatus::kPaused;
        f.limit = static_cast<std::uint32_t>(runs);
        const auto m = pgqrs::admin(store).queue_metrics(name);
        return pgqrs::admin(store).list_runs(f).size() == runs && m.leased == 0 && m.pending == 0;
      },
      std::chrono::minutes(5));
  const auto waiting_metrics = pgqrs::admin(store).queue_metrics(name);

  progress.phase("workflow.signal wake");
  Latencies latencies;
  std::vector<double> samples;
  const std::uint64_t sampled = std::min<std::uint64_t>(runs, 200);
  std::uint64_t missed = 0;
  pgqrs::Store sender = open_store(o, 1);
  const auto start = SteadyClock::now();
  for (std::uint64_t n = 0; n < runs; ++n) {
    const auto t0 = SteadyClock::now();
    pgqrs::send(sender, run_ids[n], "go", json{{"n", n}});
    if (n < sampled) {
      if (!wait_until([&] { return woke_at_ns[n].load() != 0; }, 10s)) {
        ++missed;
        continue;
      }
      const auto woke = SteadyClock::time_point(SteadyClock::duration(woke_at_ns[n].load()));
      samples.push_back(ms_between(t0, woke));
    }
    progress.add(1);
  }
  wait_until([&] { return count_runs(store, name, pgqrs::WorkflowStatus::kSuccess) == runs; },
             std::chrono::minutes(5));
  const auto end = SteadyClock::now();
  workers.stop();
  latencies.merge(std::move(samples));
  const std::uint64_t succeeded = count_runs(store, name, pgqrs::WorkflowStatus::kSuccess);
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = o.consumers;
  r.batch = 1;
  r.messages = runs;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(succeeded) / (r.wall_ms / 1000.0);
  r.set_latencies(latencies);
  r.errors = failures + missed + (all_waiting ? 0 : 1) + (runs - std::min(runs, succeeded));
  r.extra = {{"waiting_runs", runs},
             {"leased_while_waiting", waiting_metrics.leased},
             {"worker_threads", o.consumers},
             {"wake_samples", latencies.count()},
             {"poll_interval_ms", store.config().poll_interval_ms}};
  drop_queue(store, name, workers.consumers(), /*keep_queue=*/true);
  return r;
}

// One parent run starts N children and gathers them; K workers serve the children, one the
// parent. Records the wall time from trigger to the parent's success and how often the
// parent's handler was executed (a gather is one durable wait: expected 2).
Record run_workflow_fanout(const Options& o) {
  pgqrs::Store store = open_store(o, o.consumers + 3);
  const std::string parent_name = fresh_name("fanout");
  const std::string child_name = parent_name + "_child";
  const std::uint64_t children = o.messages;
  std::atomic<std::uint64_t> parent_executions{0};
  Progress progress("workflow.fanout", children, !o.quiet);
  pgqrs::WorkflowDef child(child_name, [&](pgqrs::Run&, const json& input) {
    progress.add(1);
    return json(input.at("n").get<std::uint64_t>() * 2);
  });
  pgqrs::WorkflowDef parent(parent_name, [&](pgqrs::Run& run, const json&) {
    ++parent_executions;
    std::vector<pgqrs::ChildRun> kids;
    kids.reserve(children);
    for (std::uint64_t n = 0; n < children; ++n) {
      kids.push_back(run.start_child(child_name, json{{"n", n}}));
    }
    std::uint64_t total = 0;
    for (const auto& out : run.gather(kids)) total += out.get<std::uint64_t>();
    return json{{"total", total}};
  });
  pgqrs::workflow().name(child).create(store);
  pgqrs::workflow().name(parent).create(store);
  std::atomic<std::uint64_t> failures{0};
  const auto start = SteadyClock::now();
  auto msg = pgqrs::workflow().name(parent).trigger(json::object()).execute(store);
  Workers child_workers(store, child, o.consumers, failures);
  Workers parent_worker(store, parent, 1, failures);
  json out;
  try {
    out = pgqrs::run().message(msg).store(store).result(std::chrono::minutes(10));
  } catch (const pgqrs::Error& e) {
    std::cerr << "\npgqrs-bench: workflow.fanout parent: " << e.what() << "\n";
    ++failures;
  }
  const auto end = SteadyClock::now();
  parent_worker.stop();
  child_workers.stop();
  const std::uint64_t expected_total = children * (children - 1);  // sum of 2n for n < N
  const std::uint64_t succeeded = count_runs(store, child_name, pgqrs::WorkflowStatus::kSuccess);
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = o.consumers;
  r.batch = 1;
  r.messages = children;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(succeeded) / (r.wall_ms / 1000.0);
  r.errors = failures + (children - std::min(children, succeeded)) +
             (out.value("total", std::uint64_t{0}) == expected_total ? 0 : 1);
  r.extra = {{"children", children},
             {"children_per_s", r.msgs_per_s},
             {"parent_executions", parent_executions.load()},
             {"child_workers", o.consumers}};
  drop_queue(store, child_name, child_workers.consumers(), /*keep_queue=*/true);
  drop_queue(store, parent_name, parent_worker.consumers(), /*keep_queue=*/true);
  return r;
}

}  // namespace pgqrs_bench
