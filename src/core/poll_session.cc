#include "core/poll_session.h"

#include "core/validation.h"
#include "core/worker_lifecycle.h"
#include "pgqrs/error.h"

namespace pgqrs::core {

ResolvedDequeue resolve(const DequeueAccess::Options& opts, const Store& store) {
  ResolvedDequeue r;
  r.store = StoreAccess::state(store);
  const Config& cfg = r.store->config;
  r.queue = opts.queue;
  if (opts.consumer) {
    if (WorkerAccess::state(*opts.consumer)->store != r.store) {
      throw ValidationError("consumer " + std::to_string(opts.consumer->id()) +
                            " belongs to a different store");
    }
    if (r.queue.empty()) r.queue = opts.consumer->queue();
    if (r.queue != opts.consumer->queue()) {
      throw ValidationError("consumer " + std::to_string(opts.consumer->id()) +
                            " belongs to queue '" + opts.consumer->queue() + "', not '" + r.queue +
                            "'");
    }
    r.named = WorkerAccess::state(*opts.consumer);
    r.worker = opts.consumer->id();
  }
  if (r.queue.empty()) {
    throw ValidationError("dequeue: no queue given (call .from(\"queue\") or .worker(consumer))");
  }
  validate_name(r.queue, "queue name");
  r.batch = opts.batch.value_or(1);
  validate_batch_size(r.batch, cfg.default_max_batch_size);
  r.lease = opts.lease.value_or(std::chrono::seconds(cfg.default_lock_time_seconds));
  if (r.lease.count() <= 0) {
    throw ValidationError("lease (visibility timeout) must be positive (got " +
                          std::to_string(r.lease.count()) + " s)");
  }
  r.poll_interval = opts.poll_interval.value_or(std::chrono::milliseconds(cfg.poll_interval_ms));
  if (r.poll_interval.count() <= 0) throw ValidationError("poll interval must be positive");
  r.until = opts.until;
  if (r.until && r.until->count() < 0) throw ValidationError("until must not be negative");
  r.until_empty = opts.until_empty;
  r.stop = opts.stop;
  r.backoff = opts.backoff;
  if (r.backoff.base.count() < 0 || r.backoff.cap < r.backoff.base) {
    throw ValidationError("retry backoff needs 0 <= base <= cap");
  }
  if (!r.named) r.worker = r.store->ephemeral_consumer(r.queue);
  return r;
}

namespace {

// How often registering the loop is tried when storage keeps failing retryably.
constexpr int kStartAttempts = 20;

// Real time for the retry pause (see the header).
const Clock& real_time() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

PollSession::PollSession(const ResolvedDequeue& r)
    : r_(r),
      next_status_check_(r.store->now() + r.poll_interval),
      own_waiter_(r.named ? nullptr : r.store->clock->make_waiter()),
      waiter_(r.named ? r.named->waiter.get() : own_waiter_.get()),
      retry_waiter_(real_time().make_waiter()),
      keeper_(r.store, r.worker, r.lease) {
  if (r_.until) deadline_ = r_.store->now() + *r_.until;
  if (r_.named) r_.named->interrupt_requested.store(false);
  try {
    if (r_.stop.stop_possible()) {
      stop_cb_.emplace(r_.stop, std::function<void()>([this] { wake(false); }));
    }
    activity_token_ = r_.store->activity.add(r_.queue, [this] { wake(true); });
    subscription_ = r_.store->backend->subscribe(r_.queue, [this] { wake(true); });
    if (r_.named) {
      // Storage trouble while registering the loop (a lost connection whose effect is
      // known, a write refused by a concurrent writer: H20) is waited out like a failed
      // fetch; the loop has not started, so a stop request ends the wait with the error.
      for (int attempt = 1;; ++attempt) {
        try {
          start_polling(*r_.store, r_.worker);
          break;
        } catch (const Error& e) {
          if (!e.retryable() || attempt >= kStartAttempts || r_.stop.stop_requested()) throw;
          retry_wait();
        }
      }
    }
  } catch (...) {
    stop_cb_.reset();
    unsubscribe();
    throw;
  }
}

void PollSession::wake(bool kick) {
  if (kick) kicked_.store(true);
  waiter_->notify();
  retry_waiter_->notify();
}

void PollSession::unsubscribe() {
  subscription_.reset();
  if (activity_token_ != 0) r_.store->activity.remove(activity_token_);
  activity_token_ = 0;
}

PollSession::~PollSession() {
  stop_cb_.reset();
  unsubscribe();
  if (!finished_ && r_.named) {
    try {
      change_status(*r_.store, r_.worker, {WorkerStatus::kPolling}, WorkerStatus::kReady);
    } catch (...) {
      // The loop is unwinding with an error already; the status stays as it is.
    }
  }
}

bool PollSession::interrupted_locally() { return r_.named && r_.named->interrupt_requested.load(); }

bool PollSession::wake_condition() const {
  return kicked_.load() || r_.stop.stop_requested() ||
         (r_.named && r_.named->interrupt_requested.load());
}

std::optional<PollStop> PollSession::should_stop() {
  if (r_.stop.stop_requested()) return PollStop::kStopRequested;
  if (interrupted_locally()) return PollStop::kInterrupted;
  const auto now = r_.store->now();
  if (deadline_ && now >= *deadline_) return PollStop::kDeadline;
  if (r_.named && now >= next_status_check_) {
    next_status_check_ = now + r_.poll_interval;
    auto info = r_.store->backend->get_worker(r_.worker);
    if (!info) throw WorkerNotFoundError("worker " + std::to_string(r_.worker) + " was deleted");
    if (info->status != WorkerStatus::kPolling) return PollStop::kInterrupted;
  }
  return std::nullopt;
}

void PollSession::idle_wait() {
  auto until = r_.store->now() + r_.poll_interval;
  if (deadline_ && *deadline_ < until) until = *deadline_;
  waiter_->wait_until(until, [this] { return wake_condition(); });
  kicked_.store(false);
}

void PollSession::retry_wait() {
  retry_waiter_->wait_until(real_time().now() + r_.poll_interval,
                            [this] { return wake_condition(); });
  kicked_.store(false);
}

void PollSession::finish(PollStop why) {
  finished_ = true;
  stop_cb_.reset();
  unsubscribe();
  if (!r_.named) return;
  if (why == PollStop::kInterrupted) {
    // interrupted -> suspended; a worker suspended from elsewhere is already there.
    auto info = require_worker(*r_.store, r_.worker);
    if (info.status == WorkerStatus::kInterrupted || info.status == WorkerStatus::kPolling) {
      suspend(*r_.store, r_.worker);
    }
    return;
  }
  auto change = r_.store->backend->change_worker_status(r_.worker, {WorkerStatus::kPolling},
                                                        WorkerStatus::kReady, r_.store->now());
  if (!change.applied && change.current == WorkerStatus::kInterrupted) {
    suspend(*r_.store, r_.worker);  // interrupted at the last moment
  }
}

void PollSession::maintain() noexcept { run_maintenance(r_.store); }

}  // namespace pgqrs::core
