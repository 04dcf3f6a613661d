// Config, connect, Store and Admin for the native module. Every call that touches storage
// releases the GIL; the pure-Python layer (pgqrs/_store.py) runs them off the event loop.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {
namespace {

using Seconds = std::chrono::seconds;

std::string mode_name(pgqrs::DurabilityMode m) {
  return m == pgqrs::DurabilityMode::kLocal ? "local" : "durable";
}

pgqrs::DurabilityMode parse_mode(const std::string& s) {
  if (s == "durable") return pgqrs::DurabilityMode::kDurable;
  if (s == "local") return pgqrs::DurabilityMode::kLocal;
  throw pgqrs::ConfigError("s3_mode: expected 'durable' or 'local', got '" + s + "'");
}

#define PGQRS_PY_FIELD(name, member)                         \
  def_prop_rw(                                               \
      name, [](const pgqrs::Config& c) { return c.member; }, \
      [](pgqrs::Config& c, decltype(pgqrs::Config{}.member) v) { c.member = v; })

void bind_config(nb::module_& m) {
  nb::class_<pgqrs::Config>(m, "Config")
      .def_static("from_dsn",
                  [](std::string dsn) { return pgqrs::Config::from_dsn(std::move(dsn)); })
      .def_static(
          "load",
          [](std::optional<std::string> path) {
            if (path) return pgqrs::Config::load(std::filesystem::path(*path));
            return pgqrs::Config::load();
          },
          nb::arg("path").none() = nb::none())
      .def("validate", &pgqrs::Config::validate)
      .def("copy", [](const pgqrs::Config& c) { return pgqrs::Config(c); })
      .def("redacted_dsn", [](const pgqrs::Config& c) { return pgqrs::redact_dsn(c.dsn); })
      .PGQRS_PY_FIELD("dsn", dsn)
      .PGQRS_PY_FIELD("schema", schema)
      .PGQRS_PY_FIELD("max_connections", max_connections)
      .PGQRS_PY_FIELD("connection_timeout_seconds", connection_timeout_seconds)
      .PGQRS_PY_FIELD("connect_timeout_seconds", connect_timeout_seconds)
      .PGQRS_PY_FIELD("statement_timeout_seconds", statement_timeout_seconds)
      .PGQRS_PY_FIELD("default_lock_time_seconds", default_lock_time_seconds)
      .PGQRS_PY_FIELD("default_max_batch_size", default_max_batch_size)
      .PGQRS_PY_FIELD("max_read_ct", max_read_ct)
      .PGQRS_PY_FIELD("heartbeat_interval_seconds", heartbeat_interval_seconds)
      .PGQRS_PY_FIELD("poll_interval_ms", poll_interval_ms)
      .PGQRS_PY_FIELD("app_version", app_version)
      .PGQRS_PY_FIELD("max_payload_size_bytes", validation.max_payload_size_bytes)
      .PGQRS_PY_FIELD("max_string_length", validation.max_string_length)
      .PGQRS_PY_FIELD("max_object_depth", validation.max_object_depth)
      .PGQRS_PY_FIELD("forbidden_keys", validation.forbidden_keys)
      .PGQRS_PY_FIELD("required_keys", validation.required_keys)
      .PGQRS_PY_FIELD("max_enqueue_per_second", validation.max_enqueue_per_second)
      .PGQRS_PY_FIELD("max_enqueue_burst", validation.max_enqueue_burst)
      .PGQRS_PY_FIELD("sqlite_use_wal", sqlite.use_wal)
      .PGQRS_PY_FIELD("s3_cache_dir", s3.cache_dir)
      .def_prop_rw(
          "s3_mode", [](const pgqrs::Config& c) { return mode_name(c.s3.mode); },
          [](pgqrs::Config& c, const std::string& v) { c.s3.mode = parse_mode(v); });
}

#undef PGQRS_PY_FIELD

void bind_store_class(nb::module_& m) {
  nb::class_<pgqrs::Store>(m, "Store")
      .def("backend_name", [](const pgqrs::Store& s) { return std::string(s.backend_name()); })
      .def("config", [](const pgqrs::Store& s) { return s.config(); })
      .def("queue",
           [](const pgqrs::Store& s, const std::string& name) {
             return to_py(unlocked([&] { return s.queue(name); }));
           })
      .def(
          "producer", [](const pgqrs::Store& s, const std::string& q) { return s.producer(q); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "consumer", [](const pgqrs::Store& s, const std::string& q) { return s.consumer(q); },
          nb::call_guard<nb::gil_scoped_release>());

  m.def(
      "connect", [](const std::string& dsn) { return pgqrs::connect(dsn); },
      nb::call_guard<nb::gil_scoped_release>());
  m.def(
      "connect_with", [](const pgqrs::Config& c) { return pgqrs::connect_with_config(c); },
      nb::call_guard<nb::gil_scoped_release>());
}

void bind_admin(nb::module_& m) {
  using A = pgqrs::Admin;
  using OptStr = std::optional<std::string>;
  nb::class_<A>(m, "Admin")
      .def(nb::init<pgqrs::Store>())
      .def("install", &A::install, nb::call_guard<nb::gil_scoped_release>())
      .def("verify",
           [](const A& a) {
             auto info = unlocked([&] { return a.verify(); });
             nb::dict d;
             d["version"] = info.version;
             d["expected_version"] = info.expected_version;
             return d;
           })
      .def("uninstall", &A::uninstall, nb::call_guard<nb::gil_scoped_release>())
      .def("create_queue",
           [](const A& a, const std::string& n) {
             return to_py(unlocked([&] { return a.create_queue(n); }));
           })
      .def("get_queue",
           [](const A& a, const std::string& n) {
             return to_py(unlocked([&] { return a.get_queue(n); }));
           })
      .def("list_queues",
           [](const A& a) { return to_py_list(unlocked([&] { return a.list_queues(); })); })
      .def(
          "delete_queue", [](const A& a, const std::string& n) { a.delete_queue(n); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "purge_queue", [](const A& a, const std::string& n) { return a.purge_queue(n); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "list_messages",
          [](const A& a, const std::string& q, std::uint32_t limit, bool archived,
             std::optional<std::int64_t> before_id) {
            return to_py(unlocked([&] { return a.list_messages(q, limit, archived, before_id); }));
          },
          nb::arg("queue"), nb::arg("limit"), nb::arg("include_archived"),
          nb::arg("before_id").none())
      .def("get_message",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.get_message(id); }));
           })
      .def(
          "dlq",
          [](const A& a, OptStr q, std::optional<std::uint32_t> limit,
             std::optional<std::int64_t> before_id) {
            return to_py(unlocked([&] {
              std::optional<std::string_view> queue;
              if (q) queue = *q;
              return a.dlq(queue, limit, before_id);
            }));
          },
          nb::arg("queue").none(), nb::arg("limit").none(), nb::arg("before_id").none())
      .def(
          "replay_dlq", [](const A& a, std::int64_t id) { return a.replay_dlq(id); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("queue_metrics",
           [](const A& a, const std::string& q) {
             return to_py(unlocked([&] { return a.queue_metrics(q); }));
           })
      .def("all_queues_metrics",
           [](const A& a) { return to_py_list(unlocked([&] { return a.all_queues_metrics(); })); })
      .def("system_stats",
           [](const A& a) { return to_py(unlocked([&] { return a.system_stats(); })); })
      .def(
          "list_workers",
          [](const A& a, OptStr q) {
            return to_py_list(unlocked(
                [&] { return q ? a.list_workers(std::string_view(*q)) : a.list_workers(); }));
          },
          nb::arg("queue").none())
      .def("get_worker",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.get_worker(id); }));
           })
      .def("worker_messages",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.worker_messages(id); }));
           })
      .def(
          "release_worker_messages",
          [](const A& a, std::int64_t id) { return a.release_worker_messages(id); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("suspend_worker",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.suspend_worker(id); }));
           })
      .def("resume_worker",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.resume_worker(id); }));
           })
      .def("shutdown_worker",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.shutdown_worker(id); }));
           })
      .def("heartbeat_worker",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.heartbeat_worker(id); }));
           })
      .def(
          "delete_worker", [](const A& a, std::int64_t id) { a.delete_worker(id); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("worker_stats",
           [](const A& a, const std::string& q) {
             return to_py(unlocked([&] { return a.worker_stats(q); }));
           })
      .def("worker_health",
           [](const A& a, std::int64_t timeout_s) {
             return to_py_list(unlocked([&] { return a.worker_health(Seconds(timeout_s)); }));
           })
      .def(
          "reclaim_messages",
          [](const A& a, const std::string& q, std::int64_t older_s) {
            return a.reclaim_messages(q, Seconds(older_s));
          },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "purge_old_workers",
          [](const A& a, std::int64_t older_s) { return a.purge_old_workers(Seconds(older_s)); },
          nb::call_guard<nb::gil_scoped_release>())
      .def("list_workflows",
           [](const A& a) { return to_py_list(unlocked([&] { return a.list_workflows(); })); })
      .def(
          "list_runs",
          [](const A& a, OptStr workflow, OptStr status, std::optional<std::int64_t> since_us,
             std::uint32_t limit, std::optional<std::int64_t> before_id) {
            pgqrs::RunFilter f;
            f.workflow = workflow;
            if (status) {
              f.status = pgqrs::parse_workflow_status(*status);
              if (!f.status) throw pgqrs::ValidationError("unknown run status '" + *status + "'");
            }
            if (since_us) f.since = from_micros(*since_us);
            f.limit = limit;
            f.before_id = before_id;
            return to_py_list(unlocked([&] { return a.list_runs(f); }));
          },
          nb::arg("workflow").none(), nb::arg("status").none(), nb::arg("since_us").none(),
          nb::arg("limit"), nb::arg("before_id").none())
      .def("get_run",
           [](const A& a, std::int64_t id) {
             return to_py(unlocked([&] { return a.get_run(id); }));
           })
      .def("run_steps",
           [](const A& a, std::int64_t id) {
             return to_py_list(unlocked([&] { return a.run_steps(id); }));
           })
      .def(
          "cancel_run", [](const A& a, std::int64_t id) { return a.cancel_run(id); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "resume_run", [](const A& a, std::int64_t id) { return a.resume_run(id); },
          nb::call_guard<nb::gil_scoped_release>());
}

}  // namespace

void bind_store(nb::module_& m) {
  bind_config(m);
  bind_store_class(m);
  bind_admin(m);
}

}  // namespace pgqrs_py
