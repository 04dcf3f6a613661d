// Schedules: the builder, management calls and firing (pgqrs/schedule.h).
#include "pgqrs/schedule.h"

#include <chrono>
#include <string>

#include "core/maintenance.h"
#include "core/schedule_times.h"
#include "core/store_state.h"
#include "core/validation.h"
#include "pgqrs/error.h"

namespace pgqrs {
namespace {

backend::Backend& be(const Store& store) { return *StoreAccess::state(store)->backend; }

ScheduleRecord require(const Store& store, std::string_view name) {
  core::validate_name(name, "schedule name");
  auto s = be(store).find_schedule(name);
  if (!s) throw ValidationError("schedule '" + std::string(name) + "' does not exist");
  return *s;
}

}  // namespace

const char* to_string(CatchUp c) {
  switch (c) {
    case CatchUp::kNone:
      return "none";
    case CatchUp::kLast:
      return "last";
    case CatchUp::kAll:
      return "all";
  }
  return "last";
}

CatchUp catch_up_from_string(std::string_view s) {
  if (s == "none") return CatchUp::kNone;
  if (s == "last") return CatchUp::kLast;
  if (s == "all") return CatchUp::kAll;
  throw ValidationError("catch_up: '" + std::string(s) + "' is not one of none, last, all");
}

ScheduleBuilder& ScheduleBuilder::cron(std::string expression) {
  cron_ = std::move(expression);
  return *this;
}
ScheduleBuilder& ScheduleBuilder::every(Duration period) {
  every_ = period;
  return *this;
}
ScheduleBuilder& ScheduleBuilder::time_zone(std::string iana_name) {
  time_zone_ = std::move(iana_name);
  return *this;
}
ScheduleBuilder& ScheduleBuilder::enqueue_to(std::string queue, json payload) {
  target_kind_ = ScheduleTarget::kQueue;
  target_ = std::move(queue);
  payload_ = std::move(payload);
  return *this;
}
ScheduleBuilder& ScheduleBuilder::trigger(std::string workflow, json input) {
  target_kind_ = ScheduleTarget::kWorkflow;
  target_ = std::move(workflow);
  payload_ = std::move(input);
  return *this;
}
ScheduleBuilder& ScheduleBuilder::catch_up(CatchUp mode) {
  catch_up_ = mode;
  return *this;
}

ScheduleRecord ScheduleBuilder::create(const Store& store) const {
  const auto& state = StoreAccess::state(store);
  core::validate_name(name_, "schedule name");
  const std::string where = "schedule '" + name_ + "'";
  if (cron_ && every_) throw ValidationError(where + ": give cron or every, not both");
  if (!cron_ && !every_) throw ValidationError(where + ": cron or every is required");
  if (every_ && *every_ < std::chrono::seconds(1)) {
    throw ValidationError("every: must be at least 1 second (" + where + ")");
  }
  if (!target_kind_) {
    throw ValidationError(where +
                          ": a target is required (enqueue_to(queue, payload) or "
                          "trigger(workflow, input))");
  }
  core::validate_name(target_,
                      *target_kind_ == ScheduleTarget::kQueue ? "queue name" : "workflow name");
  backend::NewSchedule n;
  n.name = name_;
  n.cron = cron_;
  if (every_) {
    n.every_us = std::chrono::duration_cast<std::chrono::microseconds>(*every_).count();
  }
  n.time_zone = time_zone_;
  n.target_kind = *target_kind_;
  n.target = target_;
  n.payload = core::validate_payload(payload_, state->config.validation, where + " payload");
  n.catch_up = catch_up_;

  // Parse and compute the first tick before anything is stored (errors name the field).
  const TimePoint now = std::chrono::floor<std::chrono::microseconds>(state->now());
  ScheduleRecord probe;
  probe.name = name_;
  probe.cron = cron_;
  probe.every =
      every_ ? std::optional<Duration>(std::chrono::microseconds(*n.every_us)) : std::nullopt;
  probe.time_zone = time_zone_;
  probe.created_at = now;
  const core::ScheduleTimes times(probe);
  const auto first = times.next_after(now);
  if (!first) throw ValidationError("cron: '" + *cron_ + "' never fires");
  n.next_fire_at = *first;
  return state->backend->create_schedule(n, now);
}

std::vector<ScheduleRecord> list_schedules(const Store& store) {
  return be(store).list_schedules();
}

ScheduleRecord get_schedule(const Store& store, std::string_view name) {
  return require(store, name);
}

ScheduleRecord pause_schedule(const Store& store, std::string_view name) {
  const ScheduleRecord s = require(store, name);
  auto out = be(store).set_schedule_state(name, true, s.next_fire_at, store.clock().now());
  if (!out) throw ValidationError("schedule '" + std::string(name) + "' does not exist");
  return *out;
}

ScheduleRecord resume_schedule(const Store& store, std::string_view name) {
  const ScheduleRecord s = require(store, name);
  const TimePoint now = store.clock().now();
  const auto next = core::ScheduleTimes(s).next_after(now);
  auto out = be(store).set_schedule_state(name, false, next.value_or(s.next_fire_at), now);
  if (!out) throw ValidationError("schedule '" + std::string(name) + "' does not exist");
  return *out;
}

bool remove_schedule(const Store& store, std::string_view name) {
  core::validate_name(name, "schedule name");
  return be(store).delete_schedule(name);
}

std::vector<TimePoint> upcoming_fire_times(const ScheduleRecord& s, TimePoint after,
                                           std::size_t n) {
  const core::ScheduleTimes times(s);
  std::vector<TimePoint> out;
  TimePoint t = after;
  while (out.size() < n) {
    auto next = times.next_after(t);
    if (!next) break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

std::size_t fire_due_schedules(const Store& store) { return core::fire_due(store); }

namespace core {

std::size_t fire_due(const Store& store) {
  backend::Backend& b = be(store);
  std::size_t fired = 0;
  // A bounded number of rounds: kAll schedules far behind fire kMaxTicksPerFire per round.
  for (int round = 0; round < 100; ++round) {
    const TimePoint now = store.clock().now();
    const auto due = b.due_schedules(now, 100);
    if (due.empty()) break;
    bool progressed = false;
    for (const ScheduleRecord& s : due) {
      std::optional<ScheduleTimes::Firing> plan;
      try {
        plan = ScheduleTimes(s).plan(now);
      } catch (const ValidationError&) {
        continue;  // a zone removed from the system database: left as it is, shown by `show`
      }
      if (!plan) continue;
      try {
        if (b.fire_schedule(s.id, s.next_fire_at, plan->ticks, plan->next, now)) {
          fired += plan->ticks.size();
          progressed = true;
        }
      } catch (const Error& e) {
        // Contention is retried at the next check; a target that went away (queue deleted)
        // must not stop the other schedules.
        if (e.retryable()) throw;
      }
    }
    if (!progressed) break;
  }
  return fired;
}

}  // namespace core
Duration schedule_lag(const ScheduleRecord& s, TimePoint now) {
  if (s.paused || s.next_fire_at > now) return Duration::zero();
  return std::chrono::duration_cast<Duration>(now - s.next_fire_at);
}

}  // namespace pgqrs
