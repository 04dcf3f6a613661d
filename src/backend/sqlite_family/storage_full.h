// The message of a StorageFullError raised by a SQLite-family driver or the S3 cache: which
// file is full, what happened to the operation, and what to do. Shared so every driver
// says the same thing (docs/reliability.md, "Out of space").
#pragma once

#include <string>

namespace pgqrs::sqlite_family {

// `what` names the store ("sqlite database '/var/db/q.sqlite'"); `path` is the file whose
// filesystem is full; `detail` is the engine's own text.
inline std::string storage_full_message(const std::string& what, const std::string& path,
                                        const std::string& detail) {
  return what + ": the disk is full (" + detail +
         "); the operation was rolled back and nothing of it was applied, earlier commits "
         "are intact. Free space on the filesystem holding '" +
         path + "' (or move the file to a larger one), then retry";
}

}  // namespace pgqrs::sqlite_family
