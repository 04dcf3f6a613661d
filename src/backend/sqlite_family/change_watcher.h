// ChangeWatcher: cross-process wake-ups for the SQLite family (Backend::subscribe), the file
// database's counterpart of Postgres LISTEN/NOTIFY.
//
// Every commit to a file database writes the file itself or its write-ahead log (`-wal`). A
// background thread, started with the first subscription, watches the database's directory
// with inotify for writes to those two files: zero cost while nothing is written, no shorter
// poll. After a write it waits a moment (kSettle: the writer updates the WAL index after the
// frames, so a reader right after the write may not see the commit yet, and a burst of
// writes is one check), then asks the database which queues have messages newer than the last
// ones it saw, or messages made visible since its last check (a send or a child's end waking a
// waiting run, a resume, a release: vt set to the writer's now; `QueueActivity`: reads that cost
// what was written since the last check, watch_queries.h) and calls the callbacks subscribed to
// those queues only. Writes that add no message and show none (leases, acknowledgements,
// heartbeats) wake nobody.
//
// Robustness: polling at poll_interval_ms stays the fallback, so the watcher is never
// required for correctness. A message that becomes visible later by the passing of time (a
// delay ending) is found by polling, as before. If inotify is unavailable, subscribe() returns null
// and pollers simply poll. A check that fails (e.g. schema not installed yet) wakes every
// subscriber, which is always safe.
//
// Thread-safe. Destroying the watcher stops and joins its thread (promptly: an eventfd wakes
// it). Subscriptions must be destroyed before the watcher.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "backend/backend.h"

namespace pgqrs::sqlite_family {

class ChangeWatcher {
 public:
  // The largest message id now (0 when there is none).
  using LastMessageId = std::function<std::int64_t()>;
  // (queue name, largest id) of every queue with messages whose id > after_id, and
  // (queue name, 0) of every queue with a live, unleased message whose vt is in
  // (visible_since, visible_until] (made visible by a write in that window).
  using QueueActivity = std::function<std::vector<std::pair<std::string, std::int64_t>>(
      std::int64_t after_id, TimePoint visible_since, TimePoint visible_until)>;

  static constexpr std::chrono::milliseconds kSettle{1};
  // How far before its previous check a check looks for messages made visible: a writer
  // reads its clock before it commits, so its vt may predate the previous check by that lag.
  static constexpr std::chrono::seconds kVisibleLag{1};

  // Watches `database_path` (and its "-wal"). Both callbacks run on the watcher thread.
  ChangeWatcher(std::string database_path, LastMessageId last_id, QueueActivity activity);
  ~ChangeWatcher();
  ChangeWatcher(const ChangeWatcher&) = delete;
  ChangeWatcher& operator=(const ChangeWatcher&) = delete;

  // `on_activity` is called from the watcher thread; it must be quick and not throw. Null
  // when the watcher could not start (no inotify): callers poll.
  std::unique_ptr<backend::Subscription> subscribe(std::string_view queue,
                                                   std::function<void()> on_activity);

 private:
  class Handle;
  struct Entry {
    std::string queue;
    std::function<void()> cb;
  };

  void run();
  // Reads every pending inotify event; true if one was a write to a watched file.
  bool drain_events();
  // Waits for `fd` (the inotify fd, or -1) or the stop signal up to `ms` (-1 = forever).
  // Returns false when stopping.
  bool wait(int fd, int ms);
  void check();
  void dispatch(const std::string& queue);
  void dispatch_all();
  void remove(std::uint64_t token);
  bool has_subscribers();

  const std::string dir_;
  const std::string file_name_;
  const std::string wal_name_;
  LastMessageId last_id_;
  QueueActivity activity_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd
  std::atomic<bool> stop_{false};
  std::int64_t seen_id_ = -1;  // watcher thread only; -1 = not read yet
  TimePoint checked_at_{};     // watcher thread only: the wall time of the previous check
  std::thread thread_;

  std::mutex mu_;
  std::uint64_t next_token_ = 1;         // GUARDED_BY(mu_)
  std::map<std::uint64_t, Entry> subs_;  // GUARDED_BY(mu_)
};

}  // namespace pgqrs::sqlite_family
