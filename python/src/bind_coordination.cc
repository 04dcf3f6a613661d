// Workflows that talk for the native module (pgqrs/coordination.h): the Run's recv / send /
// events / streams / children as module functions taking the Run, and send / get_event /
// stream reading from outside. A child run crosses as its id. Storage calls release the GIL;
// a recv or gather that must wait raises PausedError like sleep.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <pgqrs/coordination.h>
#include <pgqrs/versions.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {
namespace {

using Millis = std::chrono::milliseconds;

nb::dict message_dict(const pgqrs::RunMessage& m) {
  nb::dict d;
  d["id"] = m.id;
  d["run_id"] = m.run_id;
  d["topic"] = m.topic;
  d["payload"] = to_py(m.payload);
  d["created_at"] = iso(m.created_at);
  d["received_at"] = m.received_at ? nb::cast(iso(*m.received_at)) : nb::none();
  d["received_by"] = m.received_by ? nb::cast(*m.received_by) : nb::none();
  return d;
}

nb::dict event_dict(const pgqrs::RunEvent& e) {
  nb::dict d;
  d["id"] = e.id;
  d["run_id"] = e.run_id;
  d["kind"] = std::string(pgqrs::to_string(e.kind));
  d["key"] = e.key;
  d["value"] = to_py(e.value);
  d["created_at"] = iso(e.created_at);
  return d;
}

// (found, value): a JSON null value is not "nothing".
nb::tuple optional_value(const std::optional<pgqrs::json>& v) {
  return nb::make_tuple(v.has_value(), v ? to_py(*v) : nb::none());
}

}  // namespace

void bind_coordination(nb::module_& m) {
  using R = pgqrs::Run;
  m.def(
      "run_recv",
      [](R& r, const std::string& topic, std::int64_t timeout_ms) {
        return optional_value(unlocked([&] { return r.recv(topic, Millis(timeout_ms)); }));
      },
      nb::arg("run"), nb::arg("topic"), nb::arg("timeout_ms"));
  m.def("run_send", [](R& r, std::int64_t run_id, const std::string& topic, nb::handle payload) {
    auto j = to_json(payload, "message on topic '" + topic + "'");
    return unlocked([&] { return r.send(run_id, topic, j); });
  });
  m.def("run_set_event", [](R& r, const std::string& key, nb::handle value) {
    auto j = to_json(value, "event '" + key + "'");
    unlocked([&] {
      r.set_event(key, j);
      return 0;
    });
  });
  m.def("run_write_stream", [](R& r, const std::string& key, nb::handle value) {
    auto j = to_json(value, "stream '" + key + "'");
    unlocked([&] {
      r.write_stream(key, j);
      return 0;
    });
  });
  m.def(
      "run_close_stream", [](R& r, const std::string& key) { r.close_stream(key); },
      nb::call_guard<nb::gil_scoped_release>());
  m.def("run_start_child", [](R& r, const std::string& workflow, nb::handle input) {
    auto j = to_json(input, "input of child '" + workflow + "'");
    return unlocked([&] { return r.start_child(workflow, j).id(); });
  });
  m.def("run_gather", [](R& r, const std::vector<std::int64_t>& ids) {
    auto outs = unlocked([&] {
      std::vector<pgqrs::ChildRun> children;
      children.reserve(ids.size());
      for (const auto id : ids) children.emplace_back(r, id);
      return r.gather(children);
    });
    nb::list l;
    for (const auto& o : outs) l.append(to_py(o));
    return l;
  });

  m.def(
      "send",
      [](const pgqrs::Store& s, std::int64_t run_id, const std::string& topic, nb::handle payload) {
        auto j = to_json(payload, "message on topic '" + topic + "'");
        return unlocked([&] { return pgqrs::send(s, run_id, topic, j); });
      },
      nb::arg("store"), nb::arg("run_id"), nb::arg("topic"), nb::arg("payload"));
  m.def(
      "get_event",
      [](const pgqrs::Store& s, std::int64_t run_id, const std::string& key,
         std::int64_t timeout_ms) {
        return optional_value(
            unlocked([&] { return pgqrs::get_event(s, run_id, key, Millis(timeout_ms)); }));
      },
      nb::arg("store"), nb::arg("run_id"), nb::arg("key"), nb::arg("timeout_ms"));
  m.def("run_messages", [](const pgqrs::Store& s, std::int64_t run_id, std::uint32_t limit) {
    auto rows = unlocked([&] { return pgqrs::run_messages(s, run_id, limit); });
    nb::list l;
    for (const auto& r : rows) l.append(message_dict(r));
    return l;
  });
  m.def("run_events", [](const pgqrs::Store& s, std::int64_t run_id, std::uint32_t limit) {
    auto rows = unlocked([&] { return pgqrs::run_events(s, run_id, limit); });
    nb::list l;
    for (const auto& r : rows) l.append(event_dict(r));
    return l;
  });
  m.def("child_runs", [](const pgqrs::Store& s, std::int64_t run_id) {
    return to_py_list(unlocked([&] { return pgqrs::child_runs(s, run_id); }));
  });

  m.def("stranded_runs",
        [](const pgqrs::Store& s, std::int64_t heartbeat_timeout_s, std::uint32_t limit) {
          auto rows = unlocked([&] {
            return pgqrs::stranded_runs(s, std::chrono::seconds(heartbeat_timeout_s), limit);
          });
          nb::list l;
          for (const auto& r : rows) {
            nb::dict d;
            d["run_id"] = r.run_id;
            d["workflow"] = r.workflow;
            d["app_version"] = r.app_version;
            d["status"] = std::string(pgqrs::to_string(r.status));
            l.append(d);
          }
          return l;
        });
  m.def("migrate_runs", [](const pgqrs::Store& s, const std::string& to,
                           std::optional<std::string> from, std::optional<std::string> workflow) {
    return unlocked([&] { return pgqrs::migrate_runs(s, to, from, workflow); });
  });

  nb::class_<pgqrs::StreamReader>(m, "StreamReader")
      .def(nb::init<pgqrs::Store, std::int64_t, std::string>(), nb::arg("store"), nb::arg("run_id"),
           nb::arg("key"))
      .def(
          "next",
          // (more, value): more is False once the stream ended.
          [](pgqrs::StreamReader& r, std::int64_t timeout_ms) {
            return optional_value(unlocked([&] { return r.next(Millis(timeout_ms)); }));
          },
          nb::arg("timeout_ms"));
}

}  // namespace pgqrs_py
