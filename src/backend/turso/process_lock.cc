#include "backend/turso/process_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pgqrs/error.h"

namespace pgqrs::turso {

ProcessLock::ProcessLock(const std::string& path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    throw ConnectionError("cannot open turso database '" + path + "': " + std::strerror(errno));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  const int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (err == EWOULDBLOCK) {
    throw ConnectionError("cannot open turso database '" + path +
                          "': it is open in another process. The Turso engine (0.8.3) does not "
                          "keep a file consistent across processes, so pgqrs allows one process "
                          "per Turso file (docs/turso.md); use threads of one process, or SQLite "
                          "or PostgreSQL for several processes");
  }
  throw ConnectionError("cannot lock turso database '" + path + "': " + std::strerror(err));
}

ProcessLock::~ProcessLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace pgqrs::turso
