#include "backend/postgres/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

void add_secret(ConnectOptions& o, const std::string& secret) {
  if (secret.empty()) return;
  if (std::find(o.secrets.begin(), o.secrets.end(), secret) == o.secrets.end()) {
    o.secrets.push_back(secret);
  }
}

}  // namespace

std::string scrub(std::string message, const ConnectOptions& options) {
  return backend::scrub_secrets(std::move(message), options.secrets);
}

ConnectOptions parse_connect_options(const backend::Dsn& dsn, const Config& config) {
  ConnectOptions o;
  o.redacted = dsn.redacted();
  o.secrets = dsn.secrets();
  o.uri = dsn.postgres().uri;
  o.prepared = dsn.postgres().prepared;
  o.listen = dsn.postgres().listen;
  o.connect_timeout = std::chrono::seconds(config.connection_timeout_seconds);
  o.first_connect_timeout = config.connect_timeout_seconds == 0
                                ? o.connect_timeout
                                : std::chrono::seconds(config.connect_timeout_seconds);
  o.statement_timeout = config.statement_timeout_seconds == 0
                            ? o.connect_timeout
                            : std::chrono::seconds(config.statement_timeout_seconds);

  // Let libpq check the rest now, so a malformed DSN fails at connect() with a ConfigError
  // rather than as a connection failure later.
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(
      PQconninfoParse(o.uri.c_str(), &err), &PQconninfoFree);
  if (!parsed) {
    std::string why = err != nullptr ? err : "libpq could not parse it";
    PQfreemem(err);
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    dsn.fail(why);
  }
  for (const PQconninfoOption* opt = parsed.get(); opt->keyword != nullptr; ++opt) {
    if (std::string_view(opt->keyword) == "password" && opt->val != nullptr) {
      add_secret(o, opt->val);
    }
  }
  return o;
}

}  // namespace pgqrs::pg
