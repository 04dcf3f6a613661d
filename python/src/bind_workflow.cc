// Workflows for the native module: register / trigger, the Run handle (step protocol,
// pause, cancel, driving by hand), run outcomes, and the workflow worker loop with a
// Python handler.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <stop_token>

#include "bindings.h"
#include "convert.h"
#include "errors.h"

namespace pgqrs_py {
namespace {

using Millis = std::chrono::milliseconds;
// (max_attempts, kind, base_ms, cap_ms) with kind "fixed" | "exponential" |
// "exponential_with_jitter"; the pure-Python StepRetryPolicy flattens itself to this.
using PolicyTuple = std::tuple<std::uint32_t, std::string, std::int64_t, std::int64_t>;

pgqrs::StepRetryPolicy to_policy(const PolicyTuple& t) {
  const auto& [attempts, kind, base, cap] = t;
  pgqrs::StepRetryPolicy p;
  p.max_attempts = attempts;
  if (kind == "fixed") {
    p.backoff = pgqrs::BackoffStrategy::fixed(Millis(base));
  } else if (kind == "exponential") {
    p.backoff = pgqrs::BackoffStrategy::exponential(Millis(base), Millis(cap));
  } else if (kind == "exponential_with_jitter") {
    p.backoff = pgqrs::BackoffStrategy::exponential_with_jitter(Millis(base), Millis(cap));
  } else {
    throw pgqrs::ValidationError("unknown backoff kind '" + kind + "'");
  }
  return p;
}

std::optional<pgqrs::StepRetryPolicy> to_policy(const std::optional<PolicyTuple>& t) {
  if (!t) return std::nullopt;
  return to_policy(*t);
}

pgqrs::RunBuilder run_builder(const pgqrs::Store& s, std::optional<std::int64_t> run_id,
                              std::optional<std::int64_t> message_id) {
  auto b = pgqrs::run();
  b.store(s);
  if (run_id) {
    b.id(*run_id);
  } else if (message_id) {
    pgqrs::QueueMessage m;
    m.id = *message_id;
    b.message(m);
  }
  return b;
}

nb::object outcome(const std::optional<pgqrs::json>& j) {
  if (!j) return nb::none();
  return to_py(*j);
}

void bind_run(nb::module_& m) {
  using R = pgqrs::Run;
  nb::class_<R>(m, "Run")
      .def("id", &R::id)
      .def_prop_ro("input", [](const R& r) { return to_py(r.input()); })
      .def_prop_ro("current_time", [](const R& r) { return iso(r.current_time()); })
      .def("with_time", [](const R& r, std::int64_t us) { return r.with_time(from_micros(us)); })
      .def("start", &R::start, nb::call_guard<nb::gil_scoped_release>())
      .def("complete",
           [](R& r, nb::handle out) {
             auto j = to_json(out, "run output");
             return unlocked([&] { return r.complete(j); });
           })
      .def("fail",
           [](R& r, nb::handle err) {
             auto j = to_json(err, "run error");
             return unlocked([&] { return r.fail(j); });
           })
      .def(
          "pause",
          [](R& r, const std::string& reason, std::int64_t secs) {
            r.pause(reason, std::chrono::seconds(secs));
          },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "pause_run",
          [](R& r, const std::string& message, std::int64_t secs) {
            return r.pause_run(message, std::chrono::seconds(secs));
          },
          nb::call_guard<nb::gil_scoped_release>())
      .def("cancel", &R::cancel, nb::call_guard<nb::gil_scoped_release>())
      .def("record", [](const R& r) { return to_py(unlocked([&] { return r.record(); })); })
      .def("steps", [](const R& r) { return to_py_list(unlocked([&] { return r.steps(); })); })
      .def("acquire_step",
           [](R& r, const std::string& name) {
             auto res = unlocked([&] { return r.acquire_step(name); });
             const bool skipped = res.status == pgqrs::StepResult::Status::kSkipped;
             return nb::make_tuple(skipped ? "skipped" : "execute", to_py(res.value));
           })
      .def("complete_step",
           [](R& r, const std::string& name, nb::handle out) {
             auto j = to_json(out, "output of step '" + name + "'");
             unlocked([&] {
               r.complete_step(name, j);
               return 0;
             });
           })
      .def("fail_step",
           [](R& r, const std::string& name, nb::handle err) {
             auto j = to_json(err, "error of step '" + name + "'");
             unlocked([&] {
               r.fail_step(name, j);
               return 0;
             });
           })
      .def(
          "fail_step_transient",
          // Records a transient failure (Run::record_step_transient) and returns whether a
          // retry was scheduled; raises nothing for the retry itself.
          [](R& r, const std::string& name, nb::handle error, std::optional<std::int64_t> delay_ms,
             std::optional<PolicyTuple> policy) {
            auto p = to_policy(policy);
            auto j = to_json(error, "error of step '" + name + "'");
            std::optional<Millis> delay;
            if (delay_ms) delay = Millis(*delay_ms);
            nb::gil_scoped_release release;
            return r.record_step_transient(name, j, delay, p).has_value();
          },
          nb::arg("name"), nb::arg("error"), nb::arg("delay_ms").none(), nb::arg("policy").none())
      .def(
          "sleep",
          [](R& r, const std::string& name, std::int64_t ms) { pgqrs::sleep(r, name, Millis(ms)); },
          nb::call_guard<nb::gil_scoped_release>())
      .def(
          "patched", [](R& r, const std::string& name) { return r.patched(name); },
          nb::call_guard<nb::gil_scoped_release>());
}

}  // namespace

void bind_workflow(nb::module_& m) {
  bind_run(m);

  m.def("workflow_create", [](const pgqrs::Store& s, std::string name) {
    return to_py(unlocked([&] { return pgqrs::workflow().name(std::move(name)).create(s); }));
  });
  m.def("workflow_trigger", [](const pgqrs::Store& s, std::string name, nb::handle input) {
    auto j = to_json(input, "workflow input");
    return to_py(unlocked(
        [&] { return pgqrs::workflow().name(std::move(name)).trigger(std::move(j)).execute(s); }));
  });

  m.def(
      "run_execute",
      [](const pgqrs::Store& s, std::optional<std::int64_t> run_id,
         std::optional<std::int64_t> message_id) {
        return unlocked([&] { return run_builder(s, run_id, message_id).execute(); });
      },
      nb::arg("store"), nb::arg("run_id").none(), nb::arg("message_id").none());
  m.def(
      "run_record",
      [](const pgqrs::Store& s, std::optional<std::int64_t> run_id,
         std::optional<std::int64_t> message_id) {
        return to_py(unlocked([&] { return run_builder(s, run_id, message_id).record(); }));
      },
      nb::arg("store"), nb::arg("run_id").none(), nb::arg("message_id").none());
  m.def(
      "run_get",
      [](const pgqrs::Store& s, std::optional<std::int64_t> run_id,
         std::optional<std::int64_t> message_id) {
        return outcome(unlocked([&] { return run_builder(s, run_id, message_id).get(); }));
      },
      nb::arg("store"), nb::arg("run_id").none(), nb::arg("message_id").none());
  m.def(
      "run_result",
      [](const pgqrs::Store& s, std::optional<std::int64_t> run_id,
         std::optional<std::int64_t> message_id, std::int64_t timeout_ms) {
        return to_py(unlocked(
            [&] { return run_builder(s, run_id, message_id).result(Millis(timeout_ms)); }));
      },
      nb::arg("store"), nb::arg("run_id").none(), nb::arg("message_id").none(),
      nb::arg("timeout_ms"));

  // The workflow worker loop with a Python handler(run, input) -> output, called on the
  // engine's thread with the GIL taken for the call. Python errors are mapped back to the
  // C++ errors the engine acts on (errors.h rethrow_as_cpp).
  m.def(
      "serve_workflow",
      [](const pgqrs::Store& s, std::string name, std::optional<pgqrs::Consumer> consumer,
         nb::object handler, std::optional<PolicyTuple> policy,
         std::optional<std::int64_t> poll_interval_ms, std::optional<std::int64_t> until_ms,
         bool until_empty, StopSource* stop) {
        PyRef h(std::move(handler));
        pgqrs::WorkflowDef def(
            std::move(name),
            [h](pgqrs::Run& run, const pgqrs::json& input) -> pgqrs::json {
              nb::gil_scoped_acquire gil;
              try {
                nb::object out = h.get()(nb::cast(run), to_py(input));
                return to_json(out, "workflow output");
              } catch (nb::python_error& e) {
                rethrow_as_cpp(e);
              }
            },
            policy ? to_policy(*policy) : pgqrs::StepRetryPolicy{});
        auto b = pgqrs::workflow();
        b.name(def);
        if (consumer) b.consumer(*consumer);
        if (poll_interval_ms) b.poll_interval(Millis(*poll_interval_ms));
        if (until_ms) b.until(Millis(*until_ms));
        if (until_empty) b.until_empty();
        if (stop != nullptr) b.stop_token(stop->source.get_token());
        return stats_to_py(unlocked([&] { return b.poll(s); }));
      },
      nb::arg("store"), nb::arg("name"), nb::arg("consumer").none(), nb::arg("handler"),
      nb::arg("policy").none(), nb::arg("poll_interval_ms").none(), nb::arg("until_ms").none(),
      nb::arg("until_empty"), nb::arg("stop").none());
}

}  // namespace pgqrs_py
