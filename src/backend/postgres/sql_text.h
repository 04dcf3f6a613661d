// SQL text for the configured schema.
//
// Statement templates are compile-time constants that write the schema as "{s}"
// ("SELECT ... FROM {s}.pgqrs_messages"). The only text ever substituted is the schema
// identifier, which Config::validate() restricted to [A-Za-z_][A-Za-z0-9_]{0,62} and which
// is quoted with PQescapeIdentifier before use. No other value is ever put into SQL text:
// everything else is a bound parameter.
//
// StatementCache builds each template's Statement once per backend (the template's address
// is the key) and is thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "backend/postgres/connection.h"

namespace pgqrs::pg {

// `tmpl` with every "{s}" replaced by `quoted_schema`.
std::string with_schema(std::string_view tmpl, const std::string& quoted_schema);

class StatementCache {
 public:
  explicit StatementCache(std::string quoted_schema) : schema_(std::move(quoted_schema)) {}
  // `tmpl` must be a string with static storage (a constexpr template).
  const Statement& operator()(const char* tmpl);
  const std::string& quoted_schema() const { return schema_; }

 private:
  const std::string schema_;
  std::mutex mu_;
  std::unordered_map<const char*, Statement> built_;  // GUARDED_BY(mu_); nodes never move
};

}  // namespace pgqrs::pg
