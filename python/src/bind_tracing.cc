// Trace context calls for the native module (used by pgqrs._otel, docs/observability.md):
// enqueue and workflow trigger with an explicit W3C trace context, and a run's context.
#include <chrono>
#include <optional>
#include <string>

#include <pgqrs/enqueue.h>
#include <pgqrs/error.h>
#include <pgqrs/tracing.h>
#include <pgqrs/workflow.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {
namespace {

std::optional<pgqrs::TraceContext> context_of(std::optional<std::string> traceparent,
                                              std::optional<std::string> tracestate) {
  if (!traceparent) return std::nullopt;
  return pgqrs::TraceContext{std::move(*traceparent), std::move(tracestate)};
}

}  // namespace

void bind_tracing(nb::module_& m) {
  // pgqrs::enqueue() with .trace_context(): payloads to `queue` of `store` (or, with
  // `producer` and no store, of the producer's store and queue), optionally delayed (ms);
  // ids in input order. ValidationError for a malformed context.
  m.def(
      "enqueue_traced",
      [](std::optional<pgqrs::Store> store, std::string queue, nb::handle payloads,
         std::optional<std::int64_t> delay_ms, std::optional<pgqrs::Producer> producer,
         std::optional<std::string> traceparent, std::optional<std::string> tracestate) {
        auto b = pgqrs::enqueue();
        b.messages(to_json_list(payloads, "payloads"));
        if (!queue.empty()) b.to(std::move(queue));
        if (delay_ms) b.delay(std::chrono::milliseconds(*delay_ms));
        if (producer) b.worker(*producer);
        if (auto ctx = context_of(std::move(traceparent), std::move(tracestate))) {
          b.trace_context(std::move(*ctx));
        }
        if (!store && !producer) throw pgqrs::ValidationError("enqueue: no store or producer");
        const pgqrs::Store& s = store ? *store : producer->store();
        return unlocked([&] { return b.execute(s); });
      },
      nb::arg("store").none(), nb::arg("queue"), nb::arg("payloads"), nb::arg("delay_ms").none(),
      nb::arg("producer").none(), nb::arg("traceparent").none(), nb::arg("tracestate").none());

  // pgqrs::workflow().trigger() with .trace_context(); returns the run's message.
  m.def(
      "workflow_trigger_traced",
      [](const pgqrs::Store& s, std::string name, nb::handle input,
         std::optional<std::string> traceparent, std::optional<std::string> tracestate) {
        auto b = pgqrs::workflow();
        b.name(std::move(name)).trigger(to_json(input, "workflow input"));
        if (auto ctx = context_of(std::move(traceparent), std::move(tracestate))) {
          b.trace_context(std::move(*ctx));
        }
        return to_py(unlocked([&] { return b.execute(s); }));
      },
      nb::arg("store"), nb::arg("name"), nb::arg("input").none(), nb::arg("traceparent").none(),
      nb::arg("tracestate").none());

  // (traceparent, tracestate) of a run's message, or None.
  m.def("run_trace_context", [](const pgqrs::Run& run) -> nb::object {
    auto ctx = run.trace_context();
    if (!ctx) return nb::none();
    nb::object state = ctx->tracestate ? nb::object(nb::str(ctx->tracestate->c_str())) : nb::none();
    return nb::make_tuple(nb::str(ctx->traceparent.c_str()), state);
  });
}

}  // namespace pgqrs_py
