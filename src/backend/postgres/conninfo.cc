#include "backend/postgres/conninfo.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string_view>

#include "pgqrs/error.h"

namespace pgqrs::pg {
namespace {

[[noreturn]] void bad(const ConnectOptions& o, const std::string& why) {
  throw ConfigError("invalid dsn '" + o.redacted + "': " + scrub(why, o));
}

bool parse_flag(const ConnectOptions& o, std::string_view key, std::string_view value) {
  std::string v(value);
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (v == "true" || v == "on" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "off" || v == "0" || v == "no") return false;
  bad(o, std::string(key) + " must be true or false, not '" + std::string(value) + "'");
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

void add_secret(ConnectOptions& o, std::string_view secret) {
  if (secret.empty()) return;
  o.secrets.emplace_back(secret);
  const std::string decoded = percent_decode(secret);
  if (decoded != secret) o.secrets.push_back(decoded);
}

// The password of the URI's user-info part (user:password@host), as written.
std::string_view uri_password(std::string_view uri) {
  const auto scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return {};
  std::string_view rest = uri.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));  // as libpq: a '?' may be part of the user-info
  const auto at = rest.rfind('@');
  if (at == std::string_view::npos) return {};
  const std::string_view userinfo = rest.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos) return {};
  return userinfo.substr(colon + 1);
}

}  // namespace

std::string scrub(std::string message, const ConnectOptions& options) {
  for (const std::string& secret : options.secrets) {
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

ConnectOptions parse_connect_options(const backend::Dsn& dsn, const Config& config) {
  ConnectOptions o;
  o.redacted = dsn.redacted;
  o.connect_timeout = std::chrono::seconds(config.connection_timeout_seconds);
  add_secret(o, uri_password(dsn.raw));

  // Split off the query string and keep everything that is not ours, in order.
  const std::string& raw = dsn.raw;
  const auto q = raw.find('?');
  o.uri = raw.substr(0, q);
  if (q != std::string::npos) {
    std::string kept;
    std::string_view query = std::string_view(raw).substr(q + 1);
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view item = query.substr(0, amp);
      query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const std::string_view key = item.substr(0, eq);
      const std::string_view value =
          eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      if (key == "password") add_secret(o, value);
      if (!key.starts_with("pgqrs_")) {
        kept += kept.empty() ? "" : "&";
        kept += item;
        continue;
      }
      if (key == "pgqrs_prepared") {
        o.prepared = parse_flag(o, key, value);
      } else if (key == "pgqrs_listen") {
        o.listen = parse_flag(o, key, value);
      } else {
        bad(o, "unknown pgqrs parameter '" + std::string(key) +
                   "' (known: pgqrs_prepared, pgqrs_listen)");
      }
    }
    if (!kept.empty()) o.uri += "?" + kept;
  }

  // Let libpq check the rest now, so a malformed DSN fails at connect() with a ConfigError
  // rather than as a connection failure later.
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> parsed(
      PQconninfoParse(o.uri.c_str(), &err), &PQconninfoFree);
  if (!parsed) {
    std::string why = err != nullptr ? err : "libpq could not parse it";
    PQfreemem(err);
    while (!why.empty() && std::isspace(static_cast<unsigned char>(why.back()))) why.pop_back();
    bad(o, why);
  }
  for (const PQconninfoOption* opt = parsed.get(); opt->keyword != nullptr; ++opt) {
    if (std::string_view(opt->keyword) == "password" && opt->val != nullptr) {
      add_secret(o, opt->val);
    }
  }
  return o;
}

}  // namespace pgqrs::pg
