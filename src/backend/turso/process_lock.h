// One process per Turso database file (docs/turso.md "Processes", decision H24).
#pragma once

#include <string>

namespace pgqrs::turso {

// An exclusive flock(2) on the database file, held from open to close of the engine's
// database in this process. flock belongs to the open file description, so it is released
// when the process exits or is killed (no stale lock), and it is independent of the POSIX
// record lock the engine takes (which any close(2) of the file in the process would drop).
// Throws ConnectionError naming the file when another process holds it.
class ProcessLock {
 public:
  explicit ProcessLock(const std::string& path);
  ~ProcessLock();
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace pgqrs::turso
