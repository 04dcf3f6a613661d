// Backend contract (src/backend/backend.h) on every backend: a Backend is used from many
// threads at once. Concurrent consumers never share a message, and racing creators of the
// same workflow or step end with one row. Time is injected (kT0), never slept.
#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "conformance/backend_contract_workflows.h"

namespace pgqrs_test {
namespace {

class BackendConcurrencyContract : public WorkflowContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendConcurrencyContract);

// Runs fn(0) .. fn(threads - 1) on as many threads at once and joins them; an exception in a
// thread fails the test (naming the thread). Returns how many threads threw.
int RunOnThreads(int threads, const std::function<void(int)>& fn) {
  std::atomic<int> failures{0};
  std::vector<std::jthread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      try {
        fn(t);
      } catch (const std::exception& e) {
        ++failures;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  running.clear();  // joins
  return failures.load();
}

TEST_P(BackendConcurrencyContract, FourThreadsDequeueEachMessageExactlyOnce) {
  constexpr int kMessages = 1000;
  constexpr int kThreads = 4;
  make_queue("work");
  Fill(be(), "work", kMessages);

  std::vector<std::vector<std::int64_t>> got(kThreads);
  ASSERT_EQ(
      RunOnThreads(kThreads,
                   [&](int t) { got[t] = Drain(be(), "work", "consumer-" + std::to_string(t)); }),
      0);

  std::set<std::int64_t> all;
  std::size_t total = 0;
  for (const auto& ids : got) {
    total += ids.size();
    all.insert(ids.begin(), ids.end());
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kMessages));  // nothing delivered twice
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  const auto metrics = be().queue_metrics("work", kT0, 5);
  EXPECT_EQ(metrics.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(metrics.pending + metrics.leased + metrics.delayed + metrics.dead, 0U);
}

// Eight consumers run the engine's loop (archive the last batch in the call that leases the
// next, as the poll loop does) and give every third message back once (release, visible at
// once) before a later delivery archives it. Leases and acknowledgements of concurrent
// consumers may be committed together (the SQLite family's group commit); whatever the
// backend does, every message is archived exactly once and nothing is left leased.
TEST_P(BackendConcurrencyContract, EightConsumersLeaseReleaseAndArchiveEachMessageOnce) {
  constexpr int kMessages = 600;
  constexpr int kThreads = 8;
  make_queue("work");
  Fill(be(), "work", kMessages);
  std::vector<std::int64_t> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.push_back(be().register_worker("c" + std::to_string(t), pgqrs::WorkerKind::kConsumer,
                                           "work", "host", 1, kT0)
                          .id);
  }
  std::vector<std::vector<std::int64_t>> archived(kThreads);
  ASSERT_EQ(RunOnThreads(kThreads,
                         [&](int t) {
                           pgqrs::backend::DequeueParams p;
                           p.queue = "work";
                           p.limit = 4;
                           p.lease = std::chrono::hours(1);  // time does not move
                           p.consumer_worker_id = workers[t];
                           p.now = kT0;
                           p.max_read_ct = 100;
                           std::vector<std::int64_t> done;
                           for (;;) {
                             const auto got = be().archive_and_dequeue(done, p);
                             for (const bool applied : got.archived) {
                               if (!applied) throw std::runtime_error("an archive did not apply");
                             }
                             archived[t].insert(archived[t].end(), done.begin(), done.end());
                             if (got.leased.empty()) return;
                             done.clear();
                             std::vector<std::int64_t> give_back;
                             for (const auto& m : got.leased) {
                               (m.id % 3 == 0 && m.read_ct == 1 ? give_back : done).push_back(m.id);
                             }
                             const auto released =
                                 be().release(give_back, workers[t], kT0, kT0, 100);
                             for (const bool applied : released) {
                               if (!applied) throw std::runtime_error("a release did not apply");
                             }
                           }
                         }),
            0);
  std::multiset<std::int64_t> all;
  for (const auto& ids : archived) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<std::size_t>(kMessages));
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), all.size());  // none twice
  const auto metrics = be().queue_metrics("work", kT0, 100);
  EXPECT_EQ(metrics.archived, static_cast<std::uint64_t>(kMessages));
  EXPECT_EQ(metrics.pending + metrics.leased + metrics.delayed + metrics.dead, 0U);
}

// Threads (each on its own pooled connection where the backend has several) race to create
// the same workflow and to begin the same step: one workflow, one queue, one step row.
TEST_P(BackendConcurrencyContract, CreateAndBeginStepRaceToOneRow) {
  constexpr int kThreads = 4;
  std::vector<std::int64_t> workflow_ids(kThreads);
  ASSERT_EQ(
      RunOnThreads(kThreads, [&](int i) { workflow_ids[i] = be().create_workflow("wf", kT0).id; }),
      0);
  for (const auto id : workflow_ids) EXPECT_EQ(id, workflow_ids[0]);
  EXPECT_EQ(be().list_queues().size(), 1U);
  EXPECT_EQ(be().list_workflows().size(), 1U);

  const auto run_id = be().trigger_run("wf", "{}", kT0).run.id;
  std::vector<std::int64_t> step_ids(kThreads);
  ASSERT_EQ(
      RunOnThreads(kThreads, [&](int i) { step_ids[i] = be().begin_step(run_id, "s", kT0).id; }),
      0);
  for (const auto id : step_ids) EXPECT_EQ(id, step_ids[0]);
  EXPECT_EQ(be().list_steps(run_id).size(), 1U);
}

}  // namespace
}  // namespace pgqrs_test
