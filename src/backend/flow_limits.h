// The arithmetic of flow-control limits (issue 14), shared by every backend's dequeue so that
// they agree exactly. The counts come from the database, read inside the transaction that
// leases; nothing here remembers anything between dequeues.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "pgqrs/queue_options.h"

namespace pgqrs::backend {

// Counts read from the database at the start of a limited dequeue.
struct HeldLeases {
  std::int64_t queue = 0;      // messages of the queue leased now (consumer set, vt > now)
  std::int64_t worker = 0;     // of those, leased by this consumer
  std::int64_t rate_used = 0;  // leases of the queue in the last rate period
};

// The rate window (F12). A dequeue counts the rate leases in (now - period, +inf): every
// lease that can share a window of one period with its own, later ones included, since a
// caller's `now` is read before its statement waits for the queue's lock and may be older
// than a lease already committed. Rows leave the table only once older than the period plus
// kRateLeaseKeep, so no caller whose `now` lags by less than that undercounts (a delete
// keyed on the deleter's newer `now` let a lagging caller exceed the limit).
inline constexpr std::chrono::seconds kRateLeaseKeep{60};

// How many messages this dequeue may lease: min(limit, every limit minus what is held),
// never negative.
std::int64_t lease_budget(std::uint32_t limit, const QueueOptions& options, const HeldLeases& held);

// Admits candidates one by one, in delivery order, within key_concurrency: a candidate whose
// key is at its limit is skipped (the next candidates are still considered, so a busy key
// never hides other keys' messages). Messages without a key are always admitted. `held`
// returns how many messages with that key are leased now (asked once per key).
class KeyGate {
 public:
  KeyGate(std::optional<std::int64_t> key_limit,
          std::function<std::int64_t(const std::string&)> held)
      : limit_(key_limit), held_(std::move(held)) {}
  bool active() const noexcept { return limit_.has_value(); }
  // True (and counted as leased) when the message may be leased.
  bool admit(const std::optional<std::string>& key);

 private:
  std::optional<std::int64_t> limit_;
  std::function<std::int64_t(const std::string&)> held_;
  std::map<std::string, std::int64_t> leased_;  // per key: held + admitted so far
};

}  // namespace pgqrs::backend
