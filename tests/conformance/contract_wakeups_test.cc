// Backend contract (src/backend/backend.h, subscribe) on every backend that has a signal
// across connections: a message enqueued (on the file backends also one made visible again)
// through ANOTHER backend on the same database (what another process does) calls the
// subscribers of that queue, promptly, and not those of other queues. Postgres: LISTEN/NOTIFY;
// SQLite and Turso files: the change watcher (sqlite_family/change_watcher.h). Backends without a
// signal return null and their idle pollers poll; those cases skip, naming why.
//
// The signal travels through the database server or the file system, so this test waits in
// real time (bounded; a wake-up is expected within milliseconds). Engine time is not involved.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "conformance/backend_contract_fixture.h"

namespace pgqrs_test {
namespace {

using Steady = std::chrono::steady_clock;

class BackendWakeupContract : public BackendContractTest {};
PGQRS_INSTANTIATE_CONFORMANCE(BackendWakeupContract);

// Polls `done` every millisecond until it is true or `limit` passes.
template <class Pred>
bool WaitFor(Pred done, std::chrono::milliseconds limit) {
  const auto until = Steady::now() + limit;
  while (!done()) {
    if (Steady::now() >= until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

void EnqueueOne(Backend& backend, const std::string& queue) {
  EnqueueParams p;
  p.queue = queue;
  p.payloads = {R"({"wake":1})"};
  p.visible_at = kT0;
  p.now = kT0;
  backend.enqueue(p);
}

TEST_P(BackendWakeupContract, AnotherConnectionsEnqueueWakesThatQueuesSubscribersOnly) {
  if (GetParam().name == "pgbouncer") {
    GTEST_SKIP() << "LISTEN does not deliver through PgBouncer transaction pooling (decision "
                    "P6): idle pollers poll";
  }
  make_queue("woken");
  make_queue("quiet");
  std::atomic<int> woken{0};
  std::atomic<int> quiet{0};
  auto sub_woken = be().subscribe("woken", [&] { ++woken; });
  auto sub_quiet = be().subscribe("quiet", [&] { ++quiet; });
  const std::string& name = GetParam().name;
  if (name == "sqlite_memory" || name == "s3") {
    EXPECT_EQ(sub_woken, nullptr);
    GTEST_SKIP() << name
                 << ": no other connection or process writes this store's copy of the database "
                    "(in memory / a private working copy), so there is nothing to signal";
  }
  ASSERT_NE(sub_woken, nullptr) << name << " must signal writes by other connections";
  Backend& other = OpenSame();

  // The signal may need a moment to be ready (Postgres: the listener connects and probes);
  // until then enqueue again every 200 ms.
  const bool ready = WaitFor(
      [&] {
        EnqueueOne(other, "woken");
        return WaitFor([&] { return woken.load() > 0; }, 200ms);
      },
      20s);
  ASSERT_TRUE(ready) << "no wake-up for an enqueue through another connection";

  // Settled (a listener or watcher that (re)starts wakes every subscriber once): now one
  // enqueue wakes "woken" within a second and never "quiet".
  std::this_thread::sleep_for(300ms);
  woken = 0;
  quiet = 0;
  const auto t0 = Steady::now();
  EnqueueOne(other, "woken");
  ASSERT_TRUE(WaitFor([&] { return woken.load() > 0; }, 1000ms))
      << "the subscriber of the queue that got a message was not woken within 1 s";
  const auto latency = std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(quiet.load(), 0) << "a subscriber of another queue was woken";
  std::cout << "[ info ] " << GetParam().name << ": enqueue through another connection -> "
            << "subscriber called after " << latency << " ms\n";

  // Writes that add no message (a lease, an acknowledgement) wake nobody where the backend
  // can tell (the file watcher checks for new messages; NOTIFY is sent by enqueue only).
  const auto worker = make_worker("c", "woken");
  std::this_thread::sleep_for(300ms);
  woken = 0;
  auto leased = dequeue("woken", 10, worker);
  ASSERT_FALSE(leased.empty());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(woken.load(), 0) << "a lease (no new message) woke the subscriber";

  // A message made visible again by another connection (released here; a send waking a
  // waiting run or a resume write the same way) wakes that queue's subscribers: the file
  // watcher looks for messages made visible since its last check. (On Postgres the writes
  // that make a message visible now send NOTIFY themselves: postgres_notify_test.)
  if (name == "postgres") return;
  std::vector<std::int64_t> ids;
  for (const auto& m : leased) ids.push_back(m.id);
  quiet = 0;
  const pgqrs::TimePoint wall = std::chrono::system_clock::now();
  const auto t1 = Steady::now();
  // Released as of kT0 (the lease is valid then), visible from the real now: a writer's vt is
  // its clock, and the watcher compares it with the wall clock.
  const auto released = other.release(ids, worker, wall, kT0, 5);
  ASSERT_EQ(std::count(released.begin(), released.end(), true),
            static_cast<std::ptrdiff_t>(ids.size()));
  ASSERT_TRUE(WaitFor([&] { return woken.load() > 0; }, 1000ms))
      << "messages made visible by another connection woke nobody within 1 s";
  std::cout << "[ info ] " << name << ": release through another connection -> subscriber "
            << "called after "
            << std::chrono::duration<double, std::milli>(Steady::now() - t1).count() << " ms\n";
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(quiet.load(), 0) << "a subscriber of another queue was woken";
}

}  // namespace
}  // namespace pgqrs_test
