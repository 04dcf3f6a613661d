// Schema step 4 (the W3C trace context on messages, docs/observability.md) applied to a
// SQLite database at version 3 that holds messages: they survive the upgrade unchanged and
// read back with no trace context; new messages store theirs. (Postgres: the same test in
// tests/conformance/trace_upgrade_test.cc.)
#include <string>

#include "sqlite_family_test_support.h"

namespace {

using namespace pgqrs_sqlite_test;  // NOLINT(google-build-using-namespace): test helpers

TEST(SqliteTraceUpgrade, VersionThreeMessagesSurviveAndNewOnesCarryTheirContext) {
  ScratchDir dir;
  const std::string path = dir.file("v1.db");
  auto backend = open_backend(path);
  backend->install_to(3);
  ASSERT_EQ(backend->schema_version(), 3);
  const auto queue_id = backend->create_queue("old", kT0).id;
  // Rows as a version-3 build writes them (no trace columns exist yet).
  raw_connection(path)->exec(
      "INSERT INTO pgqrs_messages (queue_id, payload, vt, enqueued_at, read_ct) VALUES (" +
      std::to_string(queue_id) + ", '{\"n\":1}', 0, 0, 0), (" + std::to_string(queue_id) +
      ", '{\"n\":2}', 0, 0, 0)");

  backend->install();
  EXPECT_EQ(backend->schema_version(), pgqrs::backend::kSchemaVersion);
  backend->install();  // idempotent
  EXPECT_EQ(backend->schema_version(), pgqrs::backend::kSchemaVersion);

  pgqrs::backend::EnqueueParams p;
  p.queue = "old";
  p.payloads = {"{\"n\":3}"};
  p.visible_at = p.now = kT0;
  p.trace.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  p.trace.tracestate = "k=v";
  backend->enqueue(p);

  const auto worker =
      backend->register_worker("w", pgqrs::WorkerKind::kConsumer, "old", "host", 1, kT0).id;
  pgqrs::backend::DequeueParams d;
  d.queue = "old";
  d.limit = 10;
  d.lease = 30s;
  d.consumer_worker_id = worker;
  d.now = kT0 + 1s;
  const auto got = backend->dequeue(d);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].payload, pgqrs::json({{"n", 1}}));
  EXPECT_EQ(got[1].payload, pgqrs::json({{"n", 2}}));
  EXPECT_FALSE(got[0].traceparent.has_value());
  EXPECT_FALSE(got[1].tracestate.has_value());
  EXPECT_EQ(got[2].traceparent, p.trace.traceparent);
  EXPECT_EQ(got[2].tracestate, "k=v");
}

}  // namespace
