// DSN parsing (SPEC §1). parse_dsn() recognises the four schemes and checks their shape;
// it never opens anything. Errors are ConfigError naming the (redacted) DSN and the problem.
#pragma once

#include <string>
#include <string_view>

namespace pgqrs::backend {

enum class Scheme { kPostgres, kSqlite, kTurso, kS3 };
std::string_view to_string(Scheme s) noexcept;  // "postgres", "sqlite", "turso", "s3"

struct Dsn {
  Scheme scheme = Scheme::kSqlite;
  std::string raw;  // as given (may contain a password; never print it, use redacted)
  std::string redacted;
  // sqlite / turso: file path (relative or absolute) or ":memory:" (sqlite only).
  std::string path;
  // s3: bucket and object key.
  std::string bucket;
  std::string key;
  bool in_memory() const { return path == ":memory:"; }
};

Dsn parse_dsn(std::string_view dsn);

}  // namespace pgqrs::backend
