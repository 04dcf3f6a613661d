// S3Backend: the SQLite-family store on the local cache file, with the Replica as the gate
// around every one of its operations (sqlite_family/operation_gate.h). It is a decorator, not
// a forwarding list: a new store operation is synced like every other one without any change
// here. Only what differs from a plain file is overridden: the name, install/uninstall (the
// object's create-only and delete rules) and the replication controls.
#include "backend/s3/s3_backend.h"

#include <algorithm>
#include <chrono>

#include "backend/s3/replica.h"
#include "backend/sqlite/sqlite_backend.h"
#include "backend/sqlite_family/sql_backend.h"

namespace pgqrs::backend {
namespace {

using s3::Replica;

// Credentials and endpoint from the environment; each request may take up to
// connection_timeout_seconds (connecting: at most 10 s of it).
s3::S3Settings settings_for(const Config& config, const Dsn& dsn) {
  s3::S3Settings s = s3::S3Settings::from_environment(dsn.bucket());
  s.request_timeout = std::chrono::seconds(config.connection_timeout_seconds);
  s.connect_timeout =
      std::min<std::chrono::milliseconds>(s.request_timeout, std::chrono::seconds(10));
  if (config.connect_timeout_seconds != 0) {
    s.connect_timeout = std::chrono::seconds(config.connect_timeout_seconds);
  }
  return s;
}

// Constructed before the store it gates (a base class before the other).
struct ReplicaHolder {
  ReplicaHolder(const Config& config, const Dsn& dsn)
      : replica(config, dsn, settings_for(config, dsn)) {}
  Replica replica;
};

class S3Backend final : private ReplicaHolder, public sqlite_family::SqlFamilyBackend {
 public:
  S3Backend(const Config& config, const Dsn& dsn)
      : ReplicaHolder(config, dsn),
        SqlFamilyBackend(make_sqlite_driver(replica.cache_config(), replica.cache_path().string()),
                         replica.cache_config(), Decoration{"s3", &replica}) {
    replica.attach(*this);
  }

  ObjectSync* object_sync() override { return &replica; }

  void install() override {
    replica.install([this] { SqlFamilyBackend::install(); });
  }
  void install_to(std::int32_t version) override {
    replica.install([this, version] { SqlFamilyBackend::install_to(version); });
  }
  void uninstall() override { replica.uninstall(); }
};

}  // namespace

std::unique_ptr<Backend> make_s3_backend(const Config& config, const Dsn& dsn) {
  return std::make_unique<S3Backend>(config, dsn);
}

}  // namespace pgqrs::backend
