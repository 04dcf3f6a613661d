#include "pgqrs/store.h"

#include "backend/registry.h"
#include "backend/store_backend.h"
#include "core/config_check.h"
#include "core/identity.h"
#include "core/store_state.h"
#include "core/validation.h"
#include "pgqrs/admin.h"
#include "pgqrs/error.h"
#include "pgqrs/worker.h"

namespace pgqrs {

Store::State::State(Config cfg, backend::Dsn parsed, std::shared_ptr<const Clock> clk,
                    std::unique_ptr<backend::Backend> be)
    : config(std::move(cfg)),
      dsn(std::move(parsed)),
      clock(std::move(clk)),
      backend(std::move(be)),
      limiter(config.validation) {}

Store::State::~State() {
  std::lock_guard lock(ephemeral_mu_);
  for (const auto& [queue, eph] : ephemeral_) {
    try {
      const auto t = now();
      backend->release_worker_messages(eph.id, t);
      backend->change_worker_status(
          eph.id, {WorkerStatus::kReady, WorkerStatus::kPolling, WorkerStatus::kInterrupted},
          WorkerStatus::kSuspended, t);
      backend->change_worker_status(eph.id, {WorkerStatus::kSuspended}, WorkerStatus::kStopped, t);
    } catch (...) {
      // Best effort: the process may be exiting with the database gone. A leftover row is
      // reclaimed as a zombie later.
    }
  }
}

std::int64_t Store::State::ephemeral_consumer(const std::string& queue) {
  std::lock_guard lock(ephemeral_mu_);
  return ephemeral_consumer_locked(queue);
}

std::int64_t Store::State::replace_ephemeral_consumer(const std::string& queue,
                                                      std::int64_t stale) {
  std::lock_guard lock(ephemeral_mu_);
  auto it = ephemeral_.find(queue);
  if (it != ephemeral_.end() && it->second.id == stale) ephemeral_.erase(it);
  return ephemeral_consumer_locked(queue);
}

std::int64_t Store::State::ephemeral_consumer_locked(const std::string& queue) {
  const auto t = now();
  auto it = ephemeral_.find(queue);
  if (it != ephemeral_.end()) {
    if (t - it->second.last_heartbeat < std::chrono::seconds(config.heartbeat_interval_seconds)) {
      return it->second.id;
    }
    if (backend->heartbeat(it->second.id, t)) {
      it->second.last_heartbeat = t;
      return it->second.id;
    }
    ephemeral_.erase(it);  // deleted by someone else: register a new one
  }
  auto info =
      backend->register_worker("ephemeral-" + core::generated_worker_name(), WorkerKind::kConsumer,
                               queue, core::hostname(), core::process_id(), t);
  ephemeral_[queue] = Ephemeral{info.id, t};
  return info.id;
}

backend::Backend& backend::backend_of(const Store& store) {
  return *StoreAccess::state(store)->backend;
}

QueueInfo Store::queue(std::string_view name) const { return admin(*this).create_queue(name); }
QueueInfo Store::queue(std::string_view name, const QueueOptions& options) const {
  return admin(*this).create_queue(name, options);
}

Producer Store::producer(std::string_view queue) const {
  return pgqrs::producer(core::generated_worker_name(), std::string(queue)).create(*this);
}

Consumer Store::consumer(std::string_view queue) const {
  return pgqrs::consumer(core::generated_worker_name(), std::string(queue)).create(*this);
}

const Config& Store::config() const { return state_->config; }
std::string_view Store::backend_name() const { return state_->backend->name(); }
const Clock& Store::clock() const { return *state_->clock; }

Store connect(std::string_view dsn) {
  ConfigOverrides overrides;
  overrides.dsn = std::string(dsn);
  return connect_with_config(Config::load(std::nullopt, overrides));
}

// The one place a store's DSN is parsed: the value goes to the registry, the backend and
// the store's state (docs/architecture.md, "A DSN from `connect`").
Store connect_with_config(const Config& config, std::shared_ptr<const Clock> clock) {
  core::validate_settings(config);
  backend::Dsn dsn = backend::Dsn::parse(config.dsn);
  if (!clock) clock = std::make_shared<SystemClock>();
  auto backend = backend::open_backend(config, dsn);
  return StoreAccess::make(std::make_shared<detail::StoreState>(
      config, std::move(dsn), std::move(clock), std::move(backend)));
}

}  // namespace pgqrs
