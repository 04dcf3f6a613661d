// The torture harness's verdict (make torture, docs/reliability.md): after the workers are
// gone, compares what the database recorded with the runs the driver triggered and with the
// side-effect log the workers wrote (torture_plan.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "pgqrs/pgqrs.h"

namespace pgqrs_torture {

struct CheckResult {
  std::uint64_t runs = 0;               // runs found finished with the right output
  std::uint64_t steps = 0;              // steps recorded SUCCESS (sleeps not counted)
  std::uint64_t lost = 0;               // runs missing / unfinished + messages not archived
  std::uint64_t duplicated_steps = 0;   // recorded steps whose body ran again after success
  std::uint64_t reexecuted_bodies = 0;  // bodies interrupted by a kill and run again
  std::vector<std::string> problems;    // every violation, first ones in full
  bool ok() const { return problems.empty(); }
};

// Checks, for the runs of `inputs` (run id -> input as triggered):
//   1. no run lost: exactly these runs of kWorkflow exist, each SUCCESS with the output its
//      input implies, built from the recorded step outputs; each message archived, nothing
//      pending, leased, delayed or dead;
//   2. each step s<i> recorded SUCCESS exactly once with its planned failure count, each
//      planned sleep recorded once, no other step;
//   3. no step that recorded success ran again: the recorded token is the step's LAST body
//      line in the log (a body running after, or concurrently with, the recorded one would
//      follow it), at most one "done" line, naming it, after it; no log line for a step or
//      run that does not exist.
CheckResult Check(const pgqrs::Store& store, const std::map<std::int64_t, pgqrs::json>& inputs,
                  const std::filesystem::path& log);

}  // namespace pgqrs_torture
