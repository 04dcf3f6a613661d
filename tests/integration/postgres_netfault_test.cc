// Dead networks between pgqrs and Postgres (issue 18 item 4): a private server behind a TCP
// fault proxy (tcp_fault_proxy.h) that stalls, drops or resets connections, also in the
// middle of a statement, switched at run time. It proves:
//  - every blocking call ends within its configured timeout: connect
//    (connect_timeout_seconds), each statement (statement_timeout_seconds) and the whole
//    operation with its retries (connection_timeout_seconds);
//  - the same Store works again once the network heals;
//  - nothing acknowledged is lost (every enqueue that returned an id is there, and is
//    archived once);
//  - a worker whose lease renewal stalls stops treating its lease as valid before it ends,
//    so no message is handled by two holders of a valid lease (each handler call records its
//    holder and lease window; windows of different holders never overlap).
// Engine time (leases, renewals, heartbeats) is a ManualClock the test moves; the socket
// timeouts are real time, kept short (1-2 s). Skipped unless PGQRS_TEST_POSTGRES_DSN is set.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "integration/pg_admin.h"
#include "integration/pg_private_server.h"
#include "integration/process_util.h"
#include "integration/tcp_fault_proxy.h"
#include "pgqrs/pgqrs.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using Mode = TcpFaultProxy::Mode;
using Steady = std::chrono::steady_clock;

const char* Name(Mode m) {
  switch (m) {
    case Mode::kPass:
      return "pass";
    case Mode::kStall:
      return "stall";
    case Mode::kDrop:
      return "drop";
    case Mode::kReset:
      return "reset";
  }
  return "?";
}

// Seconds of real time `fn` took; fn's pgqrs::Error (if any) in `error`.
template <class Fn>
double Timed(Fn&& fn, std::string* error = nullptr, bool* outcome_unknown = nullptr) {
  const auto start = Steady::now();
  try {
    fn();
  } catch (const pgqrs::ConnectionError& e) {
    if (error) *error = std::string("ConnectionError: ") + e.what();
    if (outcome_unknown) *outcome_unknown = e.outcome_unknown();
  } catch (const pgqrs::Error& e) {
    if (error) *error = std::string("other pgqrs error: ") + e.what();
  }
  return std::chrono::duration<double>(Steady::now() - start).count();
}

// A scratch schema on the private server with pgqrs installed and queue "q", a store
// connected directly (the "other side" of the network fault) and the proxy in front of the
// server (param "postgres") or of its PgBouncer ("pgbouncer").
class NetFault : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    REQUIRE_PRIVATE_SERVER();
    dsn_ = dsn;
    upstream_ = GetParam() == "pgbouncer" ? Server().bouncer_dsn : dsn_;
    ASSERT_FALSE(upstream_.empty()) << "the private server has no PgBouncer";
    schema_ = PgAdmin(dsn_).CreateSchema("netfault");
    const auto [host, port] = DsnHostPort(upstream_);
    proxy_ = std::make_unique<TcpFaultProxy>(host, port);
    direct_ = std::make_unique<pgqrs::Store>(pgqrs::connect_with_config(Direct(), clock_));
    pgqrs::admin(*direct_).install();
    direct_->queue("q");
    // One connection through the proxy with a generous connect timeout first: PgBouncer
    // opens its server connection on the first client's first query, which on a loaded
    // machine can take longer than the 2 s the tests give a connect. The timeouts under
    // test are then not spent on that cold start (CI failure of 2026-12-04).
    pgqrs::Config warm = Proxied();
    warm.connect_timeout_seconds = 20;
    warm.connection_timeout_seconds = 30;
    warm.statement_timeout_seconds = 20;
    (void)pgqrs::admin(pgqrs::connect_with_config(warm, clock_)).verify();
  }
  void TearDown() override {
    proxy_.reset();
    direct_.reset();
    if (!schema_.empty()) {
      try {
        PgAdmin(dsn_).DropSchema(schema_);
      } catch (const std::exception&) {
      }
    }
  }

  pgqrs::Config Direct() const {
    pgqrs::Config c = pgqrs::Config::from_dsn(dsn_);
    c.schema = schema_;
    return c;
  }
  // Through the proxy: 1 s per statement, 2 s per operation and per connect.
  pgqrs::Config Proxied(std::uint32_t max_connections = 2) const {
    pgqrs::Config c = Direct();
    c.dsn = DsnThroughPort(upstream_, proxy_->port());
    c.statement_timeout_seconds = 1;
    c.connection_timeout_seconds = 2;
    c.connect_timeout_seconds = 2;
    c.max_connections = max_connections;
    return c;
  }
  std::uint64_t Count(const std::string& where) {
    return std::stoull(PgAdmin(dsn_).Value("SELECT count(*) FROM \"" + schema_ +
                                           "\".pgqrs_messages WHERE " + where));
  }

  std::string dsn_;
  std::string upstream_;  // what the proxy relays to
  std::string schema_;
  std::shared_ptr<pgqrs::ManualClock> clock_ = std::make_shared<pgqrs::ManualClock>();
  std::unique_ptr<TcpFaultProxy> proxy_;
  std::unique_ptr<pgqrs::Store> direct_;
};

// A bound for "within its timeout" on a shared 2-core machine: the timeout plus slack.
constexpr double kSlack = 1.0;

TEST_P(NetFault, ConnectEndsWithinConnectTimeoutWhateverTheFault) {
  for (Mode mode : {Mode::kStall, Mode::kDrop, Mode::kReset}) {
    proxy_->set_mode(mode);
    std::string error;
    const double took = Timed([&] { (void)pgqrs::connect_with_config(Proxied(), clock_); }, &error);
    EXPECT_NE(error.find("ConnectionError"), std::string::npos) << Name(mode) << ": " << error;
    EXPECT_LE(took, 2.0 + kSlack) << Name(mode) << ": " << error;
  }
  proxy_->set_mode(Mode::kPass);
  EXPECT_NO_THROW((void)pgqrs::connect_with_config(Proxied(), clock_));
}

TEST_P(NetFault, EveryCallEndsWithinItsTimeoutWhileStalledAndWorksAgainWhenHealed) {
  pgqrs::Store store = pgqrs::connect_with_config(Proxied(), clock_);
  pgqrs::Consumer consumer = pgqrs::consumer("c", "q").create(store);
  const auto first = pgqrs::enqueue().message({{"n", 0}}).to("q").execute(store);
  proxy_->set_mode(Mode::kStall);
  struct Call {
    const char* name;
    std::function<void()> fn;
  };
  const std::vector<Call> calls = {
      {"enqueue",
       [&] {
         pgqrs::enqueue().message({{"n", 1}}).to("q").execute(store);
       }},
      {"dequeue", [&] { (void)consumer.dequeue_with_vt(1, 30s); }},
      {"archive", [&] { (void)consumer.archive(first.front()); }},
      {"heartbeat", [&] { consumer.heartbeat(); }},
      {"metrics", [&] { (void)pgqrs::admin(store).queue_metrics("q"); }},
  };
  for (const auto& call : calls) {
    std::string error;
    const double took = Timed(call.fn, &error);
    EXPECT_NE(error.find("ConnectionError"), std::string::npos) << call.name << ": " << error;
    // One operation: its statements and reconnects within connection_timeout_seconds.
    EXPECT_LE(took, 2.0 + kSlack) << call.name << ": " << error;
  }
  proxy_->set_mode(Mode::kPass);
  const auto ids = pgqrs::enqueue().message({{"n", 2}}).to("q").execute(store);
  EXPECT_EQ(ids.size(), 1u);
  const auto leased = consumer.dequeue_with_vt(10, 30s);
  EXPECT_FALSE(leased.empty());
  for (const auto& m : leased) EXPECT_TRUE(consumer.archive(m.id));
}

TEST_P(NetFault, FaultInTheMiddleOfAStatementEndsInTimeAndLosesNothingAcknowledged) {
  // One connection, warmed up (statement prepared), so the next request is the statement.
  // The messages are delayed: an enqueue of messages visible now is followed by its wake-up
  // notification from the store's notifier thread (decision P14), which would share the one
  // connection with the statement under test.
  pgqrs::Store store = pgqrs::connect_with_config(Proxied(/*max_connections=*/1), clock_);
  const auto enqueue = [&](const pgqrs::json& message) {
    return pgqrs::enqueue().message(message).to("q").delay(1h).execute(store);
  };
  std::set<std::int64_t> acked;
  for (int i = 0; i < 2; ++i) {  // behind PgBouncer the first may switch to unprepared
    for (auto id : enqueue({{"warm", i}})) acked.insert(id);
  }
  int unknown = 0;
  for (Mode mode : {Mode::kStall, Mode::kDrop, Mode::kReset}) {
    proxy_->fault_after_next_request(mode);
    std::string error;
    bool outcome_unknown = false;
    const double took = Timed(
        [&] {
          for (auto id : enqueue({{"mode", Name(mode)}})) acked.insert(id);
        },
        &error, &outcome_unknown);
    // The request reached the server and its answer was lost: the outcome is unknown and
    // pgqrs says so (never retried, never reported as done).
    EXPECT_NE(error.find("ConnectionError"), std::string::npos) << Name(mode) << ": " << error;
    EXPECT_TRUE(outcome_unknown) << Name(mode) << ": " << error;
    unknown += outcome_unknown ? 1 : 0;
    EXPECT_LE(took, 1.0 + kSlack) << Name(mode) << ": " << error;
    proxy_->set_mode(Mode::kPass);
    for (auto id : enqueue({{"after", Name(mode)}})) acked.insert(id);
  }
  // Every acknowledged enqueue is there; the unknown ones ran on the server (the proxy
  // forwarded them), so they are there too.
  for (auto id : acked) {
    EXPECT_EQ(Count("id = " + std::to_string(id)), 1u) << "acknowledged message " << id << " lost";
  }
  EXPECT_EQ(Count("true"), acked.size() + static_cast<std::size_t>(unknown));
}

// One handler call: who held the message, and the lease window it believed valid.
struct Handled {
  std::string holder;
  std::int64_t id;
  pgqrs::TimePoint start;
  pgqrs::TimePoint valid_until;
};

// Every handler call started inside its own valid lease, and for each message the windows
// [start, valid_until] of different holders never overlap.
void ExpectNoTwoValidHolders(const std::vector<Handled>& log) {
  std::map<std::int64_t, std::vector<const Handled*>> by_id;
  for (const auto& h : log) {
    EXPECT_LT(h.start, h.valid_until)
        << h.holder << " handled message " << h.id << " without a valid lease";
    by_id[h.id].push_back(&h);
  }
  for (const auto& [id, calls] : by_id) {
    for (const Handled* a : calls) {
      for (const Handled* b : calls) {
        if (a == b || a->holder == b->holder) continue;
        const bool overlap = a->start < b->valid_until && b->start < a->valid_until;
        EXPECT_FALSE(overlap) << "message " << id << " held validly by " << a->holder << " and "
                              << b->holder << " at the same time";
      }
    }
  }
}

TEST_P(NetFault, StalledLeaseRenewalStopsTheHolderBeforeAnotherConsumerCanTakeTheMessage) {
  const auto ids =
      pgqrs::enqueue().message({{"n", 1}}).message({{"n", 2}}).to("q").execute(*direct_);
  ASSERT_EQ(ids.size(), 2u);
  pgqrs::Store store_a = pgqrs::connect_with_config(Proxied(), clock_);
  std::mutex mu;
  std::vector<Handled> log;
  auto record = [&](const std::string& holder, std::int64_t id, pgqrs::TimePoint until) {
    std::lock_guard lock(mu);
    log.push_back({holder, id, clock_->now(), until});
  };
  std::promise<void> started;
  std::promise<void> go;
  auto go_future = go.get_future().share();
  std::atomic<int> calls{0};
  std::jthread worker_a([&](std::stop_token stop) {
    // Before A has its first message, a storage error (a statement over the 1 s timeout on
    // a loaded machine) is retried, as a worker process would; after that, one may end the
    // loop while the network is down (checked below).
    while (!stop.stop_requested()) {
      try {
        pgqrs::dequeue()
            .from("q")
            .batch(2)
            .with_vt(30s)
            .poll_interval(100ms)
            .stop_token(stop)
            .handle([&](const pgqrs::QueueMessage& m) {
              record("A", m.id, pgqrs::handler_lease_valid_until().value());
              if (calls++ == 0) {
                started.set_value();
                go_future.wait();
              }
            })
            .poll(store_a);
        return;
      } catch (const pgqrs::Error&) {
        if (calls.load() > 0) return;
        std::this_thread::sleep_for(50ms);
      }
    }
  });
  ASSERT_EQ(started.get_future().wait_for(120s), std::future_status::ready)
      << "worker A never got its first message";
  // The network dies while A handles its first message. The keeper's renewal (due at
  // lease/3 = 10 s) stalls; engine time runs past the lease end (30 s).
  proxy_->set_mode(Mode::kStall);
  clock_->advance(11s);
  std::this_thread::sleep_for(1500ms);  // the stalled renewal gives up (statement timeout 1 s)
  clock_->advance(20s);
  // Another consumer (direct) may now lease both messages, and does.
  pgqrs::Consumer b = pgqrs::consumer("b", "q").create(*direct_);
  const auto taken = b.dequeue_with_vt(2, 30s);
  ASSERT_EQ(taken.size(), 2u) << "the leases should have lapsed at engine time 30 s";
  for (const auto& m : taken) record("B", m.id, m.vt - 3s);
  // A's handler returns; A must not start on its second message: its lease is not valid.
  go.set_value();
  proxy_->set_mode(Mode::kPass);
  for (const auto& m : taken) EXPECT_TRUE(b.archive(m.id)) << m.id;
  worker_a.request_stop();
  worker_a.join();
  EXPECT_EQ(calls.load(), 1) << "A handled a message after its lease lapsed";
  ExpectNoTwoValidHolders(log);
  EXPECT_EQ(Count("archived_at IS NOT NULL"), 2u);
}

TEST_P(NetFault, WorkersRecoverAndNothingAcknowledgedIsLostUnderRepeatedFaults) {
  constexpr int kMessages = 60;
  constexpr int kWorkers = 2;
  std::set<std::int64_t> acked;
  for (int i = 0; i < kMessages; ++i) {
    for (auto id : pgqrs::enqueue().message({{"i", i}}).to("q").execute(*direct_)) acked.insert(id);
  }
  std::mutex mu;
  std::vector<Handled> log;
  std::atomic<int> loop_errors{0};
  std::vector<std::jthread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w](std::stop_token stop) {
      const std::string holder = "worker" + std::to_string(w);
      std::optional<pgqrs::Store> store;
      while (!stop.stop_requested()) {
        try {
          if (!store) store = pgqrs::connect_with_config(Proxied(), clock_);
          pgqrs::dequeue()
              .from("q")
              .batch(3)
              .with_vt(10s)
              .poll_interval(100ms)
              .stop_token(stop)
              .handle([&](const pgqrs::QueueMessage& m) {
                std::lock_guard lock(mu);
                log.push_back(
                    {holder, m.id, clock_->now(), pgqrs::handler_lease_valid_until().value()});
              })
              .poll(*store);
        } catch (const pgqrs::Error&) {
          ++loop_errors;  // what a worker process does: log, and poll again
          std::this_thread::sleep_for(50ms);
        }
      }
    });
  }
  // Engine time runs 20x faster than real time (leases of 10 s lapse in 0.5 s).
  std::jthread ticker([&](std::stop_token stop) {
    while (!stop.stop_requested()) {
      std::this_thread::sleep_for(50ms);
      clock_->advance(1s);
    }
  });
  const std::vector<std::pair<Mode, std::chrono::milliseconds>> schedule = {
      {Mode::kPass, 300ms}, {Mode::kStall, 1500ms}, {Mode::kPass, 500ms}, {Mode::kReset, 300ms},
      {Mode::kPass, 500ms}, {Mode::kDrop, 300ms},   {Mode::kPass, 500ms}, {Mode::kStall, 2500ms},
  };
  for (const auto& [mode, hold] : schedule) {
    proxy_->set_mode(mode);
    std::this_thread::sleep_for(hold);
  }
  proxy_->set_mode(Mode::kPass);
  const auto deadline = Steady::now() + 60s;
  while (Count("archived_at IS NOT NULL") < acked.size() && Steady::now() < deadline) {
    std::this_thread::sleep_for(100ms);
  }
  for (auto& w : workers) w.request_stop();
  workers.clear();
  ticker.request_stop();
  ticker.join();
  // Workers recovered: every message archived, exactly the acknowledged ones, once each.
  EXPECT_EQ(Count("archived_at IS NOT NULL"), acked.size()) << loop_errors.load() << " loop errors";
  EXPECT_EQ(Count("true"), acked.size());
  ExpectNoTwoValidHolders(log);
  std::set<std::int64_t> handled;
  for (const auto& h : log) handled.insert(h.id);
  EXPECT_EQ(handled, acked) << "every message was handled";
}

std::string ParamName(const ::testing::TestParamInfo<std::string>& p) { return p.param; }
INSTANTIATE_TEST_SUITE_P(Through, NetFault, ::testing::Values("postgres", "pgbouncer"), ParamName);

}  // namespace
}  // namespace pgqrs_test
