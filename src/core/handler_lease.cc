// pgqrs::handler_lease_valid_until(): the handler's view of its LeaseKeeper (thread-local).
#include "core/handler_lease.h"

#include <algorithm>

#include "pgqrs/handler_lease.h"

namespace pgqrs {
namespace core {
namespace {

thread_local const HandlerLeaseScope* t_scope = nullptr;

}  // namespace

HandlerLeaseScope::HandlerLeaseScope(const LeaseKeeper& keeper, std::vector<std::int64_t> ids)
    : keeper_(keeper), ids_(std::move(ids)), outer_(t_scope) {
  t_scope = this;
}

HandlerLeaseScope::~HandlerLeaseScope() { t_scope = outer_; }

TimePoint HandlerLeaseScope::valid_until() const {
  TimePoint until = TimePoint::max();
  for (const auto id : ids_) until = std::min(until, keeper_.valid_until(id));
  return ids_.empty() ? TimePoint::min() : until;
}

}  // namespace core

std::optional<TimePoint> handler_lease_valid_until() {
  if (core::t_scope == nullptr) return std::nullopt;
  return core::t_scope->valid_until();
}

}  // namespace pgqrs
