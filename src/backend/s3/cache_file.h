// CacheFile: the local copy of one S3 object (a SQLite database file) and what the S3
// backend remembers about it (internal).
//
// On disk, for object s3://bucket/key in cache dir D:
//   D/<bucket>/<key, percent-encoded into one file name>          the SQLite database
//   ...same name + ".sync"   the base: ETag, SQLite file change counter and size of the
//                            version last downloaded or uploaded (JSON, written atomically)
//   ...same name + ".lock"   held (flock) by the process using the cache file
//
// "Dirty" (local changes not in the base) is decided from the SQLite header's file change
// counter (offset 24), which SQLite increments on every committed write in rollback-journal
// mode (the S3 backend opens its cache with journal_mode=DELETE), together with the size.
//
// Not thread-safe; the S3 backend serialises access (its swap lock).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace pgqrs::s3 {

struct Base {
  std::string etag;
  std::uint32_t change_counter = 0;
  std::uint64_t size = 0;
};

// The per-user default cache dir: $XDG_CACHE_HOME/pgqrs/s3, else $HOME/.cache/pgqrs/s3,
// else <temp dir>/pgqrs-s3-<uid>.
std::filesystem::path default_cache_dir();

class CacheFile {
 public:
  // Creates the directories. ConnectionError naming the path when that fails.
  CacheFile(const std::filesystem::path& cache_dir, const std::string& bucket,
            const std::string& key);
  ~CacheFile();
  CacheFile(const CacheFile&) = delete;
  CacheFile& operator=(const CacheFile&) = delete;

  // Takes the cache's lock. When another store holds it (in this process or another), this
  // one switches to a private file instead (name + "." + pid + random suffix, starting
  // empty, removed with its base on destruction): each store has its own working copy.
  void lock();

  const std::filesystem::path& db_path() const { return db_; }
  bool exists() const;
  std::uint64_t size() const;  // 0 when missing
  // The SQLite header's file change counter; 0 for a missing or empty file.
  std::uint32_t change_counter() const;
  bool matches(const Base& base) const {
    return change_counter() == base.change_counter && size() == base.size;
  }
  std::string read() const;
  // Replaces the database file atomically (temp file, fsync, rename) and removes any
  // -journal / -wal / -shm file of the previous one. The database must not be open.
  void replace(const std::string& bytes);
  void remove();  // the database and its journal files (not the base)

  std::optional<Base> read_base() const;
  void write_base(const Base& base);
  void remove_base();

  // Change counter and size that `bytes` will have on disk.
  static Base base_of(const std::string& bytes, std::string etag);

 private:
  std::filesystem::path dir_;
  std::filesystem::path db_;
  int lock_fd_ = -1;
  bool private_ = false;
};

}  // namespace pgqrs::s3
