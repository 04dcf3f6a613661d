// ActivityHub: in-process wake-ups for idle waits. An enqueue through a Store notifies
// the loops of that Store waiting on the same queue, so they do not sleep out their poll
// interval; a workflow run finishing through a Store notifies that Store's result() waits.
// Cross-process wake-ups come from Backend::subscribe (e.g. Postgres NOTIFY); result() waits
// see other processes' runs finish at their next poll. Thread-safe.
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
  // A workflow run finished (any run: listeners re-read the run they wait for).
  std::uint64_t add_run_listener(Callback cb) { return add(kRunsChannel, std::move(cb)); }
  void notify_run_finished() { notify(kRunsChannel); }

 private:
  // Never a queue name (queue names are validated non-empty).
  static constexpr const char* kRunsChannel = "";
  struct Entry {
    std::string queue;
    Callback cb;
  };
  std::mutex mu_;
  std::uint64_t next_ = 1;                  // GUARDED_BY(mu_)
  std::map<std::uint64_t, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace pgqrs::core
