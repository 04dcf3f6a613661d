// Waiting on runs from outside them (RunBuilder::result, get_event, StreamReader::next).
#pragma once

#include <functional>

#include "core/store_state.h"
#include "pgqrs/clock.h"

namespace pgqrs::core {

// Calls `check` now, then again every poll interval of the store's clock (clamped to 5..200
// ms) and at once when a run finishes or writes through this store (its ActivityHub), until
// `check` returns true (then true) or the store's clock reaches `deadline` (then false).
// Other processes' writes are seen at the next re-check.
bool watch_runs(detail::StoreState& s, TimePoint deadline, const std::function<bool()>& check);

}  // namespace pgqrs::core
