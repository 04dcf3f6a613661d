#include "convert.h"

#include <cmath>
#include <ctime>

namespace pgqrs_py {
namespace {

constexpr int kMaxDepth = 512;  // guards the recursion; the payload limit (32) applies later

[[noreturn]] void bad(const std::string& what, const std::string& path, const std::string& why) {
  throw pgqrs::SerializationError(what + (path.empty() ? "" : " at " + path) + ": " + why);
}

pgqrs::json convert(nb::handle v, const std::string& what, const std::string& path, int depth) {
  if (depth > kMaxDepth) bad(what, path, "nested deeper than " + std::to_string(kMaxDepth));
  if (v.is_none()) return nullptr;
  if (PyBool_Check(v.ptr())) return v.ptr() == Py_True;
  if (PyLong_Check(v.ptr())) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow == 0) return static_cast<std::int64_t>(x);
    unsigned long long u = PyLong_AsUnsignedLongLong(v.ptr());
    if (u == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
      PyErr_Clear();
      bad(what, path, "integer does not fit in 64 bits");
    }
    return static_cast<std::uint64_t>(u);
  }
  if (PyFloat_Check(v.ptr())) return PyFloat_AsDouble(v.ptr());
  if (PyUnicode_Check(v.ptr())) {
    Py_ssize_t n = 0;
    const char* s = PyUnicode_AsUTF8AndSize(v.ptr(), &n);
    if (s == nullptr) {
      PyErr_Clear();
      bad(what, path, "string is not valid Unicode (lone surrogate)");
    }
    return std::string(s, static_cast<std::size_t>(n));
  }
  if (PyDict_Check(v.ptr())) {
    pgqrs::json out = pgqrs::json::object();
    for (auto [k, item] : nb::borrow<nb::dict>(v)) {
      if (!PyUnicode_Check(k.ptr())) {
        bad(what, path,
            "object keys must be str, not " + std::string(nb::type_name(k.type()).c_str()));
      }
      std::string key = nb::cast<std::string>(k);
      out[key] = convert(item, what, path + "." + key, depth + 1);
    }
    return out;
  }
  if (PyList_Check(v.ptr()) || PyTuple_Check(v.ptr())) {
    pgqrs::json out = pgqrs::json::array();
    std::size_t i = 0;
    for (nb::handle item : v) {
      out.push_back(convert(item, what, path + "[" + std::to_string(i) + "]", depth + 1));
      ++i;
    }
    return out;
  }
  bad(what, path,
      "a " + std::string(nb::type_name(v.type()).c_str()) +
          " is not a JSON value (use dict, list, str, int, float, bool or None)");
}

}  // namespace

pgqrs::json to_json(nb::handle value, const std::string& what) {
  return convert(value, what, "", 0);
}

nb::object to_py(const pgqrs::json& v) {
  using T = pgqrs::json::value_t;
  switch (v.type()) {
    case T::null:
    case T::discarded:
      return nb::none();
    case T::boolean:
      return nb::bool_(v.get<bool>());
    case T::number_integer:
      return nb::int_(v.get<std::int64_t>());
    case T::number_unsigned:
      return nb::steal(PyLong_FromUnsignedLongLong(v.get<std::uint64_t>()));
    case T::number_float:
      return nb::float_(v.get<double>());
    case T::string: {
      const auto& s = v.get_ref<const std::string&>();
      return nb::steal(
          PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace"));
    }
    case T::array: {
      nb::list out;
      for (const auto& item : v) out.append(to_py(item));
      return out;
    }
    case T::object: {
      nb::dict out;
      for (const auto& [k, item] : v.items()) out[nb::str(k.c_str(), k.size())] = to_py(item);
      return out;
    }
    case T::binary:
      break;
  }
  throw pgqrs::SerializationError("stored value is binary, not JSON");
}

std::string iso(pgqrs::TimePoint t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::int64_t secs = us / 1000000;
  std::int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

nb::object iso_or_none(const std::optional<pgqrs::TimePoint>& t) {
  if (!t) return nb::none();
  return nb::str(iso(*t).c_str());
}

pgqrs::TimePoint from_micros(std::int64_t micros) {
  return pgqrs::TimePoint(
      std::chrono::duration_cast<pgqrs::Duration>(std::chrono::microseconds(micros)));
}

namespace {
template <class T>
nb::object opt(const std::optional<T>& v) {
  if (!v) return nb::none();
  return nb::cast(*v);
}
nb::object opt_json(const std::optional<pgqrs::json>& v) {
  if (!v) return nb::none();
  return to_py(*v);
}
}  // namespace

std::vector<pgqrs::json> to_json_list(nb::handle items, const std::string& what) {
  if (!PyList_Check(items.ptr()) && !PyTuple_Check(items.ptr())) {
    throw pgqrs::SerializationError(what + ": expected a list of payloads, got " +
                                    std::string(nb::type_name(items.type()).c_str()));
  }
  std::vector<pgqrs::json> out;
  std::size_t i = 0;
  for (nb::handle item : items)
    out.push_back(to_json(item, what + "[" + std::to_string(i++) + "]"));
  return out;
}

nb::dict to_py(const pgqrs::QueueMessage& m) {
  nb::dict d;
  d["id"] = m.id;
  d["queue_id"] = m.queue_id;
  d["payload"] = to_py(m.payload);
  d["vt"] = iso(m.vt);
  d["enqueued_at"] = iso(m.enqueued_at);
  d["read_ct"] = m.read_ct;
  d["dequeued_at"] = iso_or_none(m.dequeued_at);
  d["producer_worker_id"] = opt(m.producer_worker_id);
  d["consumer_worker_id"] = opt(m.consumer_worker_id);
  d["archived_at"] = iso_or_none(m.archived_at);
  d["dead_at"] = iso_or_none(m.dead_at);
  d["priority"] = m.priority;
  d["dedup_key"] = m.dedup_key ? nb::object(nb::str(m.dedup_key->c_str())) : nb::none();
  d["concurrency_key"] =
      m.concurrency_key ? nb::object(nb::str(m.concurrency_key->c_str())) : nb::none();
  d["traceparent"] = m.traceparent ? nb::object(nb::str(m.traceparent->c_str())) : nb::none();
  d["tracestate"] = m.tracestate ? nb::object(nb::str(m.tracestate->c_str())) : nb::none();
  return d;
}

nb::list to_py(const std::vector<pgqrs::QueueMessage>& ms) { return to_py_list(ms); }

nb::dict to_py(const pgqrs::QueueInfo& q) {
  nb::dict d;
  d["id"] = q.id;
  d["queue_name"] = q.queue_name;
  d["created_at"] = iso(q.created_at);
  // Flow-control options (issue 14): None when unset; durations in seconds.
  const auto secs = [](const std::optional<pgqrs::Duration>& v) -> nb::object {
    if (!v) return nb::none();
    return nb::float_(std::chrono::duration<double>(*v).count());
  };
  const pgqrs::QueueOptions& o = q.options;
  d["concurrency"] = opt(o.concurrency);
  d["worker_concurrency"] = opt(o.worker_concurrency);
  d["key_concurrency"] = opt(o.key_concurrency);
  d["rate_limit"] =
      o.rate_limit ? nb::object(nb::make_tuple(o.rate_limit->count, secs(o.rate_limit->period)))
                   : nb::none();
  d["retain_archived"] = secs(o.retain_archived);
  d["retain_dead"] = secs(o.retain_dead);
  return d;
}

nb::dict to_py(const pgqrs::WorkerInfo& w) {
  nb::dict d;
  d["id"] = w.id;
  d["name"] = w.name;
  d["kind"] = std::string(pgqrs::to_string(w.kind));
  d["queue_id"] = opt(w.queue_id);
  d["hostname"] = w.hostname;
  d["pid"] = w.pid;
  d["status"] = std::string(pgqrs::to_string(w.status));
  d["started_at"] = iso(w.started_at);
  d["heartbeat_at"] = iso(w.heartbeat_at);
  d["shutdown_at"] = iso_or_none(w.shutdown_at);
  return d;
}

nb::dict to_py(const pgqrs::QueueMetrics& m) {
  nb::dict d;
  d["queue_id"] = m.queue_id;
  d["queue_name"] = m.queue_name;
  d["pending"] = m.pending;
  d["delayed"] = m.delayed;
  d["leased"] = m.leased;
  d["archived"] = m.archived;
  d["dead"] = m.dead;
  d["oldest_pending_age_seconds"] =
      m.oldest_pending_age
          ? nb::object(nb::float_(static_cast<double>(m.oldest_pending_age->count()) / 1000.0))
          : nb::none();
  return d;
}

nb::dict to_py(const pgqrs::SystemStats& s) {
  nb::dict d;
  d["queues"] = s.queues;
  d["workers"] = s.workers;
  d["active_workers"] = s.active_workers;
  d["pending"] = s.pending;
  d["delayed"] = s.delayed;
  d["leased"] = s.leased;
  d["archived"] = s.archived;
  d["dead"] = s.dead;
  d["schema_version"] = s.schema_version;
  d["backend"] = s.backend;
  return d;
}

nb::dict to_py(const pgqrs::WorkerStats& s) {
  nb::dict d;
  d["queue_name"] = s.queue_name;
  d["total"] = s.total;
  d["ready"] = s.ready;
  d["polling"] = s.polling;
  d["suspended"] = s.suspended;
  d["interrupted"] = s.interrupted;
  d["stopped"] = s.stopped;
  d["leased_messages"] = s.leased_messages;
  return d;
}

nb::dict to_py(const pgqrs::WorkerHealth& h) {
  nb::dict d;
  d["worker"] = to_py(h.worker);
  d["healthy"] = h.healthy;
  d["since_heartbeat_seconds"] = static_cast<double>(h.since_heartbeat.count()) / 1000.0;
  return d;
}

nb::dict to_py(const pgqrs::WorkflowRecord& w) {
  nb::dict d;
  d["id"] = w.id;
  d["name"] = w.name;
  d["queue_id"] = w.queue_id;
  d["created_at"] = iso(w.created_at);
  return d;
}

nb::dict to_py(const pgqrs::RunRecord& r) {
  nb::dict d;
  d["id"] = r.id;
  d["workflow_id"] = r.workflow_id;
  d["workflow_name"] = r.workflow_name;
  d["message_id"] = opt(r.message_id);
  d["status"] = std::string(pgqrs::to_string(r.status));
  d["input"] = to_py(r.input);
  d["output"] = opt_json(r.output);
  d["error"] = opt_json(r.error);
  d["created_at"] = iso(r.created_at);
  d["updated_at"] = iso(r.updated_at);
  return d;
}

nb::dict to_py(const pgqrs::StepRecord& s) {
  nb::dict d;
  d["id"] = s.id;
  d["run_id"] = s.run_id;
  d["step_name"] = s.step_name;
  d["status"] = std::string(pgqrs::to_string(s.status));
  d["input"] = opt_json(s.input);
  d["output"] = opt_json(s.output);
  d["error"] = opt_json(s.error);
  d["retry_at"] = iso_or_none(s.retry_at);
  d["retry_count"] = s.retry_count;
  d["created_at"] = iso(s.created_at);
  d["updated_at"] = iso(s.updated_at);
  return d;
}

}  // namespace pgqrs_py
