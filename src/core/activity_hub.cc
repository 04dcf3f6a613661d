#include "core/activity_hub.h"

namespace pgqrs::core {

std::uint64_t ActivityHub::add(const std::string& queue, Callback cb) {
  std::lock_guard lock(mu_);
  const auto token = next_++;
  entries_.emplace(token, Entry{queue, std::move(cb)});
  return token;
}

void ActivityHub::remove(std::uint64_t token) {
  std::lock_guard lock(mu_);
  entries_.erase(token);
}

void ActivityHub::notify(const std::string& queue) {
  // Callbacks run under the lock so that remove() guarantees none is running afterwards;
  // they only set a flag and signal a condition variable.
  std::lock_guard lock(mu_);
  for (const auto& [token, entry] : entries_) {
    if (entry.queue == queue) entry.cb();
  }
}

}  // namespace pgqrs::core
