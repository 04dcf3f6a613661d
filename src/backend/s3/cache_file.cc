#include "backend/s3/cache_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "backend/sqlite_family/storage_full.h"
#include "pgqrs/error.h"

namespace pgqrs::s3 {
namespace fs = std::filesystem;
namespace {

// One file name for an object key: unreserved characters kept, everything else %XX.
std::string file_name_for(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (keep) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  if (out.starts_with(".")) out = "%2E" + out.substr(1);  // never "." / ".." / hidden
  return out;
}

std::uint32_t counter_of(const std::string& header) {
  if (header.size() < 28) return 0;
  auto b = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(header[i]));
  };
  return (b(24) << 24) | (b(25) << 16) | (b(26) << 8) | b(27);
}

void write_file_atomically(const fs::path& path, const std::string& bytes) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw ConnectionError("s3 cache: cannot write " + tmp.string());
  // A failed write leaves `path` untouched: only the temporary file is written (and removed).
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    const std::string detail = std::string(what) + ": " + std::strerror(err);
    if (err == ENOSPC || err == EDQUOT) {
      throw StorageFullError(sqlite_family::storage_full_message(
          "s3 cache: cannot write " + path.string(), tmp.string(), detail));
    }
    throw ConnectionError("s3 cache: " + std::string(what) + " to " + tmp.string() +
                          " failed: " + std::strerror(err));
  };
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;  // a zero-byte write of a non-empty buffer: no room
      fail("write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("fsync");
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw ConnectionError("s3 cache: cannot replace " + path.string() + ": " + ec.message());
}

}  // namespace

fs::path default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    return fs::path(x) / "pgqrs" / "s3";
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return fs::path(h) / ".cache" / "pgqrs" / "s3";
  }
  return fs::temp_directory_path() / ("pgqrs-s3-" + std::to_string(::getuid()));
}

namespace {

// Creates the missing directories of `dir` with mode 0700 (the cache holds copies of the
// user's databases); directories that already exist keep their mode.
void create_private_directories(const fs::path& dir, std::error_code& ec) {
  fs::path partial;
  for (const fs::path& part : dir) {
    partial /= part;
    if (fs::is_directory(partial, ec)) continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      ec = std::error_code(errno, std::generic_category());
      return;
    }
  }
  ec.clear();
}

}  // namespace

CacheFile::CacheFile(const fs::path& cache_dir, const std::string& bucket, const std::string& key)
    : dir_(cache_dir / bucket), db_(dir_ / file_name_for(key)) {
  std::error_code ec;
  create_private_directories(dir_, ec);
  if (ec) {
    throw ConnectionError("s3 cache: cannot create the cache directory " + dir_.string() + ": " +
                          ec.message() + " (set s3.cache_dir / PGQRS_S3_CACHE_DIR)");
  }
}

CacheFile::~CacheFile() {
  if (private_) {
    remove();
    remove_base();
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

void CacheFile::lock() {
  const fs::path lock_path = db_.string() + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw ConnectionError("s3 cache: cannot open " + lock_path.string());
  // flock locks belong to the open file description: a second store in this process is
  // refused like another process.
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0) return;
  ::close(lock_fd_);
  lock_fd_ = -1;
  std::random_device rd;
  db_ = db_.string() + "." + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  private_ = true;
  remove();
  remove_base();
}

bool CacheFile::exists() const {
  std::error_code ec;
  return fs::exists(db_, ec);
}

std::uint64_t CacheFile::size() const {
  std::error_code ec;
  auto n = fs::file_size(db_, ec);
  return ec ? 0 : n;
}

std::uint32_t CacheFile::change_counter() const {
  std::ifstream in(db_, std::ios::binary);
  if (!in) return 0;
  std::string header(28, '\0');
  in.read(header.data(), 28);
  header.resize(static_cast<std::size_t>(in.gcount()));
  return counter_of(header);
}

std::string CacheFile::read() const {
  std::ifstream in(db_, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return std::move(ss).str();
}

void CacheFile::replace(const std::string& bytes) {
  remove();
  write_file_atomically(db_, bytes);
}

void CacheFile::remove() {
  std::error_code ec;
  for (const char* suffix : {"-journal", "-wal", "-shm", ""}) fs::remove(db_.string() + suffix, ec);
}

std::optional<Base> CacheFile::read_base() const {
  std::ifstream in(db_.string() + ".sync");
  if (!in) return std::nullopt;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    Base b;
    b.etag = j.at("etag").get<std::string>();
    b.change_counter = j.at("change_counter").get<std::uint32_t>();
    b.size = j.at("size").get<std::uint64_t>();
    return b;
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable: treated as "never synced"
  }
}

void CacheFile::write_base(const Base& base) {
  nlohmann::json j = {
      {"etag", base.etag}, {"change_counter", base.change_counter}, {"size", base.size}};
  write_file_atomically(db_.string() + ".sync", j.dump());
}

void CacheFile::remove_base() {
  std::error_code ec;
  fs::remove(db_.string() + ".sync", ec);
}

Base CacheFile::base_of(const std::string& bytes, std::string etag) {
  return Base{std::move(etag), counter_of(bytes), bytes.size()};
}

}  // namespace pgqrs::s3
