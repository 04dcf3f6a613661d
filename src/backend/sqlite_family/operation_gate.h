// OperationGate: a layer that must run around every operation of a SQLite-family store, e.g.
// to keep its database file in step with a copy elsewhere (the S3 backend's replica). The
// store passes each operation through the gate whole, as one call of `op` (which runs the
// operation's transaction, with its own lock retries), so the gate sees every read and write
// without knowing which one it is: a new store method needs no change in any gate.
#pragma once

#include <functional>

namespace pgqrs::sqlite_family {

class OperationGate {
 public:
  // Each runs `op` and returns or throws what it did, or throws without running it (e.g. the
  // copy could not be refreshed). A gate may run `op` again only when nothing of its earlier
  // run remains (a write refused as a whole, e.g. a publish another writer beat): `op` is
  // a whole transaction whose results are replaced on each run. Called from many threads.
  virtual void around_read(const std::function<void()>& op) = 0;
  virtual void around_write(const std::function<void()>& op) = 0;

 protected:
  ~OperationGate() = default;
};

}  // namespace pgqrs::sqlite_family
