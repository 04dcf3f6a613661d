// Token-bucket enqueue rate limiter (SPEC §7). Disabled unless a rate is configured.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "pgqrs/clock.h"
#include "pgqrs/config.h"

namespace pgqrs::core {

class RateLimiter {
 public:
  explicit RateLimiter(const ValidationConfig& cfg);
  // Takes `count` tokens at time `now` or throws RateLimitedError: with retry_after when
  // the bucket will have room later, without when count exceeds the burst (never fits).
  // Thread-safe.
  void acquire(std::uint64_t count, TimePoint now);

 private:
  std::optional<double> rate_;
  double burst_ = 0;
  std::mutex mu_;
  double tokens_ = 0;
  std::optional<TimePoint> last_;
};

}  // namespace pgqrs::core
