// MessageStore: the capability that stores messages and hands out leases on them (the hot
// path of every queue). Shared contracts of every capability: see backend/backend.h.
//
// Flow control (issue 14): priorities, dedup keys and concurrency keys are message columns
// written by enqueue() (EnqueueParams::flow); the limits a lease must respect are read from
// the queue row and applied inside dequeue()'s transaction, never in memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgqrs/clock.h"
#include "pgqrs/records.h"

namespace pgqrs::backend {

// The W3C trace context stored with a new message (validated by the engine), or none.
struct MessageTrace {
  std::optional<std::string> traceparent;
  std::optional<std::string> tracestate;
};

struct EnqueueParams {
  std::string queue;
  std::vector<std::string> payloads;  // serialised JSON, validated
  TimePoint visible_at;               // vt of the new messages
  TimePoint now;                      // enqueued_at
  std::optional<std::int64_t> producer_worker_id;
  // Empty: every message has the default MessageOptions (the plain, fastest path). Else one
  // per payload, validated, with no dedup key twice. A message whose dedup key is held by a
  // live message of the queue is not stored: its id is the live message's. A live message
  // that is a dead letter by the definition below (delivered max_read_ct times, visible) is
  // marked dead first, so its key is free.
  std::vector<MessageOptions> flow;
  std::int32_t max_read_ct = 5;
  MessageTrace trace;  // of every message of the call
};

struct DequeueParams {
  std::string queue;
  std::uint32_t limit = 1;
  Duration lease{};  // new vt = now + lease
  std::int64_t consumer_worker_id = 0;
  TimePoint now;
  std::int32_t max_read_ct = 5;  // messages with read_ct >= this are dead-lettered, not leased
};

class MessageStore {
 public:
  virtual ~MessageStore() = default;

  // All rows in one transaction; ids returned in input order (see EnqueueParams::flow for
  // deduplicated messages).
  virtual std::vector<std::int64_t> enqueue(const EnqueueParams& p) = 0;
  // Leases up to p.limit deliverable messages, in delivery order (priority, vt, id), within
  // the queue's limits (QueueOptions; docs/flow-control.md): leased counts queue-wide, per
  // consumer and per concurrency key, and the leases of the last rate period. Sets
  // vt = now + lease, read_ct += 1, dequeued_at = now, consumer_worker_id. Candidates with
  // read_ct >= max_read_ct are marked dead (dead_at = now, consumer cleared) instead. Result
  // in delivery order. The consumer is checked in
  // the same transaction: unknown -> WorkerNotFoundError, stopped -> StateTransitionError.
  virtual std::vector<QueueMessage> dequeue(const DequeueParams& p) = 0;

  // Owner-only operations: apply to a message only when it is not archived/dead, its
  // consumer_worker_id == worker and its lease is valid (vt > now). One flag per id.
  virtual std::vector<bool> archive(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                    TimePoint now) = 0;
  virtual std::vector<bool> remove(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                   TimePoint now) = 0;
  // Sets vt = new_vt for leased messages of `worker`.
  virtual std::vector<bool> set_lease(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                      TimePoint new_vt, TimePoint now) = 0;
  // Gives messages back: vt = visible_at, consumer_worker_id = NULL; a message whose
  // read_ct >= max_read_ct is dead-lettered instead (dead_at = now). Counts as applied.
  virtual std::vector<bool> release(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                    TimePoint visible_at, TimePoint now,
                                    std::int32_t max_read_ct) = 0;
  // Like release(), for a delivery that did not fail (a workflow run paused or waiting for a
  // step retry): vt = visible_at, consumer NULL, and the delivery is not counted (read_ct -=
  // 1, never below 0), so it never dead-letters the message.
  virtual std::vector<bool> defer(const std::vector<std::int64_t>& ids, std::int64_t worker,
                                  TimePoint visible_at, TimePoint now) = 0;

  // The handler poll loop's step: archive `ids` (as archive(ids, p.consumer_worker_id,
  // p.now)) and lease the next batch (as dequeue(p)), in ONE transaction: either both happen
  // or neither. (A caller that gets an outcome-unknown error must not redo it blindly.)
  struct ArchiveAndLease {
    std::vector<bool> archived;        // one flag per id of `ids`
    std::vector<QueueMessage> leased;  // as dequeue() returns them
  };
  virtual ArchiveAndLease archive_and_dequeue(const std::vector<std::int64_t>& ids,
                                              const DequeueParams& p) = 0;

  virtual std::optional<QueueMessage> get_message(std::int64_t id) = 0;
  // Newest first (id DESC); with `before_id`, only ids below it (keyset paging: one range
  // scan of an id index per page, never OFFSET). The default arguments here and below are
  // repeated, identical, on every override.
  virtual std::vector<QueueMessage> list_messages(
      std::string_view queue, std::uint32_t limit, bool include_archived,
      std::optional<std::int64_t> before_id = std::nullopt) = 0;
  // Dead letters: dead_at set, or (not archived, vt <= now, read_ct >= max_read_ct); newest
  // first (id DESC): all of them, or at most `limit`; `before_id` as in list_messages.
  virtual std::vector<QueueMessage> dead_letters(
      std::optional<std::string_view> queue, TimePoint now, std::int32_t max_read_ct,
      std::optional<std::uint32_t> limit = std::nullopt,
      std::optional<std::int64_t> before_id = std::nullopt) = 0;
  // dead letter -> fresh (read_ct = 0, vt = now, dead_at = NULL, consumer NULL).
  virtual bool replay_dead_letter(std::int64_t id, TimePoint now, std::int32_t max_read_ct) = 0;
};

}  // namespace pgqrs::backend
