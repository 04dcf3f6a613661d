// The dequeue builder, one-shot handler calls and the handler poll loop.
#include "pgqrs/dequeue.h"

#include <algorithm>
#include <exception>
#include <limits>
#include <random>

#include "core/handler_lease.h"
#include "core/messages.h"
#include "core/poll_session.h"
#include "core/store_state.h"
#include "pgqrs/error.h"

namespace pgqrs {

std::chrono::milliseconds RetryBackoff::delay_for(std::int32_t read_ct) const {
  const int exponent = std::clamp(read_ct - 1, 0, 30);
  const double raw = static_cast<double>(base.count()) * static_cast<double>(1LL << exponent);
  auto delay = static_cast<long long>(std::min(raw, static_cast<double>(cap.count())));
  if (jitter && delay > 1) {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<long long> dist(delay / 2, delay);
    delay = dist(rng);
  }
  return std::chrono::milliseconds(delay);
}

std::string_view to_string(PollStop s) noexcept {
  switch (s) {
    case PollStop::kInterrupted:
      return "interrupted";
    case PollStop::kStopRequested:
      return "stop_requested";
    case PollStop::kDeadline:
      return "deadline";
    case PollStop::kEmpty:
      return "empty";
  }
  return "unknown";
}

// ---- builder ---------------------------------------------------------------------------------

DequeueBuilder& DequeueBuilder::from(std::string queue) {
  opts_.queue = std::move(queue);
  return *this;
}
DequeueBuilder& DequeueBuilder::batch(std::uint32_t n) {
  opts_.batch = n;
  return *this;
}
DequeueBuilder& DequeueBuilder::with_vt(std::chrono::seconds lease) {
  opts_.lease = lease;
  return *this;
}
DequeueBuilder& DequeueBuilder::worker(const Consumer& consumer) {
  opts_.consumer = consumer;
  return *this;
}
DequeueBuilder& DequeueBuilder::poll_interval(std::chrono::milliseconds interval) {
  opts_.poll_interval = interval;
  return *this;
}
DequeueBuilder& DequeueBuilder::until(std::chrono::milliseconds deadline) {
  opts_.until = deadline;
  return *this;
}
DequeueBuilder& DequeueBuilder::until_empty(bool enabled) {
  opts_.until_empty = enabled;
  return *this;
}
DequeueBuilder& DequeueBuilder::stop_token(std::stop_token token) {
  opts_.stop = std::move(token);
  return *this;
}
DequeueBuilder& DequeueBuilder::retry_backoff(RetryBackoff backoff) {
  opts_.backoff = backoff;
  return *this;
}

namespace {

// Leases one batch. The store's ephemeral consumer may have been stopped or deleted by an
// admin (zombie reclaim); it is then replaced once and the lease retried.
std::vector<QueueMessage> lease_batch(core::ResolvedDequeue& r) {
  try {
    return core::lease_messages(*r.store, r.queue, r.batch, r.lease, r.worker);
  } catch (const StateTransitionError&) {
    if (r.named) throw;
  } catch (const WorkerNotFoundError&) {
    if (r.named) throw;
  }
  r.worker = r.store->replace_ephemeral_consumer(r.queue, r.worker);
  return core::lease_messages(*r.store, r.queue, r.batch, r.lease, r.worker);
}

std::vector<std::int64_t> ids_of(const std::vector<QueueMessage>& msgs) {
  std::vector<std::int64_t> ids;
  ids.reserve(msgs.size());
  for (const auto& m : msgs) ids.push_back(m.id);
  return ids;
}

std::vector<TimePoint> lease_ends_of(const std::vector<QueueMessage>& msgs) {
  std::vector<TimePoint> ends;
  ends.reserve(msgs.size());
  for (const auto& m : msgs) ends.push_back(m.vt);
  return ends;
}

// Gives failed messages back, each visible again after its backoff.
void release_with_backoff(const core::ResolvedDequeue& r, const std::vector<QueueMessage>& msgs) {
  const auto now = r.store->now();
  const auto max_read_ct = static_cast<std::int32_t>(r.store->config.max_read_ct);
  for (const auto& m : msgs) {
    r.store->backend->release({m.id}, r.worker, now + r.backoff.delay_for(m.read_ct), now,
                              max_read_ct);
  }
}

struct Outcome {
  std::size_t succeeded = 0;   // handler returned and the message was archived
  std::size_t lease_lost = 0;  // handler returned but the message could not be archived
  std::size_t lapsed = 0;      // not handled: its lease was no longer known valid (H9)
  std::size_t failed = 0;
  std::exception_ptr first_error;  // the handler's own exception, unchanged
};

// Runs the handler on one leased batch: messages whose handler returned are archived (in one
// call), the others released with backoff. A batch handler succeeds or fails as a whole; a
// per-message handler is judged message by message. With `deferred`, the ids to archive are
// appended there instead (the poll loop archives them with its next lease) and are not
// counted in the outcome. A handler is started only while the keeper confirms the lease of
// its message(s) (H9): a message whose lease is no longer known valid is left alone (neither
// archived nor released; its lease lapses and it is redelivered) and counted as lapsed.
Outcome process(const core::ResolvedDequeue& r, const std::vector<QueueMessage>& msgs,
                const MessageHandler& one, const BatchHandler& many, core::LeaseKeeper& keeper,
                std::vector<std::int64_t>* deferred = nullptr) {
  Outcome out;
  std::vector<QueueMessage> failed;
  std::vector<std::int64_t> done;
  keeper.track(ids_of(msgs), lease_ends_of(msgs));
  auto held = [&](const QueueMessage& m) { return keeper.valid(m.id, r.store->now()); };
  // HandlerAbort: the messages not handled yet are released visible now (no backoff, no
  // failed delivery counted), those handled are archived (or left in `deferred`), and the
  // abort's cause propagates.
  auto abort = [&](const HandlerAbort& a) {
    keeper.clear();
    std::vector<std::int64_t> rest;
    for (const auto& m : msgs) {
      if (std::find(done.begin(), done.end(), m.id) == done.end()) rest.push_back(m.id);
    }
    const auto now = r.store->now();
    if (!rest.empty()) {
      r.store->backend->release(rest, r.worker, now, now, std::numeric_limits<std::int32_t>::max());
    }
    if (deferred) {
      deferred->insert(deferred->end(), done.begin(), done.end());
    } else if (!done.empty()) {
      r.store->backend->archive(done, r.worker, now);
    }
    std::rethrow_exception(a.cause);
  };
  const auto& tracer = r.store->tracer;
  const Clock& clock = *r.store->clock;
  if (many) {
    if (!std::all_of(msgs.begin(), msgs.end(), held)) {
      out.lapsed = msgs.size();
    } else {
      core::HandlerTrace trace(tracer, clock, r.queue, r.worker, msgs);
      try {
        core::HandlerLeaseScope scope(keeper, ids_of(msgs));
        many(msgs);
        trace.end(nullptr);
        done = ids_of(msgs);
      } catch (const HandlerAbort& a) {
        trace.end(a.cause);
        abort(a);
      } catch (...) {
        out.first_error = std::current_exception();
        trace.end(out.first_error);
        failed = msgs;
      }
    }
  } else {
    for (const auto& m : msgs) {
      if (!held(m)) {
        ++out.lapsed;
        continue;
      }
      core::HandlerTrace trace(tracer, clock, r.queue, r.worker, {&m, 1});
      try {
        core::HandlerLeaseScope scope(keeper, {m.id});
        one(m);
        trace.end(nullptr);
        done.push_back(m.id);
      } catch (const HandlerAbort& a) {
        trace.end(a.cause);
        abort(a);
      } catch (...) {
        trace.end(std::current_exception());
        if (!out.first_error) out.first_error = std::current_exception();
        failed.push_back(m);
      }
    }
  }
  keeper.clear();
  if (!failed.empty()) release_with_backoff(r, failed);
  out.failed = failed.size();
  if (deferred) {
    deferred->insert(deferred->end(), done.begin(), done.end());
    return out;
  }
  if (!done.empty()) {
    for (bool archived : r.store->backend->archive(done, r.worker, r.store->now())) {
      ++(archived ? out.succeeded : out.lease_lost);
    }
  }
  return out;
}

}  // namespace

std::optional<QueueMessage> DequeueBuilder::fetch_one(const Store& store) const {
  auto r = core::resolve(opts_, store);
  r.batch = 1;
  auto msgs = lease_batch(r);
  if (msgs.empty()) return std::nullopt;
  return std::move(msgs.front());
}

std::vector<QueueMessage> DequeueBuilder::fetch_all(const Store& store) const {
  auto r = core::resolve(opts_, store);
  return lease_batch(r);
}

std::vector<QueueMessage> DequeueBuilder::poll(const Store& store) const {
  auto r = core::resolve(opts_, store);
  core::PollSession session(r);
  while (true) {
    if (auto why = session.should_stop()) {
      session.finish(*why);
      return {};
    }
    session.maintain();
    auto msgs = lease_batch(r);
    if (!msgs.empty()) {
      session.finish(PollStop::kEmpty);
      return msgs;
    }
    session.idle_wait();
  }
}

DequeueHandler DequeueBuilder::handle(MessageHandler handler) const {
  if (!handler) throw ValidationError("handle: the handler is empty");
  return DequeueHandler(opts_, std::move(handler), nullptr);
}

DequeueHandler DequeueBuilder::handle_batch(BatchHandler handler) const {
  if (!handler) throw ValidationError("handle_batch: the handler is empty");
  return DequeueHandler(opts_, nullptr, std::move(handler));
}

// ---- handler -----------------------------------------------------------------------------

bool DequeueHandler::execute(const Store& store) const {
  auto r = core::resolve(opts_, store);
  auto msgs = lease_batch(r);
  if (msgs.empty()) return false;
  core::LeaseKeeper keeper(r.store, r.worker, r.lease);
  auto outcome = process(r, msgs, one_, many_, keeper);
  if (outcome.first_error) std::rethrow_exception(outcome.first_error);
  return true;
}

// The poll loop acknowledges each batch together with leasing the next one
// (Backend::archive_and_dequeue: one transaction / round trip on Postgres and the SQLite
// family instead of two). Messages whose handler returned wait in `pending` only until that
// call, which follows at once; when the loop stops, or the combined call fails, they are
// archived on their own. Their leases stay valid meanwhile: the call comes right after the
// handler, well within the lease the keeper was extending.
PollStats DequeueHandler::poll(const Store& store) const {
  auto r = core::resolve(opts_, store);
  core::PollSession session(r);
  PollStats stats;
  std::vector<std::int64_t> pending;
  auto count = [&](const std::vector<bool>& archived) {
    for (bool ok : archived) ++(ok ? stats.processed : stats.lease_lost);
  };
  auto archive_pending = [&] {
    if (pending.empty()) return;
    count(r.store->backend->archive(pending, r.worker, r.store->now()));
    pending.clear();
  };
  // Leases the next batch, archiving `pending` in the same call when there is any. If the
  // combined call fails with its effect known (nothing was applied), the archive is done
  // alone and the lease retried the usual way (which also replaces a reclaimed ephemeral
  // consumer). If its outcome is unknown (ConnectionError::outcome_unknown: the server may
  // have committed it), nothing is redone: `pending` is dropped, the error ends the loop,
  // and a message whose archive did not commit is redelivered when its lease lapses.
  auto next_batch = [&]() -> std::vector<QueueMessage> {
    if (pending.empty()) return lease_batch(r);
    try {
      auto both = core::archive_and_lease(*r.store, r.queue, pending, r.batch, r.lease, r.worker);
      count(both.archived);
      pending.clear();
      return std::move(both.leased);
    } catch (const ConnectionError& e) {
      if (e.outcome_unknown()) {
        pending.clear();
        throw;
      }
      archive_pending();
      return lease_batch(r);
    } catch (const Error&) {
      archive_pending();
      return lease_batch(r);
    }
  };
  try {
    while (auto msgs = session.next_batch(stats, next_batch)) {
      ++stats.batches;
      // Handler exceptions are contained in the outcome (their messages were released with
      // backoff); storage errors propagate and end the loop.
      session.keeper().set_worker(r.worker);
      auto outcome = process(r, *msgs, one_, many_, session.keeper(), &pending);
      stats.failed += outcome.failed;
      stats.lease_lost += outcome.lapsed;
    }
    archive_pending();
  } catch (...) {
    try {
      archive_pending();
    } catch (...) {
      // Keep the first error; unarchived messages are redelivered when their lease lapses.
    }
    throw;
  }
  session.finish(stats.stop);
  return stats;
}

}  // namespace pgqrs
