// The S3 backend case of the conformance suite (see backend_fixture.h).
//
//   s3 : durable mode against the S3-compatible test server (scripts/s3-test-server: moto on
//        127.0.0.1; AWS_ENDPOINT_URL and dummy AWS_* credentials). Each test gets its own
//        object s3://$PGQRS_TEST_S3_BUCKET/conformance/<scratch dir name>.sqlite and its own
//        cache dir (<scratch>/cache); the object is deleted afterwards.
// Skipped with that reason when PGQRS_TEST_S3_BUCKET is not set or the build has no S3
// backend.
#pragma once

#include "conformance/backend_fixture.h"

namespace pgqrs_test {

BackendCase S3Case();

}  // namespace pgqrs_test
