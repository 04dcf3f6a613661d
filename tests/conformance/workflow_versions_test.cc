// Safe upgrades, the version half (issue 15 item 5; pgqrs/versions.h): a run records the app
// version of the store that triggered it; a worker of another version leaves it alone (it is
// given back, not executed, not counted); a run no live worker serves is stranded; migrating
// it to a served version lets that version's worker execute it. Stores of two versions share
// one database, so the in-memory SQLite case (a new database per connection) is skipped.
#include "conformance/workflow_test_support.h"
#include "pgqrs/versions.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowVersionsTest : public WorkflowTest {
 protected:
  void SetUp() override {
    WorkflowTest::SetUp();
    if (IsSkipped()) return;
    if (!GetParam().persistent) {
      GTEST_SKIP() << GetParam().name
                   << " is not persistent: a second store (another app version) would be "
                      "another, empty database";
    }
    if (GetParam().backend == "s3") {
      GTEST_SKIP() << "two app versions are two writers on one S3 object, where a write that "
                      "races another writer is refused for the caller to retry (docs/s3.md); "
                      "the routing is the SQLite family's, tested on sqlite_file and turso";
    }
  }
  // A store on the test's database running app version `version`.
  pgqrs::Store Version(const std::string& version) {
    pgqrs::Config c = config_;
    c.app_version = version;
    stores_.push_back(pgqrs::connect_with_config(c, clock_));
    return stores_.back();
  }
  void TearDown() override {
    stores_.clear();
    WorkflowTest::TearDown();
  }
  std::vector<pgqrs::Store> stores_;
};

TEST_P(WorkflowVersionsTest, AWorkerRunsOnlyItsVersionAndMigrationMovesStrandedRuns) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_versions", [&](pgqrs::Run&, const json& in) {
    calls.bump("ran");
    return in;
  });
  pgqrs::Store v1 = Version("v1");
  pgqrs::Store v2 = Version("v2");
  Register(v2, def);  // the workflow, and a live v2 worker; no v1 worker yet
  auto msg = pgqrs::workflow().name(def).trigger(json{{"n", 1}}).execute(v1);
  const auto run_id = pgqrs::run().message(msg).store(v1).record().id;

  // Only a v2 worker: the v1 run is left alone (not executed, not dead-lettered).
  Drain(v2, def);
  EXPECT_EQ(calls.get("ran"), 0);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kQueued);
  EXPECT_EQ(MessageOf(run_id).read_ct, 0) << "a give-back is not a delivery";
  auto stranded = pgqrs::stranded_runs(store());
  ASSERT_EQ(stranded.size(), 1u) << "no live v1 worker serves it";
  EXPECT_EQ(stranded[0].run_id, run_id);
  EXPECT_EQ(stranded[0].app_version, "v1");
  EXPECT_EQ(stranded[0].workflow, "wf_versions");

  // Migrated to v2, the v2 worker executes it.
  EXPECT_EQ(pgqrs::migrate_runs(store(), "v2", std::string("v1")), 1u);
  EXPECT_TRUE(pgqrs::stranded_runs(store()).empty());
  Advance(2s);  // past the give-back
  Drain(v2, def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(calls.get("ran"), 1);

  // A v1 worker runs v1 runs; an unversioned worker (the test's store) runs any run.
  auto m1 = pgqrs::workflow().name(def).trigger(json{{"n", 2}}).execute(v1);
  Drain(v1, def);
  EXPECT_EQ(pgqrs::run().message(m1).store(v1).record().status, WorkflowStatus::kSuccess);
  auto m2 = pgqrs::workflow().name(def).trigger(json{{"n", 3}}).execute(v2);
  Drain(store(), def);
  EXPECT_EQ(pgqrs::run().message(m2).store(v2).record().status, WorkflowStatus::kSuccess);

  EXPECT_THROW(pgqrs::migrate_runs(store(), "bad version"), pgqrs::ValidationError);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowVersionsTest);

}  // namespace
}  // namespace pgqrs_test
