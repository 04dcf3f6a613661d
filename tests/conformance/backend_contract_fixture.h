// The backend-contract half of the conformance suite: tests of the storage interface
// (src/backend/backend.h) that the public API cannot observe directly (dequeue order and
// fields, dead-lettering at max_read_ct, owner-only operations, worker status
// compare-and-set, zombies, purge, workflow run transitions and steps, concurrent leases).
// They run through backend::Backend on every case of AllBackends(), like the rest of the
// suite: one contract, every backend.
//
// Time is injected: every "now" is an explicit TimePoint (kT0 plus an offset); nothing
// sleeps. Derive a fixture from BackendContractTest and instantiate it with
// PGQRS_INSTANTIATE_CONFORMANCE(Fixture).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend.h"
#include "common/backend_helpers.h"
#include "conformance/backend_fixture.h"
#include "pgqrs/config.h"
#include "pgqrs/error.h"

namespace pgqrs_test {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::QueueMessage;
using pgqrs::RunRecord;
using pgqrs::StepRecord;
using pgqrs::TimePoint;
using pgqrs::WorkerKind;
using pgqrs::WorkerStatus;
using pgqrs::WorkflowStatus;
using pgqrs::backend::Backend;
using pgqrs::backend::DequeueParams;
using pgqrs::backend::EnqueueParams;
using pgqrs::backend::RunFilter;
using pgqrs::backend::TriggeredRun;
using StepUpdate = pgqrs::backend::Backend::StepUpdate;

class BackendContractTest : public ::testing::TestWithParam<BackendCase> {
 protected:
  // Skips (with the case's reason) when the backend cannot run here; otherwise opens the
  // case's backend on a fresh database and installs the schema.
  void SetUp() override;
  // Closes every backend, then undoes what the case created outside its scratch dir.
  void TearDown() override;

  Backend& be() { return *backend_; }
  // The backend's name as the case expects it ("sqlite", "postgres", "turso", "s3").
  const std::string& backend_name() const { return GetParam().backend; }

  // Another backend of the current case on its own fresh database (schema installed only
  // when `install`). Owned by the fixture until TearDown.
  Backend& OpenFresh(bool install);
  // Another backend on the same database as be() (its own connections, as another process
  // would have). Owned by the fixture until TearDown.
  Backend& OpenSame();

  std::int64_t make_queue(const std::string& name) { return be().create_queue(name, kT0).id; }
  std::int64_t make_worker(const std::string& name, const std::string& queue,
                           WorkerKind kind = WorkerKind::kConsumer, TimePoint now = kT0);
  // Enqueues {"n": i} for i in [0, n).
  std::vector<std::int64_t> enqueue(const std::string& queue, int n, TimePoint visible_at = kT0,
                                    TimePoint now = kT0);
  std::vector<QueueMessage> dequeue(const std::string& queue, std::uint32_t limit,
                                    std::int64_t worker, TimePoint now = kT0,
                                    pgqrs::Duration lease = 30s, std::int32_t max_read_ct = 5);

 private:
  pgqrs::Config OpenConfig();

  std::vector<std::unique_ptr<ScratchDir>> dirs_;
  std::vector<pgqrs::Config> configs_;  // what to clean up
  std::unique_ptr<Backend> backend_;
  std::vector<std::unique_ptr<Backend>> others_;
};

}  // namespace pgqrs_test
