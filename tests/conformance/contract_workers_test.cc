// Backend contract (src/backend/backend.h) on every backend: worker rows (registration,
// status compare-and-set, heartbeat, leases held, zombies, purge, delete) and metrics.
// Time is injected (kT0 + offsets), never slept.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

class BackendWorkersContract : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendWorkersContract);

// ---- metrics ------------------------------------------------------------------------------

TEST_P(BackendWorkersContract, QueueMetricsPutEachMessageInOneBucket) {
  constexpr std::int32_t kMax = 2;
  make_queue("m");
  make_queue("empty");
  const auto c = make_worker("c", "m");
  // archived
  auto a = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().archive(a, c, kT0), std::vector<bool>{true});
  // leased (lease until kT0 + 60s)
  ASSERT_EQ(enqueue("m", 1).size(), 1U);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  // dead (released after its second delivery)
  auto d = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(d, c, kT0, kT0, kMax), std::vector<bool>{true});
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(d, c, kT0, kT0, kMax), std::vector<bool>{true});
  // delayed: released with a later visibility, and enqueued with a delay
  auto r = enqueue("m", 1);
  ASSERT_EQ(dequeue("m", 1, c, kT0, 60s, kMax).size(), 1U);
  ASSERT_EQ(be().release(r, c, kT0 + 10min, kT0, kMax), std::vector<bool>{true});
  enqueue("m", 1, kT0 + 1h);
  // pending, enqueued 5 s before kT0
  enqueue("m", 2, kT0 - 5s, kT0 - 5s);

  auto metrics = be().queue_metrics("m", kT0, kMax);
  EXPECT_EQ(metrics.queue_name, "m");
  EXPECT_EQ(metrics.queue_id, be().find_queue("m")->id);
  EXPECT_EQ(metrics.pending, 2U);
  EXPECT_EQ(metrics.delayed, 2U);
  EXPECT_EQ(metrics.leased, 1U);
  EXPECT_EQ(metrics.archived, 1U);
  EXPECT_EQ(metrics.dead, 1U);
  EXPECT_EQ(metrics.oldest_pending_age, std::chrono::milliseconds(5000));

  // After the lease expires, the leased message is pending again (read_ct 1 < 2).
  metrics = be().queue_metrics("m", kT0 + 61s, kMax);
  EXPECT_EQ(metrics.pending, 3U);
  EXPECT_EQ(metrics.leased, 0U);
  EXPECT_EQ(metrics.oldest_pending_age, std::chrono::milliseconds(66000));
  // With max_read_ct 1 it would be a dead letter instead (and so would the released one).
  metrics = be().queue_metrics("m", kT0 + 11min, 1);
  EXPECT_EQ(metrics.pending, 2U);
  EXPECT_EQ(metrics.dead, 3U);

  const auto empty = be().queue_metrics("empty", kT0, kMax);
  EXPECT_EQ(empty.pending + empty.delayed + empty.leased + empty.archived + empty.dead, 0U);
  EXPECT_FALSE(empty.oldest_pending_age.has_value());

  const auto all = be().all_queue_metrics(kT0, kMax);
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].queue_name, "empty");
  EXPECT_EQ(all[1].queue_name, "m");
  EXPECT_EQ(all[1].pending, 2U);

  const auto stats = be().system_stats(kT0, kMax);
  EXPECT_EQ(stats.backend, backend_name());
  EXPECT_EQ(stats.schema_version, pgqrs::backend::kSchemaVersion);
  EXPECT_EQ(stats.queues, 2U);
  EXPECT_EQ(stats.workers, 1U);
  EXPECT_EQ(stats.active_workers, 1U);
  EXPECT_EQ(stats.pending, 2U);
  EXPECT_EQ(stats.delayed, 2U);
  EXPECT_EQ(stats.leased, 1U);
  EXPECT_EQ(stats.archived, 1U);
  EXPECT_EQ(stats.dead, 1U);
}

TEST_P(BackendWorkersContract, WorkerStatsCountByStatusAndLeases) {
  make_queue("q");
  const auto a = make_worker("a", "q");
  const auto b = make_worker("b", "q");
  make_worker("p", "q", WorkerKind::kProducer);
  ASSERT_TRUE(
      be().change_worker_status(b, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0).applied);
  enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 2, a, kT0, 30s).size(), 2U);
  const auto st = be().worker_stats("q", kT0 + 1s);
  EXPECT_EQ(st.queue_name, "q");
  EXPECT_EQ(st.total, 3U);
  EXPECT_EQ(st.ready, 2U);
  EXPECT_EQ(st.polling, 1U);
  EXPECT_EQ(st.stopped, 0U);
  EXPECT_EQ(st.leased_messages, 2U);
  EXPECT_EQ(be().worker_stats("q", kT0 + 30s).leased_messages, 0U);
}

// ---- workers ------------------------------------------------------------------------------

TEST_P(BackendWorkersContract, RegisterGetAndListWorkers) {
  make_queue("q");
  const auto w = be().register_worker("consumer-1", WorkerKind::kConsumer, "q", "host-a", 77, kT0);
  const auto admin =
      be().register_worker("admin", WorkerKind::kAdmin, std::nullopt, "host-b", 1, kT0);
  EXPECT_EQ(w.status, WorkerStatus::kReady);
  EXPECT_FALSE(admin.queue_id.has_value());
  const auto got = be().get_worker(w.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "consumer-1");
  EXPECT_EQ(got->kind, WorkerKind::kConsumer);
  EXPECT_EQ(got->queue_id, be().find_queue("q")->id);
  EXPECT_EQ(got->hostname, "host-a");
  EXPECT_EQ(got->pid, 77);
  EXPECT_EQ(got->status, WorkerStatus::kReady);
  EXPECT_EQ(got->started_at, kT0);
  EXPECT_EQ(got->heartbeat_at, kT0);
  EXPECT_FALSE(got->shutdown_at.has_value());
  EXPECT_EQ(be().get_worker(admin.id)->kind, WorkerKind::kAdmin);
  EXPECT_FALSE(be().get_worker(99999).has_value());
  EXPECT_EQ(be().list_workers(std::nullopt).size(), 2U);
  ASSERT_EQ(be().list_workers("q").size(), 1U);
  EXPECT_EQ(be().list_workers("q")[0].id, w.id);
}

TEST_P(BackendWorkersContract, ChangeWorkerStatusIsACompareAndSet) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  auto change = be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0);
  EXPECT_TRUE(change.applied);
  EXPECT_EQ(change.current, WorkerStatus::kPolling);

  change = be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kSuspended, kT0);
  EXPECT_FALSE(change.applied);
  EXPECT_EQ(change.current, WorkerStatus::kPolling);
  EXPECT_EQ(be().get_worker(w)->status, WorkerStatus::kPolling);

  change = be().change_worker_status(
      w, {WorkerStatus::kReady, WorkerStatus::kPolling, WorkerStatus::kInterrupted},
      WorkerStatus::kSuspended, kT0);
  EXPECT_TRUE(change.applied);
  EXPECT_FALSE(be().get_worker(w)->shutdown_at.has_value());

  change =
      be().change_worker_status(w, {WorkerStatus::kSuspended}, WorkerStatus::kStopped, kT0 + 9s);
  EXPECT_TRUE(change.applied);
  EXPECT_EQ(be().get_worker(w)->shutdown_at, kT0 + 9s);

  change = be().change_worker_status(4242, {WorkerStatus::kReady}, WorkerStatus::kPolling, kT0);
  EXPECT_FALSE(change.applied);
  EXPECT_FALSE(change.current.has_value());
}

TEST_P(BackendWorkersContract, HeartbeatUpdatesTheWorker) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  EXPECT_TRUE(be().heartbeat(w, kT0 + 42s));
  EXPECT_EQ(be().get_worker(w)->heartbeat_at, kT0 + 42s);
  EXPECT_FALSE(be().heartbeat(555, kT0));
}

TEST_P(BackendWorkersContract, LeasedMessagesAndReleasingThemAll) {
  make_queue("q");
  const auto c = make_worker("c", "q");
  const auto ids = enqueue("q", 3);
  ASSERT_EQ(dequeue("q", 2, c, kT0, 30s).size(), 2U);
  EXPECT_EQ(IdsOf(be().leased_messages(c, kT0 + 1s)), (std::vector<std::int64_t>{ids[0], ids[1]}));
  EXPECT_TRUE(be().leased_messages(c, kT0 + 30s).empty());  // expired
  EXPECT_EQ(be().release_worker_messages(c, kT0 + 2s), 2U);
  EXPECT_TRUE(be().leased_messages(c, kT0 + 2s).empty());
  EXPECT_EQ(be().get_message(ids[0])->vt, kT0 + 2s);
  EXPECT_EQ(dequeue("q", 3, c, kT0 + 2s).size(), 3U);
}

TEST_P(BackendWorkersContract, ReclaimZombiesReleasesTheirLeasesAndStopsThem) {
  make_queue("z");
  make_queue("other");
  const auto zombie = make_worker("zombie", "z");
  const auto alive = make_worker("alive", "z");
  const auto elsewhere = make_worker("elsewhere", "other");
  ASSERT_TRUE(be().heartbeat(alive, kT0 + 100s));
  const auto ids = enqueue("z", 3);
  ASSERT_EQ(dequeue("z", 2, zombie, kT0, 1h).size(), 2U);
  ASSERT_EQ(dequeue("z", 1, alive, kT0, 1h).size(), 1U);

  EXPECT_EQ(be().reclaim_zombies("z", kT0 + 50s, kT0 + 60s), 2U);
  const auto z = be().get_worker(zombie);
  EXPECT_EQ(z->status, WorkerStatus::kStopped);
  EXPECT_EQ(z->shutdown_at, kT0 + 60s);
  EXPECT_EQ(be().get_worker(alive)->status, WorkerStatus::kReady);
  EXPECT_EQ(be().get_worker(elsewhere)->status, WorkerStatus::kReady);  // other queue
  const auto m = be().get_message(ids[0]);
  EXPECT_EQ(m->vt, kT0 + 60s);
  EXPECT_FALSE(m->consumer_worker_id.has_value());
  EXPECT_EQ(IdsOf(be().leased_messages(alive, kT0 + 60s)), std::vector<std::int64_t>{ids[2]});
  EXPECT_EQ(be().reclaim_zombies("z", kT0 + 50s, kT0 + 60s), 0U);
}

TEST_P(BackendWorkersContract, PurgeWorkersDeletesOnlyOldUnreferencedStoppedWorkers) {
  make_queue("q");
  const auto stop = [&](std::int64_t id) {
    ASSERT_TRUE(
        be().change_worker_status(id, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  };
  const auto unreferenced = make_worker("gone", "q");
  const auto referenced = make_worker("worked", "q");
  const auto running = make_worker("running", "q");
  const auto recent = make_worker("recent", "q");
  ASSERT_TRUE(be().heartbeat(recent, kT0 + 1h));
  enqueue("q", 1);
  ASSERT_EQ(dequeue("q", 1, referenced).size(), 1U);
  stop(unreferenced);
  stop(referenced);
  stop(recent);

  EXPECT_EQ(be().purge_workers(kT0 + 1s), 1U);
  EXPECT_FALSE(be().get_worker(unreferenced).has_value());
  EXPECT_TRUE(be().get_worker(referenced).has_value());
  EXPECT_TRUE(be().get_worker(running).has_value());
  EXPECT_TRUE(be().get_worker(recent).has_value());
}

TEST_P(BackendWorkersContract, DeleteWorkerRequiresAStoppedUnreferencedWorker) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  const auto p = make_worker("p", "q", WorkerKind::kProducer);
  EXPECT_THROW(be().delete_worker(w), pgqrs::ConflictError);  // ready
  EnqueueParams params;
  params.queue = "q";
  params.payloads = {"{}"};
  params.visible_at = params.now = kT0;
  params.producer_worker_id = p;
  be().enqueue(params);
  ASSERT_TRUE(
      be().change_worker_status(p, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  EXPECT_THROW(be().delete_worker(p), pgqrs::ConflictError);  // referenced by its message
  ASSERT_TRUE(
      be().change_worker_status(w, {WorkerStatus::kReady}, WorkerStatus::kStopped, kT0).applied);
  be().delete_worker(w);
  EXPECT_FALSE(be().get_worker(w).has_value());
  EXPECT_THROW(be().delete_worker(w), pgqrs::WorkerNotFoundError);
}

}  // namespace
}  // namespace pgqrs_test
