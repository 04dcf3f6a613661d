// libFuzzer target: a payload as a user or the CLI hands it over: JSON text parsed, then
// checked against validation limits (size, depth, forbidden and required keys). Contract:
// malformed JSON is rejected by the parser; a parsed payload passes or gets a
// ValidationError naming where.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/validation.h"
#include "fuzz_util.h"
#include "pgqrs/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const nlohmann::json payload = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (payload.is_discarded()) return 0;
  pgqrs::ValidationConfig limits;
  limits.max_payload_size_bytes = 4096;
  limits.forbidden_keys = {"password", "secret"};
  limits.required_keys = {"id"};
  limits.max_object_depth = 8;
  pgqrs::fuzz::expect_typed_errors("payload", [&] {
    (void)pgqrs::core::validate_payload(payload, limits, "payload");
    (void)pgqrs::core::validate_payloads({payload, payload}, pgqrs::ValidationConfig{});
  });
  return 0;
}
