// Tracer: the store's installed TraceHook (pgqrs/tracing.h) and the engine's one way to
// call it (internal). Thread-safe.
//
// Cost without a hook: active() is one relaxed atomic load; every emitting site checks it
// before building an event, so nothing else happens.
#pragma once

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pgqrs/tracing.h"

namespace pgqrs::core {

class Tracer {
 public:
  bool active() const noexcept { return active_.load(std::memory_order_relaxed); }
  void install(std::shared_ptr<TraceHook> hook);
  std::shared_ptr<TraceHook> hook() const;

  // Calls the hook, if one is installed, with `event`. Never throws: an exception from the
  // hook is swallowed, the first one of this store written to stderr.
  void emit(const TraceEvent& event) const noexcept;
  // The context to store with a new message: `explicit_ctx` if given, else the hook's
  // current_context() (an exception from it counts as none, logged as above). Validated:
  // ValidationError naming the field.
  std::optional<TraceContext> context_for_enqueue(
      const std::optional<TraceContext>& explicit_ctx) const;

 private:
  void log_once(const char* where, std::exception_ptr error) const noexcept;

  std::atomic<bool> active_{false};
  mutable std::mutex mu_;
  std::shared_ptr<TraceHook> hook_;  // GUARDED_BY(mu_)
  mutable std::atomic<bool> logged_{false};
};

// Handler events of messages (handler_start now, handler_end from end()): a no-op when no
// hook is installed at construction.
class HandlerTrace {
 public:
  HandlerTrace(const Tracer& tracer, const Clock& clock, const std::string& queue,
               std::int64_t worker, std::span<const QueueMessage> msgs);
  // handler_end for each message; `error` null on success.
  void end(std::exception_ptr error) noexcept;

 private:
  void emit(const QueueMessage& m, TraceEvent e) const noexcept;
  const Tracer& tracer_;
  const Clock& clock_;
  const std::string& queue_;
  std::int64_t worker_;
  std::span<const QueueMessage> msgs_;  // empty: inactive
  TimePoint start_;
};

// The error type and message of `error` into event.error_type / error_message: a pgqrs
// Error's code ("validation", ...), else the exception's demangled C++ type, else "unknown".
void describe_error(std::exception_ptr error, TraceEvent& event) noexcept;

// The message's stored context as a TraceContext (nullopt when it has none).
std::optional<TraceContext> trace_of(const QueueMessage& msg);

}  // namespace pgqrs::core
