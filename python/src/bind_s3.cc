// The S3 store handle for the native module. The S3 backend (src/backend/s3) is not in this
// build yet: s3_handle() reports that clearly; the package's as_s3() checks the backend first.
#include <nanobind/stl/string.h>

#include "bindings.h"

#include <pgqrs/pgqrs.h>

namespace pgqrs_py {

void bind_s3(nb::module_& m) {
  m.attr("HAS_S3") = false;
  auto missing = [](const pgqrs::Store& s) -> std::string {
    throw pgqrs::ConfigError("store on backend '" + std::string(s.backend_name()) +
                             "': this build of pgqrs has no S3 backend");
  };
  m.def("s3_state", missing);
  m.def("s3_sync", missing);
  m.def("s3_snapshot", missing);
}

}  // namespace pgqrs_py
