// CoordinationStore: workflow coordination (issue 15; docs/workflows.md "Workflows that
// talk") -- messages to a run, events and streams from a run, child runs, and the durable
// wait that ties them together. The engine (src/core/run_messages.cc, run_events.cc,
// run_children.cc) owns the protocol; these are its atomic storage operations.
// Shared contracts of every capability: see backend/backend.h.
//
// WAKE-UPS. A run waiting for a message or a child is PAUSED and its message deferred
// (invisible, unleased) until its deadline. Whatever can end the wait wakes it in the same
// transaction as the change (send_to_run; finish_run for a child's parent): the run's message
// is made visible now if it is invisible and not leased. So that a wake can never fall
// between a waiting run's last check and its deferral, the deferral itself is
// defer_waiting_run, which re-checks the wait after deferring, and a wake always takes the
// run message's row lock (Postgres: an UPDATE that matches the row whatever its state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/capabilities/workflows.h"
#include "pgqrs/clock.h"
#include "pgqrs/coordination.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

// What a suspended run waits for: an unread message of `topic` to it, or the end of any of
// `children` (runs). Either or both may be given.
struct RunWait {
  std::int64_t run_id = 0;
  std::optional<std::string> topic;
  std::vector<std::int64_t> children;
};

// What send_to_run stored: the message's id, and the queue of the receiving run (its
// workflow's), whose idle pollers in this process the engine wakes.
struct SentToRun {
  std::int64_t id = 0;
  std::string queue;
};

class CoordinationStore {
 public:
  virtual ~CoordinationStore() = default;

  // ---- messages to a run
  // Stores a message of `topic` for run `run_id` and wakes the run (see WAKE-UPS). With a
  // `send_key` already used (a workflow's send, replayed), nothing is stored and the first
  // message's id is returned. nullopt (nothing stored) when the run does not exist.
  virtual std::optional<SentToRun> send_to_run(std::int64_t run_id, std::string_view topic,
                                               const std::string& payload,
                                               const std::optional<std::string>& send_key,
                                               TimePoint now) = 0;
  // The message received by step `step` of the run: the one that step already took (a
  // replay), else the oldest unread message of `topic`, now marked read by `step`. nullopt
  // when there is none.
  virtual std::optional<RunMessage> receive_run_message(std::int64_t run_id, std::string_view topic,
                                                        std::string_view step, TimePoint now) = 0;
  // Every message to the run, oldest first, at most `limit`.
  virtual std::vector<RunMessage> list_run_messages(std::int64_t run_id, std::uint32_t limit) = 0;

  // ---- events and streams from a run
  // Appends an event or stream entry unless the run already has one with `write_key` (a
  // replayed write: nothing changes, false). `value` is NULL for a stream's end.
  // ValidationError naming the run when it does not exist.
  virtual bool write_run_event(std::int64_t run_id, RunEventKind kind, std::string_view key,
                               const std::optional<std::string>& value, std::string_view write_key,
                               TimePoint now) = 0;
  // The run's entries with id > after_id, oldest first, at most `limit`; of one key when
  // `key` is given.
  virtual std::vector<RunEvent> read_run_events(std::int64_t run_id,
                                                const std::optional<std::string>& key,
                                                std::int64_t after_id, std::uint32_t limit) = 0;
  // The newest kEvent entry of `key`, if any.
  virtual std::optional<RunEvent> latest_run_event(std::int64_t run_id, std::string_view key) = 0;

  // ---- child runs
  // In ONE transaction: the child run that step `parent_step` of `parent_run_id` started
  // before (with its message), else a new run of `workflow` (as trigger_run, with `trace`)
  // linked to that parent step. Refused -- nullopt, nothing written -- when the parent does
  // not exist or is being cancelled or finished (so a cancel's cascade, which lists the
  // children after the parent became CANCELLING, never misses one). ValidationError for an
  // unregistered workflow.
  virtual std::optional<TriggeredRun> start_child_run(std::int64_t parent_run_id,
                                                      std::string_view parent_step,
                                                      std::string_view workflow,
                                                      const std::string& input, TimePoint now,
                                                      const MessageTrace& trace) = 0;
  // The runs started by `parent_run_id`, oldest first.
  virtual std::vector<RunRecord> child_runs(std::int64_t parent_run_id) = 0;
  // The run that started `run_id` as a child, if any.
  virtual std::optional<std::int64_t> parent_run(std::int64_t run_id) = 0;

  // ---- the durable wait
  // Defers message `message_id`, leased by `worker`, to `visible_at` exactly as
  // MessageStore::defer, then -- in the same transaction, after the deferral took the row --
  // makes it visible now if `wait` is already satisfied. Returns whether it did (the run
  // was woken at once); false also when the lease was not held (nothing changed).
  virtual bool defer_waiting_run(std::int64_t message_id, std::int64_t worker, TimePoint visible_at,
                                 TimePoint now, const RunWait& wait) = 0;
};

}  // namespace pgqrs::backend
