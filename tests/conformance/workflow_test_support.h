// Shared fixture for the workflow conformance tests (SPEC §5): workflow_*_test.cc.
//
// Every test runs on every backend of the suite with the injected ManualClock. A "drain"
// runs a workflow worker (`pgqrs::workflow().name(def).consumer(c).until_empty().poll`) on
// the test's thread until no run message is deliverable at the clock's current time; moving
// the clock between drains is how retries, pauses and sleeps come due -- nothing sleeps.
// Tests that need a worker running concurrently (cancel while running, result() waiting)
// run it on a std::thread with a stop token.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "conformance/backend_fixture.h"
#include "core/store_state.h"

// Status names in failure messages ("CANCELLING", not "4-byte object <03-00 00-00>").
namespace pgqrs {
inline void PrintTo(WorkflowStatus s, std::ostream* os) { *os << to_string(s); }
}  // namespace pgqrs

namespace pgqrs_test {

// Thread-safe call counters keyed by name ("step body ran", "handler entered", ...).
class Counters {
 public:
  int bump(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    return ++counts_[key];
  }
  int get(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
};

// A one-shot gate with a real-time bound, so a test that forgets to open it fails instead
// of hanging.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // True if opened within `limit`.
  bool wait(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Run records through the public Admin API.
inline std::vector<pgqrs::RunRecord> ListRuns(const pgqrs::Store& s,
                                              const pgqrs::RunFilter& filter) {
  return pgqrs::admin(s).list_runs(filter);
}

inline std::vector<pgqrs::StepRecord> ListSteps(const pgqrs::Store& s, std::int64_t run_id) {
  return pgqrs::admin(s).run_steps(run_id);
}

inline std::optional<pgqrs::StepRecord> FindStep(const pgqrs::Store& s, std::int64_t run_id,
                                                 const std::string& name) {
  for (auto& step : ListSteps(s, run_id)) {
    if (step.step_name == name) return step;
  }
  return std::nullopt;
}

// Cancels a run from outside its handler (what `pgqrs workflow cancel RUN_ID` does).
inline bool CancelRun(const pgqrs::Store& s, std::int64_t run_id) {
  return pgqrs::admin(s).cancel_run(run_id);
}

class WorkflowTest : public ConformanceTest {
 protected:
  void TearDown() override {
    consumers_.clear();  // worker handles hold their store; let it close first
    ConformanceTest::TearDown();
  }

  // Registers `def` (create) and a consumer "wf-worker-<name>" for its queue.
  void Register(const pgqrs::WorkflowDef& def) { Register(store(), def); }
  void Register(const pgqrs::Store& s, const pgqrs::WorkflowDef& def) {
    pgqrs::workflow().name(def).create(s);
    ConsumerFor(s, def.name());
  }

  // Triggers a run of `def` with `input`; returns its id (found from the message: the
  // payload is the input).
  std::int64_t Trigger(const pgqrs::WorkflowDef& def, const pgqrs::json& input = {}) {
    pgqrs::QueueMessage msg = pgqrs::workflow().name(def).trigger(input).execute(store());
    return RunIdOf(msg);
  }
  std::int64_t RunIdOf(const pgqrs::QueueMessage& msg) {
    return pgqrs::run().message(msg).store(store()).record().id;
  }

  // Runs a worker for `def` until no run message is deliverable now; fails the test (and
  // stops the worker) if that takes longer than `limit` of real time.
  std::optional<pgqrs::PollStats> Drain(const pgqrs::WorkflowDef& def) {
    return Drain(store(), def);
  }
  std::optional<pgqrs::PollStats> Drain(
      const pgqrs::Store& s, const pgqrs::WorkflowDef& def,
      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
    pgqrs::Consumer c = ConsumerFor(s, def.name());
    std::stop_source guard;
    auto fut = std::async(std::launch::async, [&] {
      return pgqrs::workflow()
          .name(def)
          .consumer(c)
          .until_empty()
          .stop_token(guard.get_token())
          .poll(s);
    });
    const bool returned = WaitReady(fut, limit);
    if (!returned) guard.request_stop();
    fut.wait();
    if (!returned) {
      ADD_FAILURE() << "workflow worker for '" << def.name() << "' did not drain within "
                    << limit.count() << " ms";
      return std::nullopt;
    }
    return fut.get();
  }

  pgqrs::RunRecord Record(std::int64_t run_id) const {
    return pgqrs::run().id(run_id).store(store()).record();
  }
  pgqrs::WorkflowStatus Status(std::int64_t run_id) const { return Record(run_id).status; }
  std::vector<pgqrs::StepRecord> Steps(std::int64_t run_id) const {
    return ListSteps(store(), run_id);
  }
  std::optional<pgqrs::StepRecord> Step(std::int64_t run_id, const std::string& name) const {
    return FindStep(store(), run_id, name);
  }
  pgqrs::QueueMessage MessageOf(std::int64_t run_id) const {
    auto rec = Record(run_id);
    EXPECT_TRUE(rec.message_id.has_value()) << "run " << run_id << " has no message id";
    return admin().get_message(rec.message_id.value_or(0));
  }
  pgqrs::QueueMetrics Metrics(const pgqrs::WorkflowDef& def) const {
    return admin().queue_metrics(def.name());
  }
  // "<status>" of a run for failure messages.
  std::string Describe(std::int64_t run_id) const {
    auto rec = Record(run_id);
    std::string out = std::string(pgqrs::to_string(rec.status));
    if (rec.error) out += " error=" + rec.error->dump();
    if (rec.output) out += " output=" + rec.output->dump();
    return out;
  }

  // Policy helpers.
  static pgqrs::StepRetryPolicy Fixed(std::uint32_t retries, std::chrono::milliseconds delay) {
    return pgqrs::StepRetryPolicy{retries, pgqrs::BackoffStrategy::fixed(delay)};
  }

 private:
  pgqrs::Consumer ConsumerFor(const pgqrs::Store& s, const std::string& queue) {
    const auto key = std::make_pair(pgqrs::StoreAccess::state(s).get(), queue);
    auto it = consumers_.find(key);
    if (it != consumers_.end()) return it->second;
    pgqrs::Consumer c =
        pgqrs::consumer("wf-worker-" + queue + "-" + std::to_string(consumers_.size()), queue)
            .create(s);
    consumers_.emplace(key, c);
    return c;
  }
  std::map<std::pair<const void*, std::string>, pgqrs::Consumer> consumers_;
};

}  // namespace pgqrs_test
