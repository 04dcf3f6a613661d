// Backend contracts of ScheduleStore and RetentionStore (capabilities/schedules.h,
// retention.h) and the upgrade to their schema step with data in it, on every backend.
#include <string>
#include <vector>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

using pgqrs::CatchUp;
using pgqrs::ScheduleTarget;
using pgqrs::backend::NewSchedule;
using pgqrs::backend::PruneKind;

class BackendSchedulesContract : public BackendContractTest {
 protected:
  NewSchedule every_10s(const std::string& name, const std::string& queue) {
    NewSchedule n;
    n.name = name;
    n.every_us = 10'000'000;
    n.time_zone = "UTC";
    n.target_kind = ScheduleTarget::kQueue;
    n.target = queue;
    n.payload = R"({"k":1})";
    n.next_fire_at = kT0 + 10s;
    return n;
  }
};
PGQRS_INSTANTIATE_CONFORMANCE(BackendSchedulesContract);

// From the version before the schedules step, with data in it, to the current one. The data is
// written with operations whose SQL is the same at version 2 (queues and workflows): today's
// enqueue writes columns of later steps (the trace context, step 4). Messages across an
// upgrade: TraceUpgradeTest (raw version-3 rows).
TEST_P(BackendSchedulesContract, UpgradeFromThePreviousVersionKeepsDataAndAddsTheNewTables) {
  constexpr std::int32_t kPrevious = 2;  // flow control; step 3 adds the schedules
  Backend& b = OpenFresh(/*install=*/false);
  b.install_to(kPrevious);
  EXPECT_EQ(b.schema_version(), kPrevious);
  b.create_queue("old", kT0);
  b.create_workflow("wf", kT0);

  b.install();
  EXPECT_EQ(b.schema_version(), pgqrs::backend::kSchemaVersion);
  ASSERT_TRUE(b.find_queue("old").has_value());
  EXPECT_EQ(b.find_workflow("wf")->name, "wf");
  EXPECT_EQ(b.workflow_retention("wf"), std::nullopt);
  EXPECT_TRUE(b.set_workflow_retention("wf", 5'000'000));
  EXPECT_EQ(b.workflow_retention("wf"), 5'000'000);
  EXPECT_EQ(b.create_schedule(every_10s("s", "old"), kT0).name, "s");
  EXPECT_EQ(b.list_schedules().size(), 1u);
}

TEST_P(BackendSchedulesContract, FireIsACompareAndSetOnNextFireAt) {
  make_queue("q");
  const auto s = be().create_schedule(every_10s("s", "q"), kT0);
  EXPECT_EQ(s.next_fire_at, kT0 + 10s);
  EXPECT_TRUE(be().due_schedules(kT0 + 9s, 10).empty());
  ASSERT_EQ(be().due_schedules(kT0 + 10s, 10).size(), 1u);

  const std::vector<TimePoint> ticks{kT0 + 10s};
  EXPECT_TRUE(be().fire_schedule(s.id, kT0 + 10s, ticks, kT0 + 20s, kT0 + 11s));
  // A second claimer with the same expected value changes nothing.
  EXPECT_FALSE(be().fire_schedule(s.id, kT0 + 10s, ticks, kT0 + 20s, kT0 + 11s));
  auto msgs = be().list_messages("q", 10, true);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].enqueued_at, kT0 + 10s);
  EXPECT_EQ(msgs[0].vt, kT0 + 10s);
  EXPECT_EQ(msgs[0].payload, (json{{"k", 1}}));
  auto after = be().find_schedule("s");
  EXPECT_EQ(after->next_fire_at, kT0 + 20s);
  EXPECT_EQ(after->last_fire_at, kT0 + 10s);
}

TEST_P(BackendSchedulesContract, PausedOrRemovedSchedulesAreNotDueAndCannotBeClaimed) {
  make_queue("q");
  const auto s = be().create_schedule(every_10s("s", "q"), kT0);
  ASSERT_TRUE(be().set_schedule_state("s", true, kT0 + 10s, kT0).has_value());
  EXPECT_TRUE(be().due_schedules(kT0 + 1h, 10).empty());
  EXPECT_FALSE(be().fire_schedule(s.id, kT0 + 10s, {kT0 + 10s}, kT0 + 20s, kT0 + 11s));
  EXPECT_FALSE(be().set_schedule_state("nope", true, kT0, kT0).has_value());
  EXPECT_TRUE(be().delete_schedule("s"));
  EXPECT_FALSE(be().fire_schedule(s.id, kT0 + 10s, {kT0 + 10s}, kT0 + 20s, kT0 + 11s));
  EXPECT_TRUE(be().list_messages("q", 10, true).empty());
}

TEST_P(BackendSchedulesContract, CreateRefusesDuplicatesAndMissingTargets) {
  make_queue("q");
  be().create_schedule(every_10s("s", "q"), kT0);
  EXPECT_THROW(be().create_schedule(every_10s("s", "q"), kT0), pgqrs::ConflictError);
  EXPECT_THROW(be().create_schedule(every_10s("t", "missing"), kT0), pgqrs::QueueNotFoundError);
  auto wf = every_10s("w", "nowf");
  wf.target_kind = ScheduleTarget::kWorkflow;
  EXPECT_THROW(be().create_schedule(wf, kT0), pgqrs::ValidationError);
  EXPECT_EQ(be().list_schedules().size(), 1u);
}

TEST_P(BackendSchedulesContract, MaintenanceLeaseHasOneHolderUntilItExpires) {
  EXPECT_TRUE(be().acquire_lease("prune", "a", kT0, kT0 + 60s));
  EXPECT_TRUE(be().acquire_lease("prune", "a", kT0 + 1s, kT0 + 61s));  // renew
  EXPECT_FALSE(be().acquire_lease("prune", "b", kT0 + 2s, kT0 + 62s));
  EXPECT_TRUE(be().acquire_lease("other", "b", kT0 + 2s, kT0 + 62s));    // another name
  EXPECT_TRUE(be().acquire_lease("prune", "b", kT0 + 61s, kT0 + 120s));  // expired
  be().release_lease("prune", "a");  // not a's any more: no effect
  EXPECT_FALSE(be().acquire_lease("prune", "a", kT0 + 62s, kT0 + 130s));
  be().release_lease("prune", "b");
  EXPECT_TRUE(be().acquire_lease("prune", "a", kT0 + 63s, kT0 + 130s));
}

TEST_P(BackendSchedulesContract, DeleteOldIsBoundedAndTakesOnlyOldRows) {
  make_queue("q");
  const auto w = make_worker("w", "q");
  enqueue("q", 5);
  auto leased = dequeue("q", 5, w);
  std::vector<std::int64_t> ids;
  for (const auto& m : leased) ids.push_back(m.id);
  be().archive({ids[0], ids[1], ids[2]}, w, kT0 + 1s);
  be().archive({ids[3], ids[4]}, w, kT0 + 10s);
  EXPECT_EQ(be().count_old(PruneKind::kArchived, "q", kT0 + 5s, kT0 + 20s), 3u);
  EXPECT_EQ(be().delete_old(PruneKind::kArchived, "q", kT0 + 5s, kT0 + 20s, 2), 2u);
  EXPECT_EQ(be().delete_old(PruneKind::kArchived, "q", kT0 + 5s, kT0 + 20s, 2), 1u);
  EXPECT_EQ(be().delete_old(PruneKind::kArchived, "q", kT0 + 5s, kT0 + 20s, 2), 0u);
  EXPECT_EQ(be().list_messages("q", 10, true).size(), 2u);
  EXPECT_THROW(be().delete_old(PruneKind::kArchived, "nope", kT0, kT0, 2),
               pgqrs::QueueNotFoundError);
}

}  // namespace
}  // namespace pgqrs_test
