// Workflows that talk (docs/workflows.md, "Messages, events and child workflows"): messages
// to a run, events and streams from a run, and child runs. Inside a workflow these are
// methods of pgqrs::Run (pgqrs/workflow.h: recv, send, set_event, write_stream,
// close_stream, start_child, gather); this header has the records and what is called from
// outside a workflow.
//
//   // outside: deliver a message to a run (it wakes at once if it waits in recv)
//   pgqrs::send(store, run_id, "approval", {{"approved", true}});
//   // inside the run's handler: wait durably, up to a day
//   auto answer = run.recv("approval", std::chrono::hours(24));   // nullopt on timeout
//
//   run.set_event("progress", 40);                                 // inside
//   auto p = pgqrs::get_event(store, run_id, "progress", 5s);      // outside
//
//   auto child = run.start_child("resize", {{"image", 7}});        // exactly once
//   json out = child.result();                                     // durable wait
//
// Every wait inside a workflow is durable: the run is PAUSED and its message deferred (no
// thread, no lease held) until what it waits for arrives -- which wakes it at once -- or its
// timeout passes on the engine's clock. A crash during the wait loses nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgqrs/records.h"
#include "pgqrs/store.h"
#include "pgqrs/workflow.h"

namespace pgqrs {

// A message to a run (Run::recv takes the oldest unread one of a topic).
struct RunMessage {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  std::string topic;
  json payload;
  TimePoint created_at;
  std::optional<TimePoint> received_at;    // nullopt: unread
  std::optional<std::string> received_by;  // the receiving step ("recv:<n>")
};

// An entry written by a run: the value of an event key, a stream item, or a stream's end.
enum class RunEventKind { kEvent, kStream, kStreamEnd };
std::string_view to_string(RunEventKind k) noexcept;  // "event", "stream", "stream_end"
std::optional<RunEventKind> parse_run_event_kind(std::string_view text) noexcept;

struct RunEvent {
  std::int64_t id = 0;
  std::int64_t run_id = 0;
  RunEventKind kind = RunEventKind::kEvent;
  std::string key;
  json value;  // null for kStreamEnd
  TimePoint created_at;
};

// Sends `payload` on `topic` to run `run_id` from outside a workflow (inside one, use
// Run::send: it is recorded, so a replay does not send again). Returns the message id.
// ValidationError for an unknown run, a bad topic (1-128 characters of [A-Za-z0-9_.:-]) or a
// payload over the store's size limit; nothing is stored then.
std::int64_t send(const Store& store, std::int64_t run_id, std::string_view topic,
                  const json& payload);

// The latest value the run published for `key` (Run::set_event), waiting up to `timeout` (on
// the store's clock) for a first one; nullopt if none came in time. ValidationError for an
// unknown run or a bad key.
std::optional<json> get_event(const Store& store, std::int64_t run_id, std::string_view key,
                              std::chrono::milliseconds timeout = std::chrono::seconds(0));

// Reads a run's stream `key` (Run::write_stream) from the start:
//   pgqrs::StreamReader r(store, run_id, "log");
//   while (auto v = r.next(std::chrono::seconds(30))) use(*v);
// next() returns the next value, waiting up to `timeout` for it; nullopt once the stream is
// closed (Run::close_stream) or the run finished and every value was read. TimeoutError
// when nothing came within `timeout` and the stream is still open.
class StreamReader {
 public:
  StreamReader(Store store, std::int64_t run_id, std::string key);
  std::optional<json> next(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  Store store_;
  std::int64_t run_id_;
  std::string key_;
  std::int64_t after_id_ = 0;
  std::vector<RunEvent> buffered_;
  std::size_t pos_ = 0;
  bool ended_ = false;
};

// The messages to a run and the events and streams it wrote (for tools and the dashboard).
std::vector<RunMessage> run_messages(const Store& store, std::int64_t run_id,
                                     std::uint32_t limit = 100);
std::vector<RunEvent> run_events(const Store& store, std::int64_t run_id,
                                 std::uint32_t limit = 100);
// The runs `run_id` started with Run::start_child, oldest first.
std::vector<RunRecord> child_runs(const Store& store, std::int64_t run_id);

// A child run started by Run::start_child, used from the parent's handler.
class ChildRun {
 public:
  // A handle on child run `id` of `parent` (what Run::start_child returns; bindings keep
  // the id and make the handle again).
  ChildRun(Run parent, std::int64_t id) : parent_(std::move(parent)), id_(id) {}
  std::int64_t id() const { return id_; }
  // The child's output; a durable wait while it runs (the parent is PAUSED and woken when
  // the child finishes). ExecutionFailedError with the child's error when it failed or
  // was cancelled.
  json result();

 private:
  Run parent_;  // a handle on the parent's execution (shares its state)
  std::int64_t id_;
};

}  // namespace pgqrs
