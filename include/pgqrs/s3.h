// The S3 backend's replication controls (SPEC §6; guide: docs/s3.md).
//
// A store opened on s3://bucket/key.sqlite keeps the queue database in one S3 object and
// works on a local cache file. as_s3(store) gives the explicit controls:
//
//   pgqrs::S3Store s3 = pgqrs::as_s3(store);
//   if (s3.state() != pgqrs::SyncState::kInSync) s3.snapshot();   // pull the remote version
//   ...writes (in local mode they stay in the cache)...
//   s3.sync();                                                    // publish them
//
// Thread-safe like Store. Every call may make S3 requests (documented per call) and throws
// ConnectionError when S3 cannot be reached (after bounded retries).
#pragma once

#include <string_view>

#include "pgqrs/store.h"

namespace pgqrs {

// How the local cache relates to the remote object. "Changes" are relative to the base: the
// version last downloaded (snapshot) or uploaded (sync).
enum class SyncState {
  kInSync,              // local == base == remote
  kLocalChanges,        // unsynced local writes; remote still at the base
  kRemoteChanges,       // local clean; the remote moved on (another writer)
  kConcurrentChanges,   // both changed: sync() would conflict
  kLocalMissing,        // no cache file; the remote exists (snapshot() fetches it)
  kRemoteMissingClean,  // no remote object; local has nothing unsynced (install() creates it;
                        // in local mode install() + sync())
  kRemoteMissingDirty,  // no remote object; local has unpublished writes (sync() creates it)
};

// "InSync", "LocalChanges", ... (the names the CLI and Python use).
std::string_view to_string(SyncState state) noexcept;

class S3Store {
 public:
  // One HEAD request; compares the remote ETag and the local file with the base.
  SyncState state() const;
  // Replaces the local cache with the remote object (one GET). ConflictError, changing
  // nothing, when the cache has unsynced writes (sync() them first; a local-mode working
  // copy holding only what install() made on an empty one may be replaced) or the object
  // does not exist. In durable mode, first waits for writes in flight.
  void snapshot() const;
  // Publishes local writes with one conditional PUT (If-Match the base ETag; If-None-Match: *
  // when this store has no base). Nothing to publish: no request. ConflictError when the
  // remote changed meanwhile (or, without a base, exists): nothing remote is overwritten, and
  // the local writes stay (local mode; state() then says ConcurrentChanges). Local mode: an
  // object deleted since the base is published again (HEAD, then If-None-Match: *). In
  // durable mode this waits until every write made so far is on S3.
  void sync() const;

  const Store& store() const { return store_; }

 private:
  friend S3Store as_s3(const Store& store);
  explicit S3Store(Store store) : store_(std::move(store)) {}
  Store store_;  // an s3:// store (as_s3 checked); keeps the backend alive
};

// The S3 controls of `store`; ConfigError naming the backend when it is not an s3:// store.
S3Store as_s3(const Store& store);

}  // namespace pgqrs
