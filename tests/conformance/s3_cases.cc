#include "conformance/s3_cases.h"

#include <cstdlib>
#include <string>

#if PGQRS_TEST_WITH_S3
#include "backend/s3/s3_client.h"
#endif

namespace pgqrs_test {
namespace fs = std::filesystem;

namespace {

constexpr char kBucketVar[] = "PGQRS_TEST_S3_BUCKET";

std::string KeyOf(const pgqrs::Config& config) {
  // s3://bucket/key -> key
  const std::string rest = config.dsn.substr(5);
  return rest.substr(rest.find('/') + 1);
}

}  // namespace

BackendCase S3Case() {
  return BackendCase{"s3",
                     "s3",
                     /*persistent=*/true,
                     [](const fs::path& scratch) {
                       const char* bucket = std::getenv(kBucketVar);
                       pgqrs::Config config = pgqrs::Config::from_dsn(
                           "s3://" + std::string(bucket == nullptr ? "missing-bucket" : bucket) +
                           "/conformance/" + scratch.filename().string() + ".sqlite");
                       config.s3.mode = pgqrs::DurabilityMode::kDurable;
                       config.s3.cache_dir = (scratch / "cache").string();
                       return config;
                     },
                     [](const pgqrs::Config& config) {
#if PGQRS_TEST_WITH_S3
                       pgqrs::s3::S3Client client(
                           pgqrs::s3::S3Settings::from_environment(std::getenv(kBucketVar)));
                       client.remove(KeyOf(config));
#else
                       (void)config;
#endif
                     },
                     []() -> std::optional<std::string> {
#if !PGQRS_TEST_WITH_S3
                       return std::string("this build has no S3 backend (PGQRS_WITH_S3=OFF)");
#else
                       return SkipReasonIfEnvMissing(kBucketVar);
#endif
                     }};
}

}  // namespace pgqrs_test
