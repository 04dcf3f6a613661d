// pgqrs._pgqrs: the native half of the Python package. Synchronous and GIL-free on every
// storage call; the pure-Python package (pgqrs/) makes it asyncio-native by running these
// calls on worker threads. Not a public API: import pgqrs instead.
#include "bindings.h"
#include "errors.h"

NB_MODULE(_pgqrs, m) {
  m.doc() = "pgqrs native module (internal; use the pgqrs package)";
  pgqrs_py::bind_errors(m);
  pgqrs_py::bind_store(m);
  pgqrs_py::bind_workers(m);
  pgqrs_py::bind_dequeue(m);
  pgqrs_py::bind_workflow(m);
  pgqrs_py::bind_s3(m);
  pgqrs_py::bind_clock(m);
  pgqrs_py::bind_tracing(m);
  pgqrs_py::bind_flow(m);
  pgqrs_py::bind_schedule(m);
  pgqrs_py::bind_fork(m);
  pgqrs_py::bind_coordination(m);
}
