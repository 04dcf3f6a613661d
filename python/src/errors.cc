#include "errors.h"

#include <nanobind/stl/string.h>

#include <map>
#include <string>

#include <pgqrs/pgqrs.h>

namespace pgqrs_py {
namespace {

// code -> Python class; filled once by _register_errors, kept for the module's lifetime.
std::map<std::string, PyObject*>& classes() {
  static auto* m = new std::map<std::string, PyObject*>();
  return *m;
}

PyObject* class_for(const std::string& code) {
  auto& c = classes();
  auto it = c.find(code);
  if (it != c.end()) return it->second;
  it = c.find("pgqrs_error");
  return it != c.end() ? it->second : PyExc_RuntimeError;
}

nb::object millis_to_seconds(const std::optional<std::chrono::milliseconds>& ms) {
  if (!ms) return nb::none();
  return nb::float_(static_cast<double>(ms->count()) / 1000.0);
}

void raise(const pgqrs::Error& e) {
  const std::string code(pgqrs::to_string(e.code()));
  nb::handle cls = class_for(code);
  nb::object exc = nb::steal(PyObject_CallFunction(cls.ptr(), "s", e.what()));
  if (!exc.is_valid()) return;  // the constructor raised; that error is set
  PyObject_SetAttrString(exc.ptr(), "code", nb::str(code.c_str()).ptr());
  PyObject_SetAttrString(exc.ptr(), "retryable", e.retryable() ? Py_True : Py_False);
  if (const auto* r = dynamic_cast<const pgqrs::RateLimitedError*>(&e)) {
    PyObject_SetAttrString(exc.ptr(), "retry_after", millis_to_seconds(r->retry_after()).ptr());
  } else if (const auto* t = dynamic_cast<const pgqrs::TransientStepError*>(&e)) {
    PyObject_SetAttrString(exc.ptr(), "retry_after", millis_to_seconds(t->retry_after()).ptr());
  } else if (const auto* c = dynamic_cast<const pgqrs::ConnectionError*>(&e)) {
    PyObject_SetAttrString(exc.ptr(), "outcome_unknown", c->outcome_unknown() ? Py_True : Py_False);
  }
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

void translate(const std::exception_ptr& p, void*) {
  try {
    std::rethrow_exception(p);
  } catch (const pgqrs::Error& e) {
    raise(e);
  }
}

}  // namespace

void bind_errors(nb::module_& m) {
  nb::register_exception_translator(translate);
  m.def("_register_errors", [](nb::dict by_code) {
    auto& c = classes();
    for (auto [k, v] : by_code) {
      Py_INCREF(v.ptr());  // held for the module's lifetime
      c[std::string(nb::str(k).c_str())] = v.ptr();
    }
  });
}

namespace {
bool is_abort(nb::python_error& e) {
  return PyObject_IsInstance(e.value().ptr(), PyExc_Exception) == 0;
}
}  // namespace

void rethrow_handler_error(nb::python_error& e) {
  if (is_abort(e)) throw pgqrs::HandlerAbort(std::make_exception_ptr(std::move(e)));
  throw;
}

void rethrow_as_cpp(nb::python_error& e) {
  if (is_abort(e)) throw pgqrs::HandlerAbort(std::make_exception_ptr(std::move(e)));
  nb::handle value = e.value();
  const std::string message = nb::cast<std::string>(nb::str(value));
  const std::string type = nb::type_name(value.type()).c_str();
  auto base = classes().find("pgqrs_error");
  if (base != classes().end() && PyObject_IsInstance(value.ptr(), base->second) == 1) {
    // Classified by type (the nearest registered pgqrs class in the MRO), never by the
    // instance's writable `code` attribute: users set err.code = "TIMEOUT" on their own
    // TransientStepError.
    std::string code;
    nb::object mro = value.type().attr("__mro__");
    for (nb::handle cls : mro) {
      for (const auto& [k, registered] : classes()) {
        if (registered == cls.ptr() && k != "pgqrs_error") code = k;
      }
      if (!code.empty()) break;
    }
    if (code == "connection") {
      const bool retryable =
          nb::hasattr(value, "retryable") && PyObject_IsTrue(value.attr("retryable").ptr()) == 1;
      throw pgqrs::ConnectionError(message, /*outcome_unknown=*/!retryable);
    }
    if (code == "conflict") {  // a retryable conflict: a write refused, not applied (H20)
      throw pgqrs::ConflictError(message, nb::hasattr(value, "retryable") &&
                                              PyObject_IsTrue(value.attr("retryable").ptr()) == 1);
    }
    static const std::map<std::string, void (*)(const std::string&)> throwers = {
        {"queue_not_found", [](const std::string& m) { throw pgqrs::QueueNotFoundError(m); }},
        {"queue_already_exists",
         [](const std::string& m) { throw pgqrs::QueueAlreadyExistsError(m); }},
        {"worker_not_found", [](const std::string& m) { throw pgqrs::WorkerNotFoundError(m); }},
        {"message_not_found", [](const std::string& m) { throw pgqrs::MessageNotFoundError(m); }},
        {"config", [](const std::string& m) { throw pgqrs::ConfigError(m); }},
        {"validation", [](const std::string& m) { throw pgqrs::ValidationError(m); }},
        {"serialization", [](const std::string& m) { throw pgqrs::SerializationError(m); }},
        {"rate_limited", [](const std::string& m) { throw pgqrs::RateLimitedError(m, {}); }},
        {"state_transition", [](const std::string& m) { throw pgqrs::StateTransitionError(m); }},
        {"timeout", [](const std::string& m) { throw pgqrs::TimeoutError(m); }},
        {"transient_step", [](const std::string& m) { throw pgqrs::TransientStepError(m); }},
        {"step_not_ready", [](const std::string& m) { throw pgqrs::StepNotReadyError(m); }},
        {"retries_exhausted", [](const std::string& m) { throw pgqrs::RetriesExhaustedError(m); }},
        {"paused", [](const std::string& m) { throw pgqrs::PausedError(m); }},
        {"cancelled", [](const std::string& m) { throw pgqrs::CancelledError(m); }},
        {"execution_failed", [](const std::string& m) { throw pgqrs::ExecutionFailedError(m); }},
        {"internal", [](const std::string& m) { throw pgqrs::InternalError(m); }},
    };
    auto it = throwers.find(code);
    if (it != throwers.end()) it->second(message);
  }
  throw pgqrs::ExecutionFailedError(type + ": " + message);
}

}  // namespace pgqrs_py
