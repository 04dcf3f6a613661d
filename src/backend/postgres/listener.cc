#include "backend/postgres/listener.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <random>
#include <vector>

#include "backend/postgres/pg_backend.h"

namespace pgqrs::pg {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kProbeTimeout{2000};
constexpr milliseconds kMaxPause{5000};

}  // namespace

class Listener::Handle final : public backend::Subscription {
 public:
  Handle(Listener& listener, std::uint64_t token) : listener_(listener), token_(token) {}
  ~Handle() override { listener_.remove(token_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

 private:
  Listener& listener_;
  std::uint64_t token_;
};

Listener::Listener(PostgresBackend& backend) : backend_(backend) {
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    // Without a pipe the thread still stops, at its next poll timeout.
    wake_pipe_[0] = wake_pipe_[1] = -1;
  }
  thread_ = std::thread([this] { run(); });
}

Listener::~Listener() {
  stop_.store(true);
  if (wake_pipe_[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] const auto n = ::write(wake_pipe_[1], &byte, 1);
  }
  thread_.join();
  for (int fd : wake_pipe_) {
    if (fd >= 0) ::close(fd);
  }
}

std::unique_ptr<backend::Subscription> Listener::subscribe(std::string_view queue,
                                                           std::function<void()> on_activity) {
  std::lock_guard lock(mu_);
  const std::uint64_t token = next_token_++;
  subs_.emplace(token, Entry{std::string(queue), std::move(on_activity)});
  return std::make_unique<Handle>(*this, token);
}

void Listener::remove(std::uint64_t token) {
  std::lock_guard lock(mu_);
  subs_.erase(token);
}

std::string Listener::state() const {
  switch (state_.load()) {
    case State::kConnecting:
      return "connecting";
    case State::kListening:
      return "listening";
    case State::kUnusable:
      return "unusable";
  }
  return "unknown";
}

void Listener::dispatch(const std::string& queue) {
  std::lock_guard lock(mu_);
  for (auto& [token, e] : subs_) {
    if (e.queue == queue) e.cb();
  }
}

void Listener::dispatch_all() {
  std::lock_guard lock(mu_);
  for (auto& [token, e] : subs_) e.cb();
}

Listener::Wait Listener::wait(int socket, int ms) {
  pollfd fds[2] = {{socket, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
  const nfds_t n = wake_pipe_[0] >= 0 ? 2 : 1;
  // Without a wake pipe, wake up now and then to notice stop_.
  const int limit = n == 2 ? ms : (ms < 0 ? 200 : std::min(ms, 200));
  const int rc = ::poll(fds, n, limit);
  if (stop_.load()) return Wait::kStop;
  if (rc < 0) return errno == EINTR ? Wait::kTimeout : Wait::kReadable;  // let libpq see errors
  if (rc == 0) return Wait::kTimeout;
  return Wait::kReadable;
}

bool Listener::probe(Connection& conn) {
  // A payload no queue name can equal (queue names never contain '#').
  std::random_device rd;
  probe_payload_ = "#probe:" + std::to_string(rd()) + std::to_string(rd());
  try {
    backend_.notify({probe_payload_}, backend_.executor().timeout());
  } catch (const std::exception&) {
    return true;  // cannot tell now; assume LISTEN works (polling covers us either way)
  }
  const auto deadline = Clock::now() + kProbeTimeout;
  for (;;) {
    if (PQconsumeInput(conn.get()) == 0) return true;  // connection broke; serve() sees it
    while (PGnotify* n = PQnotifies(conn.get())) {
      const std::string payload = n->extra != nullptr ? n->extra : "";
      PQfreemem(n);
      if (payload == probe_payload_) return true;
      if (!payload.empty() && payload[0] != '#') dispatch(payload);
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    if (wait(PQsocket(conn.get()), static_cast<int>(left.count())) == Wait::kStop) return true;
  }
}

void Listener::serve(Connection& conn) {
  state_.store(State::kListening);
  dispatch_all();  // anything may have happened while we were not listening
  for (;;) {
    switch (wait(PQsocket(conn.get()), -1)) {
      case Wait::kStop:
        return;
      case Wait::kTimeout:
        continue;
      case Wait::kReadable:
        break;
    }
    if (PQconsumeInput(conn.get()) == 0) return;  // broken: reconnect
    while (PGnotify* n = PQnotifies(conn.get())) {
      const std::string payload = n->extra != nullptr ? n->extra : "";
      PQfreemem(n);
      if (!payload.empty() && payload[0] != '#') dispatch(payload);
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) return;
  }
}

void Listener::run() {
  milliseconds pause{100};
  bool probed = false;
  std::mt19937_64 rng{std::random_device{}()};
  while (!stop_.load()) {
    state_.store(State::kConnecting);
    try {
      // A short connect budget (at most 2 s, as libpq's smallest connect_timeout was), so
      // that stop is noticed.
      const auto budget = std::min<Clock::duration>(backend_.connect_options().connect_timeout,
                                                    std::chrono::seconds(2));
      auto conn = Connection::open(backend_.connect_options(), Clock::now() + budget);
      conn->exec_simple("LISTEN " + quote_identifier(*conn, backend_.channel()));
      if (!probed) {
        if (!probe(*conn)) {
          // LISTEN does not deliver here (a transaction pooler): leave it to polling. Try
          // to take our LISTEN back from the pooler's server session on the way out.
          try {
            conn->exec_simple("UNLISTEN *");
          } catch (const std::exception&) {
          }
          state_.store(State::kUnusable);
          return;
        }
        probed = true;
      }
      if (stop_.load()) return;
      serve(*conn);
      pause = milliseconds(100);  // it worked for a while: reconnect quickly
    } catch (const std::exception&) {
      // Cannot connect or LISTEN now: try again after a pause.
    }
    if (stop_.load()) return;
    state_.store(State::kConnecting);
    std::uniform_int_distribution<milliseconds::rep> dist(pause.count() / 2, pause.count());
    const auto sleep_ms = static_cast<int>(dist(rng));
    if (wake_pipe_[0] >= 0) {
      pollfd fd{wake_pipe_[0], POLLIN, 0};
      ::poll(&fd, 1, sleep_ms);
    } else {
      ::usleep(static_cast<useconds_t>(sleep_ms) * 1000);
    }
    pause = std::min(pause * 2, kMaxPause);
  }
}

}  // namespace pgqrs::pg
