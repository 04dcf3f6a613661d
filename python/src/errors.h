// The exception map between pgqrs C++ errors and the Python exception classes of
// pgqrs/_errors.py (internal).
#pragma once

#include <nanobind/nanobind.h>

namespace pgqrs_py {

namespace nb = nanobind;

// Registers the translator C++ -> Python (pgqrs::Error by code(); std::exception otherwise
// stays nanobind's default) and the function _pgqrs._register_errors(classes) through which
// the package hands over its classes: {code: class}, e.g. {"queue_not_found": ...}.
void bind_errors(nb::module_& m);

// For a workflow handler written in Python: turns the Python exception in `e` back into the
// C++ error the engine acts on (PausedError, StepNotReadyError, CancelledError, ...) when it
// is one of the package's PgqrsError classes; any other exception becomes a
// pgqrs::ExecutionFailedError "<Type>: <message>". Needs the GIL. Never returns.
// A BaseException that is not an Exception (KeyboardInterrupt, SystemExit, a simulated
// crash) becomes pgqrs::HandlerAbort carrying `e` itself, so the loop stops, releases the
// message at once and poll() re-raises the same object.
[[noreturn]] void rethrow_as_cpp(nb::python_error& e);

// For a queue handler: HandlerAbort as above for a BaseException that is not an Exception;
// otherwise rethrows `e` unchanged. Needs the GIL. Never returns.
[[noreturn]] void rethrow_handler_error(nb::python_error& e);

}  // namespace pgqrs_py
