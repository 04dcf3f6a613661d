#include "core/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::core {

RateLimiter::RateLimiter(const ValidationConfig& cfg) : rate_(cfg.max_enqueue_per_second) {
  if (rate_) {
    burst_ = cfg.max_enqueue_burst ? static_cast<double>(*cfg.max_enqueue_burst)
                                   : std::max(1.0, std::ceil(*rate_));
    tokens_ = burst_;
  }
}

void RateLimiter::acquire(std::uint64_t count, TimePoint now) {
  if (!rate_) return;
  const double need = static_cast<double>(count);
  if (need > burst_) {
    throw RateLimitedError("batch of " + std::to_string(count) +
                               " messages exceeds the enqueue burst limit of " +
                               std::to_string(static_cast<std::uint64_t>(burst_)) +
                               " (validation.max_enqueue_burst); split it into smaller batches",
                           std::nullopt);
  }
  std::lock_guard lock(mu_);
  if (last_) {
    double elapsed = std::chrono::duration<double>(now - *last_).count();
    if (elapsed > 0) tokens_ = std::min(burst_, tokens_ + elapsed * *rate_);
  }
  if (!last_ || now > *last_) last_ = now;
  if (tokens_ + 1e-9 < need) {
    double wait_s = (need - tokens_) / *rate_;
    auto wait = std::chrono::milliseconds(static_cast<long long>(std::ceil(wait_s * 1000.0)));
    throw RateLimitedError("enqueue rate limit of " + std::to_string(*rate_) +
                               " messages/s exceeded; retry in " + std::to_string(wait.count()) +
                               " ms",
                           wait);
  }
  tokens_ -= need;
}

}  // namespace pgqrs::core
