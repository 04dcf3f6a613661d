// Events and streams from a run (issue 15 item 2): Run::set_event / get_event publish the
// latest value of a key; Run::write_stream / close_stream / StreamReader an append-only
// stream that ends when closed or when the run finishes. A replayed write stores nothing.
#include <future>

#include "conformance/workflow_test_support.h"
#include "pgqrs/coordination.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowEventsTest : public WorkflowTest {
 protected:
  std::vector<json> ReadAll(std::int64_t run_id, const std::string& key) {
    pgqrs::StreamReader reader(store(), run_id, key);
    std::vector<json> out;
    while (auto v = reader.next(0ms)) out.push_back(*v);
    return out;
  }
};

TEST_P(WorkflowEventsTest, GetEventReturnsTheLatestValueAndNothingBeforeTheFirst) {
  pgqrs::WorkflowDef def("wf_events", [](pgqrs::Run& run, const json&) {
    run.set_event("progress", 10);
    run.set_event("progress", 50);
    run.set_event("phase", "copying");
    pgqrs::sleep(run, "nap", 10s);  // the replay after it must not publish 10 / 50 again
    run.set_event("progress", 100);
    return json("done");
  });
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_EQ(pgqrs::get_event(store(), run_id, "progress"), std::nullopt);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused);
  EXPECT_EQ(pgqrs::get_event(store(), run_id, "progress"), json(50));
  EXPECT_EQ(pgqrs::get_event(store(), run_id, "phase"), json("copying"));
  Advance(10s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(pgqrs::get_event(store(), run_id, "progress"), json(100));
  const auto all = pgqrs::run_events(store(), run_id);
  ASSERT_EQ(all.size(), 4u) << "each set_event stored once, replays included";
  EXPECT_EQ(all[3].value, json(100));
}

TEST_P(WorkflowEventsTest, GetEventWaitsForTheFirstValueUntilItsTimeout) {
  pgqrs::WorkflowDef def("wf_event_wait", [](pgqrs::Run& run, const json&) {
    run.set_event("ready", true);
    return json(nullptr);
  });
  Register(def);
  const auto run_id = Trigger(def);
  auto waiting = std::async(std::launch::async,
                            [&] { return pgqrs::get_event(store(), run_id, "ready", 1h); });
  ASSERT_TRUE(WaitForWaiters(1));
  Drain(def);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready) << "woken by the write";
  EXPECT_EQ(waiting.get(), json(true));

  auto timing_out = std::async(std::launch::async,
                               [&] { return pgqrs::get_event(store(), run_id, "never", 30s); });
  EXPECT_EQ(DriveToDeadline(timing_out, 30s, 1), "");
  EXPECT_EQ(timing_out.get(), std::nullopt);
}

TEST_P(WorkflowEventsTest, AStreamIsReadInOrderOnceAndEndsWhenClosed) {
  pgqrs::WorkflowDef def("wf_stream", [](pgqrs::Run& run, const json&) {
    run.write_stream("log", "one");
    run.write_stream("log", "two");
    pgqrs::sleep(run, "nap", 5s);
    run.write_stream("log", "three");
    run.close_stream("log");
    pgqrs::sleep(run, "after", 5s);
    return json(nullptr);
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  pgqrs::StreamReader reader(store(), run_id, "log");
  EXPECT_EQ(reader.next(0ms), json("one"));
  EXPECT_EQ(reader.next(0ms), json("two"));
  EXPECT_THROW(reader.next(0ms), pgqrs::TimeoutError) << "open, nothing new";
  Advance(5s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << "closed, still running";
  EXPECT_EQ(reader.next(0ms), json("three"));
  EXPECT_EQ(reader.next(0ms), std::nullopt) << "closed";
  EXPECT_EQ(reader.next(0ms), std::nullopt);
  EXPECT_EQ(ReadAll(run_id, "log"), (std::vector<json>{"one", "two", "three"}));
}

TEST_P(WorkflowEventsTest, AStreamEndsWhenItsRunFinishes) {
  pgqrs::WorkflowDef def("wf_stream_unclosed", [](pgqrs::Run& run, const json&) {
    run.write_stream("out", 1);
    run.write_stream("out", 2);
    return json(nullptr);
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(ReadAll(run_id, "out"), (std::vector<json>{1, 2}));
  EXPECT_EQ(ReadAll(run_id, "other"), std::vector<json>{});
}

TEST_P(WorkflowEventsTest, BadKeysAndUnknownRunsAreValidationErrors) {
  pgqrs::WorkflowDef def("wf_event_bad", [](pgqrs::Run& run, const json&) {
    try {
      run.set_event("", 1);
    } catch (const pgqrs::ValidationError&) {
      return json("refused");
    }
    return json("stored");
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  EXPECT_EQ(Record(run_id).output, json("refused"));
  EXPECT_TRUE(pgqrs::run_events(store(), run_id).empty());
  EXPECT_THROW(pgqrs::get_event(store(), run_id + 1000, "k"), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::get_event(store(), run_id, "bad key"), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::StreamReader(store(), run_id + 1000, "k"), pgqrs::ValidationError);
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowEventsTest);

}  // namespace
}  // namespace pgqrs_test
