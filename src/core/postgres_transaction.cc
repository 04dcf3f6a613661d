// pgqrs::postgres::Transaction (pgqrs/postgres.h): the engine side of transactional
// enqueue. It speaks no SQL: statements go to the backend's UserTransaction; this file adds
// the state checks and the in-process wake-up after commit.
#include <charconv>
#include <cmath>

#include "backend/backend.h"
#include "backend/store_backend.h"
#include "core/store_state.h"
#include "core/transaction_access.h"
#include "pgqrs/error.h"
#include "pgqrs/postgres.h"

namespace pgqrs::postgres {

Param::Param(double v) {
  if (std::isnan(v)) {
    text_ = "NaN";
  } else if (std::isinf(v)) {
    text_ = v > 0 ? "Infinity" : "-Infinity";
  } else {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    text_ = std::string(buf, res.ptr);
  }
}

Param::Param(const json& v) : text_(v.dump()) {}

Transaction::Transaction(Store store, std::unique_ptr<Impl> impl)
    : store_(std::move(store)), impl_(std::move(impl)) {}

Transaction::Transaction(Transaction&&) noexcept = default;

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    rollback();
    store_ = std::move(other.store_);
    impl_ = std::move(other.impl_);
    wake_ = std::move(other.wake_);
  }
  return *this;
}

Transaction::~Transaction() { rollback(); }

// ---- the engine's side (core/transaction_access.h) ----------------------------------------

Transaction TransactionAccess::make(const Store& store,
                                    std::unique_ptr<backend::UserTransaction> tx) {
  return Transaction(store, std::make_unique<Transaction::Impl>(std::move(tx)));
}

backend::UserTransaction& TransactionAccess::user_transaction(const Transaction& tx) {
  if (!tx.impl_) throw StateTransitionError("postgres::Transaction: moved-from transaction");
  return *tx.impl_->tx;
}

const Store& TransactionAccess::store(const Transaction& tx) { return tx.store_; }

void TransactionAccess::wake_after_commit(Transaction& tx, const std::string& queue) {
  tx.wake_.push_back(queue);
}

// ---- the user's side ----------------------------------------------------------------------

bool Transaction::active() const { return impl_ && impl_->tx->active(); }

Result Transaction::execute(std::string_view sql, const std::vector<Param>& params) {
  if (!active()) {
    throw StateTransitionError(
        "postgres::Transaction::execute: the transaction is finished (committed, rolled back "
        "or failed)");
  }
  return impl_->tx->execute(sql, params);
}

void Transaction::commit() {
  if (!active()) {
    throw StateTransitionError(
        "postgres::Transaction::commit: the transaction is finished (committed, rolled back "
        "or failed)");
  }
  impl_->tx->commit();
  for (const std::string& queue : wake_) StoreAccess::state(store_)->activity.notify(queue);
  wake_.clear();
}

void Transaction::rollback() noexcept {
  wake_.clear();
  if (impl_) impl_->tx->rollback();
}

Transaction begin(const Store& store) {
  return TransactionAccess::make(store,
                                 StoreAccess::state(store)->backend->begin_user_transaction());
}

}  // namespace pgqrs::postgres

namespace pgqrs::backend {

postgres::Transaction make_transaction(const Store& store, std::unique_ptr<UserTransaction> tx) {
  return postgres::TransactionAccess::make(store, std::move(tx));
}

}  // namespace pgqrs::backend
