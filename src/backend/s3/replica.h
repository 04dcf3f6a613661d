// Replica: the S3 backend's sync layer (internal). It owns the local cache (a SQLite
// database file run by the SQLite backend, composed, not copied) and keeps it related to the
// remote object by ETag compare-and-swap. Design and guarantees: docs/s3.md.
//
// Durable mode (default):
//  - Opening downloads the object (one GET); a missing object gives an empty cache.
//  - write(fn) applies fn to the cache, then returns only when a conditional PUT that
//    contains it succeeded (If-Match: <base ETag>, or If-None-Match: * before the object
//    exists). GROUP COMMIT: one PUT at a time; writes that arrive while it is in flight are
//    applied to the cache and share the next PUT. A write that changed nothing needs no PUT.
//  - When a PUT fails, every write it (or a later write) carried fails too, and the cache
//    goes back to a version that is on S3: on 412 (another writer) the remote version is
//    downloaded and the writes fail with ConflictError; on a transport failure the cache is
//    restored to the base and they fail with ConnectionError (outcome_unknown() when a PUT
//    attempt may have landed; the next read or write re-reads the object first).
//  - read(fn) first asks S3 whether the object changed (GET If-None-Match: <base ETag>, 304
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
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "backend/object_sync.h"
#include "backend/s3/cache_file.h"
#include "backend/s3/s3_client.h"
#include "pgqrs/config.h"

namespace pgqrs::s3 {

class Replica final : public backend::ObjectSync {
 public:
  // ConfigError for missing credentials or (local mode) a cache file another process uses;
  // ConnectionError when S3 cannot be reached.
  Replica(const Config& config, const backend::Dsn& dsn, S3Settings settings);
  ~Replica() override;
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  template <class Fn>
  auto read(Fn&& fn) -> std::invoke_result_t<Fn, backend::Backend&> {
    if (mode_ == DurabilityMode::kDurable) refresh_if_changed();
    std::shared_lock lock(swap_mu_);
    return fn(inner_locked());
  }

  template <class Fn>
  auto write(Fn&& fn) -> std::invoke_result_t<Fn, backend::Backend&> {
    using R = std::invoke_result_t<Fn, backend::Backend&>;
    if (mode_ == DurabilityMode::kLocal) {
      std::shared_lock lock(swap_mu_);
      install_only_.store(false);
      return fn(inner_locked());
    }
    if (needs_refresh_.load()) refresh_if_changed();
    std::uint64_t seq = 0;
    if constexpr (std::is_void_v<R>) {
      {
        std::shared_lock lock(swap_mu_);
        fn(inner_locked());
        seq = note_applied();
      }
      wait_durable(seq);
    } else {
      std::optional<R> result;
      {
        std::shared_lock lock(swap_mu_);
        result.emplace(fn(inner_locked()));
        seq = note_applied();
      }
      wait_durable(seq);
      return std::move(*result);
    }
  }

  // Creates or upgrades the schema. Durable mode publishes at once, with a create-only PUT
  // when this store never saw the object: ConflictError when it exists (it is never
  // overwritten). Local mode changes only the working copy (sync() publishes it).
  // Re-installing on the object this store mirrors is a no-op.
  void install();
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
  void refresh_if_changed();

  // The SQLite backend on the cache; ConnectionError if it could not be reopened after a
  // swap. Callers hold swap_mu_ (shared or exclusive).
  backend::Backend& inner_locked();
  // Callers hold swap_mu_ exclusively. Each closes the cache database, replaces it and opens
  // it again (also when replacing failed, so the store stays usable).
  void adopt_locked(std::string body, const std::string& etag);
  void reset_empty_locked();
  void restore_base_locked();
  void open_inner_locked();
  bool dirty_locked() const;  // also needs sync_mu_ (reads base_)

  std::string describe() const { return client_.describe(key_); }

  Config inner_config_;
  backend::Dsn inner_dsn_;
  DurabilityMode mode_;
  std::string key_;
  S3Client client_;
  CacheFile cache_;

  std::shared_mutex swap_mu_;                // shared: an operation on inner_; exclusive: swap
  std::unique_ptr<backend::Backend> inner_;  // GUARDED_BY(swap_mu_); destroyed before cache_
  std::string open_error_;                   // GUARDED_BY(swap_mu_) why inner_ is null

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
