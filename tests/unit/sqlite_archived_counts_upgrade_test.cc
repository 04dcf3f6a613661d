// Schema step "per-queue archived counters" (W8) applied to a SQLite database at version 3
// that holds archived and live messages in two queues: the step backfills each queue's counter
// from its archived rows, and archiving after the upgrade adds to it. (Postgres: the same test
// in tests/conformance/archived_counts_upgrade_test.cc; Turso and S3 run this SQL too.)
#include <string>

#include "sqlite_family_test_support.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

TEST(SqliteArchivedCountsUpgrade, BackfillsEachQueueFromItsArchivedRows) {
  ScratchDir dir;
  const std::string path = dir.file("v3.db");
  auto backend = open_backend(path);
  backend->install_to(3);
  ASSERT_EQ(backend->schema_version(), 3);
  const auto a = std::to_string(backend->create_queue("a", kT0).id);
  const auto b = std::to_string(backend->create_queue("b", kT0).id);
  backend->create_queue("empty", kT0);
  // Rows as a version-3 build writes them: a has 3 archived + 1 live, b 1 archived + 1 dead.
  raw_connection(path)->exec(
      "INSERT INTO pgqrs_messages (queue_id, payload, vt, enqueued_at, read_ct, archived_at, "
      "dead_at) VALUES (" +
      a + ", '{}', 0, 0, 1, 5, NULL), (" + a + ", '{}', 0, 0, 1, 5, NULL), (" + a +
      ", '{}', 0, 0, 1, 5, NULL), (" + a + ", '{}', 0, 0, 0, NULL, NULL), (" + b +
      ", '{}', 0, 0, 1, 5, NULL), (" + b + ", '{}', 0, 0, 5, NULL, 5)");

  backend->install();
  EXPECT_EQ(backend->schema_version(), pgqrs::backend::kSchemaVersion);
  backend->install();  // idempotent: no second backfill
  EXPECT_EQ(backend->queue_metrics("a", kT0, 5).archived, 3U);
  EXPECT_EQ(backend->queue_metrics("b", kT0, 5).archived, 1U);
  EXPECT_EQ(backend->queue_metrics("b", kT0, 5).dead, 1U);
  EXPECT_EQ(backend->queue_metrics("empty", kT0, 5).archived, 0U);

  const auto worker =
      backend->register_worker("w", pgqrs::WorkerKind::kConsumer, "a", "host", 1, kT0).id;
  pgqrs::backend::DequeueParams d;
  d.queue = "a";
  d.limit = 10;
  d.lease = 30s;
  d.consumer_worker_id = worker;
  d.now = kT0 + 1s;
  const auto got = backend->dequeue(d);
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(backend->archive({got[0].id}, worker, kT0 + 2s), std::vector<bool>{true});
  EXPECT_EQ(backend->queue_metrics("a", kT0 + 2s, 5).archived, 4U);
}

}  // namespace
