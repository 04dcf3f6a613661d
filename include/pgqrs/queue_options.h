// Flow control (issue 14): the options stored on a queue row and the per-message keys that
// the database enforces them with. docs/flow-control.md has the semantics and examples.
//
//   pgqrs::QueueOptions opts;
//   opts.concurrency = 3;                              // at most 3 leased at once, queue-wide
//   opts.rate_limit = pgqrs::RateLimit{100, std::chrono::seconds(1)};
//   pgqrs::admin(store).create_queue("emails", opts);
//
// Plain values; every field is optional and unset means "no limit" / "keep forever".
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "pgqrs/clock.h"

namespace pgqrs {

// At most `count` messages leased per `period` (a sliding window: over ANY interval of
// length `period`), across every process using the queue.
struct RateLimit {
  std::int64_t count = 0;
  Duration period{};
  bool operator==(const RateLimit&) const = default;
};

// Options of one queue. Limits are enforced inside the database transaction that leases
// (every backend), never in one process's memory; a dequeue never exceeds one and never
// returns fewer messages than it could without exceeding one.
struct QueueOptions {
  // At most N messages of the queue leased at once, across all consumers.
  std::optional<std::int64_t> concurrency;
  // At most N messages leased at once by one consumer (worker).
  std::optional<std::int64_t> worker_concurrency;
  // At most N messages leased at once per concurrency key (MessageOptions::concurrency_key);
  // messages without a key are not limited by it.
  std::optional<std::int64_t> key_concurrency;
  std::optional<RateLimit> rate_limit;
  // How long archived messages / dead letters are kept (unset: forever). Stored and shown
  // here; pruning is the retention feature's job.
  std::optional<Duration> retain_archived;
  std::optional<Duration> retain_dead;

  // True when any lease limit (the first four fields) is set.
  bool limited() const noexcept {
    return concurrency || worker_concurrency || key_concurrency || rate_limit;
  }
  bool operator==(const QueueOptions&) const = default;
};

// ValidationError naming the first bad field ("concurrency must be at least 1 (got 0)"):
// limits and rate counts >= 1, rate period > 0 and whole microseconds at least 1 ms,
// retention >= 0.
void validate(const QueueOptions& options);

// Per-message flow fields (EnqueueBuilder, Producer). Keys are 1..255 bytes.
struct MessageOptions {
  // Smaller is delivered first (negatives allowed); FIFO within one priority.
  std::int32_t priority = 0;
  // While a live (pending or leased) message of the queue has this key, enqueueing another
  // stores nothing and returns the live message's id. Free again once it is archived or dead.
  std::optional<std::string> dedup_key;
  // The key QueueOptions::key_concurrency counts by (e.g. a customer id).
  std::optional<std::string> concurrency_key;
  bool operator==(const MessageOptions&) const = default;
};

// ValidationError naming the field and `where` ("message 2 of 3: dedup_key is empty").
void validate(const MessageOptions& options, const std::string& where);

}  // namespace pgqrs
