// pgqrs/s3.h: S3Store and as_s3 over the backend's ObjectSync interface. Compiled in every
// build; without the S3 backend no store has one, and as_s3 reports that.
#include "pgqrs/s3.h"

#include <string>

#include "backend/object_sync.h"
#include "core/store_state.h"
#include "pgqrs/error.h"

namespace pgqrs {

std::string_view to_string(SyncState state) noexcept {
  switch (state) {
    case SyncState::kInSync:
      return "InSync";
    case SyncState::kLocalChanges:
      return "LocalChanges";
    case SyncState::kRemoteChanges:
      return "RemoteChanges";
    case SyncState::kConcurrentChanges:
      return "ConcurrentChanges";
    case SyncState::kLocalMissing:
      return "LocalMissing";
    case SyncState::kRemoteMissingClean:
      return "RemoteMissingClean";
    case SyncState::kRemoteMissingDirty:
      return "RemoteMissingDirty";
  }
  return "Unknown";
}

SyncState S3Store::state() const { return sync_->state(); }
void S3Store::snapshot() const { sync_->snapshot(); }
void S3Store::sync() const { sync_->sync(); }

S3Store as_s3(const Store& store) {
  backend::ObjectSync* sync = store.state()->backend->object_sync();
  if (sync == nullptr) {
    throw ConfigError("as_s3: this store uses the " + std::string(store.backend_name()) +
                      " backend, not s3 (snapshot/sync/state exist only for s3:// DSNs)");
  }
  return S3Store(store, sync);
}

}  // namespace pgqrs
