// pgqrs.ManualClock for the native module, and connecting a store on it. Times cross the
// boundary as integer microseconds since the Unix epoch (the Python layer converts to and
// from aware datetimes), so no time zone is ever guessed here.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <chrono>
#include <memory>
#include <optional>

#include <pgqrs/clock.h>
#include <pgqrs/config.h>
#include <pgqrs/store.h>

#include "bindings.h"

namespace pgqrs_py {
namespace {

using Micros = std::chrono::microseconds;

pgqrs::TimePoint from_micros(long long us) { return pgqrs::TimePoint(Micros(us)); }
long long to_micros(pgqrs::TimePoint t) {
  return std::chrono::duration_cast<Micros>(t.time_since_epoch()).count();
}

// The Python object owns the clock jointly with every store connected on it.
struct PyManualClock {
  std::shared_ptr<pgqrs::ManualClock> clock;
};

}  // namespace

void bind_clock(nb::module_& m) {
  nb::class_<PyManualClock>(m, "ManualClock")
      .def(
          "__init__",
          [](PyManualClock* self, std::optional<long long> start_us) {
            new (self) PyManualClock{std::make_shared<pgqrs::ManualClock>(
                start_us ? from_micros(*start_us) : std::chrono::system_clock::now())};
          },
          nb::arg("start_us").none() = nb::none())
      .def("now_us", [](const PyManualClock& c) { return to_micros(c.clock->now()); })
      // Moving the clock wakes engine threads waiting on it; they never need the GIL.
      .def(
          "advance_us", [](PyManualClock& c, long long us) { c.clock->advance(Micros(us)); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "set_us", [](PyManualClock& c, long long us) { c.clock->set(from_micros(us)); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("waiting", [](const PyManualClock& c) { return c.clock->waiting(); });

  // connect / connect_with on a manual clock (the clock-less ones are in bind_store.cc).
  m.def(
      "connect_on_clock",
      [](const std::string& dsn, const PyManualClock& c) {
        pgqrs::Config config = pgqrs::Config::load();  // as pgqrs::connect(dsn)
        config.dsn = dsn;
        return pgqrs::connect_with_config(config, c.clock);
      },
      nb::call_guard<nb::gil_scoped_release>());
  m.def(
      "connect_with_on_clock",
      [](const pgqrs::Config& config, const PyManualClock& c) {
        return pgqrs::connect_with_config(config, c.clock);
      },
      nb::call_guard<nb::gil_scoped_release>());
}

}  // namespace pgqrs_py
