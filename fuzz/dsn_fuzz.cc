// libFuzzer target: DSN parsing, every scheme (backend::Dsn::parse: pgqrs_* parameters,
// redaction, secrets), and for postgresql:// DSNs the libpq check (parse_connect_options).
// Contract: a value or a ConfigError; a password found in the DSN never appears as the
// password of the redacted form.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "backend/dsn.h"
#include "backend/postgres/conninfo.h"
#include "fuzz_util.h"
#include "pgqrs/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  pgqrs::fuzz::expect_typed_errors("dsn", [&] {
    const pgqrs::backend::Dsn dsn = pgqrs::backend::Dsn::parse(text);
    if (dsn.scheme() != pgqrs::backend::Scheme::kPostgres) return;
    const pgqrs::pg::ConnectOptions options =
        pgqrs::pg::parse_connect_options(dsn, pgqrs::Config{});
    for (const std::string& secret : options.secrets) {
      // A password containing the mask itself cannot be told apart from its redaction, and
      // passwords under 4 bytes are only masked where they stand (backend/dsn.h).
      if (secret.size() < 4 || secret.find("***") != std::string::npos) continue;
      for (const std::string* shown : {&options.redacted, &dsn.redacted()}) {
        if (shown->find(":" + secret + "@") != std::string::npos) {
          std::fprintf(stderr, "dsn: password (%zu bytes) shown in redacted DSN (%zu bytes): %s\n",
                       secret.size(), shown->size(),
                       nlohmann::json(*shown)
                           .dump(-1, ' ', true, nlohmann::json::error_handler_t::replace)
                           .c_str());
          std::abort();
        }
      }
    }
  });
  return 0;
}
