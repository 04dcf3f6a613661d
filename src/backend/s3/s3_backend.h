// The S3 backend (s3://bucket/key.sqlite, SPEC §6; guide: docs/s3.md): the SQLite backend on
// a local cache file, with the sync layer of replica.h around every operation. Reads and
// writes are the SQLite family's; only where the bytes live differs.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/dsn.h"
#include "pgqrs/config.h"

namespace pgqrs::backend {

// Reads credentials / region / endpoint from the AWS_* environment (s3_client.h), the mode
// and cache dir from config.s3. Downloads the object (durable mode; local mode when there
// is no cache yet). ConfigError / ConnectionError as Replica documents.
std::unique_ptr<Backend> make_s3_backend(const Config& config, const Dsn& dsn);

}  // namespace pgqrs::backend
