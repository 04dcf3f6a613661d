#include "backend/postgres/connection.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kMinServerVersion = 120000;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// What to do about a failed connection attempt, judged from libpq's message (libpq reports
// no SQLSTATE for connection failures).
enum class ConnectVerdict { kRetry, kConfig };

ConnectVerdict judge(const std::string& message) {
  static constexpr std::array<std::string_view, 10> kPermanent{
      "invalid",  // invalid port number, invalid sslmode value, invalid connection option...
      "password authentication failed",
      "authentication failed",
      "no password supplied",
      "does not exist",  // database "x" / role "x"
      "no pg_hba.conf entry",
      "pg_hba.conf rejects",
      "could not translate host name",
      "permission denied for database",
      "is not permitted to log in",
  };
  for (std::string_view p : kPermanent) {
    if (contains(message, p)) return ConnectVerdict::kConfig;
  }
  return ConnectVerdict::kRetry;
}

std::string hint_for(const std::string& message) {
  if (contains(message, "authentication failed") || contains(message, "no password supplied")) {
    return " (check the user name and password in the DSN)";
  }
  if (contains(message, "does not exist")) return " (check the database / user name in the DSN)";
  if (contains(message, "could not translate host name")) return " (check the host in the DSN)";
  return "";
}

std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

// PQconnectStartParams + PQconnectPoll, waiting on the socket no later than `deadline`
// (libpq's own connect_timeout counts whole seconds, at least 2, and cannot end a connect
// that hangs in the startup handshake of a stalled network in time). Null when the deadline
// passed first; otherwise the connection, OK or failed (PQstatus tells).
ConnPtr connect_until(const char* const* keys, const char* const* values,
                      Clock::time_point deadline) {
  ConnPtr conn(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (!conn || PQstatus(conn.get()) == CONNECTION_BAD) return conn;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK && state != PGRES_POLLING_FAILED) {
    const auto now = Clock::now();
    if (now >= deadline) return nullptr;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    pollfd fd{PQsocket(conn.get()),
              static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    if (fd.fd < 0) return conn;
    if (::poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 1000))) <= 0) continue;
    state = PQconnectPoll(conn.get());
  }
  return conn;
}

}  // namespace

Statement make_statement(std::string sql) {
  char name[32];
  std::snprintf(name, sizeof name, "pgqrs_%016llx", static_cast<unsigned long long>(fnv1a64(sql)));
  return Statement{name, std::move(sql)};
}

Connection::Connection(PGconn* conn, bool owned, const ConnectOptions& options)
    : conn_(conn), owned_(owned), options_(&options) {}

Connection::~Connection() {
  if (owned_) PQfinish(conn_);
}

std::unique_ptr<Connection> Connection::borrow(PGconn* conn, const ConnectOptions& options) {
  return std::unique_ptr<Connection>(new Connection(conn, /*owned=*/false, options));
}

std::unique_ptr<Connection> Connection::open(const ConnectOptions& options,
                                             Clock::time_point deadline) {
  const auto start = Clock::now();
  std::string last_error;
  for (int attempt = 0;; ++attempt) {
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now());
    // libpq's connect_timeout (whole seconds, at least 2) only backs up connect_until().
    const std::string timeout = std::to_string(std::max<long long>(2, left.count() + 1));
    // Defaults first (the DSN may override them), then the URI, then what pgqrs needs.
    const char* keys[] = {"application_name", "connect_timeout",     "keepalives",
                          "keepalives_idle",  "keepalives_interval", "keepalives_count",
                          "dbname",           "client_encoding",     nullptr};
    const char* values[] = {"pgqrs", timeout.c_str(),     "1",    "30",   "10",
                            "3",     options.uri.c_str(), "UTF8", nullptr};
    ConnPtr conn = connect_until(keys, values, deadline);
    if (!conn) {
      last_error =
          "no answer from the server within the connect timeout (the network or the "
          "server is not responding)";
    } else if (PQstatus(conn.get()) == CONNECTION_OK) {
      if (PQserverVersion(conn.get()) < kMinServerVersion) {
        throw ConfigError("postgres server at " + options.redacted + " is version " +
                          std::to_string(PQserverVersion(conn.get())) +
                          "; pgqrs needs PostgreSQL 12 or newer");
      }
      std::unique_ptr<Connection> c(new Connection(conn.release(), /*owned=*/true, options));
      PQsetNoticeReceiver(c->conn_, &Connection::on_notice, c.get());
      // Non-blocking: sending a request never waits on a full socket (await_answer bounds it).
      PQsetnonblocking(c->conn_, 1);
      c->set_deadline(deadline);  // the session setup belongs to the connect budget
      // The server cancels a statement that outlives the statement timeout (H8). Behind a
      // transaction pooler this session setting reaches one server connection only; the
      // client-side wait bounds the call there.
      std::string setup =
          "SET statement_timeout = " +
          std::to_string(std::chrono::milliseconds(options.statement_timeout).count());
      // Plan each prepared statement once. With the default (auto) the server keeps
      // re-planning statements whose custom plan looks cheaper (any `= ANY($1)` or `LIMIT
      // $n`), which costs more than running them: 0.35 ms of planning per dequeue,
      // measured. Every pgqrs statement has a good generic plan.
      if (options.prepared) setup += "; SET plan_cache_mode = force_generic_plan";
      try {
        c->exec_simple(setup);
        c->clear_deadline();
      } catch (const PgError& e) {
        c.reset();  // lost right after connecting: treat like a failed attempt
        last_error = e.what();
      }
      if (c) return c;
    } else {
      last_error = scrub(trimmed(PQerrorMessage(conn.get())), options);
    }
    if (judge(last_error) == ConnectVerdict::kConfig) {
      throw ConfigError("cannot connect to postgres at " + options.redacted + ": " + last_error +
                        hint_for(last_error));
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - start);
      throw ConnectionError("cannot connect to postgres at " + options.redacted +
                            " (gave up after " + std::to_string(waited.count()) + " ms, " +
                            std::to_string(attempt + 1) + " attempts): " + last_error);
    }
    // Jittered, growing pause: 50 ms, 100 ms, ... up to 1 s.
    const auto cap = std::chrono::milliseconds(std::min(1000, 50 << std::min(attempt, 5)));
    std::uniform_int_distribution<long long> dist(cap.count() / 2, cap.count());
    const auto pause = std::chrono::milliseconds(dist(rng()));
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
  }
}

void Connection::on_notice(void* self, const PGresult* notice) {
  // Notices are not shown; only a FATAL one (an error that arrived while idle, e.g.
  // "terminating connection due to administrator command") matters.
  const char* severity = PQresultErrorField(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (severity != nullptr &&
      (std::strcmp(severity, "FATAL") == 0 || std::strcmp(severity, "PANIC") == 0)) {
    static_cast<Connection*>(self)->ended_by_server_ = true;
  }
}

bool Connection::usable() {
  if (ended_by_server_ || PQstatus(conn_) != CONNECTION_OK) return false;
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;
  if (PQconsumeInput(conn_) == 0) return false;  // EOF or error: closed by the server
  if (ended_by_server_ || PQstatus(conn_) != CONNECTION_OK || PQisBusy(conn_) != 0) return false;
  drain_notifications();
  return true;
}

void Connection::drain_notifications() {
  while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
}

void Connection::fail_not_sent() {
  throw PgError(PgError::Kind::kNotSent, "", scrub(trimmed(PQerrorMessage(conn_)), *options_),
                /*broken=*/true);
}

void Connection::await_answer(Clock::time_point started, Clock::time_point until) {
  while (true) {
    const int flush = PQflush(conn_);  // 0: all sent, 1: more to send, -1: failed
    if (flush < 0) return;             // PQgetResult reports the failure
    if (flush == 0) {
      if (PQisBusy(conn_) == 0) return;
    }
    const auto now = Clock::now();
    if (now >= until) {
      const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
      // The request may be lost in the network or still running; this connection cannot be
      // trusted with another one.
      throw PgError(PgError::Kind::kLost, "",
                    "no answer from the server within " + std::to_string(waited.count()) +
                        " ms (statement_timeout_seconds " +
                        std::to_string(options_->statement_timeout.count()) +
                        ", or the operation's connection_timeout_seconds); the connection "
                        "was given up",
                    /*broken=*/true);
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - now);
    pollfd fd{PQsocket(conn_), static_cast<short>(POLLIN | (flush == 1 ? POLLOUT : 0)), 0};
    if (fd.fd < 0) return;
    const int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready > 0 && (fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0) {
      if (PQconsumeInput(conn_) == 0) return;  // broken: PQgetResult reports it
    }
  }
}

Result Connection::collect(bool sent_ok) {
  if (!sent_ok) fail_not_sent();
  const auto started = Clock::now();
  const auto until = std::min(deadline_, started + options_->statement_timeout);
  ResultPtr data;
  ResultPtr error;
  while (true) {
    await_answer(started, until);  // so that PQgetResult does not block
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    ResultPtr r(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
      if (!error) error = std::move(r);
      continue;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      // Never requested by pgqrs; the connection is in a state we cannot continue from.
      throw PgError(PgError::Kind::kServer, "0A000", "unexpected COPY result", /*broken=*/true);
    }
    data = std::move(r);
  }
  const bool broken = PQstatus(conn_) != CONNECTION_OK;
  if (error) {
    const char* state = PQresultErrorField(error.get(), PG_DIAG_SQLSTATE);
    std::string message = scrub(trimmed(PQresultErrorMessage(error.get())), *options_);
    if (state != nullptr && *state != '\0') {
      const std::string sqlstate(state);
      // Class 08 (connection exception) and 57 (operator intervention: terminated,
      // shutting down) end the session.
      const bool ends_session = sqlstate.starts_with("08") || sqlstate.starts_with("57");
      throw PgError(PgError::Kind::kServer, sqlstate, message, broken || ends_session);
    }
    // Generated by libpq itself: the connection broke before the server answered. If the
    // server had already ended the session (a FATAL notice arrived before this request
    // was parsed), the request cannot have run.
    throw PgError(ended_by_server_ ? PgError::Kind::kNotSent : PgError::Kind::kLost, "", message,
                  /*broken=*/true);
  }
  if (broken) {
    throw PgError(PgError::Kind::kLost, "", scrub(trimmed(PQerrorMessage(conn_)), *options_),
                  /*broken=*/true);
  }
  return Result(std::move(data));
}

Result Connection::exec(const Statement& st, const Params& params, bool prepared) {
  const std::vector<const char*> values = params.values();
  if (prepared && !prepared_.contains(st.name)) {
    try {
      collect(PQsendPrepare(conn_, st.name.c_str(), st.sql.c_str(), params.size(),
                            params.types()) != 0);
    } catch (const PgError& e) {
      // 42P05: a statement of this name, hence of this text, already exists on the server
      // session (a pooler shares it between clients). Use it.
      if (e.sqlstate() != "42P05") {
        // Preparing commits nothing, so a lost connection here is as good as "not sent".
        if (e.kind() == PgError::Kind::kLost) {
          throw PgError(PgError::Kind::kNotSent, "", e.what(), /*broken=*/true);
        }
        throw;
      }
    }
    prepared_.insert(st.name);
  }
  const int sent = prepared
                       ? PQsendQueryPrepared(conn_, st.name.c_str(), params.size(), values.data(),
                                             params.lengths(), params.formats(), /*resultFormat=*/1)
                       : PQsendQueryParams(conn_, st.sql.c_str(), params.size(), params.types(),
                                           values.data(), params.lengths(), params.formats(),
                                           /*resultFormat=*/1);
  try {
    return collect(sent != 0);
  } catch (const PgError& e) {
    // 26000: the statement is gone (e.g. a transaction pooler moved us to another server
    // session). Forget it so that it is prepared again if prepared mode stays on.
    if (e.sqlstate() == "26000") prepared_.erase(st.name);
    throw;
  }
}

Result Connection::exec_simple(const std::string& sql) {
  return collect(PQsendQuery(conn_, sql.c_str()) != 0);
}

Result Connection::exec_text(const std::string& sql, const std::vector<const char*>& values) {
  return collect(PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                   values.data(), nullptr, nullptr, /*resultFormat=*/0) != 0);
}

}  // namespace pgqrs::pg
