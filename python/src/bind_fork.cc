// Fork and rerun for the native module (pgqrs/fork.h): each returns the new run's message
// as a dict (convert.h). Storage calls release the GIL.
#include <nanobind/stl/string.h>

#include <cstdint>
#include <string>

#include <pgqrs/fork.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {

void bind_fork(nb::module_& m) {
  m.def(
      "workflow_fork",
      [](const pgqrs::Store& s, std::int64_t run_id, std::string from_step) {
        return to_py(unlocked([&] { return pgqrs::fork(s, run_id, from_step); }));
      },
      nb::arg("store"), nb::arg("run_id"), nb::arg("from_step"));
  m.def(
      "workflow_rerun",
      [](const pgqrs::Store& s, std::int64_t run_id) {
        return to_py(unlocked([&] { return pgqrs::rerun(s, run_id); }));
      },
      nb::arg("store"), nb::arg("run_id"));
}

}  // namespace pgqrs_py
