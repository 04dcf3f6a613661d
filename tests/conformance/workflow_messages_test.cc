// Messages to a run (issue 15 item 1): pgqrs::send / Run::send and the durable Run::recv.
// A run waiting in recv is PAUSED with its message deferred and unleased; a send wakes it
// (its message becomes visible at once, without moving the clock); the timeout runs on the
// engine's clock; each message is received exactly once, in send order per topic.
#include <thread>

#include "conformance/workflow_test_support.h"
#include "pgqrs/coordination.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;

class WorkflowMessagesTest : public WorkflowTest {
 protected:
  // Whether the run's message is deliverable now (not deferred, not leased).
  bool Deliverable(std::int64_t run_id) {
    auto msg = MessageOf(run_id);
    return msg.vt <= now() && !msg.consumer_worker_id.has_value();
  }
};

TEST_P(WorkflowMessagesTest, RecvTakesMessagesInSendOrderPerTopicEachOnce) {
  pgqrs::WorkflowDef def("wf_recv_order", [](pgqrs::Run& run, const json&) {
    json got = json::array();
    got.push_back(run.recv("b", 1s).value_or(json("none")));
    got.push_back(run.recv("a", 1s).value_or(json("none")));
    got.push_back(run.recv("a", 1s).value_or(json("none")));
    return got;
  });
  Register(def);
  const auto run_id = Trigger(def);
  pgqrs::send(store(), run_id, "a", "a1");
  pgqrs::send(store(), run_id, "b", "b1");
  pgqrs::send(store(), run_id, "a", "a2");
  pgqrs::send(store(), run_id, "a", "a3");
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{"b1", "a1", "a2"}));
  const auto messages = pgqrs::run_messages(store(), run_id);
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].received_by, std::optional<std::string>("recv:2"));
  EXPECT_EQ(messages[1].received_by, std::optional<std::string>("recv:1"));
  EXPECT_EQ(messages[2].received_by, std::optional<std::string>("recv:3"));
  EXPECT_FALSE(messages[3].received_at.has_value()) << "a3 was never received";
}

TEST_P(WorkflowMessagesTest, AWaitingRunHoldsNoLeaseAndASendWakesItWithoutTheClock) {
  Counters calls;
  pgqrs::WorkflowDef def("wf_recv_wake", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "before", [&] { return calls.bump("before"); });
    auto m = run.recv("approval", 24h);
    return json{{"got", m.value_or(json(nullptr))}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
  EXPECT_FALSE(Deliverable(run_id)) << "a waiting run's message is deferred";
  EXPECT_EQ(Metrics(def).leased, 0u) << "a waiting run holds no lease";
  auto step = Step(run_id, "recv:1");
  ASSERT_TRUE(step.has_value());
  EXPECT_EQ(step->status, WorkflowStatus::kPaused);

  pgqrs::send(store(), run_id, "approval", json{{"ok", true}});
  EXPECT_TRUE(Deliverable(run_id)) << "the send woke the run";
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{{"got", {{"ok", true}}}}));
  EXPECT_EQ(calls.get("before"), 1) << "the step before the wait is not run again";
}

TEST_P(WorkflowMessagesTest, RecvTimesOutOnTheEngineClockAndTheAnswerIsRecorded) {
  pgqrs::WorkflowDef def("wf_recv_timeout", [](pgqrs::Run& run, const json&) {
    auto m = run.recv("never", 10s);
    pgqrs::sleep(run, "after", 5s);  // a later execution replays the timed-out recv
    return json{{"got", m.value_or(json("timeout"))}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused);
  Advance(9s);
  Drain(def);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kPaused) << "not due before the timeout";
  Advance(1s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << "now sleeping in 'after'";
  pgqrs::send(store(), run_id, "never", "too late");  // wakes it early: the timer holds
  Advance(5s);
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{{"got", "timeout"}}));
  EXPECT_EQ(Step(run_id, "recv:1")->output, (json{{"topic", "never"}, {"timed_out", true}}));
}

TEST_P(WorkflowMessagesTest, ConcurrentSendersEachMessageReceivedExactlyOnceInOrder) {
  constexpr int kSenders = 4;
  constexpr int kEach = 10;
  pgqrs::WorkflowDef def("wf_recv_many", [](pgqrs::Run& run, const json&) {
    json got = json::array();
    for (int i = 0; i < kSenders * kEach; ++i) got.push_back(*run.recv("t", 1h));
    return got;
  });
  Register(def);
  const auto run_id = Trigger(def);
  Drain(def);  // waits for the first message
  std::vector<std::thread> senders;
  for (int t = 0; t < kSenders; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        pgqrs::send(store(), run_id, "t", json{{"sender", t}, {"seq", i}});
      }
    });
  }
  for (auto& t : senders) t.join();
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  const json got = *Record(run_id).output;
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kSenders * kEach));
  std::vector<int> next(kSenders, 0);
  for (const auto& m : got) {
    const int sender = m.at("sender").get<int>();
    EXPECT_EQ(m.at("seq").get<int>(), next[sender]++) << "sender " << sender << " out of order";
  }
  for (int t = 0; t < kSenders; ++t) EXPECT_EQ(next[t], kEach);
  // In the order they were stored: the receipt order is the id order.
  const auto stored = pgqrs::run_messages(store(), run_id, 1000);
  ASSERT_EQ(stored.size(), got.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    EXPECT_EQ(stored[i].payload, got[i]);
    EXPECT_EQ(stored[i].received_by, "recv:" + std::to_string(i + 1));
  }
}

TEST_P(WorkflowMessagesTest, ASendFromAWorkflowIsNotRepeatedByAReplay) {
  Counters calls;
  pgqrs::WorkflowDef receiver("wf_msg_receiver",
                              [](pgqrs::Run& run, const json&) { return *run.recv("hello", 1h); });
  pgqrs::WorkflowDef sender("wf_msg_sender", [&](pgqrs::Run& run, const json& in) {
    run.send(in.at("to").get<std::int64_t>(), "hello", "from sender");
    pgqrs::workflow_step(
        run, "flaky",
        [&] {
          if (calls.bump("flaky") == 1) throw pgqrs::TransientStepError("once");
          return 1;
        },
        Fixed(3, 1s));
    return json("sent");
  });
  Register(receiver);
  Register(sender);
  const auto to = Trigger(receiver);
  const auto from = Trigger(sender, json{{"to", to}});
  Drain(sender);
  Advance(1s);
  Drain(sender);
  ASSERT_EQ(Status(from), WorkflowStatus::kSuccess) << Describe(from);
  EXPECT_EQ(calls.get("flaky"), 2) << "the sender was executed twice";
  EXPECT_EQ(pgqrs::run_messages(store(), to).size(), 1u) << "and sent once";
  Drain(receiver);
  ASSERT_EQ(Status(to), WorkflowStatus::kSuccess) << Describe(to);
  EXPECT_EQ(Record(to).output, json("from sender"));
}

TEST_P(WorkflowMessagesTest, BadSendsAreValidationErrorsAndStoreNothing) {
  pgqrs::WorkflowDef def("wf_msg_bad",
                         [](pgqrs::Run& run, const json&) { return *run.recv("t", 1h); });
  Register(def);
  const auto run_id = Trigger(def);
  EXPECT_THROW(pgqrs::send(store(), run_id + 1000, "t", 1), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::send(store(), run_id, std::string(129, 't'), 1), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::send(store(), run_id, "bad topic", 1), pgqrs::ValidationError);
  EXPECT_THROW(pgqrs::send(store(), run_id, "t", json(std::string(2 * 1024 * 1024, 'x'))),
               pgqrs::ValidationError);
  EXPECT_TRUE(pgqrs::run_messages(store(), run_id).empty());
  try {
    pgqrs::send(store(), run_id + 1000, "t", 1);
  } catch (const pgqrs::ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(run_id + 1000)), std::string::npos)
        << e.what();
  }
}

PGQRS_INSTANTIATE_CONFORMANCE(WorkflowMessagesTest);

}  // namespace
}  // namespace pgqrs_test
