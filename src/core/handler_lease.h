// The scope in which pgqrs::handler_lease_valid_until() answers for a running handler
// (internal): the engine makes one around each handler call, on the handler's thread.
#pragma once

#include <cstdint>
#include <vector>

#include "core/lease_keeper.h"

namespace pgqrs::core {

class HandlerLeaseScope {
 public:
  // `keeper` tracks `ids` (the message, or the batch, being handled); both outlive the scope.
  HandlerLeaseScope(const LeaseKeeper& keeper, std::vector<std::int64_t> ids);
  ~HandlerLeaseScope();
  HandlerLeaseScope(const HandlerLeaseScope&) = delete;
  HandlerLeaseScope& operator=(const HandlerLeaseScope&) = delete;

  // The earliest valid_until() of `ids`.
  TimePoint valid_until() const;

 private:
  const LeaseKeeper& keeper_;
  std::vector<std::int64_t> ids_;
  const HandlerLeaseScope* outer_;
};

}  // namespace pgqrs::core
