#include "backend/postgres/notifier.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>

#include "backend/postgres/pg_backend.h"

namespace pgqrs::pg {
namespace {

// How long a send keeps trying: the writes it announces have already committed.
constexpr std::chrono::milliseconds kSendBudget{1000};

}  // namespace

Notifier::~Notifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Notifier::post(const std::string& queue) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    pending_.insert(queue);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  wake_.notify_one();
}

void Notifier::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left to send
    std::set<std::string> queues = std::exchange(pending_, {});
    lock.unlock();
    send(queues);
    lock.lock();
  }
}

void Notifier::send(const std::set<std::string>& queues) {
  try {
    backend_.notify(queues, std::min(kSendBudget, backend_.executor().timeout()));
  } catch (const std::exception&) {
    // Dropped: the messages are committed, and pollers find them at their next poll.
  }
}

}  // namespace pgqrs::pg
