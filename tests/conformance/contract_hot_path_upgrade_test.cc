// The schema step "postgres hot path" (issues 14 and 17; decisions F9, P9): upgrading a
// database from the step before it, with live data in it (pending, leased, archived and
// keyed messages), keeps every row and every lease, and the limited dequeue works on the
// upgraded schema. On every backend (the SQLite-family step changes nothing, and must still
// upgrade cleanly).
#include <algorithm>
#include <string>
#include <vector>

#include "conformance/upgrade_test_support.h"

namespace pgqrs_test {
namespace {

using pgqrs::MessageOptions;
using pgqrs::QueueOptions;

class BackendHotPathUpgrade : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendHotPathUpgrade);

TEST_P(BackendHotPathUpgrade, UpgradeFromThePreviousStepKeepsLiveDataAndLeases) {
  const std::int32_t previous = schema_step_version("postgres hot path") - 1;
  Backend& b = OpenFresh(/*install=*/false);
  b.install_to(previous);
  ASSERT_EQ(b.schema_version(), previous);

  // Before: an unlimited queue with pending, leased and archived messages, and a queue with
  // key_concurrency 1 holding keyed messages (leased only after the upgrade: the limited
  // lease of this library needs the new step).
  b.create_queue("plain", kT0);
  QueueOptions limits;
  limits.key_concurrency = 1;
  b.create_queue("keyed", kT0, limits);
  const auto worker = b.register_worker("w", WorkerKind::kConsumer, "plain", "h", 1, kT0).id;
  EnqueueParams e;
  e.queue = "plain";
  e.payloads = {R"({"n":0})", R"({"n":1})", R"({"n":2})"};
  e.visible_at = kT0;
  e.now = kT0;
  const auto plain = b.enqueue(e);
  e.queue = "keyed";
  e.payloads = {R"({"k":"a0"})", R"({"k":"a1"})", R"({"k":"b0"})"};
  e.flow = {MessageOptions{0, std::nullopt, "a"}, MessageOptions{0, std::nullopt, "a"},
            MessageOptions{0, std::nullopt, "b"}};
  const auto keyed = b.enqueue(e);
  const auto leased = b.dequeue(lease_params("plain", worker, 2, kT0));
  ASSERT_EQ(leased.size(), 2u);
  ASSERT_EQ(b.archive({plain[0]}, worker, kT0 + 1s), std::vector<bool>{true});

  b.install();
  EXPECT_EQ(b.schema_version(), pgqrs::backend::kSchemaVersion);

  // Everything is still there, as it was.
  EXPECT_EQ(b.get_message(plain[0])->archived_at, kT0 + 1s);
  const auto held = b.get_message(plain[1]);
  ASSERT_TRUE(held.has_value());
  EXPECT_EQ(held->consumer_worker_id, worker);
  EXPECT_EQ(held->vt, kT0 + 30s);
  EXPECT_EQ(held->read_ct, 1);
  EXPECT_EQ(b.get_message(plain[2])->payload, (json{{"n", 2}}));
  EXPECT_EQ(b.get_message(keyed[1])->concurrency_key, "a");

  // The lease taken before the upgrade is still owned: archive it with the poll loop's step.
  const auto step = b.archive_and_dequeue({plain[1]}, lease_params("plain", worker, 5, kT0 + 2s));
  EXPECT_EQ(step.archived, std::vector<bool>{true});
  ASSERT_EQ(step.leased.size(), 1u);
  EXPECT_EQ(step.leased[0].id, plain[2]);

  // The limited dequeue on the upgraded schema: one message per key.
  const auto first = b.dequeue(lease_params("keyed", worker, 10, kT0 + 3s));
  std::vector<std::int64_t> ids;
  for (const auto& m : first) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{keyed[0], keyed[2]}));
  // Archiving "a0" in the same step frees key "a" for "a1".
  const auto next = b.archive_and_dequeue({keyed[0]}, lease_params("keyed", worker, 10, kT0 + 4s));
  EXPECT_EQ(next.archived, std::vector<bool>{true});
  ASSERT_EQ(next.leased.size(), 1u);
  EXPECT_EQ(next.leased[0].id, keyed[1]);
}

}  // namespace
}  // namespace pgqrs_test
