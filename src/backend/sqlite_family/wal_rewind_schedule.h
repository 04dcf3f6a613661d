#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace pgqrs::sqlite_family {

// When a committing connection tries to rewind the write-ahead log, and how long it waits
// for the readers on the log (decision G7). Shared by the SQLite and Turso drivers; a log
// size is in the driver's unit (SQLite: frames, Turso: bytes). One per connection.
//
// The first try comes once the log reaches `first_try` and waits up to kFirstWait. A try
// that times out means the readers hold the log right now (a long report, or a loaded
// machine where a reader loses the CPU inside its short transaction): the next try comes
// once the log has grown by another `growth` and waits twice as long, up to kMaxWait. So a
// long reader costs each writer at most one kMaxWait per `growth` of log, never a wait per
// commit. A log found shorter than `first_try` has been rewound (by any connection), and
// the schedule starts again.
class WalRewindSchedule {
 public:
  static constexpr std::chrono::milliseconds kFirstWait{20};
  static constexpr std::chrono::milliseconds kMaxWait{80};

  WalRewindSchedule(std::uint64_t first_try, std::uint64_t growth)
      : first_try_(first_try), growth_(growth), next_try_(first_try) {}

  // Whether a log of `size` is due a try now.
  bool due(std::uint64_t size) {
    if (size < first_try_) restart();
    return size >= next_try_;
  }

  // How long the due try may wait for the readers.
  std::chrono::milliseconds wait() const { return wait_; }

  // The try rewound the log.
  void rewound() { restart(); }

  // The try timed out on a log of `size`.
  void timed_out(std::uint64_t size) {
    next_try_ = size + growth_;
    wait_ = std::min(wait_ * 2, kMaxWait);
  }

 private:
  void restart() {
    next_try_ = first_try_;
    wait_ = kFirstWait;
  }

  std::uint64_t first_try_;
  std::uint64_t growth_;
  std::uint64_t next_try_;
  std::chrono::milliseconds wait_ = kFirstWait;
};

}  // namespace pgqrs::sqlite_family
