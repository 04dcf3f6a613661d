// Database files readable only by their owner, whatever the process umask.
#pragma once

#include <string>

namespace pgqrs::sqlite_family {

// Creates `path` empty with mode 0600 when it does not exist yet, so that the database
// file, and the -wal / -shm / journal files SQLite and Turso create beside it with the
// database file's mode, are private to the user. An existing file keeps the mode its owner
// gave it. Failures (a missing directory, no permission) are left to the driver's open,
// which reports them with its usual error.
void create_private_file(const std::string& path);

}  // namespace pgqrs::sqlite_family
