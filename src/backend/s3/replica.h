// Replica: the S3 backend's sync layer (internal). It owns the local cache file, which a
// SQLite-family store runs on (s3_backend.cc), and keeps it related to the remote object by
// ETag compare-and-swap. It sees every operation of that store as its OperationGate, as a
// read or a write, whatever the operation is. Design and guarantees: docs/s3.md.
//
// Durable mode (default):
//  - Opening downloads the object (one GET); a missing object gives an empty cache.
//  - A write applies to the cache, then returns only when a conditional PUT that
//    contains it succeeded (If-Match: <base ETag>, or If-None-Match: * before the object
//    exists). GROUP COMMIT: one PUT at a time; writes that arrive while it is in flight are
//    applied to the cache and share the next PUT. A write that changed nothing needs no PUT.
//  - When a PUT fails, every write it (or a later write) carried fails too, and the cache
//    goes back to a version that is on S3: on 412 (another writer) the remote version is
//    downloaded and the writes are run again on it (a few times, then ConflictError);
//    on a transport failure the cache is
//    restored to the base and they fail with ConnectionError (outcome_unknown() when a PUT
//    attempt may have landed; the next read or write re-reads the object first).
//  - A read first asks S3 whether the object changed (GET If-None-Match: <base ETag>, 304
//    when not) and downloads it when it did, unless writes are in flight.
// Local mode (the original pgqrs's rule): read/write touch only this store's working copy;
// snapshot()/sync() move data.
//  - Opening never downloads: the working copy is the cache file as an earlier session left
//    it (with its base), or empty. Each store has its own (CacheFile::lock): a second store
//    on the same cache gets a private, empty one, discarded when it closes.
//  - install() changes only the working copy; the next sync() publishes it.
//  - sync() PUTs the working copy when it changed: If-Match the base, or create-only without
//    one. A refusal is a ConflictError (nothing remote overwritten, the working copy kept),
//    except that an object deleted since the base is published again (create-only PUT).
//  - snapshot() replaces the working copy with the remote object; refused while it holds
//    writes sync() has not published, except a copy that holds only what install() made on
//    an empty one (nothing to lose: the remote object has the schema too).
//
// Thread-safe. Lock order: swap_mu_ before sync_mu_.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>

#include "backend/dsn.h"
#include "backend/object_sync.h"
#include "backend/s3/cache_file.h"
#include "backend/s3/s3_client.h"
#include "backend/sqlite_family/operation_gate.h"
#include "backend/sqlite_family/sql_backend.h"
#include "pgqrs/config.h"

namespace pgqrs::s3 {

class Replica final : public backend::ObjectSync, public sqlite_family::OperationGate {
 public:
  // ConfigError for missing credentials or (local mode) a cache file another process uses;
  // ConnectionError when S3 cannot be reached.
  Replica(const Config& config, const backend::Dsn& dsn, S3Settings settings);
  ~Replica() override;
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The SQLite-family store that runs on the cache file (it runs every operation through
  // this replica, as its OperationGate). Called once, after the store is constructed;
  // before that, swaps have no connections to close.
  void attach(sqlite_family::SqlFamilyBackend& store);
  // The cache database file, and the Config its store must use (rollback-journal mode).
  const std::filesystem::path& cache_path() const { return cache_.db_path(); }
  const Config& cache_config() const { return cache_config_; }

  // OperationGate. A read first refreshes the cache from S3 when the object changed
  // (durable mode); a write returns only once a PUT containing it succeeded (durable mode).
  // A write whose PUT another writer beat (412) is run again on the new version, up to
  // kConflictAttempts in all, before its retryable ConflictError reaches the caller (H26).
  // A write that fails on its own (e.g. an unknown queue) is run once more when S3 holds a
  // newer version than the cache it failed on (H27).
  void around_read(const std::function<void()>& op) override;
  void around_write(const std::function<void()>& op) override;

  // Creates or upgrades the schema by calling `install_schema` (the store's own install, a
  // gated write). Durable mode publishes at once, with a create-only PUT
  // when this store never saw the object: ConflictError when it exists (it is never
  // overwritten). Local mode changes only the working copy (sync() publishes it).
  // Re-installing on the object this store mirrors is a no-op.
  void install(const std::function<void()>& install_schema);
  // Deletes the object (when it is still the version this store knows) and empties the cache.
  void uninstall();

  SyncState state() override;
  void snapshot() override;
  void sync() override;

  // PUT requests that stored a version (for tests and measurements).
  std::uint64_t puts() const { return puts_.load(); }

 private:
  struct Failure {
    std::uint64_t first = 0, last = 0;  // sequence numbers of the writes it failed
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    bool outcome_unknown = false;
  };

  std::uint64_t note_applied();
  void wait_durable(std::uint64_t seq);
  // Captures the cache and PUTs it if it differs from the base: If-Match the base, or
  // create-only when there is none or `create_only`. Throws what the PUT threw. Returns the
  // highest write sequence it covers.
  std::uint64_t commit_once(bool create_only = false);
  void handle_commit_failure(std::exception_ptr error);
  // Adopts the remote version when it changed and this store has no write ahead of S3;
  // true when it did (the cache now holds a newer version).
  bool refresh_if_changed();

  // Callers hold swap_mu_ exclusively. Each closes the store's connections to the cache
  // database and replaces the file; the store opens new connections at its next operation.
  void adopt_locked(std::string body, const std::string& etag);
  void reset_empty_locked();
  void restore_base_locked();
  void close_connections_locked();
  bool dirty_locked() const;  // also needs sync_mu_ (reads base_)

  std::string describe() const { return client_.describe(key_); }

  Config cache_config_;
  DurabilityMode mode_;
  std::string key_;
  S3Client client_;
  CacheFile cache_;

  std::shared_mutex swap_mu_;  // shared: an operation on the cache; exclusive: a swap
  sqlite_family::SqlFamilyBackend* store_ = nullptr;  // GUARDED_BY(swap_mu_); not owned

  std::mutex sync_mu_;
  std::condition_variable cv_;
  std::optional<Base> base_;      // GUARDED_BY(sync_mu_)  version last down/uploaded
  std::string base_bytes_;        // GUARDED_BY(sync_mu_)  durable: its content (for reverts)
  std::uint64_t applied_ = 0;     // GUARDED_BY(sync_mu_)  writes applied to the cache
  std::uint64_t durable_ = 0;     // GUARDED_BY(sync_mu_)  writes resolved (stored or failed)
  bool committing_ = false;       // GUARDED_BY(sync_mu_)  a leader's PUT is in flight
  std::deque<Failure> failures_;  // GUARDED_BY(sync_mu_)  recent failed ranges
  std::atomic<bool> needs_refresh_{false};
  std::mutex local_commit_mu_;  // local mode: one sync() at a time
  // Local mode: the working copy has no base and holds only what install() made on an empty
  // one. Set by install(), cleared by any write and whenever a base is set or dropped.
  std::atomic<bool> install_only_{false};
  std::atomic<std::uint64_t> puts_{0};
};

}  // namespace pgqrs::s3
