#include "backend/turso/turso_status.h"

#include "backend/sqlite_family/connection.h"
#include "backend/sqlite_family/storage_full.h"
#include "pgqrs/error.h"

namespace pgqrs::turso {
namespace {

constexpr std::size_t kMaxSqlInMessage = 160;

std::string sql_excerpt(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

// MVCC (BEGIN CONCURRENT) conflicts reach the C ABI as a plain TURSO_ERROR; like BUSY they
// mean "roll back and run the whole transaction again".
bool is_mvcc_conflict(turso_status_code_t code, const std::string& message) {
  return code == TURSO_ERROR && (message.find("Write-write conflict") != std::string::npos ||
                                 message.find("Transaction terminated") != std::string::npos);
}

bool mentions_lock(const std::string& message) {
  return message.find("lock") != std::string::npos || message.find("Lock") != std::string::npos;
}

// Turso reports ENOSPC / EDQUOT from its Rust I/O layer as text (TURSO_IOERR, sometimes a
// plain TURSO_ERROR): "I/O error (pwritev): no storage space", "No space left on device
// (os error 28)", "Disk quota exceeded".
bool mentions_no_space(const std::string& message) {
  return message.find("no storage space") != std::string::npos ||
         message.find("No space left") != std::string::npos ||
         message.find("os error 28)") != std::string::npos ||
         message.find("Disk quota exceeded") != std::string::npos ||
         message.find("database or disk is full") != std::string::npos;
}

}  // namespace

std::string ErrorText::text(std::string_view fallback) const {
  if (text_ == nullptr || *text_ == '\0') return std::string(fallback);
  return text_;
}

std::string_view status_name(turso_status_code_t code) noexcept {
  switch (code) {
    case TURSO_OK:
      return "TURSO_OK";
    case TURSO_DONE:
      return "TURSO_DONE";
    case TURSO_ROW:
      return "TURSO_ROW";
    case TURSO_IO:
      return "TURSO_IO";
    case TURSO_BUSY:
      return "TURSO_BUSY";
    case TURSO_INTERRUPT:
      return "TURSO_INTERRUPT";
    case TURSO_BUSY_SNAPSHOT:
      return "TURSO_BUSY_SNAPSHOT";
    case TURSO_ERROR:
      return "TURSO_ERROR";
    case TURSO_MISUSE:
      return "TURSO_MISUSE";
    case TURSO_CONSTRAINT:
      return "TURSO_CONSTRAINT";
    case TURSO_READONLY:
      return "TURSO_READONLY";
    case TURSO_DATABASE_FULL:
      return "TURSO_DATABASE_FULL";
    case TURSO_NOTADB:
      return "TURSO_NOTADB";
    case TURSO_CORRUPT:
      return "TURSO_CORRUPT";
    case TURSO_IOERR:
      return "TURSO_IOERR";
  }
  return "TURSO_<unknown status>";
}

void throw_turso_error(turso_status_code_t code, const std::string& message,
                       const std::string& path, std::string_view sql) {
  const std::string where = sql.empty() ? std::string() : " (in: " + sql_excerpt(sql) + ")";
  const std::string detail = std::string(status_name(code)) + ": " + message;
  if (is_mvcc_conflict(code, message)) {
    throw sqlite_family::BusyError("turso database '" + path + "': concurrent transaction " +
                                   "conflict: " + detail);
  }
  if (code == TURSO_DATABASE_FULL || mentions_no_space(message)) {
    throw StorageFullError(
        sqlite_family::storage_full_message("turso database '" + path + "'", path, detail));
  }
  switch (code) {
    case TURSO_BUSY:
    case TURSO_BUSY_SNAPSHOT:
      // BUSY: another connection holds the write lock. BUSY_SNAPSHOT: this transaction's
      // snapshot is stale (another writer committed since it began); only a fresh
      // transaction can succeed, which is exactly what the executor's retry does.
      throw sqlite_family::BusyError("turso database '" + path + "' is locked: " + detail);
    case TURSO_NOTADB:
      throw ConnectionError(path + " is not a database (" + detail + ")");
    case TURSO_IOERR:
    case TURSO_CORRUPT:
    case TURSO_READONLY:
      throw ConnectionError("turso database '" + path + "': " + detail + where);
    default:
      throw InternalError("turso error on '" + path + "': " + detail + where);
  }
}

void throw_open_error(turso_status_code_t code, const std::string& message,
                      const std::string& path) {
  const std::string detail = std::string(status_name(code)) + ": " + message;
  if (code == TURSO_NOTADB) {
    throw ConnectionError(path + " is not a database (" + detail + ")");
  }
  if (code == TURSO_BUSY || mentions_lock(message)) {
    throw ConnectionError("cannot open turso database '" + path +
                          "': it is locked by another process (" + detail +
                          "); pgqrs allows one process per Turso file (docs/turso.md)");
  }
  throw ConnectionError("cannot open turso database '" + path + "': " + detail +
                        " (does the directory exist and is it writable?)");
}

}  // namespace pgqrs::turso
