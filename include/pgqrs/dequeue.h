// pgqrs::dequeue(): the dequeue builder and message handlers (SPEC §3).
//
//   // lease up to 10 messages for 30 s
//   auto msgs = pgqrs::dequeue().from("jobs").batch(10).with_vt(30s).fetch_all(store);
//   // process until interrupted: archive on success, release with backoff on exception
//   pgqrs::dequeue().worker(consumer).handle([](const QueueMessage& m) { ... }).poll(store);
//
// Without .worker(...), the store's ephemeral consumer for the queue is used (one per store
// and queue, reused by every one-shot call, stopped when the last Store copy goes away).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/worker.h"

namespace pgqrs {

using MessageHandler = std::function<void(const QueueMessage&)>;
using BatchHandler = std::function<void(const std::vector<QueueMessage>&)>;

// Thrown by a handler (a queue handler or a workflow handler) to stop its loop at once, as a
// process being torn down does (the Python bindings throw it for a BaseException that is not
// an Exception: KeyboardInterrupt, SystemExit). The message(s) it was handling are released
// visible now, without backoff and without counting a failed delivery; a workflow run and its
// steps are left as they are (a later worker completes the run). Then `cause` is rethrown
// from poll() / execute(), unchanged.
struct HandlerAbort : std::exception {
  explicit HandlerAbort(std::exception_ptr c) : cause(std::move(c)) {}
  const char* what() const noexcept override { return "handler aborted its loop"; }
  std::exception_ptr cause;
};

// Delay before a message whose handler threw becomes visible again:
// min(cap, base * 2^(read_ct - 1)), then with jitter a uniformly random value in
// [delay/2, delay].
struct RetryBackoff {
  std::chrono::milliseconds base{1000};
  std::chrono::milliseconds cap{60000};
  bool jitter = true;
  std::chrono::milliseconds delay_for(std::int32_t read_ct) const;
};

enum class PollStop {
  kInterrupted,    // the worker was interrupted or suspended (it is now suspended)
  kStopRequested,  // the stop_token fired
  kDeadline,       // .until(...) elapsed
  kEmpty,          // .until_empty() and no message was available
};
std::string_view to_string(PollStop s) noexcept;

struct PollStats {
  std::uint64_t processed = 0;   // handler returned normally and the message was archived
  std::uint64_t failed = 0;      // handler threw (released with backoff)
  std::uint64_t lease_lost = 0;  // handler returned but the lease had lapsed, so the message
                                 // could not be archived (it will be delivered again)
  std::uint64_t batches = 0;     // handler invocations
  PollStop stop = PollStop::kEmpty;
};

class DequeueHandler;

class DequeueBuilder {
 public:
  DequeueBuilder& from(std::string queue);
  DequeueBuilder& batch(std::uint32_t n);  // 1..default_max_batch_size
  DequeueBuilder& with_vt(std::chrono::seconds lease);
  DequeueBuilder& worker(const Consumer& consumer);
  DequeueBuilder& poll_interval(std::chrono::milliseconds interval);
  // Upper bound on how long poll() waits / runs.
  DequeueBuilder& until(std::chrono::milliseconds deadline);
  // poll() with a handler returns when no message is available.
  DequeueBuilder& until_empty(bool enabled = true);
  DequeueBuilder& stop_token(std::stop_token token);
  DequeueBuilder& retry_backoff(RetryBackoff backoff);

  // One dequeue attempt, no waiting.
  std::optional<QueueMessage> fetch_one(const Store& store) const;
  std::vector<QueueMessage> fetch_all(const Store& store) const;
  // Waits until at least one message is leased and returns it (them); returns empty when
  // .until() elapses, the stop token fires, or the worker is interrupted.
  std::vector<QueueMessage> poll(const Store& store) const;

  DequeueHandler handle(MessageHandler handler) const;
  DequeueHandler handle_batch(BatchHandler handler) const;

 private:
  friend class DequeueHandler;
  friend class WorkflowBuilder;  // serves runs with the same loop settings
  friend struct DequeueAccess;   // the engine's access (src/core); not for users
  struct Options {
    std::string queue;
    std::optional<std::uint32_t> batch;
    std::optional<std::chrono::seconds> lease;
    std::optional<Consumer> consumer;
    std::optional<std::chrono::milliseconds> poll_interval;
    std::optional<std::chrono::milliseconds> until;
    bool until_empty = false;
    std::stop_token stop;
    RetryBackoff backoff;
  };
  Options opts_;
};

// A dequeue builder with a handler attached.
class DequeueHandler {
 public:
  // One attempt: leases a message (or a batch), runs the handler, archives on success.
  // If the handler throws, the message(s) are released with the retry backoff and the
  // exception is rethrown unchanged. Returns false if there was nothing to process.
  bool execute(const Store& store) const;
  // Loops until interrupted / stop token / until() / until_empty(). Handler exceptions
  // release their messages with backoff and the loop goes on. While a handler runs, the
  // leases of its messages are extended and the worker's heartbeat is sent.
  PollStats poll(const Store& store) const;

 private:
  friend class DequeueBuilder;
  DequeueHandler(DequeueBuilder::Options opts, MessageHandler one, BatchHandler many)
      : opts_(std::move(opts)), one_(std::move(one)), many_(std::move(many)) {}

  DequeueBuilder::Options opts_;
  MessageHandler one_;
  BatchHandler many_;
};

inline DequeueBuilder dequeue() { return DequeueBuilder(); }

}  // namespace pgqrs
