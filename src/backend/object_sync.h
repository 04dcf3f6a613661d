// ObjectSync: the replication controls of a backend that keeps its database as one remote
// object (the S3 backend); the public face is pgqrs/s3.h. Thread-safe.
#pragma once

#include "pgqrs/s3.h"

namespace pgqrs::backend {

class ObjectSync {
 public:
  virtual ~ObjectSync() = default;
  virtual SyncState state() = 0;
  virtual void snapshot() = 0;
  virtual void sync() = 0;
};

}  // namespace pgqrs::backend
