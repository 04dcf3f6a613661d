// libFuzzer target: a ListObjectsV2 response body as an S3-compatible server (AWS, MinIO,
// moto, or something in between) might send it: keys, ETags, sizes, continuation tokens,
// entities. Contract: a list (possibly empty) or a typed pgqrs::Error; never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/s3/s3_client.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  pgqrs::fuzz::expect_typed_errors("s3_response", [&] {
    std::string next_token;
    (void)pgqrs::s3::parse_list_response(xml, &next_token);
    (void)pgqrs::s3::encode_key(xml);
  });
  return 0;
}
