// A plain libpq connection for integration tests: create / drop scratch schemas, look at
// pg_stat_activity, terminate the library's server connections. Header-only.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace pgqrs_test {

class PgAdmin {
 public:
  // Connects to `dsn` (a libpq URI) or throws std::runtime_error.
  explicit PgAdmin(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string why = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("admin connection failed: " + why);
    }
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
  }
  ~PgAdmin() { PQfinish(conn_); }
  PgAdmin(const PgAdmin&) = delete;
  PgAdmin& operator=(const PgAdmin&) = delete;

  // Runs `sql` (text parameters $1..) and returns the rows as text (NULL = nullopt).
  std::vector<std::vector<std::optional<std::string>>> Query(
      const std::string& sql, const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    const auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      std::string why = PQresultErrorMessage(res);
      PQclear(res);
      throw std::runtime_error("admin SQL failed: " + why + " (" + sql + ")");
    }
    std::vector<std::vector<std::optional<std::string>>> rows;
    for (int i = 0; i < PQntuples(res); ++i) {
      std::vector<std::optional<std::string>> row;
      for (int c = 0; c < PQnfields(res); ++c) {
        if (PQgetisnull(res, i, c)) {
          row.emplace_back(std::nullopt);
        } else {
          row.emplace_back(PQgetvalue(res, i, c));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }
  void Exec(const std::string& sql) { Query(sql); }
  // The single value of a one-row, one-column query.
  std::string Value(const std::string& sql, const std::vector<std::string>& params = {}) {
    auto rows = Query(sql, params);
    if (rows.empty() || rows[0].empty() || !rows[0][0]) {
      throw std::runtime_error("admin SQL returned no value: " + sql);
    }
    return *rows[0][0];
  }

  // Creates "pgqrs_<prefix>_<random>" and returns its name.
  std::string CreateSchema(const std::string& prefix) {
    std::random_device rd;
    const std::string name = "pgqrs_" + prefix + "_" + std::to_string(rd() % 1000000000u);
    Exec("CREATE SCHEMA \"" + name + "\"");
    return name;
  }
  void DropSchema(const std::string& name) {
    Exec("DROP SCHEMA IF EXISTS \"" + name + "\" CASCADE");
  }

 private:
  PGconn* conn_;
};

// `dsn` with `param=value` added to its query string.
inline std::string WithParam(const std::string& dsn, const std::string& param) {
  return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + param;
}

}  // namespace pgqrs_test
