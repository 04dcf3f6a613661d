#include "backend/sqlite_family/change_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <filesystem>
#include <set>

namespace pgqrs::sqlite_family {

class ChangeWatcher::Handle final : public backend::Subscription {
 public:
  Handle(ChangeWatcher& watcher, std::uint64_t token) : watcher_(watcher), token_(token) {}
  ~Handle() override { watcher_.remove(token_); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

 private:
  ChangeWatcher& watcher_;
  std::uint64_t token_;
};

namespace {

std::string directory_of(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

}  // namespace

ChangeWatcher::ChangeWatcher(std::string database_path, LastMessageId last_id,
                             QueueActivity activity)
    : dir_(directory_of(database_path)),
      file_name_(std::filesystem::path(database_path).filename().string()),
      wal_name_(file_name_ + "-wal"),
      last_id_(std::move(last_id)),
      activity_(std::move(activity)) {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return;
  // The directory, not the files: the -wal file comes and goes (deleted when the last
  // connection closes, created by the next writer).
  if (::inotify_add_watch(inotify_fd_, dir_.c_str(), IN_MODIFY) < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    return;
  }
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    return;
  }
  thread_ = std::thread([this] { run(); });
}

ChangeWatcher::~ChangeWatcher() {
  stop_.store(true);
  if (stop_fd_ >= 0) {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

std::unique_ptr<backend::Subscription> ChangeWatcher::subscribe(std::string_view queue,
                                                                std::function<void()> on_activity) {
  if (inotify_fd_ < 0) return nullptr;
  std::lock_guard lock(mu_);
  const std::uint64_t token = next_token_++;
  subs_.emplace(token, Entry{std::string(queue), std::move(on_activity)});
  return std::make_unique<Handle>(*this, token);
}

void ChangeWatcher::remove(std::uint64_t token) {
  std::lock_guard lock(mu_);  // also waits for a callback in progress (dispatch holds mu_)
  subs_.erase(token);
}

bool ChangeWatcher::has_subscribers() {
  std::lock_guard lock(mu_);
  return !subs_.empty();
}

void ChangeWatcher::dispatch(const std::string& queue) {
  std::lock_guard lock(mu_);
  for (auto& [token, e] : subs_) {
    if (e.queue == queue) e.cb();
  }
}

void ChangeWatcher::dispatch_all() {
  std::lock_guard lock(mu_);
  for (auto& [token, e] : subs_) e.cb();
}

bool ChangeWatcher::wait(int fd, int ms) {
  std::array<pollfd, 2> fds{{{stop_fd_, POLLIN, 0}, {fd, POLLIN, 0}}};
  const nfds_t n = fd >= 0 ? 2 : 1;
  int rc = 0;
  do {
    rc = ::poll(fds.data(), n, ms);
  } while (rc < 0 && errno == EINTR && !stop_.load());
  return !stop_.load();
}

bool ChangeWatcher::drain_events() {
  // Aligned as inotify_event requires; room for many events per read.
  alignas(inotify_event) std::array<char, 16 * (sizeof(inotify_event) + NAME_MAX + 1)> buf{};
  bool relevant = false;
  for (;;) {
    const ssize_t len = ::read(inotify_fd_, buf.data(), buf.size());
    if (len <= 0) return relevant;  // EAGAIN: drained (errors: nothing more to read either)
    for (ssize_t off = 0; off < len;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      if ((ev->mask & IN_Q_OVERFLOW) != 0) relevant = true;  // events were lost: check
      if (ev->len > 0) {
        const std::string_view name(ev->name);  // NUL-padded
        if (name == file_name_ || name == wal_name_) relevant = true;
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
}

void ChangeWatcher::check() {
  if (!has_subscribers()) {
    // Nobody to wake: remember where the messages are now, so the next subscriber's first
    // check does not walk everything enqueued meanwhile.
    try {
      seen_id_ = last_id_();
    } catch (const std::exception&) {
      seen_id_ = -1;
    }
    return;
  }
  try {
    if (seen_id_ < 0) {
      seen_id_ = last_id_();
      checked_at_ = std::chrono::system_clock::now();
      dispatch_all();  // we cannot tell what changed before: wake everyone once
      return;
    }
    // Wall time: writers stamp vt with their clock (the system clock outside tests; under a
    // test's manual clock this finds nothing and pollers simply poll).
    const TimePoint now = std::chrono::system_clock::now();
    const TimePoint since = checked_at_ - kVisibleLag;
    checked_at_ = now;
    std::set<std::string> woken;
    for (auto& [queue, max_id] : activity_(seen_id_, since, now)) {
      if (max_id > seen_id_) seen_id_ = max_id;
      if (woken.insert(queue).second) dispatch(queue);
    }
  } catch (const std::exception&) {
    // E.g. the schema is not installed yet, or the database is busy for longer than the
    // operation timeout: waking every poller is always safe (they simply dequeue).
    seen_id_ = -1;
    dispatch_all();
  }
}

void ChangeWatcher::run() {
  check();  // the starting point
  while (wait(inotify_fd_, -1)) {
    if (!drain_events()) continue;
    // Let the writer finish publishing its commit, and take a burst of writes as one.
    if (!wait(-1, static_cast<int>(kSettle.count()))) return;
    drain_events();
    check();
  }
}

}  // namespace pgqrs::sqlite_family
