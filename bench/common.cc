#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>

#include "scenarios.h"

namespace pgqrs_bench {

pgqrs::Store open_store(const Options& o, std::uint32_t threads, std::uint32_t poll_interval_ms) {
  pgqrs::Config config = pgqrs::Config::load();
  config.dsn = o.dsn;
  config.max_connections = std::max<std::uint32_t>(config.max_connections, threads + 4);
  config.default_lock_time_seconds = o.lease_seconds;
  if (poll_interval_ms > 0) config.poll_interval_ms = poll_interval_ms;
  config.validate();
  pgqrs::Store store = pgqrs::connect_with_config(config);
  pgqrs::admin(store).install();
  return store;
}

std::string fresh_name(const std::string& tag) {
  static std::atomic<int> counter{0};
  const auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() %
                     100000000;
  return "bench_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(stamp) + "_" +
         std::to_string(counter++);
}

void drop_queue(const pgqrs::Store& store, const std::string& queue,
                const std::vector<pgqrs::Consumer>& consumers, bool keep_queue) {
  try {
    for (const auto& c : consumers) {
      if (c.status() != pgqrs::WorkerStatus::kSuspended) c.suspend();
      c.shutdown();
    }
    auto admin = pgqrs::admin(store);
    admin.purge_queue(queue);
    for (const auto& w : admin.list_workers(queue)) {
      if (w.status != pgqrs::WorkerStatus::kStopped) {
        if (w.status != pgqrs::WorkerStatus::kSuspended) admin.suspend_worker(w.id);
        admin.shutdown_worker(w.id);
      }
      admin.delete_worker(w.id);
    }
    if (!keep_queue) admin.delete_queue(queue);
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs-bench: cleaning up queue " << queue << ": " << e.what() << "\n";
  }
}

std::uint64_t count_runs(const pgqrs::Store& store, const std::string& workflow,
                         pgqrs::WorkflowStatus status) {
  pgqrs::RunFilter filter;
  filter.workflow = workflow;
  filter.status = status;
  filter.limit = 100'000'000;
  return pgqrs::admin(store).list_runs(filter).size();
}

}  // namespace pgqrs_bench
