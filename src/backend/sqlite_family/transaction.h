// RAII transaction on a Session: begins in the constructor, rolls back in the destructor
// unless commit() succeeded (SQLiteCpp style). Never throws from the destructor.
//
// kImmediate takes the database write lock at BEGIN (BEGIN IMMEDIATE). Every write in this
// layer uses it: a deferred transaction that reads and later writes can fail to upgrade its
// lock with SQLITE_BUSY in a way no busy handler can wait out (another writer committed in
// between), while an immediate one either gets the lock up front or waits for it.
#pragma once

#include "backend/sqlite_family/session.h"

namespace pgqrs::sqlite_family {

class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };

  Transaction(Session& session, Mode mode);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // COMMIT. If it throws (e.g. BusyError), the transaction is still open and the
  // destructor rolls it back.
  void commit();

 private:
  Session& session_;
  bool done_ = false;
};

}  // namespace pgqrs::sqlite_family
