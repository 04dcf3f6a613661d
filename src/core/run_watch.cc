#include "core/run_watch.h"

#include <algorithm>
#include <atomic>
#include <chrono>

namespace pgqrs::core {

bool watch_runs(detail::StoreState& s, TimePoint deadline, const std::function<bool()>& check) {
  const auto interval =
      std::chrono::milliseconds(std::clamp<std::uint32_t>(s.config.poll_interval_ms, 5, 200));
  auto waiter = s.clock->make_waiter();
  std::atomic<bool> woken{false};
  const auto token = s.activity.add_run_listener([&] {
    woken.store(true);
    waiter->notify();
  });
  struct Unlisten {
    detail::StoreState& s;
    std::uint64_t token;
    ~Unlisten() { s.activity.remove(token); }
  } unlisten{s, token};
  while (true) {
    if (check()) return true;
    const auto now = s.now();
    if (now >= deadline) return false;
    waiter->wait_until(std::min(now + interval, deadline), [&] { return woken.load(); });
    woken.store(false);
  }
}

}  // namespace pgqrs::core
