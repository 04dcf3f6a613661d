// Helpers shared by the schema-upgrade contract tests (install_to the step before, put data
// in, upgrade, check): find a step by its description, and lease as the poll loop does.
#pragma once

#include <string>
#include <string_view>

#include "backend/schema_catalog.h"
#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {

// The version of the first schema step whose description contains `part` (a test failure,
// and the latest version, when none does).
inline std::int32_t schema_step_version(std::string_view part) {
  for (const auto& step : pgqrs::backend::schema_steps()) {
    if (step.description.find(part) != std::string_view::npos) return step.version;
  }
  ADD_FAILURE() << "no schema step described as '" << part << "'";
  return pgqrs::backend::kSchemaVersion;
}

// A 30-second lease of up to `limit` messages of `queue` for `worker` at `now`, max_read_ct 5.
inline DequeueParams lease_params(const std::string& queue, std::int64_t worker,
                                  std::uint32_t limit, TimePoint now) {
  DequeueParams p;
  p.queue = queue;
  p.limit = limit;
  p.lease = 30s;
  p.consumer_worker_id = worker;
  p.now = now;
  p.max_read_ct = 5;
  return p;
}

}  // namespace pgqrs_test
