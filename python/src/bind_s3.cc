// The S3 store handle for the native module (SPEC §6): state / snapshot / sync of a store on
// the S3 backend, through pgqrs/s3.h. Built against a tree without that header (before the S3
// backend is merged), the calls report that this build has no S3 support.
#include "bindings.h"

#include <pgqrs/pgqrs.h>

#if __has_include(<pgqrs/s3.h>)
#include <pgqrs/s3.h>
#define PGQRS_PY_HAS_S3 1
#else
#define PGQRS_PY_HAS_S3 0
#endif

namespace pgqrs_py {

void bind_s3(nb::module_& m) {
#if PGQRS_PY_HAS_S3
  m.attr("HAS_S3") = true;
  // as_s3 throws ConfigError naming the backend for a store that is not on s3://.
  m.def(
      "s3_state",
      [](const pgqrs::Store& s) { return std::string(pgqrs::to_string(pgqrs::as_s3(s).state())); },
      nb::call_guard<nb::gil_scoped_release>());
  m.def(
      "s3_sync", [](const pgqrs::Store& s) { pgqrs::as_s3(s).sync(); },
      nb::call_guard<nb::gil_scoped_release>());
  m.def(
      "s3_snapshot", [](const pgqrs::Store& s) { pgqrs::as_s3(s).snapshot(); },
      nb::call_guard<nb::gil_scoped_release>());
#else
  m.attr("HAS_S3") = false;
  auto missing = [](const pgqrs::Store& s) -> std::string {
    throw pgqrs::ConfigError("store on backend '" + std::string(s.backend_name()) +
                             "': this build of pgqrs has no S3 support (pgqrs/s3.h)");
  };
  m.def("s3_state", missing);
  m.def("s3_sync", missing);
  m.def("s3_snapshot", missing);
#endif
}

}  // namespace pgqrs_py
