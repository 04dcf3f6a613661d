#include "backend/flow_limits.h"

#include <algorithm>

namespace pgqrs::backend {

std::int64_t lease_budget(std::uint32_t limit, const QueueOptions& o, const HeldLeases& held) {
  std::int64_t budget = limit;
  if (o.concurrency) budget = std::min(budget, *o.concurrency - held.queue);
  if (o.worker_concurrency) budget = std::min(budget, *o.worker_concurrency - held.worker);
  if (o.rate_limit) budget = std::min(budget, o.rate_limit->count - held.rate_used);
  return std::max<std::int64_t>(budget, 0);
}

bool KeyGate::admit(const std::optional<std::string>& key) {
  if (!limit_ || !key) return true;
  auto it = leased_.find(*key);
  if (it == leased_.end()) it = leased_.emplace(*key, held_(*key)).first;
  if (it->second >= *limit_) return false;
  ++it->second;
  return true;
}

}  // namespace pgqrs::backend
