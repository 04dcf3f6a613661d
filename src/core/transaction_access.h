// The engine's side of pgqrs::postgres::Transaction (internal): the public class holds only
// a Store and an opaque Impl; begin(), enqueue and the libpq adapter reach the backend's
// UserTransaction through here.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "pgqrs/postgres.h"
#include "pgqrs/store.h"

namespace pgqrs::postgres {

class Transaction::Impl {
 public:
  explicit Impl(std::unique_ptr<backend::UserTransaction> user) : tx(std::move(user)) {}
  std::unique_ptr<backend::UserTransaction> tx;  // never null
};

struct TransactionAccess {
  // A Transaction of `store` over the backend's transaction `tx`.
  static Transaction make(const Store& store, std::unique_ptr<backend::UserTransaction> tx);
  // StateTransitionError for a moved-from transaction.
  static backend::UserTransaction& user_transaction(const Transaction& tx);
  static const Store& store(const Transaction& tx);
  // Wake idle consumers of `queue` once `tx` commits.
  static void wake_after_commit(Transaction& tx, const std::string& queue);
};

}  // namespace pgqrs::postgres
