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

namespace {

// The sync layer of an s3:// store; as_s3() made sure there is one.
backend::ObjectSync& sync_of(const Store& store) {
  backend::ObjectSync* sync = StoreAccess::state(store)->backend->object_sync();
  if (sync == nullptr) throw InternalError("S3Store on a store without an S3 sync layer");
  return *sync;
}

}  // namespace

SyncState S3Store::state() const { return sync_of(store_).state(); }
void S3Store::snapshot() const { sync_of(store_).snapshot(); }
void S3Store::sync() const { sync_of(store_).sync(); }

S3Store as_s3(const Store& store) {
  if (StoreAccess::state(store)->backend->object_sync() == nullptr) {
    throw ConfigError("as_s3: this store uses the " + std::string(store.backend_name()) +
                      " backend, not s3 (snapshot/sync/state exist only for s3:// DSNs)");
  }
  return S3Store(store);
}

}  // namespace pgqrs
