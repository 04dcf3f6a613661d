// The scenarios of BENCHMARKS.md. Each opens its own store on o.dsn, installs the schema if
// needed, works on a fresh queue / workflow, checks what it measured (errors counts every
// message lost, delivered twice, or not processed), and returns the record.
#pragma once

#include <string>

#include "options.h"
#include "pgqrs/pgqrs.h"
#include "report.h"

namespace pgqrs_bench {

Record run_queue_drain(const Options& o);
Record run_queue_enqueue(const Options& o);
Record run_queue_latency(const Options& o);
Record run_workflow_steps(const Options& o);
Record run_workflow_recovery(const Options& o);
// Workflows that talk (coordination_scenarios.cc).
Record run_workflow_signal(const Options& o);
Record run_workflow_fanout(const Options& o);
// The child process of workflow.recovery: serves the workflow until killed.
int run_recovery_worker(const Options& o);

// Shared by the scenarios (common.cc).
// A store on o.dsn with enough connections for `threads`, the given lease and poll interval
// (0 = the configuration's), schema installed.
pgqrs::Store open_store(const Options& o, std::uint32_t threads,
                        std::uint32_t poll_interval_ms = 0);
// "bench_<tag>_<pid>_<n>": unique per process run.
std::string fresh_name(const std::string& tag);
// Stops the consumers' workers, purges and deletes the queue, so the next run starts from
// a table of the same size (best effort: failures are reported on stderr only).
// A workflow's queue is purged but kept (the workflow row refers to it).
void drop_queue(const pgqrs::Store& store, const std::string& queue,
                const std::vector<pgqrs::Consumer>& consumers, bool keep_queue = false);

// Runs of `workflow` in `status`.
std::uint64_t count_runs(const pgqrs::Store& store, const std::string& workflow,
                         pgqrs::WorkflowStatus status);

}  // namespace pgqrs_bench
