// pgqrs-bench: one benchmark scenario per run (../shared/docs/BENCHMARKS.md, docs/benchmarks.md).
//
// Exit status: 0 measured (errors = 0), 1 measured with errors or a pgqrs error, 2 bad
// command line (UsageError), 3 any other failure.
#include <fstream>
#include <iostream>

#include "options.h"
#include "report.h"
#include "scenarios.h"

int main(int argc, char** argv) {
  using namespace pgqrs_bench;
  Options o;
  try {
    auto parsed = parse_options(argc, argv);
    if (!parsed) return 0;
    o = *parsed;
  } catch (const UsageError& e) {
    std::cerr << "pgqrs-bench: " << e.what() << "\n\n" << usage();
    return 2;
  }
  try {
    if (o.worker_child_log) return run_recovery_worker(o);
    Record r;
    if (o.scenario == "queue.drain") {
      r = run_queue_drain(o);
    } else if (o.scenario == "queue.enqueue") {
      r = run_queue_enqueue(o);
    } else if (o.scenario == "queue.latency") {
      r = run_queue_latency(o);
    } else if (o.scenario == "workflow.steps") {
      r = run_workflow_steps(o);
    } else if (o.scenario == "workflow.signal") {
      r = run_workflow_signal(o);
    } else if (o.scenario == "workflow.fanout") {
      r = run_workflow_fanout(o);
    } else {
      r = run_workflow_recovery(o);
    }
    const nlohmann::json record = r.to_json(o);
    if (o.output) {
      std::ofstream out(*o.output, std::ios::app);
      if (!out) {
        std::cerr << "pgqrs-bench: cannot open --output " << *o.output << "\n";
        return 3;
      }
      write_jsonl(out, record);
    }
    if (o.format == Format::kTable) {
      write_table(std::cout, record);
    } else {
      write_jsonl(std::cout, record);
    }
    return r.errors == 0 ? 0 : 1;
  } catch (const UsageError& e) {
    std::cerr << "pgqrs-bench: " << e.what() << "\n";
    return 2;
  } catch (const pgqrs::Error& e) {
    std::cerr << "\npgqrs-bench: pgqrs error (" << pgqrs::to_string(e.code()) << "): " << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "\npgqrs-bench: " << e.what() << "\n";
    return 3;
  }
}
