// The names of the queues this backend last saw with limits (decision F10). A hint only:
// dequeue() of a queue named here calls pgqrs_lease_limited directly (one round trip), which
// is correct whatever the queue's options are now; the unlimited statement, which leases
// nothing on a limited queue, names the others. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

namespace pgqrs::pg {

class LimitedQueues {
 public:
  bool contains(std::string_view queue) {
    std::lock_guard lock(mu_);
    return names_.count(std::string(queue)) > 0;
  }
  // Records what a dequeue just read: `limited` = the queue has at least one limit.
  void set(std::string_view queue, bool limited) {
    std::lock_guard lock(mu_);
    if (limited) {
      names_.emplace(queue);
    } else {
      names_.erase(std::string(queue));
    }
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> names_;  // GUARDED_BY(mu_)
};

}  // namespace pgqrs::pg
