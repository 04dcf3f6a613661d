// The change watcher's reads (change_watcher.h), for SqlFamilyBackend::subscribe.
//
// Contract: each read walks only what was written since the previous check, never the whole
// message table. The watcher runs one after (almost) every commit of every connection to the
// file, its own process's included, so a statement whose plan scans an index of the table
// costs a share of the CPU that grows with the table (measured before these statements
// existed: a quarter to a third of a draining process's CPU at 30,000–150,000 messages, on
// SQLite and Turso alike). Each statement is therefore written so that both engines' planners
// can only read it through the rowid (ORDER BY id), and their plans are tested
// (tests/unit/sqlite_family_watch_plan_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "backend/sqlite_family/session.h"
#include "pgqrs/clock.h"

namespace pgqrs::sqlite_family {

// ChangeWatcher::LastMessageId: the largest message id (0 when there is none).
std::int64_t last_message_id(Session& s);

// ChangeWatcher::QueueActivity: (queue name, largest id) of every queue with messages whose
// id > after, then (queue name, 0) of every queue with a live, unleased priority-0 message
// whose vt is in (since, until] (other priorities are found by polling).
std::vector<std::pair<std::string, std::int64_t>> queue_activity(Session& s, std::int64_t after,
                                                                 TimePoint since, TimePoint until);

// The statements that read messages by id, for the plan tests: ?1 is an id.
extern const char kLastMessageIdSql[];
extern const char kMessagesAfterSql[];

}  // namespace pgqrs::sqlite_family
