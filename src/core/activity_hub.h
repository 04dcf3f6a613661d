// ActivityHub: in-process wake-ups for idle poll loops. An enqueue through a Store notifies
// the loops of that Store waiting on the same queue, so they do not sleep out their poll
// interval. Cross-process wake-ups come from Backend::subscribe (e.g. Postgres NOTIFY).
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

namespace pgqrs::core {

class ActivityHub {
 public:
  using Callback = std::function<void()>;
  // Returns a token for remove(). The callback must be quick and must not throw.
  std::uint64_t add(const std::string& queue, Callback cb);
  void remove(std::uint64_t token);
  void notify(const std::string& queue);

 private:
  struct Entry {
    std::string queue;
    Callback cb;
  };
  std::mutex mu_;
  std::uint64_t next_ = 1;                  // GUARDED_BY(mu_)
  std::map<std::uint64_t, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace pgqrs::core
