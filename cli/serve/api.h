// The JSON API of `pgqrs serve` (/api/...): what the dashboard pages read and the actions
// they post. Transport-free: each method takes the decoded path segments and query
// parameters and returns the response body, or throws HttpError (a 4xx with a JSON error
// body). pgqrs errors that escape (ConnectionError, ...) are mapped by the HTTP layer.
//
// Records use the CLI's JSON (cli/records_json.h), so `pgqrs --format json ...` and the API
// agree on every key. Lists are bounded: `limit` defaults to 50 and is capped at 500.
// The message, dead-letter and run lists page by keyset: `before_id=N` lists only what comes
// after id N (older), and each response has `next_before_id`, the before_id of the next older
// page, or null when there is none (never OFFSET: a deep page costs what the first does).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli::serve {

// A request the API refuses: HTTP `status`, a stable snake_case `code` and a message that
// names the offending value (never a database secret).
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

// Query parameters, last value wins.
using Query = std::map<std::string, std::string, std::less<>>;

class Api {
 public:
  // `redacted_dsn` (password hidden) is what /api/overview shows as the database.
  Api(Admin admin, std::string redacted_dsn)
      : admin_(std::move(admin)), redacted_dsn_(std::move(redacted_dsn)) {}

  // GET
  nlohmann::json overview() const;                                             // /api/overview
  nlohmann::json queues() const;                                               // /api/queues
  nlohmann::json queue(std::string_view name) const;                           // /api/queues/{name}
  nlohmann::json queue_messages(std::string_view name, const Query& q) const;  // .../messages
  nlohmann::json message(std::string_view id) const;                           // /api/messages/{id}
  nlohmann::json dead_letters(const Query& q) const;                           // /api/dead-letters
  nlohmann::json workers(const Query& q) const;                                // /api/workers
  nlohmann::json workflows() const;                                            // /api/workflows
  nlohmann::json runs(const Query& q) const;                                   // /api/runs
  nlohmann::json run(std::string_view id) const;                               // /api/runs/{id}
  nlohmann::json schedules() const;                                            // /api/schedules

  // POST actions (the HTTP layer checks --allow-actions, the token and the CSRF token).
  nlohmann::json replay_dead_letter(std::string_view id) const;  // /api/dead-letters/{id}/replay
  nlohmann::json cancel_run(std::string_view id) const;          // /api/runs/{id}/cancel
  nlohmann::json resume_run(std::string_view id) const;          // /api/runs/{id}/resume
  nlohmann::json rerun_run(std::string_view id) const;           // /api/runs/{id}/rerun
  // /api/runs/{id}/fork with {"from_step": name}.
  nlohmann::json fork_run(std::string_view id, std::string_view from_step) const;
  nlohmann::json pause_schedule(std::string_view name) const;   // /api/schedules/{name}/pause
  nlohmann::json resume_schedule(std::string_view name) const;  // /api/schedules/{name}/resume
  // /api/queues/{name}/purge; `confirm` must repeat the queue name.
  nlohmann::json purge_queue(std::string_view name, std::string_view confirm) const;

 private:
  Admin admin_;
  std::string redacted_dsn_;
};

// Parses a positive decimal id (1 .. 2^63-1); HttpError 400 naming `what` otherwise.
std::int64_t parse_id(std::string_view text, std::string_view what);
// The `limit` parameter: default 50, 1 .. 500; HttpError 400 otherwise.
std::uint32_t parse_limit(const Query& q);
// The `before_id` parameter: absent, or a positive id; HttpError 400 (bad_before_id) naming
// it otherwise (an empty value too).
std::optional<std::int64_t> parse_before_id(const Query& q);

}  // namespace pgqrs::cli::serve
