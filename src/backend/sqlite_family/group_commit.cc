#include "backend/sqlite_family/group_commit.h"

#include <algorithm>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

void GroupCommit::submit(Request& request, const std::function<void(Request&)>& lead) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&request);
    request.wake.wait(lock,
                      [&] { return request.done || (!leading_ && queue_.front() == &request); });
    if (request.done) {
      if (request.error) std::rethrow_exception(request.error);
      return;
    }
    leading_ = true;
  }
  lead(request);
  std::lock_guard<std::mutex> lock(mu_);
  if (!request.done) {  // `lead` broke its contract: fail this request rather than wedge
    request.error = std::make_exception_ptr(
        InternalError("group commit: the leader returned without completing its write"));
    request.done = true;
    queue_.erase(std::find(queue_.begin(), queue_.end(), &request));
  }
  leading_ = false;
  if (!queue_.empty()) queue_.front()->wake.notify_one();  // the next leader
  if (request.error) std::rethrow_exception(request.error);
}

std::vector<GroupCommit::Request*> GroupCommit::take(std::size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = std::min(max, queue_.size());
  return {queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n)};
}

GroupCommit::Request* GroupCommit::front() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty() ? nullptr : queue_.front();
}

void GroupCommit::complete(const std::vector<Request*>& batch, std::exception_ptr group_error,
                           bool committed) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Request* r : batch) {
    if (group_error) r->error = group_error;
    r->done = true;
    queue_.erase(std::find(queue_.begin(), queue_.end(), r));
    r->wake.notify_one();
  }
  if (committed) {
    ++stats_.groups;
    stats_.requests += batch.size();
    stats_.largest = std::max<std::uint64_t>(stats_.largest, batch.size());
  }
}

std::size_t GroupCommit::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

GroupCommit::Stats GroupCommit::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace pgqrs::sqlite_family
