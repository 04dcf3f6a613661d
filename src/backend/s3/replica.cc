#include "backend/s3/replica.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "backend/sqlite/sqlite_backend.h"

namespace pgqrs::s3 {
namespace {

constexpr std::size_t kMaxRememberedFailures = 1024;
// A durable write refused because another writer published first is applied again on the
// new version this many times in all before its ConflictError reaches the caller (H26).
constexpr int kConflictAttempts = 12;

// A random pause before re-applying a refused write, growing with the attempt (at most
// 64 ms): writers that keep colliding spread out instead of colliding again.
void pause_after_conflict(int attempt) {
  thread_local std::minstd_rand random(std::random_device{}());
  const int cap_ms = 1 << std::min(attempt + 1, 6);
  std::uniform_int_distribution<int> ms(0, cap_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms(random)));
}
constexpr char kSqliteMagic[] = "SQLite format 3";  // + NUL: the first 16 bytes of a database

[[noreturn]] void throw_failure(ErrorCode code, const std::string& message, bool outcome_unknown) {
  switch (code) {
    case ErrorCode::kConflict:  // a refused PUT: not applied, the cache refreshed (H20)
      throw ConflictError(message, /*retryable=*/true);
    case ErrorCode::kConnection:
      throw ConnectionError(message, outcome_unknown);
    case ErrorCode::kConfig:
      throw ConfigError(message);
    case ErrorCode::kTimeout:
      throw TimeoutError(message);
    case ErrorCode::kStorageFull:
      throw StorageFullError(message);
    default:
      throw InternalError(message);
  }
}

}  // namespace

Replica::Replica(const Config& config, const backend::Dsn& dsn, S3Settings settings)
    : cache_config_(config),
      mode_(config.s3.mode),
      key_(dsn.key()),
      client_(std::move(settings)),
      cache_(config.s3.cache_dir.empty() ? default_cache_dir()
                                         : std::filesystem::path(config.s3.cache_dir),
             dsn.bucket(), dsn.key()) {
  // A cache file already in use (another store, in this process or another) gives this
  // store a private working copy of its own, in both modes (the original pgqrs: each
  // connected store has its own working copy).
  cache_.lock();
  // The cache runs in rollback-journal mode: after each commit the file is a complete
  // database (it is uploaded as is) and its change counter tells whether it changed.
  cache_config_.sqlite.use_wal = false;

  std::unique_lock swap(swap_mu_);
  if (mode_ == DurabilityMode::kDurable) {
    GetResult r = client_.get(key_);
    if (r.kind == GetResult::Kind::kOk) {
      adopt_locked(std::move(r.body), r.etag);
    } else {
      reset_empty_locked();
    }
  } else {
    // Local mode never downloads here (snapshot() does): the working copy is what an
    // earlier session left, with its base, or empty. A base without its database is stale.
    if (cache_.size() == 0) cache_.remove_base();
    std::lock_guard lock(sync_mu_);
    base_ = cache_.read_base();
  }
}

Replica::~Replica() = default;

void Replica::attach(sqlite_family::SqlFamilyBackend& store) {
  std::unique_lock swap(swap_mu_);
  store_ = &store;
}

// ---- the gate -----------------------------------------------------------------------------

void Replica::around_read(const std::function<void()>& op) {
  if (mode_ == DurabilityMode::kDurable) refresh_if_changed();
  std::shared_lock lock(swap_mu_);
  op();
}

void Replica::around_write(const std::function<void()>& op) {
  if (mode_ == DurabilityMode::kLocal) {
    std::shared_lock lock(swap_mu_);
    install_only_.store(false);
    op();
    return;
  }
  // A PUT refused by another writer (412) leaves nothing of `op` behind and the cache on
  // the winner's version, so running the whole operation again there is its retry, the way
  // a database retries a transaction that lost a race (H26). Errors `op` itself throws, and
  // every other failure, reach the caller at once. A store that had no version of the
  // object made a create-only PUT: its refusal means the object appeared meanwhile, which
  // install() reports and never builds on (S4), so that write is not run again.
  // Writes do not ask S3 first (the conditional PUT finds a stale cache), but an operation
  // that fails on its own (an unknown queue, a message already gone) may only have read an
  // old copy: when S3 has a newer version, the operation runs once more on it, and only
  // that answer reaches the caller. The check costs a request only on the error path.
  bool rechecked = false;
  for (int attempt = 1;; ++attempt) {
    if (needs_refresh_.load()) refresh_if_changed();
    std::uint64_t seq = 0;
    bool had_version = false;
    std::exception_ptr failed;
    {
      std::shared_lock lock(swap_mu_);
      {
        std::lock_guard sync_lock(sync_mu_);
        had_version = base_.has_value();
      }
      try {
        op();
        seq = note_applied();
      } catch (const Error&) {
        if (rechecked) throw;
        failed = std::current_exception();
      }
    }
    if (failed) {
      rechecked = true;
      if (!refresh_if_changed()) std::rethrow_exception(failed);
      continue;
    }
    try {
      wait_durable(seq);
      return;
    } catch (const ConflictError& e) {
      if (!e.retryable() || !had_version || attempt >= kConflictAttempts) throw;
    }
    pause_after_conflict(attempt);
  }
}

// ---- cache swaps ----------------------------------------------------------------------

void Replica::close_connections_locked() {
  if (store_ != nullptr) store_->close_connections();
}

void Replica::adopt_locked(std::string body, const std::string& etag) {
  if (!body.empty() &&
      (body.size() < 100 || std::memcmp(body.data(), kSqliteMagic, sizeof kSqliteMagic) != 0)) {
    throw ConfigError("s3: " + describe() + " is not a SQLite database (" +
                      std::to_string(body.size()) + " bytes); refusing to use it as a queue");
  }
  if (body.size() >= 100 && (body[18] == 2 || body[19] == 2)) {
    body[18] = 1;  // a WAL-mode file: use it in rollback-journal mode (file format 1)
    body[19] = 1;
  }
  close_connections_locked();
  cache_.replace(body);
  Base base = CacheFile::base_of(body, etag);
  cache_.write_base(base);
  install_only_.store(false);
  std::lock_guard lock(sync_mu_);
  base_ = std::move(base);
  if (mode_ == DurabilityMode::kDurable) base_bytes_ = std::move(body);
}

void Replica::reset_empty_locked() {
  close_connections_locked();
  cache_.remove();
  cache_.remove_base();
  install_only_.store(false);
  std::lock_guard lock(sync_mu_);
  base_.reset();
  base_bytes_.clear();
}

void Replica::restore_base_locked() {
  close_connections_locked();
  std::lock_guard lock(sync_mu_);
  if (base_) {
    cache_.replace(base_bytes_);
  } else {
    cache_.remove();
  }
}

bool Replica::dirty_locked() const {
  if (!cache_.exists()) return false;
  return base_ ? !cache_.matches(*base_) : cache_.size() > 0;
}

// ---- durable writes: group commit -----------------------------------------------------

std::uint64_t Replica::note_applied() {
  std::lock_guard lock(sync_mu_);
  return ++applied_;
}

void Replica::wait_durable(std::uint64_t seq) {
  std::unique_lock lock(sync_mu_);
  for (;;) {
    if (durable_ >= seq) {
      for (const Failure& f : failures_) {
        if (seq >= f.first && seq <= f.last) throw_failure(f.code, f.message, f.outcome_unknown);
      }
      return;
    }
    if (committing_) {
      cv_.wait(lock);
      continue;
    }
    // Leader: one PUT carries every write applied so far.
    committing_ = true;
    lock.unlock();
    std::uint64_t covered = 0;
    std::exception_ptr error;
    try {
      covered = commit_once();
    } catch (...) {
      error = std::current_exception();
    }
    if (error) {
      try {
        handle_commit_failure(error);
      } catch (const std::exception& e) {
        // The cache could not be put back (disk trouble): fail the writes with that.
        std::lock_guard relock(sync_mu_);
        failures_.push_back(Failure{durable_ + 1, applied_, ErrorCode::kInternal,
                                    std::string("s3: could not restore the cache after a failed "
                                                "sync: ") +
                                        e.what(),
                                    false});
        durable_ = applied_;
      }
    }
    lock.lock();
    if (!error) durable_ = std::max(durable_, covered);
    committing_ = false;
    cv_.notify_all();
  }
}

std::uint64_t Replica::commit_once(bool create_only) {
  std::string body;
  std::uint64_t target = 0;
  std::optional<Base> base;
  {
    std::unique_lock swap(swap_mu_);  // no write is half-applied: the file is consistent
    std::lock_guard lock(sync_mu_);
    target = applied_;
    base = base_;
    const bool changed = dirty_locked();
    if (!changed) return target;
    body = cache_.read();
  }
  const PutCondition cond =
      base && !create_only ? PutCondition::if_match(base->etag) : PutCondition::if_absent();
  std::string etag = client_.put(key_, body, cond);
  puts_.fetch_add(1);
  Base next = CacheFile::base_of(body, etag);
  std::lock_guard lock(sync_mu_);
  cache_.write_base(next);
  install_only_.store(false);
  base_ = std::move(next);
  if (mode_ == DurabilityMode::kDurable) base_bytes_ = std::move(body);
  return target;
}

void Replica::handle_commit_failure(std::exception_ptr error) {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  bool conflict = false, unknown = false;
  try {
    std::rethrow_exception(error);
  } catch (const PreconditionFailedError& e) {
    conflict = true;
    code = ErrorCode::kConflict;
    message = std::string(e.what()) +
              "; this write was not applied (the cache now holds the remote version: retry it)";
  } catch (const ConnectionError& e) {
    code = ErrorCode::kConnection;
    unknown = e.outcome_unknown();
    message = e.what();
  } catch (const Error& e) {
    code = e.code();
    message = e.what();
  } catch (const std::exception& e) {
    message = e.what();
  }

  std::optional<GetResult> fresh;
  if (conflict) {
    try {
      fresh = client_.get(key_);
    } catch (const std::exception&) {
      // Cannot see the new version now: restore the base and re-read on the next operation.
    }
  }
  std::unique_lock swap(swap_mu_);
  // Whatever happens below, the writes of this commit (and later ones) have failed.
  struct RecordFailure {
    Replica* self;
    Failure failure;
    ~RecordFailure() {
      std::lock_guard lock(self->sync_mu_);
      failure.first = self->durable_ + 1;
      failure.last = self->applied_;
      self->failures_.push_back(std::move(failure));
      while (self->failures_.size() > kMaxRememberedFailures) self->failures_.pop_front();
      self->durable_ = self->applied_;
    }
  } record{this, Failure{0, 0, code, message, unknown}};
  needs_refresh_.store(true);  // until the cache is known to match a stored version
  if (fresh && fresh->kind == GetResult::Kind::kOk) {
    adopt_locked(std::move(fresh->body), fresh->etag);
  } else if (fresh) {
    reset_empty_locked();  // deleted by another writer
  } else {
    restore_base_locked();
  }
  needs_refresh_.store((conflict && !fresh) || unknown);
}

// ---- durable reads ----------------------------------------------------------------------

bool Replica::refresh_if_changed() {
  std::optional<Base> base;
  {
    std::lock_guard lock(sync_mu_);
    if (applied_ != durable_ || committing_) return false;  // our own writes are ahead of S3
    base = base_;
  }
  needs_refresh_.store(false);
  GetResult r = client_.get(key_, base ? base->etag : std::string());
  if (r.kind != GetResult::Kind::kOk) return false;  // unchanged, or gone (state() reports it)
  std::unique_lock swap(swap_mu_);
  {
    std::lock_guard lock(sync_mu_);
    const bool same_base = (!base && !base_) || (base && base_ && base->etag == base_->etag);
    if (applied_ != durable_ || committing_ || !same_base || dirty_locked()) return false;
  }
  adopt_locked(std::move(r.body), r.etag);
  return true;
}

// ---- schema -----------------------------------------------------------------------------

void Replica::install(const std::function<void()>& install_schema) {
  bool attached = false;
  {
    std::lock_guard lock(sync_mu_);
    attached = base_.has_value();
  }
  auto refused = [&](const std::exception& e) {
    return ConflictError("s3: install refused (conflict): " + describe() +
                         " already exists and this store has never seen it; install never "
                         "overwrites an object (" +
                         e.what() + ")");
  };
  if (mode_ == DurabilityMode::kDurable) {
    try {
      install_schema();  // a gated write: published before it returns
    } catch (const ConflictError& e) {
      if (attached) throw;
      throw refused(e);
    }
    return;
  }
  // Local mode: only the working copy changes; the next sync() publishes it (and is
  // refused if another store published the object meanwhile).
  bool only_install = install_only_.load();  // the copy holds nothing but an install
  {
    std::shared_lock swap(swap_mu_);
    only_install = only_install || (!attached && cache_.size() == 0);
  }
  install_schema();  // a gated write: changes only the working copy here
  if (only_install) install_only_.store(true);
}

void Replica::uninstall() {
  sync();
  std::optional<Base> base;
  {
    std::lock_guard lock(sync_mu_);
    base = base_;
  }
  if (base) {
    auto head = client_.head(key_);
    if (head && head->etag != base->etag) {
      throw ConflictError("s3: uninstall refused: " + describe() +
                          " was changed by another writer since this store last saw it "
                          "(snapshot() first); nothing was deleted");
    }
    if (head) client_.remove(key_, base->etag);
  }
  std::unique_lock swap(swap_mu_);
  reset_empty_locked();
}

// ---- explicit controls -----------------------------------------------------------------

SyncState Replica::state() {
  auto head = client_.head(key_);
  std::shared_lock swap(swap_mu_);
  std::lock_guard lock(sync_mu_);
  const bool local = cache_.exists();
  const bool dirty = dirty_locked();
  if (!head) return dirty ? SyncState::kRemoteMissingDirty : SyncState::kRemoteMissingClean;
  if (!local) return SyncState::kLocalMissing;
  const bool remote_changed = !base_ || head->etag != base_->etag;
  if (dirty) return remote_changed ? SyncState::kConcurrentChanges : SyncState::kLocalChanges;
  return remote_changed ? SyncState::kRemoteChanges : SyncState::kInSync;
}

void Replica::snapshot() {
  if (mode_ == DurabilityMode::kDurable) sync();
  std::optional<Base> base;
  bool local = false;
  auto refuse_dirty = [&] {
    throw ConflictError("s3: snapshot refused: unsynced writes: the local cache " +
                        cache_.db_path().string() + " has writes not synced to " + describe() +
                        " (sync() them first, or delete the cache file to discard them)");
  };
  {
    std::shared_lock swap(swap_mu_);
    std::lock_guard lock(sync_mu_);
    if (dirty_locked() && !install_only_.load()) refuse_dirty();
    base = base_;
    local = cache_.exists() && cache_.size() > 0;
  }
  GetResult r = client_.get(key_, local && base ? base->etag : std::string());
  if (r.kind == GetResult::Kind::kNotModified) return;
  if (r.kind == GetResult::Kind::kNotFound) {
    throw ConflictError("s3: snapshot: " + describe() +
                        " does not exist (install() creates it; sync() publishes local writes)");
  }
  std::unique_lock swap(swap_mu_);
  {
    std::lock_guard lock(sync_mu_);
    if (dirty_locked() && !install_only_.load()) refuse_dirty();
  }
  adopt_locked(std::move(r.body), r.etag);
}

void Replica::sync() {
  if (mode_ == DurabilityMode::kDurable) {
    // A marker "write" that changed nothing: its commit carries whatever the cache holds.
    wait_durable(note_applied());
    return;
  }
  std::lock_guard commit(local_commit_mu_);
  auto conflict = [&](const std::exception& e) {
    return ConflictError(std::string(e.what()) +
                         "; conflict: nothing remote was overwritten and the local writes are "
                         "kept (state() = ConcurrentChanges; snapshot() will not discard "
                         "them unless the working copy holds only what install() made)");
  };
  try {
    commit_once();
    return;
  } catch (const PreconditionFailedError& e) {
    bool had_base = false;
    {
      std::lock_guard lock(sync_mu_);
      had_base = base_.has_value();
    }
    // Refused over a base: if the object is gone (deleted since), publish the working copy
    // again, as the original pgqrs does. Create-only, so a writer that re-created it in the
    // meantime is a conflict too. Without a base the refusal was "already exists".
    if (!had_base || client_.head(key_).has_value()) throw conflict(e);
  }
  try {
    commit_once(/*create_only=*/true);
  } catch (const PreconditionFailedError& e) {
    throw conflict(e);
  }
}

}  // namespace pgqrs::s3
