// Turso status codes and error strings -> pgqrs errors (the connection.h contract).
#pragma once

#include <string>
#include <string_view>

#include "backend/turso/turso_abi.h"

namespace pgqrs::turso {

// Owns an error string Turso returned through an `error_opt_out` parameter (allocated by
// Turso, freed with turso_str_deinit). Pass out() to the C call; text() reads it.
class ErrorText {
 public:
  ErrorText() = default;
  ErrorText(const ErrorText&) = delete;
  ErrorText& operator=(const ErrorText&) = delete;
  ~ErrorText() { turso_str_deinit(text_); }

  const char** out() {
    turso_str_deinit(text_);
    text_ = nullptr;
    return &text_;
  }
  // The message, or "<what>" when Turso gave none.
  std::string text(std::string_view fallback) const;

 private:
  const char* text_ = nullptr;
};

// The name of a status code, e.g. "TURSO_BUSY".
std::string_view status_name(turso_status_code_t code) noexcept;

// True for TURSO_OK / TURSO_DONE / TURSO_ROW (the codes that are not failures).
inline bool is_success(turso_status_code_t code) noexcept {
  return code == TURSO_OK || code == TURSO_DONE || code == TURSO_ROW;
}

// Throws the pgqrs error for a failed call: BusyError for lock conflicts, ConnectionError
// (naming `path`) for I/O, read-only, corrupt and not-a-database failures, InternalError
// otherwise. `message` is Turso's text; `sql` is the statement involved, if any (internal
// SQL only: user values are always bound, never part of it).
[[noreturn]] void throw_turso_error(turso_status_code_t code, const std::string& message,
                                    const std::string& path, std::string_view sql);

// Throws the pgqrs error for a failure while opening the database at `path`: every failure
// is a ConnectionError naming the path (lock conflicts included: another process holds the
// file without multiprocess WAL), with a hint for the common causes.
[[noreturn]] void throw_open_error(turso_status_code_t code, const std::string& message,
                                   const std::string& path);

}  // namespace pgqrs::turso
