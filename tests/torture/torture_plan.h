// The torture workload (make torture, docs/reliability.md): what each run of the workflow
// "torture_wf" does, derived from its input alone so that the worker executing it and the
// checker verifying it agree without talking to each other.
//
// Input {"n": N, "steps": [{"sleep_ms": S, "failures": F}, ...]} with 5..10 entries. Step i
// (1-based, named "s<i>") is preceded by a durable sleep "nap<i>" of S ms on the engine
// clock when S > 0, and its body throws TransientStepError F times (F executions that reach
// the end of the body) before it succeeds; the retry policy allows kMaxRetries. Step i
// returns {"v": StepValue(N, i), "by": TOKEN}; the run returns
// {"n": N, "total": the sum of v, "by": [the tokens]}.
//
// Side-effect log (one file shared by every worker, each line one write() on an O_APPEND
// descriptor, so the file order is the real order of the writes across processes):
//   "body RUN STEP TOKEN"  an execution of the step body started (its side effect);
//   "fail RUN STEP TOKEN"  that execution is about to throw its planned transient failure;
//   "done RUN STEP TOKEN"  workflow_step returned the output of a body that ran in this
//                          execution, i.e. after its success was recorded.
// TOKEN = "<pid>:<seq>" names one execution of a body.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "pgqrs/pgqrs.h"

namespace pgqrs_torture {

inline constexpr char kWorkflow[] = "torture_wf";
inline constexpr int kMinSteps = 5;
inline constexpr int kMaxSteps = 10;
inline constexpr int kMaxFailures = 2;           // planned transient failures per step
inline constexpr std::uint32_t kMaxRetries = 4;  // policy: more than kMaxFailures
inline constexpr auto kRetryDelay = std::chrono::milliseconds(30);

inline int StepValue(int n, int step) { return 100 * n + step; }

// The input of run number `n`, drawn from `rng` (the driver's seeded generator): about one
// step in four sleeps (10..300 ms), one in four fails 1..kMaxFailures times first.
inline pgqrs::json MakeInput(int n, std::mt19937& rng) {
  std::uniform_int_distribution<int> steps(kMinSteps, kMaxSteps);
  std::uniform_int_distribution<int> quarter(0, 3);
  std::uniform_int_distribution<int> sleep_ms(10, 300);
  std::uniform_int_distribution<int> failures(1, kMaxFailures);
  pgqrs::json plan = pgqrs::json::array();
  const int count = steps(rng);
  for (int i = 0; i < count; ++i) {
    const int s = quarter(rng) == 0 ? sleep_ms(rng) : 0;
    const int f = quarter(rng) == 0 ? failures(rng) : 0;
    plan.push_back({{"sleep_ms", s}, {"failures", f}});
  }
  return {{"n", n}, {"steps", plan}};
}

// The run output a correct execution of `input` produces, without the tokens.
inline int ExpectedTotal(const pgqrs::json& input) {
  const int n = input.at("n").get<int>();
  int total = 0;
  for (std::size_t i = 1; i <= input.at("steps").size(); ++i) {
    total += StepValue(n, static_cast<int>(i));
  }
  return total;
}

}  // namespace pgqrs_torture
