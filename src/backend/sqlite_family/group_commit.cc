#include "backend/sqlite_family/group_commit.h"

#include <algorithm>

#include "pgqrs/error.h"

namespace pgqrs::sqlite_family {

void GroupCommit::submit(Request& request, const std::function<void(Request&)>& lead) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    queue_.push_back(&request);
    request.wake.wait(lock, [&] { return request.done || queue_.front() == &request; });
  }
  // Not done: this request is the front, so its thread leads the next group. Nobody else
  // can: only the front leads, and the front changes only in complete().
  if (!request.done) {
    lead(request);
    bool completed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      completed = request.done;
    }
    if (!completed) {  // `lead` broke its contract: fail this request rather than wedge the queue
      complete({&request},
               std::make_exception_ptr(
                   InternalError("group commit: the leader returned without completing its write")),
               /*committed=*/false);
    }
  }
  if (request.error) std::rethrow_exception(request.error);
}

std::vector<GroupCommit::Request*> GroupCommit::take(std::size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::size_t n = std::min(max, queue_.size());
  return {queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n)};
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
  if (!queue_.empty()) queue_.front()->wake.notify_one();  // the next leader
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
