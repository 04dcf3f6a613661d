#include "core/tracer.h"

#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <typeinfo>

#include "core/store_state.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

[[noreturn]] void bad(const char* field, const std::string& value, const std::string& why) {
  std::string shown = value.size() > 80 ? value.substr(0, 80) + "..." : value;
  throw ValidationError(std::string(field) + ": " + why + " (got '" + shown + "')");
}

std::string demangle(const char* name) {
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) return name;
  std::string text(out);
  std::free(out);
  return text;
}

}  // namespace

void validate_trace_context(const TraceContext& ctx) {
  const std::string& tp = ctx.traceparent;
  const char* kFormat =
      "must be a W3C traceparent '00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>'";
  // Version 00 is exactly 55 characters; a later version may append fields ("-...").
  if (tp.size() < 55 || tp[2] != '-' || tp[35] != '-' || tp[52] != '-' ||
      (tp.size() > 55 && tp[55] != '-')) {
    bad("traceparent", tp, kFormat);
  }
  const std::string_view v(tp);
  if (!is_lower_hex(v.substr(0, 2)) || !is_lower_hex(v.substr(3, 32)) ||
      !is_lower_hex(v.substr(36, 16)) || !is_lower_hex(v.substr(53, 2))) {
    bad("traceparent", tp, std::string(kFormat) + " in lower-case hex");
  }
  if (v.substr(0, 2) == "ff") bad("traceparent", tp, "version ff is invalid");
  if (v.substr(0, 2) == "00" && tp.size() != 55)
    bad("traceparent", tp, "version 00 has 55 characters");
  if (all_zeros(v.substr(3, 32))) bad("traceparent", tp, "the trace id is all zeros");
  if (all_zeros(v.substr(36, 16))) bad("traceparent", tp, "the parent id is all zeros");
  if (ctx.tracestate) {
    const std::string& ts = *ctx.tracestate;
    if (ts.size() > 512) bad("tracestate", ts, "longer than 512 characters");
    for (char c : ts) {
      if (c < 0x20 || c > 0x7e) bad("tracestate", ts, "must be printable ASCII");
    }
  }
}

std::string_view to_string(TraceEventKind kind) noexcept {
  switch (kind) {
    case TraceEventKind::kEnqueue:
      return "enqueue";
    case TraceEventKind::kLease:
      return "lease";
    case TraceEventKind::kHandlerStart:
      return "handler_start";
    case TraceEventKind::kHandlerEnd:
      return "handler_end";
    case TraceEventKind::kRunStart:
      return "run_start";
    case TraceEventKind::kRunEnd:
      return "run_end";
    case TraceEventKind::kStepStart:
      return "step_start";
    case TraceEventKind::kStepEnd:
      return "step_end";
    case TraceEventKind::kStepRetry:
      return "step_retry";
  }
  return "unknown";
}

void install_trace_hook(const Store& store, std::shared_ptr<TraceHook> hook) {
  StoreAccess::state(store)->tracer.install(std::move(hook));
}

std::shared_ptr<TraceHook> trace_hook(const Store& store) {
  return StoreAccess::state(store)->tracer.hook();
}

namespace core {

void Tracer::install(std::shared_ptr<TraceHook> hook) {
  std::lock_guard lock(mu_);
  active_.store(hook != nullptr, std::memory_order_relaxed);
  hook_ = std::move(hook);
}

std::shared_ptr<TraceHook> Tracer::hook() const {
  std::lock_guard lock(mu_);
  return hook_;
}

void Tracer::log_once(const char* where, std::exception_ptr error) const noexcept {
  if (logged_.exchange(true)) return;
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr,
               "pgqrs: the trace hook threw from %s (ignored; later errors are not logged): %s\n",
               where, what.c_str());
}

void Tracer::emit(const TraceEvent& event) const noexcept {
  if (!active()) return;
  std::shared_ptr<TraceHook> h;
  try {
    h = hook();
    if (h) h->on_event(event);
  } catch (...) {
    log_once("on_event", std::current_exception());
  }
}

std::optional<TraceContext> Tracer::context_for_enqueue(
    const std::optional<TraceContext>& explicit_ctx) const {
  std::optional<TraceContext> ctx = explicit_ctx;
  if (!ctx && active()) {
    try {
      if (auto h = hook()) ctx = h->current_context();
    } catch (...) {
      log_once("current_context", std::current_exception());
      ctx.reset();
    }
  }
  if (ctx) validate_trace_context(*ctx);
  return ctx;
}

void describe_error(std::exception_ptr error, TraceEvent& event) noexcept {
  try {
    try {
      std::rethrow_exception(error);
    } catch (const Error& e) {
      event.error_type = std::string(to_string(e.code()));
      event.error_message = e.what();
    } catch (const std::exception& e) {
      event.error_type = demangle(typeid(e).name());
      event.error_message = e.what();
    } catch (...) {
      event.error_type = "unknown";
      event.error_message = "unknown exception";
    }
  } catch (...) {
    // Out of memory while describing: the event goes without its error text.
  }
}

HandlerTrace::HandlerTrace(const Tracer& tracer, const Clock& clock, const std::string& queue,
                           std::int64_t worker, std::span<const QueueMessage> msgs)
    : tracer_(tracer), clock_(clock), queue_(queue), worker_(worker) {
  if (!tracer_.active()) return;
  msgs_ = msgs;
  start_ = clock_.now();
  TraceEvent e;
  e.kind = TraceEventKind::kHandlerStart;
  e.at = start_;
  for (const auto& m : msgs) emit(m, e);
}

void HandlerTrace::end(std::exception_ptr error) noexcept {
  if (msgs_.empty()) return;
  TraceEvent e;
  e.kind = TraceEventKind::kHandlerEnd;
  e.at = clock_.now();
  e.duration = e.at - start_;
  if (error) describe_error(error, e);
  for (const auto& m : msgs_) emit(m, e);
}

void HandlerTrace::emit(const QueueMessage& m, TraceEvent e) const noexcept {
  std::optional<TraceContext> ctx;
  try {
    ctx = trace_of(m);
  } catch (...) {
    return;  // out of memory: the event is dropped
  }
  e.queue = queue_;
  e.message_id = m.id;
  e.worker_id = worker_;
  e.attempt = m.read_ct;
  e.trace = ctx ? &*ctx : nullptr;
  tracer_.emit(e);
}

std::optional<TraceContext> trace_of(const QueueMessage& msg) {
  if (!msg.traceparent) return std::nullopt;
  return TraceContext{*msg.traceparent, msg.tracestate};
}

}  // namespace core
}  // namespace pgqrs
