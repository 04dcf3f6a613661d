// Tracing (pgqrs/tracing.h), on every backend: the hook sees enqueue, lease, handler, run and
// step events with the right fields in the right order; the W3C trace context stored at
// enqueue comes back with the leased message (and carries a workflow run); a malformed one
// is a ValidationError naming the field; without a hook nothing is called. Durations are on
// the injected ManualClock: handlers move it, nothing sleeps.
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/workflow_test_support.h"
#include "pgqrs/tracing.h"

namespace pgqrs_test {
namespace {

// Expects `expr` to throw E with `field` in its message.
#define EXPECT_THROW_NAMING(expr, E, field)                                       \
  do {                                                                            \
    const std::string msg_ = ExpectThrowMessage<E>([&] { (void)(expr); }, #expr); \
    EXPECT_NE(msg_.find(field), std::string::npos) << msg_;                       \
  } while (0)

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::TraceContext;
using pgqrs::TraceEvent;
using pgqrs::TraceEventKind;

const std::string kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const std::string kOther = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

// An owned copy of a TraceEvent.
struct Recorded {
  TraceEventKind kind;
  pgqrs::TimePoint at;
  std::string queue;
  std::optional<std::int64_t> message_id, run_id, worker_id;
  std::string step;
  std::int32_t attempt = 0;
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<std::string> error_type, error_message;
  std::optional<pgqrs::TimePoint> retry_at;
  std::string status;
  std::optional<std::string> traceparent, tracestate;
};

// Records every event; current_context() returns `context` (may be set by the test).
class Recorder : public pgqrs::TraceHook {
 public:
  void on_event(const TraceEvent& e) override {
    Recorded r{e.kind,
               e.at,
               std::string(e.queue),
               e.message_id,
               e.run_id,
               e.worker_id,
               std::string(e.step),
               e.attempt,
               e.duration,
               e.error_type,
               e.error_message,
               e.retry_at,
               std::string(e.status),
               std::nullopt,
               std::nullopt};
    if (e.trace) {
      r.traceparent = e.trace->traceparent;
      r.tracestate = e.trace->tracestate;
    }
    std::lock_guard lock(mu_);
    events_.push_back(std::move(r));
  }
  std::optional<TraceContext> current_context() override {
    std::lock_guard lock(mu_);
    ++context_calls_;
    return context_;
  }
  std::vector<Recorded> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<std::string> kinds() const {
    std::vector<std::string> out;
    for (const auto& e : events()) {
      std::string k(pgqrs::to_string(e.kind));
      if (!e.step.empty()) k += ":" + e.step;
      out.push_back(k);
    }
    return out;
  }
  void set_context(std::optional<TraceContext> ctx) {
    std::lock_guard lock(mu_);
    context_ = std::move(ctx);
  }
  int context_calls() const {
    std::lock_guard lock(mu_);
    return context_calls_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    events_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Recorded> events_;
  std::optional<TraceContext> context_;
  int context_calls_ = 0;
};

class TracingTest : public WorkflowTest {
 protected:
  void SetUp() override {
    WorkflowTest::SetUp();
    if (::testing::Test::IsSkipped()) return;
    recorder_ = std::make_shared<Recorder>();
    pgqrs::install_trace_hook(store(), recorder_);
  }
  std::shared_ptr<Recorder> recorder_;
};

TEST_P(TracingTest, QueueMessageEventsInOrderWithIdsAttemptAndDuration) {
  MakeQueue("jobs");
  auto ids = pgqrs::enqueue()
                 .message({{"n", 1}})
                 .to("jobs")
                 .trace_context({kParent, "vendor=1"})
                 .execute(store());
  ASSERT_EQ(ids.size(), 1u);
  const auto t0 = now();
  const bool handled = pgqrs::dequeue()
                           .from("jobs")
                           .handle([&](const pgqrs::QueueMessage& m) {
                             EXPECT_EQ(m.traceparent, kParent);
                             Advance(250ms);  // the handler takes 250 ms of engine time
                           })
                           .execute(store());
  ASSERT_TRUE(handled);

  const auto ev = recorder_->events();
  ASSERT_EQ(recorder_->kinds(),
            (std::vector<std::string>{"enqueue", "lease", "handler_start", "handler_end"}));
  for (const auto& e : ev) {
    EXPECT_EQ(e.queue, "jobs");
    EXPECT_EQ(e.message_id, ids[0]);
    EXPECT_EQ(e.traceparent, kParent) << pgqrs::to_string(e.kind);
    EXPECT_EQ(e.tracestate, "vendor=1") << pgqrs::to_string(e.kind);
    EXPECT_FALSE(e.run_id.has_value());
    EXPECT_FALSE(e.error_type.has_value());
  }
  EXPECT_FALSE(ev[0].worker_id.has_value()) << "no producer was given";
  EXPECT_TRUE(ev[1].worker_id.has_value()) << "the consumer leasing it";
  EXPECT_EQ(ev[1].worker_id, ev[3].worker_id);
  EXPECT_EQ(ev[1].attempt, 1) << "first delivery";
  EXPECT_EQ(ev[2].attempt, 1);
  EXPECT_EQ(ev[2].at, t0);
  EXPECT_EQ(ev[3].at, t0 + 250ms);
  ASSERT_TRUE(ev[3].duration.has_value());
  EXPECT_EQ(*ev[3].duration, 250ms) << "duration on the engine's clock";
}

TEST_P(TracingTest, FailingHandlerEndsWithErrorTypeAndMessageThenSecondAttempt) {
  MakeQueue("jobs");
  auto ids = pgqrs::enqueue().message({{"n", 1}}).to("jobs").execute(store());
  auto handler = pgqrs::dequeue()
                     .from("jobs")
                     .retry_backoff({0ms, 0ms, false})
                     .handle([&](const pgqrs::QueueMessage& m) {
                       if (m.read_ct == 1) throw std::runtime_error("boom");
                       throw pgqrs::ValidationError("bad input");
                     });
  EXPECT_THROW(handler.execute(store()), std::runtime_error);
  EXPECT_THROW(handler.execute(store()), pgqrs::ValidationError);

  const auto ev = recorder_->events();
  ASSERT_EQ(recorder_->kinds(),
            (std::vector<std::string>{"enqueue", "lease", "handler_start", "handler_end", "lease",
                                      "handler_start", "handler_end"}));
  EXPECT_FALSE(ev[0].traceparent.has_value()) << "no context given and none from the hook";
  EXPECT_EQ(recorder_->context_calls(), 1) << "the hook was asked once, at enqueue";
  EXPECT_EQ(ev[3].error_type, "std::runtime_error");
  EXPECT_EQ(ev[3].error_message, "boom");
  EXPECT_EQ(ev[3].attempt, 1);
  EXPECT_EQ(ev[4].attempt, 2) << "the second delivery";
  EXPECT_EQ(ev[6].error_type, "validation") << "a pgqrs error is named by its code";
  EXPECT_EQ(ev[6].error_message, "bad input");
  EXPECT_EQ(ev[6].message_id, ids[0]);
}

TEST_P(TracingTest, WorkflowWithRetriedStepContinuesTheTriggersTrace) {
  int flaky_calls = 0;
  pgqrs::WorkflowDef def("traced", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(
        run, "flaky",
        [&] {
          if (++flaky_calls == 1) throw pgqrs::TransientStepError("try again");
          Advance(40ms);
          return 1;
        },
        pgqrs::StepRetryPolicy{2, pgqrs::BackoffStrategy::fixed(1000ms)});
    pgqrs::workflow_step(run, "final", [&] { Advance(10ms); });
    return json{{"ok", true}};
  });
  Register(def);
  recorder_->set_context(TraceContext{kParent, std::nullopt});  // the producer's context
  const auto msg = pgqrs::workflow().name(def).trigger({{"x", 1}}).execute(store());
  EXPECT_EQ(msg.traceparent, kParent) << "the trigger stored the hook's context";
  const auto run_id = RunIdOf(msg);
  Drain(def);
  Advance(1000ms);
  Drain(def);
  ASSERT_EQ(Status(run_id), pgqrs::WorkflowStatus::kSuccess) << Describe(run_id);

  EXPECT_EQ(recorder_->kinds(),
            (std::vector<std::string>{"enqueue", "lease", "run_start", "step_start:flaky",
                                      "step_retry:flaky", "run_end", "lease", "run_start",
                                      "step_start:flaky", "step_end:flaky", "step_start:final",
                                      "step_end:final", "run_end"}));
  const auto ev = recorder_->events();
  ASSERT_EQ(ev.size(), 13u);
  for (const auto& e : ev) {
    EXPECT_EQ(e.queue, "traced");
    if (e.kind == TraceEventKind::kLease) {
      EXPECT_FALSE(e.run_id.has_value()) << "a lease does not know the run yet";
    } else {
      EXPECT_EQ(e.run_id, run_id) << pgqrs::to_string(e.kind);
    }
    EXPECT_EQ(e.message_id, msg.id) << pgqrs::to_string(e.kind);
    EXPECT_EQ(e.traceparent, kParent) << pgqrs::to_string(e.kind);
  }
  EXPECT_EQ(ev[3].attempt, 1);
  EXPECT_EQ(ev[4].attempt, 1);
  EXPECT_EQ(ev[4].error_type, "transient");
  EXPECT_EQ(ev[4].error_message, "try again");
  ASSERT_TRUE(ev[4].retry_at.has_value());
  EXPECT_EQ(MillisBetween(*ev[4].retry_at, ev[4].at), 1000);
  EXPECT_FALSE(ev[5].error_type.has_value()) << "waiting for a retry is not a failure";
  EXPECT_NE(ev[5].status, "SUCCESS");
  EXPECT_EQ(ev[8].attempt, 2) << "the step's second execution";
  EXPECT_EQ(ev[9].duration, std::chrono::nanoseconds(40ms));
  EXPECT_FALSE(ev[9].error_type.has_value());
  EXPECT_EQ(ev[11].duration, std::chrono::nanoseconds(10ms));
  EXPECT_EQ(ev[12].status, "SUCCESS");
  EXPECT_EQ(ev[12].duration, std::chrono::nanoseconds(50ms));
  EXPECT_FALSE(ev[12].error_type.has_value());
}

TEST_P(TracingTest, FailingStepAndRunCarryTheError) {
  pgqrs::WorkflowDef def("failing", [&](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "explode", [&]() -> int { throw std::logic_error("kaboom"); });
    return json{};
  });
  Register(def);
  const auto msg = pgqrs::workflow()
                       .name(def)
                       .trigger({})
                       .trace_context({kOther, std::nullopt})
                       .execute(store());
  const auto run_id = RunIdOf(msg);
  Drain(def);
  ASSERT_EQ(Status(run_id), pgqrs::WorkflowStatus::kError) << Describe(run_id);
  EXPECT_EQ(recorder_->kinds(),
            (std::vector<std::string>{"enqueue", "lease", "run_start", "step_start:explode",
                                      "step_end:explode", "run_end"}));
  const auto ev = recorder_->events();
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[4].error_type, "step_failed");
  EXPECT_EQ(ev[4].error_message, "kaboom");
  EXPECT_EQ(ev[5].status, "ERROR");
  EXPECT_TRUE(ev[5].error_type.has_value());
  EXPECT_NE(ev[5].error_message.value_or("").find("kaboom"), std::string::npos);
  for (const auto& e : ev) EXPECT_EQ(e.traceparent, kOther);
}

TEST_P(TracingTest, TraceContextRoundTripsThroughStorage) {
  pgqrs::install_trace_hook(store(), nullptr);  // explicit contexts only
  MakeQueue("rt");
  const auto with = pgqrs::enqueue()
                        .message({{"a", 1}})
                        .to("rt")
                        .trace_context({kParent, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"})
                        .execute(store());
  const auto without = pgqrs::enqueue().message({{"a", 2}}).to("rt").execute(store());
  auto leased = pgqrs::dequeue().from("rt").batch(2).fetch_all(store());
  ASSERT_EQ(leased.size(), 2u);
  EXPECT_EQ(leased[0].id, with[0]);
  EXPECT_EQ(leased[0].traceparent, kParent);
  EXPECT_EQ(leased[0].tracestate, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
  EXPECT_EQ(leased[1].id, without[0]);
  EXPECT_FALSE(leased[1].traceparent.has_value());
  EXPECT_FALSE(leased[1].tracestate.has_value());
  const auto again = admin().get_message(with[0]);
  EXPECT_EQ(again.traceparent, kParent);
}

TEST_P(TracingTest, ExplicitContextWinsOverTheHooksAndProducersUseTheHooks) {
  MakeQueue("p");
  recorder_->set_context(TraceContext{kOther, std::nullopt});
  const auto explicit_id =
      pgqrs::enqueue().message(1).to("p").trace_context({kParent, std::nullopt}).execute(store());
  const auto producer = pgqrs::producer("tp", "p").create(store());
  const auto hook_id = producer.enqueue(json(2));
  EXPECT_EQ(admin().get_message(explicit_id[0]).traceparent, kParent);
  EXPECT_EQ(admin().get_message(hook_id).traceparent, kOther);
  const auto ev = recorder_->events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].worker_id, producer.id()) << "the producer's id on its enqueue";
}

TEST_P(TracingTest, MalformedTraceContextIsAValidationErrorNamingTheField) {
  MakeQueue("bad");
  const std::vector<std::string> bad_parents = {
      "",
      "garbage",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",     // no flags
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
  };
  for (const auto& tp : bad_parents) {
    EXPECT_THROW_NAMING(
        pgqrs::enqueue().message(1).to("bad").trace_context({tp, std::nullopt}).execute(store()),
        pgqrs::ValidationError, "traceparent");
  }
  EXPECT_THROW_NAMING(pgqrs::enqueue()
                          .message(1)
                          .to("bad")
                          .trace_context({kParent, std::string("a=\n")})
                          .execute(store()),
                      pgqrs::ValidationError, "tracestate");
  EXPECT_THROW_NAMING(pgqrs::enqueue()
                          .message(1)
                          .to("bad")
                          .trace_context({kParent, std::string(513, 'a')})
                          .execute(store()),
                      pgqrs::ValidationError, "tracestate");
  recorder_->set_context(TraceContext{"not-a-traceparent", std::nullopt});
  EXPECT_THROW_NAMING(pgqrs::enqueue().message(1).to("bad").execute(store()),
                      pgqrs::ValidationError, "traceparent");
  EXPECT_TRUE(AllMessages("bad").empty()) << "nothing is written for a malformed context";
  // A later version may append fields: accepted.
  EXPECT_NO_THROW(pgqrs::validate_trace_context(
      {"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-later", std::nullopt}));
}

// Throws from every call: the engine carries on as if it had returned.
class ThrowingHook : public pgqrs::TraceHook {
 public:
  void on_event(const TraceEvent&) override {
    ++calls;
    throw std::runtime_error("hook bug");
  }
  std::optional<TraceContext> current_context() override { throw std::runtime_error("hook bug"); }
  std::atomic<int> calls{0};
};

TEST_P(TracingTest, AThrowingHookDoesNotChangeTheOutcome) {
  auto hook = std::make_shared<ThrowingHook>();
  pgqrs::install_trace_hook(store(), hook);
  EXPECT_EQ(pgqrs::trace_hook(store()), hook);
  MakeQueue("t");
  const auto ids = pgqrs::enqueue().message(1).to("t").execute(store());
  EXPECT_FALSE(admin().get_message(ids[0]).traceparent.has_value());
  EXPECT_TRUE(
      pgqrs::dequeue().from("t").handle([](const pgqrs::QueueMessage&) {}).execute(store()));
  EXPECT_TRUE(admin().get_message(ids[0]).archived_at.has_value()) << "archived all the same";
  EXPECT_EQ(hook->calls.load(), 4);
}

TEST_P(TracingTest, NoHookMeansNothingIsCalled) {
  pgqrs::install_trace_hook(store(), nullptr);
  EXPECT_EQ(pgqrs::trace_hook(store()), nullptr);
  MakeQueue("quiet");
  pgqrs::enqueue().message(1).to("quiet").execute(store());
  pgqrs::dequeue().from("quiet").handle([](const pgqrs::QueueMessage&) {}).execute(store());
  pgqrs::WorkflowDef def("quietwf", [](pgqrs::Run& run, const json&) {
    pgqrs::workflow_step(run, "s", [] { return 1; });
    return json{};
  });
  Register(def);
  const auto msg = pgqrs::workflow().name(def).trigger({}).execute(store());
  Drain(def);
  EXPECT_EQ(Status(RunIdOf(msg)), pgqrs::WorkflowStatus::kSuccess);
  EXPECT_TRUE(recorder_->events().empty());
  EXPECT_EQ(recorder_->context_calls(), 0);
}

PGQRS_INSTANTIATE_CONFORMANCE(TracingTest);

}  // namespace
}  // namespace pgqrs_test
