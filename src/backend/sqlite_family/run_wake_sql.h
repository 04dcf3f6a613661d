// The SQLite family's run wake-up, shared by every operation that ends a run's wait (a send,
// a child's end, a cancel, a resume): ?1 the run's message, ?2 now. A live run message that
// is invisible and not leased is made visible now; a visible one keeps its vt (and so its
// place in line); a leased one is left to its holder. One text, so one cached statement.
#pragma once

namespace pgqrs::sqlite_family {

inline constexpr char kWakeRunMessage[] = R"sql(
UPDATE pgqrs_messages SET vt = ?2
WHERE id = ?1 AND archived_at IS NULL AND dead_at IS NULL AND vt > ?2
  AND consumer_worker_id IS NULL)sql";

}  // namespace pgqrs::sqlite_family
