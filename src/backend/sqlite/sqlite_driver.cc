#include "backend/sqlite/sqlite_driver.h"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "backend/sqlite_family/private_file.h"
#include "backend/sqlite_family/storage_full.h"
#include "backend/sqlite_family/wal_rewind_schedule.h"
#include "pgqrs/error.h"

namespace pgqrs::sqlite {
namespace {

using sqlite_family::BusyError;
using sqlite_family::storage_full_message;

struct DbCloser {
  // close_v2: if a statement were still alive the handle becomes a zombie that is freed
  // with its last statement, instead of leaking. Statements are finalized first anyway.
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr std::size_t kMaxSqlInMessage = 160;

std::string sql_excerpt(std::string_view sql) {
  if (sql.size() <= kMaxSqlInMessage) return std::string(sql);
  return std::string(sql.substr(0, kMaxSqlInMessage)) + "...";
}

// Throws the pgqrs error for result code `rc`. `db` may be null (open failed without a
// handle). `sql` is the statement involved, if any (internal SQL only: user values are
// always bound, never part of it).
[[noreturn]] void throw_sqlite_error(sqlite3* db, int rc, const std::string& path,
                                     std::string_view sql) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const std::string where = sql.empty() ? std::string() : " (in: " + sql_excerpt(sql) + ")";
  // ENOSPC / EDQUOT can also surface as an I/O error (e.g. growing the -shm or -wal file).
  const int sys_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  if ((rc & 0xff) == SQLITE_FULL ||
      ((rc & 0xff) == SQLITE_IOERR && (sys_errno == ENOSPC || sys_errno == EDQUOT))) {
    throw StorageFullError(storage_full_message("sqlite database '" + path + "'", path, detail));
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw BusyError("sqlite database '" + path + "' is locked: " + detail);
    case SQLITE_NOTADB:
      throw ConnectionError(path + " is not a SQLite database (" + detail + ")");
    case SQLITE_CANTOPEN:
      throw ConnectionError("cannot open SQLite database '" + path + "': " + detail +
                            " (does the directory exist and is it writable?)");
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
    case SQLITE_PROTOCOL:
      throw ConnectionError("sqlite database '" + path + "': " + detail + where);
    default:
      throw InternalError("sqlite error " + std::to_string(rc) + ": " + detail + where);
  }
}

class SqliteStatement final : public sqlite_family::Statement {
 public:
  SqliteStatement(StmtPtr stmt, std::string path)
      : stmt_(std::move(stmt)), path_(std::move(path)) {}

  void bind_int64(int index, std::int64_t value) override {
    check(sqlite3_bind_int64(stmt_.get(), index, value));
  }
  void bind_double(int index, double value) override {
    check(sqlite3_bind_double(stmt_.get(), index, value));
  }
  void bind_text(int index, std::string_view value) override {
    // A null data pointer would bind SQL NULL; an empty string must stay an empty string.
    const char* data = value.data() != nullptr ? value.data() : "";
    if (value.size() > static_cast<std::size_t>(INT_MAX)) {
      throw InternalError("sqlite: text parameter too large to bind");
    }
    check(sqlite3_bind_text(stmt_.get(), index, data, static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
  }
  void bind_null(int index) override { check(sqlite3_bind_null(stmt_.get(), index)); }

  bool step() override {
    const int rc = sqlite3_step(stmt_.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite_error(sqlite3_db_handle(stmt_.get()), rc, path_, sqlite3_sql(stmt_.get()));
  }

  bool column_is_null(int index) override {
    return sqlite3_column_type(stmt_.get(), index) == SQLITE_NULL;
  }
  std::int64_t column_int64(int index) override { return sqlite3_column_int64(stmt_.get(), index); }
  double column_double(int index) override { return sqlite3_column_double(stmt_.get(), index); }
  std::string column_text(int index) override {
    // text before bytes: the documented order that yields the UTF-8 length.
    const unsigned char* text = sqlite3_column_text(stmt_.get(), index);
    const int size = sqlite3_column_bytes(stmt_.get(), index);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
  }

  void reset() override {
    // The result of reset repeats the last step's error, which was already reported.
    sqlite3_reset(stmt_.get());
    sqlite3_clear_bindings(stmt_.get());
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) {
      throw_sqlite_error(sqlite3_db_handle(stmt_.get()), rc, path_, sqlite3_sql(stmt_.get()));
    }
  }

  StmtPtr stmt_;
  std::string path_;
};

struct WalBound;

class SqliteConnection final : public sqlite_family::Connection {
 public:
  SqliteConnection(DbPtr db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  // State of the WAL hook (bound_wal below); owned here so it lives as long as the handle.
  void set_wal_bound(std::shared_ptr<WalBound> bound) { wal_bound_ = std::move(bound); }

  std::unique_ptr<sqlite_family::Statement> prepare(std::string_view sql) override {
    if (sql.size() > static_cast<std::size_t>(INT_MAX)) {
      throw InternalError("sqlite: statement too long");
    }
    sqlite3_stmt* raw = nullptr;
    // PERSISTENT: statements are cached by the family layer for the connection's lifetime.
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) throw_sqlite_error(db_.get(), rc, path_, sql);
    if (!stmt) throw InternalError("sqlite: empty statement: " + sql_excerpt(sql));
    return std::make_unique<SqliteStatement>(std::move(stmt), path_);
  }

  void exec(std::string_view sql) override {
    const std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
    const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw_sqlite_error(db_.get(), rc, path_, sql);
  }

  std::int64_t changes() override { return sqlite3_changes64(db_.get()); }

 private:
  std::shared_ptr<WalBound> wal_bound_;  // declared first: outlives db_, whose hook uses it
  DbPtr db_;
  std::string path_;
};

// Bounding the write-ahead log (decision G7). SQLite rewinds the WAL to its start only when
// a write begins while every page of the log is in the database and no reader is on the
// log; readers that never pause (the change watcher after every commit, dashboards, other
// processes polling) starve that rewind and the file grows without bound, though passive
// checkpoints keep copying it into the database (measured: 252 MiB for 40,000 messages
// with one reader looping). So past kWalRewindFrames the committing connection tries to
// rewind it (rewind_log), waiting for the readers as long as its WalRewindSchedule allows
// (20 ms, longer after a try that timed out; a new try only once the log has grown by
// another kWalAutoCheckpointFrames). journal_size_limit then cuts the file back.
constexpr int kWalAutoCheckpointFrames = 1000;  // SQLite's default autocheckpoint
constexpr int kWalRewindFrames = 4000;          // ~16 MiB of 4 KiB pages
constexpr auto kWalRewindPoll = std::chrono::microseconds(100);
constexpr char kWalSizeLimit[] = "PRAGMA journal_size_limit = 33554432";  // 32 MiB
constexpr char kPageCache[] = "PRAGMA cache_size = -128";                 // KiB per connection

using Deadline = std::chrono::steady_clock::time_point;

// Per connection: its busy timeout (restored after rewind_log's own busy handler), and when
// it tries to rewind the log next.
struct WalBound {
  int busy_ms = 0;
  sqlite_family::WalRewindSchedule schedule{kWalRewindFrames, kWalAutoCheckpointFrames};
};

// A busy handler that retries every kWalRewindPoll until the Deadline it is given.
int retry_until(void* deadline, int /*count*/) {
  if (std::chrono::steady_clock::now() >= *static_cast<const Deadline*>(deadline)) return 0;
  std::this_thread::sleep_for(kWalRewindPoll);
  return 1;
}

// Makes the next write rewind the log: true if it did so before `deadline`. A RESTART
// checkpoint alone starves behind a reader looping on short transactions: while pages are
// left to copy, it waits for each reader's lock to come free, and the reader takes it
// again microseconds after releasing it. So passive checkpoints copy the log first (each
// copies up to the oldest reader's snapshot; a reader's next transaction sees the newest);
// once all of it is copied, readers starting a transaction no longer use the log, and
// RESTART only waits for the ones already on it.
bool rewind_log(sqlite3* db, const char* schema, int busy_ms, Deadline deadline) {
  for (;;) {
    int log_frames = 0;
    int copied_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                             &copied_frames);
    if (rc == SQLITE_OK && copied_frames == log_frames) break;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kWalRewindPoll);
  }
  sqlite3_busy_handler(db, retry_until, &deadline);
  const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  sqlite3_busy_timeout(db, busy_ms);
  return rc == SQLITE_OK;
}

// The WAL hook replaces SQLite's autocheckpoint hook, so it does that job too. Runs after
// a commit, with the write lock released.
int bound_wal(void* state, sqlite3* db, const char* schema, int frames) {
  auto* bound = static_cast<WalBound*>(state);
  auto& schedule = bound->schedule;
  const auto log = static_cast<std::uint64_t>(frames);
  if (schedule.due(log)) {
    const auto deadline = std::chrono::steady_clock::now() + schedule.wait();
    if (rewind_log(db, schema, bound->busy_ms, deadline)) {
      schedule.rewound();
    } else {
      schedule.timed_out(log);
    }
    return SQLITE_OK;  // rewind_log has just run the passive checkpoints
  }
  if (frames >= kWalAutoCheckpointFrames) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  return SQLITE_OK;  // a failed checkpoint never fails the commit that triggered it
}

}  // namespace

SqliteDriver::SqliteDriver(SqliteOptions options) : options_(std::move(options)) {}

std::unique_ptr<sqlite_family::Connection> SqliteDriver::open() {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  sqlite_family::create_private_file(options_.path);  // 0600, and so are -wal and -shm
  const int rc = sqlite3_open_v2(options_.path.c_str(), &raw, flags, nullptr);
  DbPtr db(raw);  // owned even on failure: sqlite3_open_v2 allocates a handle regardless
  if (rc != SQLITE_OK) throw_sqlite_error(db.get(), rc, options_.path, {});
  sqlite3_extended_result_codes(db.get(), 1);

  const auto busy_ms = options_.busy_timeout.count();
  const int busy = busy_ms > INT_MAX ? INT_MAX : static_cast<int>(busy_ms);
  sqlite3_busy_timeout(db.get(), busy);
  sqlite3* handle = db.get();

  auto conn = std::make_unique<SqliteConnection>(std::move(db), options_.path);
  // Reading the schema reads the file header: a file that is not a database fails here
  // (SQLITE_NOTADB), not on the first queue operation.
  {
    auto probe = conn->prepare("SELECT count(*) FROM sqlite_master");
    probe->step();
  }
  conn->exec("PRAGMA foreign_keys = ON");
  // Savepoint journals (group commit runs each request in a savepoint, decision G6) and
  // sorts stay in memory: with temp files, every page a grouped request changed was copied
  // to a file by its own write() call (6x the write calls of the whole transaction).
  conn->exec("PRAGMA temp_store = MEMORY");
  // A small page cache per connection (decision G7): the hot pages of a queue (its head and
  // tail, the indexes' upper levels) fit, and the rest comes from the OS page cache. The
  // 2 MiB default only made memory grow as a long drain warmed it (+1-2 MiB between 10k and
  // 200k messages), with no gain: queue.drain measured as fast or faster at 128 KiB.
  conn->exec(kPageCache);
  if (options_.use_wal) {
    // Persistent for the file; a no-op when it is already WAL. ":memory:" answers "memory".
    auto wal = conn->prepare("PRAGMA journal_mode = WAL");
    while (wal->step()) {
    }
    // Durable across application crashes; an OS crash may lose the last commits (the
    // documented WAL trade-off), never corrupt the database.
    conn->exec("PRAGMA synchronous = NORMAL");
    conn->exec(kWalSizeLimit);
    auto bound = std::make_shared<WalBound>();
    bound->busy_ms = busy;
    sqlite3_wal_hook(handle, &bound_wal, bound.get());
    conn->set_wal_bound(std::move(bound));
  }
  return conn;
}

}  // namespace pgqrs::sqlite
