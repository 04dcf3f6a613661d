#include "prune_load.h"

#include <chrono>
#include <iostream>

#include "options.h"
#include "scenarios.h"

namespace pgqrs_bench {
namespace {

// $1 queue name, $2 rows: archived an hour ago, enqueued and leased two hours ago.
constexpr char kSeedArchived[] = R"sql(
INSERT INTO "{schema}".pgqrs_messages (queue_id, payload, vt, enqueued_at, read_ct, dequeued_at,
                                       archived_at)
SELECT q.id, jsonb_build_object('n', g), now() - interval '2 hours', now() - interval '2 hours',
       1, now() - interval '2 hours', now() - interval '1 hour'
FROM "{schema}".pgqrs_queues q, generate_series(1, $2::int8) AS g
WHERE q.queue_name = $1)sql";

std::string with_schema(std::string sql, const std::string& schema) {
  const std::string key = "{schema}";
  for (auto at = sql.find(key); at != std::string::npos; at = sql.find(key, at)) {
    sql.replace(at, key.size(), schema);
  }
  return sql;
}

}  // namespace

ConcurrentPrune::ConcurrentPrune(const pgqrs::Store& store, std::uint64_t rows, Progress& progress)
    : store_(store), queue_(fresh_name("history")), rows_(rows) {
  if (store.backend_name() != "postgres") {
    throw UsageError("--prune-archived: Postgres only (the archived rows are seeded by SQL)");
  }
  store.queue(queue_);
  constexpr std::uint64_t kChunk = 100'000;  // one transaction each, so progress moves
  for (std::uint64_t done = 0; done < rows; done += kChunk) {
    const std::uint64_t n = std::min(kChunk, rows - done);
    auto tx = pgqrs::postgres::begin(store);
    tx.execute(with_schema(kSeedArchived, store.config().schema), {queue_, n});
    tx.execute("ANALYZE \"" + store.config().schema + "\".pgqrs_messages", {});
    tx.commit();
    progress.add(n);
  }
  // The seed wrote about a gigabyte of WAL: flush it now (superuser or pg_checkpoint), so
  // the checkpoint it forces is not what the drain under the prune measures. Without the
  // privilege the figures include it; the record says which (prune_checkpointed).
  try {
    auto tx = pgqrs::postgres::begin(store);
    tx.execute("CHECKPOINT", {});
    tx.commit();
    checkpointed_ = true;
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs-bench: CHECKPOINT after seeding refused (" << e.what() << ")\n";
  }
}

ConcurrentPrune::~ConcurrentPrune() {
  if (thread_.joinable()) thread_.join();
  try {
    pgqrs::admin(store_).delete_queue(queue_);
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs-bench: dropping " << queue_ << ": " << e.what() << "\n";
  }
}

void ConcurrentPrune::start(std::function<std::uint64_t()> processed) {
  thread_ = std::thread([this, processed = std::move(processed)] {
    try {
      pgqrs::PruneOptions options;
      options.queue = queue_;
      options.archived_older_than = std::chrono::minutes(30);
      options.use_queue_retention = false;
      options.finished_runs = false;
      const auto result = pgqrs::prune(store_, options);
      deleted_ = result.archived;
      if (result.skipped) error_ = "skipped: another pruner holds the lease";
    } catch (const pgqrs::Error& e) {
      error_ = e.what();
    }
    processed_at_end_ = processed();
    end_ = SteadyClock::now();
  });
}

void ConcurrentPrune::finish(nlohmann::json& extra, SteadyClock::time_point drain_start,
                             SteadyClock::time_point drain_end) {
  if (thread_.joinable()) thread_.join();
  const double prune_ms = ms_between(drain_start, end_);
  extra["prune_rows"] = rows_;
  extra["prune_deleted"] = deleted_;
  extra["prune_ms"] = prune_ms;
  extra["prune_checkpointed"] = checkpointed_;
  if (!error_.empty()) extra["prune_error"] = error_;
  if (end_ < drain_end) {
    extra["processed_during_prune"] = processed_at_end_;
    extra["msgs_per_s_during_prune"] = static_cast<double>(processed_at_end_) / (prune_ms / 1000.0);
  } else {
    extra["processed_during_prune"] = nullptr;
    extra["msgs_per_s_during_prune"] = nullptr;
  }
}

}  // namespace pgqrs_bench
