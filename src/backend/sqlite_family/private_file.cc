#include "backend/sqlite_family/private_file.h"

#include <fcntl.h>
#include <unistd.h>

namespace pgqrs::sqlite_family {

void create_private_file(const std::string& path) {
  if (path.empty() || path == ":memory:") return;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) ::close(fd);
}

}  // namespace pgqrs::sqlite_family
