// PostgresBackend: construction, schema and queue operations.
#include "backend/postgres/pg_backend.h"
#include "backend/postgres/archived_counts_sql.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "backend/postgres/flow_sql.h"
#include "backend/postgres/listener.h"
#include "backend/postgres/migrations.h"
#include "backend/postgres/rows.h"
#include "backend/postgres/worker_references_sql.h"
#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

constexpr char kSchemaExists[] = "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)";

// $3.. $9: the option columns (backend::StoredQueueOptions, in order).
constexpr char kInsertQueue[] = R"sql(
INSERT INTO {s}.pgqrs_queues (queue_name, created_at, concurrency, worker_concurrency,
  key_concurrency, rate_limit, rate_period_us, retain_archived_us, retain_dead_us)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (queue_name) DO NOTHING
RETURNING id)sql";

constexpr char kQueueByName[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM {s}.pgqrs_queues WHERE queue_name = $1";
// COLLATE "C": the same order as SQLite (bytewise), whatever the database's collation.
constexpr char kAllQueues[] =
    "SELECT " PGQRS_QUEUE_COLUMNS " FROM {s}.pgqrs_queues ORDER BY queue_name COLLATE \"C\"";

// delete_queue, step 1: lock the queue row (blocks enqueues into it until we finish).
constexpr char kLockQueue[] = "SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1 FOR UPDATE";
// Step 2: what still refers to it.
constexpr char kQueueReferences[] = R"sql(
SELECT EXISTS (SELECT 1 FROM {s}.pgqrs_messages WHERE queue_id = $1),
       (SELECT count(*) FROM {s}.pgqrs_workers WHERE queue_id = $1 AND status <> 'stopped'),
       (SELECT name FROM {s}.pgqrs_workflows WHERE queue_id = $1 ORDER BY id LIMIT 1))sql";
// Step 3: stopped workers go with the queue when nothing refers to them; the others are
// kept (history) but detached.
constexpr char kRetireStoppedWorkers[] = R"sql(
WITH gone AS (
  DELETE FROM {s}.pgqrs_workers w
  WHERE w.queue_id = $1 AND w.status = 'stopped' AND )sql" PGQRS_PG_NOT_REFERENCED("w") R"sql(
  RETURNING w.id)
UPDATE {s}.pgqrs_workers SET queue_id = NULL
WHERE queue_id = $1 AND status = 'stopped' AND id NOT IN (SELECT id FROM gone))sql";
constexpr char kDeleteQueue[] = "DELETE FROM {s}.pgqrs_queues WHERE id = $1";

constexpr char kPurgeQueue[] = R"sql(
WITH q AS (SELECT id FROM {s}.pgqrs_queues WHERE queue_name = $1),
     d AS (DELETE FROM {s}.pgqrs_messages WHERE queue_id = (SELECT id FROM q)
           RETURNING queue_id, archived_at),
     )sql" PGQRS_PG_UNCOUNT_ARCHIVED("d") R"sql(
SELECT (SELECT id FROM q), (SELECT count(*) FROM d))sql";

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

constexpr char kNotify[] = "SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p";

// NOTIFY channel names are identifiers: at most 63 bytes.
std::string make_channel(const std::string& schema) {
  std::string channel = "pgqrs_" + schema;
  if (channel.size() <= 63) return channel;
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : schema) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return "pgqrs_" + schema.substr(0, 40) + "_" + hex64(h);
}

// Opens the first connection (so a bad DSN, credentials or server fail at connect()),
// checks the schema and returns it quoted.
std::string open_and_check(Executor& exec, const std::string& schema,
                           const ConnectOptions& options) {
  const auto budget =
      std::chrono::duration_cast<std::chrono::milliseconds>(options.first_connect_timeout);
  return exec.read_within("connect", budget, [&](Session& s) {
    std::string quoted = quote_identifier(s.connection(), schema);
    static const Statement kExists = make_statement(kSchemaExists);
    auto r = s.exec(kExists, Params().text(schema));
    if (!r.boolean(0, 0)) {
      throw ConfigError("schema '" + schema + "' does not exist in " + options.redacted +
                        " (create it with CREATE SCHEMA, or set `schema` / PGQRS_SCHEMA)");
    }
    return quoted;
  });
}

}  // namespace

void PostgresBackend::notify(const std::set<std::string>& payloads,
                             std::chrono::milliseconds budget) {
  const std::vector<std::string> values(payloads.begin(), payloads.end());
  exec_.read_within("notify", budget, [&](Session& s) {
    s.exec(sql_(kNotify), Params().text(channel_).text_array(values));
  });
}

std::string quote_identifier(Connection& conn, std::string_view name) {
  std::unique_ptr<char, decltype(&PQfreemem)> quoted(
      PQescapeIdentifier(conn.get(), name.data(), name.size()), &PQfreemem);
  if (!quoted) {
    throw ConfigError("cannot quote identifier '" + std::string(name) +
                      "': " + PQerrorMessage(conn.get()));
  }
  return quoted.get();
}

PostgresBackend::PostgresBackend(const Config& config, const backend::Dsn& dsn)
    : schema_(config.schema),
      options_(parse_connect_options(dsn, config)),
      channel_(make_channel(config.schema)),
      app_version_(config.app_version.empty() ? std::nullopt
                                              : std::optional<std::string>(config.app_version)),
      pool_(pool_policy(options_), config.max_connections, "postgres"),
      exec_(pool_, options_, schema_, options_.prepared),
      sql_(open_and_check(exec_, schema_, options_)) {}

PostgresBackend::~PostgresBackend() {
  std::unique_ptr<Listener> listener;
  {
    std::lock_guard lock(listener_mu_);
    listener = std::move(listener_);
  }
  listener.reset();  // joins its thread before the pool goes away
}

void PostgresBackend::queue_not_found(std::string_view name) {
  throw QueueNotFoundError("queue '" + std::string(name) + "' does not exist");
}

void PostgresBackend::worker_not_found(std::int64_t id) {
  throw WorkerNotFoundError("worker " + std::to_string(id) + " does not exist");
}

// ---- schema -------------------------------------------------------------------------------

void PostgresBackend::install() { install_schema(exec_, sql_, schema_); }
void PostgresBackend::install_to(std::int32_t version) {
  install_schema(exec_, sql_, schema_, version);
}

std::optional<std::int32_t> PostgresBackend::schema_version() {
  return exec_.read("schema_version", [&](Session& s) { return read_schema_version(s, sql_); });
}

void PostgresBackend::uninstall() { uninstall_schema(exec_, sql_); }

// ---- queues -------------------------------------------------------------------------------

QueueInfo PostgresBackend::create_queue(std::string_view name, TimePoint now,
                                        const QueueOptions& options) {
  return exec_.write("create_queue", [&](Session& s) {
    Params params;
    params.text(name).time(now);
    add_option_params(params, options);
    auto r = s.exec(sql_(kInsertQueue), params);
    if (r.rows() == 0) {
      throw QueueAlreadyExistsError("queue '" + std::string(name) + "' already exists");
    }
    QueueInfo info;
    info.id = r.int8(0, 0);
    info.queue_name = std::string(name);
    info.created_at = stored(now);
    info.options = options;
    return info;
  });
}

std::optional<QueueInfo> PostgresBackend::find_queue(std::string_view name) {
  return exec_.read("find_queue", [&](Session& s) -> std::optional<QueueInfo> {
    auto r = s.exec(sql_(kQueueByName), Params().text(name));
    if (r.rows() == 0) return std::nullopt;
    return backend::read_queue(PgRow(r, 0));
  });
}

std::vector<QueueInfo> PostgresBackend::list_queues() {
  return exec_.read("list_queues", [&](Session& s) {
    auto r = s.exec(sql_(kAllQueues), Params());
    std::vector<QueueInfo> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back(backend::read_queue(PgRow(r, i)));
    return out;
  });
}

void PostgresBackend::delete_queue(std::string_view name) {
  exec_.transaction("delete_queue", [&](Session& s) {
    auto locked = s.exec(sql_(kLockQueue), Params().text(name));
    if (locked.rows() == 0) queue_not_found(name);
    const std::int64_t id = locked.int8(0, 0);
    const std::string quoted = "queue '" + std::string(name) + "'";
    auto refs = s.exec(sql_(kQueueReferences), Params().int8(id));
    if (refs.boolean(0, 0)) {
      throw ConflictError("cannot delete " + quoted +
                          ": it still has messages (purge the queue first)");
    }
    if (const auto live = refs.int8(0, 1); live > 0) {
      throw ConflictError("cannot delete " + quoted + ": " + std::to_string(live) +
                          " worker(s) that are not stopped still use it");
    }
    if (!refs.is_null(0, 2)) {
      throw ConflictError("cannot delete " + quoted + ": workflow '" + refs.text(0, 2) +
                          "' uses it");
    }
    s.exec(sql_(kRetireStoppedWorkers), Params().int8(id));
    s.exec(sql_(kDeleteQueue), Params().int8(id));
  });
}

std::uint64_t PostgresBackend::purge_queue(std::string_view name) {
  return exec_.write("purge_queue", [&](Session& s) {
    auto r = s.exec(sql_(kPurgeQueue), Params().text(name));
    if (r.is_null(0, 0)) queue_not_found(name);
    return static_cast<std::uint64_t>(r.int8(0, 1));
  });
}

// ---- listener -----------------------------------------------------------------------------

std::unique_ptr<backend::Subscription> PostgresBackend::subscribe(
    std::string_view queue, std::function<void()> on_activity) {
  if (!options_.listen) return nullptr;
  std::lock_guard lock(listener_mu_);
  if (!listener_) listener_ = std::make_unique<Listener>(*this);
  return listener_->subscribe(queue, std::move(on_activity));
}

std::string PostgresBackend::listener_state() {
  if (!options_.listen) return "off";
  std::lock_guard lock(listener_mu_);
  return listener_ ? listener_->state() : "idle";
}

}  // namespace pgqrs::pg
