#include "backend/turso/turso_driver.h"

#include <charconv>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "backend/sqlite_family/private_file.h"
#include "backend/sqlite_family/wal_rewind_schedule.h"
#include "backend/turso/busy_wait.h"
#include "backend/turso/process_lock.h"
#include "backend/turso/turso_abi.h"
#include "backend/turso/turso_status.h"
#include "pgqrs/error.h"

namespace pgqrs::turso {

// Owns one opened turso_database_t and the process lock on its file. Shared (shared_ptr) by
// every driver of that file in this process and every connection, so that the database is
// closed, and the file unlocked, only after its last connection.
class Database {
 public:
  Database(const turso_database_t* db, std::unique_ptr<ProcessLock> lock)
      : lock_(std::move(lock)), db_(db) {}
  ~Database() { turso_database_deinit(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  const turso_database_t* get() const { return db_; }

 private:
  std::unique_ptr<ProcessLock> lock_;  // released after the engine closed the file
  const turso_database_t* db_;
};

namespace {

namespace fs = std::filesystem;

// State a connection shares with its statements: the handle (for messages) and the row
// count of the last completed statement (the C ABI reports changes per statement only).
struct ConnectionState {
  std::string path;
  std::int64_t last_changes = 0;
  std::chrono::milliseconds busy_timeout{0};  // how long a statement waits for a lock (BusyWait)
};

struct StatementDeleter {
  // deinit drops the statement; an unfinished one is abandoned (its effects are bounded by
  // the enclosing transaction, which the family layer always ends).
  void operator()(turso_statement_t* stmt) const noexcept { turso_statement_deinit(stmt); }
};
using StatementPtr = std::unique_ptr<turso_statement_t, StatementDeleter>;

struct ConnectionDeleter {
  void operator()(turso_connection_t* conn) const noexcept {
    turso_connection_close(conn, nullptr);
    turso_connection_deinit(conn);
  }
};
using ConnectionPtr = std::unique_ptr<turso_connection_t, ConnectionDeleter>;

// Text form of a REAL, as SQLite would print it (15 significant digits, round-trippable
// where possible: the shortest representation).
std::string real_to_text(double value) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

class TursoStatement final : public sqlite_family::Statement {
 public:
  TursoStatement(StatementPtr stmt, ConnectionState& conn, std::string sql)
      : stmt_(std::move(stmt)), conn_(conn), sql_(std::move(sql)) {}

  void bind_int64(int index, std::int64_t value) override {
    check_bind(turso_statement_bind_positional_int(stmt_.get(), position(index), value));
  }
  void bind_double(int index, double value) override {
    check_bind(turso_statement_bind_positional_double(stmt_.get(), position(index), value));
  }
  void bind_text(int index, std::string_view value) override {
    // Turso copies the text; a null pointer with length 0 must still be an empty string.
    const char* data = value.data() != nullptr ? value.data() : "";
    check_bind(
        turso_statement_bind_positional_text(stmt_.get(), position(index), data, value.size()));
  }
  void bind_null(int index) override {
    check_bind(turso_statement_bind_positional_null(stmt_.get(), position(index)));
  }

  bool step() override {
    BusyWait busy(conn_.busy_timeout);
    for (;;) {
      ErrorText error;
      const turso_status_code_t rc = turso_statement_step(stmt_.get(), error.out());
      if (rc == TURSO_ROW) return true;
      if (rc == TURSO_DONE) {
        conn_.last_changes = turso_statement_n_change(stmt_.get());
        return false;
      }
      if (rc == TURSO_IO) {
        // Only with async_io, which this driver never enables; drive the I/O anyway.
        ErrorText io_error;
        const turso_status_code_t io_rc = turso_statement_run_io(stmt_.get(), io_error.out());
        if (!is_success(io_rc)) {
          throw_turso_error(io_rc, io_error.text("I/O failed"), conn_.path, sql_);
        }
        continue;
      }
      if (rc == TURSO_BUSY && busy.again()) continue;
      throw_turso_error(rc, error.text("step failed"), conn_.path, sql_);
    }
  }

  bool column_is_null(int index) override { return kind(index) == TURSO_TYPE_NULL; }

  std::int64_t column_int64(int index) override {
    switch (kind(index)) {
      case TURSO_TYPE_INTEGER:
        return turso_statement_row_value_int(stmt_.get(), column(index));
      case TURSO_TYPE_REAL:
        return static_cast<std::int64_t>(
            turso_statement_row_value_double(stmt_.get(), column(index)));
      case TURSO_TYPE_TEXT:
        return std::strtoll(column_text(index).c_str(), nullptr, 10);
      default:
        return 0;
    }
  }

  double column_double(int index) override {
    switch (kind(index)) {
      case TURSO_TYPE_REAL:
        return turso_statement_row_value_double(stmt_.get(), column(index));
      case TURSO_TYPE_INTEGER:
        return static_cast<double>(turso_statement_row_value_int(stmt_.get(), column(index)));
      case TURSO_TYPE_TEXT:
        return std::strtod(column_text(index).c_str(), nullptr);
      default:
        return 0.0;
    }
  }

  std::string column_text(int index) override {
    switch (kind(index)) {
      case TURSO_TYPE_TEXT:
      case TURSO_TYPE_BLOB: {
        const char* data = turso_statement_row_value_bytes_ptr(stmt_.get(), column(index));
        const std::int64_t size = turso_statement_row_value_bytes_count(stmt_.get(), column(index));
        if (data == nullptr || size <= 0) return {};
        return std::string(data, static_cast<std::size_t>(size));
      }
      case TURSO_TYPE_INTEGER:
        return std::to_string(turso_statement_row_value_int(stmt_.get(), column(index)));
      case TURSO_TYPE_REAL:
        return real_to_text(turso_statement_row_value_double(stmt_.get(), column(index)));
      default:
        return {};
    }
  }

  void reset() override {
    // Also clears the bindings. A failure here repeats the last step's error, which was
    // already reported; the statement is reusable either way.
    turso_statement_reset(stmt_.get(), nullptr);
  }

 private:
  static std::size_t position(int index) {
    if (index < 1) throw InternalError("turso: parameter indexes are 1-based");
    return static_cast<std::size_t>(index);
  }
  static std::size_t column(int index) {
    if (index < 0) throw InternalError("turso: column indexes are 0-based");
    return static_cast<std::size_t>(index);
  }
  turso_type_t kind(int index) {
    return turso_statement_row_value_kind(stmt_.get(), column(index));
  }

  void check_bind(turso_status_code_t rc) {
    // The bind functions report no message; the status code and the statement say enough.
    if (rc != TURSO_OK) throw_turso_error(rc, "bind failed", conn_.path, sql_);
  }

  StatementPtr stmt_;
  ConnectionState& conn_;
  std::string sql_;  // for error messages
};

class TursoConnection final : public sqlite_family::Connection {
 public:
  TursoConnection(std::shared_ptr<Database> db, ConnectionPtr conn, std::string path,
                  std::chrono::milliseconds busy_timeout)
      : db_(std::move(db)), conn_(std::move(conn)) {
    state_.path = std::move(path);
    state_.busy_timeout = busy_timeout;
  }

  std::unique_ptr<sqlite_family::Statement> prepare(std::string_view sql) override {
    std::string text(sql);  // the C ABI takes NUL-terminated SQL
    turso_statement_t* raw = nullptr;
    ErrorText error;
    const turso_status_code_t rc =
        turso_connection_prepare_single(conn_.get(), text.c_str(), &raw, error.out());
    StatementPtr stmt(raw);
    if (rc != TURSO_OK) throw_turso_error(rc, error.text("prepare failed"), state_.path, sql);
    if (!stmt) throw InternalError("turso: empty statement: " + text);
    return std::make_unique<TursoStatement>(std::move(stmt), state_, std::move(text));
  }

  void exec(std::string_view sql) override {
    const std::string text(sql);
    std::size_t offset = 0;
    while (offset < text.size()) {
      turso_statement_t* raw = nullptr;
      std::size_t tail = 0;
      ErrorText error;
      const turso_status_code_t rc = turso_connection_prepare_first(
          conn_.get(), text.c_str() + offset, &raw, &tail, error.out());
      StatementPtr stmt(raw);
      if (rc != TURSO_OK) {
        throw_turso_error(rc, error.text("prepare failed"), state_.path, sql.substr(offset));
      }
      if (!stmt) return;  // only whitespace and comments were left
      std::uint64_t changed = 0;
      ErrorText exec_error;
      BusyWait busy(state_.busy_timeout);
      turso_status_code_t exec_rc = TURSO_OK;
      do {
        exec_rc = turso_statement_execute(stmt.get(), &changed, exec_error.out());
      } while (exec_rc == TURSO_BUSY && busy.again());
      if (!is_success(exec_rc)) {
        throw_turso_error(exec_rc, exec_error.text("execute failed"), state_.path,
                          sql.substr(offset, tail));
      }
      state_.last_changes = static_cast<std::int64_t>(changed);
      if (tail == 0) return;  // defensive: no progress
      offset += tail;
    }
  }

  std::int64_t changes() override { return state_.last_changes; }

  // Bounds the write-ahead log (decision G7). The engine checkpoints passively after
  // commits but, like SQLite, rewinds the log only when no reader is on it, which steady
  // traffic never allows: a drain of 200,000 messages left a 327 MB WAL, and the engine's
  // in-memory frame index grew with it (+3-6 MiB of resident memory). So after a commit
  // that leaves the WAL file past kWalRewindBytes, this connection runs one TRUNCATE
  // checkpoint (every frame copied, the log emptied), which the engine refuses at once
  // while another connection reads. Against a reader looping on short transactions about
  // one such try in 100 succeeds: enough on an idle machine, not on a loaded one (the WAL
  // reached 44-51 MiB with three busy loops on two cores, a CI failure). So past
  // kWalWaitBytes a commit also waits for a gap between the readers' transactions, as long
  // as rewind_schedule_ allows, retrying every kWalWaitPoll.
  void after_commit() noexcept override {
    std::error_code ec;
    const auto size = fs::file_size(state_.path + "-wal", ec);
    if (ec) return;
    if (rewind_schedule_.due(size)) {
      const auto deadline = std::chrono::steady_clock::now() + rewind_schedule_.wait();
      while (!truncate_log()) {
        if (std::chrono::steady_clock::now() >= deadline) {
          rewind_schedule_.timed_out(size);
          return;
        }
        std::this_thread::sleep_for(kWalWaitPoll);
      }
      rewind_schedule_.rewound();
    } else if (size >= kWalRewindBytes) {
      truncate_log();
    }
  }

 private:
  static constexpr std::uintmax_t kWalRewindBytes = std::uintmax_t{16} << 20;
  static constexpr std::uintmax_t kWalWaitBytes = std::uintmax_t{24} << 20;
  static constexpr std::uintmax_t kWalWaitGrowthBytes = std::uintmax_t{4} << 20;
  static constexpr auto kWalWaitPoll = std::chrono::microseconds(100);

  // One TRUNCATE checkpoint: true if it emptied the log, false if a reader kept it busy
  // (the pragma's first column) or it failed (a failed checkpoint never fails a commit).
  bool truncate_log() noexcept {
    try {
      auto checkpoint = prepare("PRAGMA wal_checkpoint(TRUNCATE)");
      return !checkpoint->step() || checkpoint->column_int64(0) == 0;
    } catch (...) {
      return false;
    }
  }

  std::shared_ptr<Database> db_;  // outlives conn_ (declared first)
  ConnectionPtr conn_;
  ConnectionState state_;
  sqlite_family::WalRewindSchedule rewind_schedule_{kWalWaitBytes, kWalWaitGrowthBytes};
};

// Checks what the engine would report less clearly: the directory must exist and the path
// must not be a directory. Read-only files and locations are left to the engine (it knows
// the effective permissions); its failure is mapped by throw_open_error().
void check_path(const std::string& path) {
  if (path.empty()) throw ConfigError("turso: the database path is empty");
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) {
    throw ConnectionError("cannot open turso database '" + path + "': it is a directory");
  }
  const fs::path dir = p.parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec)) {
    throw ConnectionError("cannot open turso database '" + path + "': the directory '" +
                          dir.string() + "' does not exist");
  }
}

std::shared_ptr<Database> open_engine_database(const TursoOptions& options) {
  check_path(options.path);
  // 0600 for the database and the WAL the engine keeps beside it: unlike SQLite, Turso
  // creates its -wal file with the default mode, so it is created empty here first (an
  // empty WAL is a WAL with no frames).
  for (const char* suffix : {"", "-wal"}) {
    sqlite_family::create_private_file(options.path + suffix);
  }
  // One process per file (H24): refused before the engine reads anything.
  auto lock = std::make_unique<ProcessLock>(options.path);
  turso_database_config_t config{};
  config.async_io = 0;  // Turso drives its own I/O inside each call
  config.path = options.path.c_str();
  config.experimental_features =
      options.experimental_features.empty() ? nullptr : options.experimental_features.c_str();
  config.open_flags = TURSO_DATABASE_OPEN_DEFAULT;

  const turso_database_t* raw = nullptr;
  ErrorText error;
  turso_status_code_t rc = turso_database_new(&config, &raw, error.out());
  if (rc != TURSO_OK) throw_open_error(rc, error.text("cannot create the database"), options.path);
  auto db = std::make_shared<Database>(raw, std::move(lock));
  rc = turso_database_open(db->get(), error.out());
  if (rc != TURSO_OK) throw_open_error(rc, error.text("cannot open the database"), options.path);
  return db;
}

// Every driver of one file in this process shares one engine database: two engine
// databases of one file in one process would not coordinate (the engine's own file lock is
// a POSIX record lock, which does not exclude the process that holds it). Keyed by the
// canonical path; the entry dies with the last connection.
std::shared_ptr<Database> open_database(const TursoOptions& options) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Database>> open;
  std::error_code ec;
  std::string key = fs::weakly_canonical(fs::absolute(options.path, ec), ec).string();
  if (ec || key.empty()) key = options.path;
  const std::lock_guard<std::mutex> guard(mutex);
  if (auto db = open[key].lock()) return db;
  auto db = open_engine_database(options);
  open[key] = db;
  return db;
}

}  // namespace

TursoDriver::TursoDriver(TursoOptions options)
    : options_(std::move(options)), db_(open_database(options_)) {}

TursoDriver::~TursoDriver() = default;

std::unique_ptr<sqlite_family::Connection> TursoDriver::open() {
  turso_connection_t* raw = nullptr;
  ErrorText error;
  const turso_status_code_t rc = turso_database_connect(db_->get(), &raw, error.out());
  ConnectionPtr handle(raw);
  if (rc != TURSO_OK) throw_open_error(rc, error.text("cannot connect"), options_.path);
  // The driver waits for locks itself (BusyWait): the engine reports them at once.
  turso_connection_set_busy_timeout_ms(handle.get(), 0);

  auto conn = std::make_unique<TursoConnection>(db_, std::move(handle), options_.path,
                                                options_.busy_timeout);
  // Reading the schema reads the file header: a file that is not a database fails here
  // (TURSO_NOTADB), not on the first queue operation.
  {
    auto probe = conn->prepare("SELECT count(*) FROM sqlite_schema");
    probe->step();
  }
  conn->exec("PRAGMA foreign_keys = ON");
  // As for SQLite in WAL mode (docs/sqlite.md): commits do not fsync, the WAL is synced at
  // checkpoints. Durable across application crashes (SIGKILL included); an OS crash or power
  // loss may lose the latest commits, never corrupt the file. Turso's default (FULL) fsyncs
  // every commit, which made a queue operation about 40 times slower here.
  conn->exec("PRAGMA synchronous = NORMAL");
  // BEGIN IMMEDIATE also opens Turso's temp database; with temp_store=FILE (the default)
  // that creates and removes a temp directory and file in every write transaction (about
  // 1-3 ms each here). pgqrs never uses temp tables, so keep the temp database in memory.
  conn->exec("PRAGMA temp_store = MEMORY");
  return conn;
}

std::string engine_version() { return turso_version(); }

}  // namespace pgqrs::turso
