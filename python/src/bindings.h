// The parts of the native module pgqrs._pgqrs, one function per file (internal).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <stop_token>
#include <utility>

#include <pgqrs/dequeue.h>

namespace pgqrs_py {

namespace nb = nanobind;

// Runs `f` with the GIL released (for storage calls whose arguments were converted already
// and whose result is converted afterwards, both under the GIL).
template <class F>
auto unlocked(F&& f) {
  nb::gil_scoped_release release;
  return std::forward<F>(f)();
}

// A std::stop_source that Python can trigger (asyncio task cancellation stops a poll).
struct StopSource {
  std::stop_source source;
};

// PollStats as a dict (processed, failed, lease_lost, batches, stop).
nb::dict stats_to_py(const pgqrs::PollStats& s);

void bind_store(nb::module_& m);         // Config, connect, Store, Admin
void bind_workers(nb::module_& m);       // Producer, Consumer, enqueue
void bind_dequeue(nb::module_& m);       // fetch, poll, handlers, StopSource
void bind_workflow(nb::module_& m);      // workflow builder calls, Run, serve_workflow
void bind_s3(nb::module_& m);            // S3 handle (when the S3 backend is built)
void bind_clock(nb::module_& m);         // ManualClock, connecting on it
void bind_tracing(nb::module_& m);       // enqueue / trigger with a trace context, a run's context
void bind_flow(nb::module_& m);          // queue options, message flow fields (issue 14)
void bind_schedule(nb::module_& m);      // schedules, prune, workflow retention
void bind_fork(nb::module_& m);          // workflow fork / rerun
void bind_coordination(nb::module_& m);  // send / recv, events, streams, child runs

}  // namespace pgqrs_py
