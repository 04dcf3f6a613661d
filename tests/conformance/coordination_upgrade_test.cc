// Schema step 7, workflow coordination (issue 15), applied to a store at version 6 that holds
// runs: the runs triggered before the upgrade execute afterwards and can receive messages,
// publish events and start children; the upgrade is idempotent. Every backend.
#include "conformance/workflow_test_support.h"
#include "pgqrs/coordination.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;

class CoordinationUpgradeTest : public WorkflowTest {};

TEST_P(CoordinationUpgradeTest, RunsTriggeredOnVersion6TalkAfterTheUpgrade) {
  pgqrs::Store s = MakeStore({}, /*install=*/false);
  auto& backend = *pgqrs::StoreAccess::state(s)->backend;
  backend.install_to(6);
  ASSERT_EQ(backend.schema_version(), 6);
  pgqrs::WorkflowDef child("wf_up_child", [](pgqrs::Run&, const json& in) { return in; });
  pgqrs::WorkflowDef def("wf_up", [](pgqrs::Run& run, const json& in) {
    auto got = run.recv("go", 1h);
    run.set_event("got", *got);
    return json{{"n", in.at("n")}, {"child", run.start_child("wf_up_child", *got).result()}};
  });
  pgqrs::workflow().name(def).create(s);
  pgqrs::workflow().name(child).create(s);
  std::vector<std::int64_t> runs;
  for (int n = 0; n < 3; ++n) {
    auto msg = pgqrs::workflow().name(def).trigger(json{{"n", n}}).execute(s);
    runs.push_back(pgqrs::run().message(msg).store(s).record().id);
  }

  pgqrs::admin(s).install();
  EXPECT_EQ(backend.schema_version(), pgqrs::backend::kSchemaVersion);
  pgqrs::admin(s).install();  // idempotent
  EXPECT_EQ(backend.schema_version(), pgqrs::backend::kSchemaVersion);

  for (auto id : runs) pgqrs::send(s, id, "go", json{{"from", id}});
  for (int round = 0; round < 3; ++round) {
    Drain(s, def);
    Drain(s, child);
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto rec = pgqrs::run().id(runs[i]).store(s).record();
    ASSERT_EQ(rec.status, pgqrs::WorkflowStatus::kSuccess) << runs[i];
    EXPECT_EQ(rec.output, (json{{"n", i}, {"child", {{"from", runs[i]}}}}));
    EXPECT_EQ(pgqrs::get_event(s, runs[i], "got"), (json{{"from", runs[i]}}));
    EXPECT_EQ(pgqrs::child_runs(s, runs[i]).size(), 1u);
  }
}

PGQRS_INSTANTIATE_CONFORMANCE(CoordinationUpgradeTest);

}  // namespace
}  // namespace pgqrs_test
