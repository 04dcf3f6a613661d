// The SQLite family's pool of Sessions (connections with their statement caches):
// backend::Pool (backend/pool.h) with config.max_connections slots.
//
// Connections are opened lazily and kept open for the pool's lifetime: reusing them keeps
// their prepared statements warm. The pool's mutex only guards its own bookkeeping; it is
// not what makes queue operations correct across threads or processes (the database's
// locks do that).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "backend/pool.h"
#include "backend/sqlite_family/session.h"

namespace pgqrs::sqlite_family {

class ConnectionPool : public backend::Pool<std::unique_ptr<Session>> {
 public:
  using Opener = std::function<std::unique_ptr<Session>()>;
  // `name` is used in error messages (e.g. "sqlite"). Opening a file is quick and local, so
  // `open` takes no deadline.
  ConnectionPool(Opener open, std::size_t max_size, std::string name)
      : Pool(Policy{[open = std::move(open)](Deadline) { return open(); }}, max_size,
             std::move(name)) {}
};

}  // namespace pgqrs::sqlite_family
