// Notifier: sends the wake-up notifications of committed writes (NotifyIn::kCaller,
// message_sql.h) from a thread of its own (decision P14).
//
// Why: Postgres serializes the commits of all transactions that ran NOTIFY, through their
// log flush, so a producer that notified inside its insert's transaction committed one at a
// time with every other producer. Here the insert commits without NOTIFY; the notification
// follows in a transaction of its own, sent by this thread, so the producer neither waits
// for it nor holds anyone up.
//
// Contract:
//  - post(queue) never blocks on the database. A queue posted several times before the
//    thread sends is notified once (one statement for every pending queue).
//  - A notification is sent after the post, hence after the write it announces committed:
//    a listener woken by it finds the messages.
//  - Best effort: a failed send is dropped (pollers fall back to their poll interval,
//    listener.h). The destructor sends what is still pending (within a short budget), so a
//    producer that enqueues and exits still wakes the consumers at once.
// Thread-safe. The thread starts with the first post.
#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

namespace pgqrs::pg {

class PostgresBackend;

class Notifier {
 public:
  explicit Notifier(PostgresBackend& backend) : backend_(backend) {}
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void post(const std::string& queue);

 private:
  void run();
  // One statement notifying every queue of `queues`; failures are swallowed.
  void send(const std::set<std::string>& queues);

  PostgresBackend& backend_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::set<std::string> pending_;  // GUARDED_BY(mu_)
  bool stopping_ = false;          // GUARDED_BY(mu_)
  std::thread thread_;             // started by the first post (under mu_)
};

}  // namespace pgqrs::pg
