// How long a queue handler may still work on its message(s) (decision H9).
//
//   pgqrs::dequeue().worker(c).handle([&](const pgqrs::QueueMessage& m) {
//     for (auto& part : parts(m)) {
//       if (auto until = pgqrs::handler_lease_valid_until(); until && store.now() >= *until)
//         throw StopWork{};  // the lease may have lapsed: another consumer may get m
//       process(part);
//     }
//   }).poll(store);
//
// While a handler runs, the engine renews its lease in the background (every lease/3). When
// renewals stall (a dead network) or are refused, the lease is no longer known to be held,
// and once its confirmed end passes another consumer may lease the message. The engine
// never STARTS a handler on such a message (it counts it in PollStats::lease_lost and lets
// the lease lapse); a long handler already running can ask here.
#pragma once

#include <optional>

#include "pgqrs/clock.h"

namespace pgqrs {

// Inside a queue handler called by DequeueHandler::poll() / execute() (on the calling
// thread): the engine time (Store::now()) until which the lease of the message being handled
// is confirmed, minus a safety margin of lease/10; for a batch handler, the earliest of the
// batch. TimePoint::min() once the database refused a renewal. Outside a handler: nullopt.
std::optional<TimePoint> handler_lease_valid_until();

}  // namespace pgqrs
