// Conversions between Python values and pgqrs C++ values for the native module (internal).
//
// Every function here needs the GIL. JSON payloads are plain Python values (dict with str
// keys, list/tuple, str, int, float, bool, None); times cross as ISO-8601 strings with a
// "+00:00" offset on the way out and as microseconds since the epoch on the way in (the
// pure-Python layer parses ISO strings with datetime.fromisoformat).
#pragma once

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <pgqrs/pgqrs.h>

namespace pgqrs_py {

namespace nb = nanobind;

// A Python object owned from C++ code that may copy or destroy it without the GIL (engine
// threads copy handlers freely): the last owner takes the GIL to drop the reference.
class PyRef {
 public:
  explicit PyRef(nb::object o) : obj_(new nb::object(std::move(o)), Drop{}) {}
  const nb::object& get() const { return *obj_; }

 private:
  struct Drop {
    void operator()(nb::object* o) const noexcept {
      if (!Py_IsInitialized()) {
        (void)o->release();  // interpreter gone: leak the reference rather than crash
        delete o;
        return;
      }
      nb::gil_scoped_acquire gil;
      delete o;
    }
  };
  std::shared_ptr<nb::object> obj_;
};

// Python value -> JSON. SerializationError naming `what` and the path for anything that is
// not a plain JSON value (bytes, sets, objects, non-str keys, ints beyond 64 bits).
pgqrs::json to_json(nb::handle value, const std::string& what);
// A list or tuple of payloads; SerializationError naming `what[i]` for a bad one.
std::vector<pgqrs::json> to_json_list(nb::handle items, const std::string& what);
// JSON -> Python value (ints stay ints, floats floats).
nb::object to_py(const pgqrs::json& value);

// "2026-12-01T21:40:00.123456+00:00"
std::string iso(pgqrs::TimePoint t);
nb::object iso_or_none(const std::optional<pgqrs::TimePoint>& t);
pgqrs::TimePoint from_micros(std::int64_t micros);

// Records as dicts with the field names of the Python record classes.
nb::dict to_py(const pgqrs::QueueMessage& m);
nb::list to_py(const std::vector<pgqrs::QueueMessage>& ms);
nb::dict to_py(const pgqrs::QueueInfo& q);
nb::dict to_py(const pgqrs::WorkerInfo& w);
nb::dict to_py(const pgqrs::QueueMetrics& m);
nb::dict to_py(const pgqrs::SystemStats& s);
nb::dict to_py(const pgqrs::WorkerStats& s);
nb::dict to_py(const pgqrs::WorkerHealth& h);
nb::dict to_py(const pgqrs::WorkflowRecord& w);
nb::dict to_py(const pgqrs::RunRecord& r);
nb::dict to_py(const pgqrs::StepRecord& s);

template <class T>
nb::list to_py_list(const std::vector<T>& items) {
  nb::list out;
  for (const auto& i : items) out.append(to_py(i));
  return out;
}

}  // namespace pgqrs_py
