// Listener: cross-process wake-ups through LISTEN/NOTIFY (Backend::subscribe).
//
// One dedicated connection per backend, opened by a background thread when the first
// subscription is made, LISTENs on the schema's channel. Every enqueue of messages visible
// now (and every release making messages visible now) runs pg_notify(channel, queue) in
// its own transaction, so the notification arrives when — and only if — that transaction
// commits; the thread then calls the callbacks subscribed to that queue.
//
// Robustness: polling at poll_interval_ms stays the fallback, so the listener is never
// required for correctness. If its connection breaks (server restart, terminated backend)
// it reconnects with a growing pause (up to 5 s) and, once listening again, wakes every
// subscriber (a notification may have been missed meanwhile). Right after its first
// LISTEN it checks that notifications really arrive: it sends a probe notification through
// the pool and waits for it. Behind a pooler in transaction mode (PgBouncer
// pool_mode=transaction) LISTEN does not deliver; the probe never comes back, the listener
// gives up for the backend's lifetime (state "unusable") and pollers simply poll.
// pgqrs_listen=false in the DSN skips all of this.
//
// Thread-safe. Destroying the Listener stops and joins its thread (promptly: a pipe wakes
// it). Subscriptions must be destroyed before the Listener.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "backend/backend.h"

namespace pgqrs::pg {

class PostgresBackend;
class Connection;

class Listener {
 public:
  explicit Listener(PostgresBackend& backend);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // `on_activity` is called from the listener thread; it must be quick and not throw.
  std::unique_ptr<backend::Subscription> subscribe(std::string_view queue,
                                                   std::function<void()> on_activity);
  // "connecting", "listening" or "unusable".
  std::string state() const;

 private:
  class Handle;
  enum class State { kConnecting, kListening, kUnusable };
  enum class Wait { kReadable, kStop, kTimeout };

  void run();
  // Serves one LISTENing connection until it breaks (returns) or the listener stops.
  void serve(Connection& conn);
  // True when the probe notification came back within the time limit.
  bool probe(Connection& conn);
  // Waits until the socket is readable, the stop pipe is written, or `ms` passes (-1: no
  // limit).
  Wait wait(int socket, int ms);
  void dispatch(const std::string& queue);
  void dispatch_all();
  void remove(std::uint64_t token);

  PostgresBackend& backend_;
  std::atomic<State> state_{State::kConnecting};
  std::atomic<bool> stop_{false};
  int wake_pipe_[2] = {-1, -1};

  struct Entry {
    std::string queue;
    std::function<void()> cb;
  };
  // Held while callbacks run, so that removing a subscription waits for its callback.
  mutable std::mutex mu_;
  std::uint64_t next_token_ = 1;         // GUARDED_BY(mu_)
  std::map<std::uint64_t, Entry> subs_;  // GUARDED_BY(mu_)
  std::string probe_payload_;            // only used by the listener thread

  std::thread thread_;  // last: started after everything above is ready
};

}  // namespace pgqrs::pg
