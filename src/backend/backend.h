// The storage backend interface (internal). The engine (src/core) speaks to storage only
// through these interfaces, in terms of the domain, never SQL (ARCHITECTURE.md rule 1).
//
// A backend is the union of CAPABILITIES, one interface per concern, each in
// backend/capabilities/:
//   SchemaStore     install / upgrade / uninstall the tables           (schema.h)
//   QueueStore      queues                                               (queues.h)
//   MessageStore    messages and leases: the hot path                    (messages.h)
//   WorkerRegistry  workers, heartbeats, zombie recovery                 (workers.h)
//   MetricsStore    aggregate read-only queries                          (metrics.h)
//   WorkflowStore   workflow definitions, runs and steps                 (workflows.h)
//   ScheduleStore   schedules and the claim of their ticks               (schedules.h)
//   RetentionStore  bounded pruning of old rows, maintenance leases      (retention.h)
//   CoordinationStore messages to runs, events and streams, child runs,
//                   the durable wait                                     (coordination.h)
// A NEW CAPABILITY (schedules, messages/events between runs, ...) is a new interface there,
// added to Backend below and implemented once per backend family (the SQLite family serves
// SQLite, Turso and S3; Postgres). Flow control extends QueueStore (queue options) and
// MessageStore (per-message keys, limits applied inside dequeue). The S3 backend needs no
// change for either: it runs the SQLite family's implementation on its cache.
//
// Contracts shared by every capability:
//  - Every time ("now", visibility times) comes from the caller (the injected clock);
//    backends never read the wall clock for queue semantics.
//  - Queue arguments are names; an unknown queue is QueueNotFoundError.
//  - Inputs are already validated by the engine (names, payload limits, batch bounds);
//    payloads arrive as serialised JSON text and are returned parsed.
//  - Each method is atomic: it commits fully or changes nothing. Transient contention is
//    retried inside the backend within a bound, then surfaces as TimeoutError.
//  - Invariants that do not need the database (e.g. "finish_run takes a final status") are
//    checked by the engine before it calls, once, not by every backend.
//  - Implementations are thread-safe (callers use one Backend from many threads).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backend/capabilities/coordination.h"
#include "backend/capabilities/messages.h"
#include "backend/capabilities/metrics.h"
#include "backend/capabilities/queues.h"
#include "backend/capabilities/retention.h"
#include "backend/capabilities/schedules.h"
#include "backend/capabilities/schema.h"
#include "backend/capabilities/workers.h"
#include "backend/capabilities/workflows.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres.h"

namespace pgqrs::backend {

class ObjectSync;  // backend/object_sync.h

// Keeps an activity subscription alive; destroying it unsubscribes (and waits for a callback
// in progress to finish).
class Subscription {
 public:
  virtual ~Subscription() = default;
};

// A database transaction lent to the user for their own statements, which enqueue can
// join (transactional enqueue, SPEC §3; public face: pgqrs/postgres.h). Postgres only.
// Used by one thread at a time. Destroying an open transaction rolls it back (never throws).
class UserTransaction {
 public:
  virtual ~UserTransaction() = default;
  // Runs one user statement with text parameters; postgres::SqlError when rejected.
  virtual postgres::Result execute(std::string_view sql,
                                   const std::vector<postgres::Param>& params) = 0;
  // Backend::enqueue's contract, inside this transaction (nothing is visible before commit).
  virtual std::vector<std::int64_t> enqueue(const EnqueueParams& p) = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool active() const = 0;
};

class Backend : public SchemaStore,
                public QueueStore,
                public MessageStore,
                public WorkerRegistry,
                public MetricsStore,
                public WorkflowStore,
                public ScheduleStore,
                public RetentionStore,
                public CoordinationStore {
 public:
  ~Backend() override = default;
  virtual std::string_view name() const = 0;  // "sqlite", "postgres", ...

  // The replication controls of a backend whose database is one remote object (S3); null
  // for every other backend.
  virtual ObjectSync* object_sync() { return nullptr; }

  // ---- wake-ups -----------------------------------------------------------------------
  // Calls `on_activity` (from any thread, quickly, without throwing) when messages may have
  // become deliverable on `queue` because of a write by ANOTHER process or connection (e.g.
  // Postgres LISTEN/NOTIFY). Returns null when the backend has no such signal; idle pollers
  // then rely on poll_interval_ms. Enqueues within the same Store are signalled by the
  // engine itself, so backends need not report those.
  virtual std::unique_ptr<Subscription> subscribe(std::string_view queue,
                                                  std::function<void()> on_activity) {
    (void)queue;
    (void)on_activity;
    return nullptr;
  }

  // ---- user transactions ----------------------------------------------------------------
  // Opens a UserTransaction (BEGIN on a pooled connection). Backends without them throw
  // ConfigError naming the backend.
  virtual std::unique_ptr<UserTransaction> begin_user_transaction() {
    throw ConfigError(
        "transactional enqueue (pgqrs::postgres::begin) needs the postgres "
        "backend; this store uses the " +
        std::string(name()) + " backend");
  }
};

}  // namespace pgqrs::backend
