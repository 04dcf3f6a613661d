// Schedules and retention for the native module (pgqrs/schedule.h, pgqrs/retention.h).
// Durations cross as integer microseconds; records as dicts with the field names of
// pgqrs.ScheduleRecord; times as ISO-8601 strings (convert.h). Storage calls release the GIL.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <chrono>
#include <optional>
#include <string>

#include <pgqrs/retention.h>
#include <pgqrs/schedule.h>

#include "bindings.h"
#include "convert.h"

namespace pgqrs_py {
namespace {

using Micros = std::chrono::microseconds;

nb::dict schedule_to_py(const pgqrs::ScheduleRecord& s) {
  nb::dict d;
  d["id"] = s.id;
  d["name"] = s.name;
  d["cron"] = s.cron ? nb::cast(*s.cron) : nb::none();
  d["every_seconds"] =
      s.every ? nb::cast(std::chrono::duration<double>(*s.every).count()) : nb::none();
  d["time_zone"] = s.time_zone;
  d["target_kind"] = s.target_kind == pgqrs::ScheduleTarget::kQueue ? "queue" : "workflow";
  d["target"] = s.target;
  d["payload"] = to_py(s.payload);
  d["catch_up"] = pgqrs::to_string(s.catch_up);
  d["paused"] = s.paused;
  d["next_fire_at"] = iso(s.next_fire_at);
  d["last_fire_at"] = iso_or_none(s.last_fire_at);
  d["created_at"] = iso(s.created_at);
  return d;
}

}  // namespace

void bind_schedule(nb::module_& m) {
  m.def("schedule_create",
        [](const pgqrs::Store& store, const std::string& name, std::optional<std::string> cron,
           std::optional<long long> every_us, const std::string& time_zone,
           const std::string& target_kind, const std::string& target, nb::handle payload,
           const std::string& catch_up) {
          pgqrs::ScheduleBuilder b(name);
          if (cron) b.cron(*cron);
          if (every_us) b.every(Micros(*every_us));
          b.time_zone(time_zone);
          pgqrs::json value = to_json(payload, "schedule payload");
          if (target_kind == "workflow") {
            b.trigger(target, std::move(value));
          } else if (target_kind == "queue") {
            b.enqueue_to(target, std::move(value));
          }
          b.catch_up(pgqrs::catch_up_from_string(catch_up));
          return schedule_to_py(unlocked([&] { return b.create(store); }));
        });
  m.def("schedule_list", [](const pgqrs::Store& store) {
    nb::list out;
    for (const auto& s : unlocked([&] { return pgqrs::list_schedules(store); })) {
      out.append(schedule_to_py(s));
    }
    return out;
  });
  m.def("schedule_get", [](const pgqrs::Store& store, const std::string& name) {
    return schedule_to_py(unlocked([&] { return pgqrs::get_schedule(store, name); }));
  });
  m.def("schedule_pause", [](const pgqrs::Store& store, const std::string& name) {
    return schedule_to_py(unlocked([&] { return pgqrs::pause_schedule(store, name); }));
  });
  m.def("schedule_resume", [](const pgqrs::Store& store, const std::string& name) {
    return schedule_to_py(unlocked([&] { return pgqrs::resume_schedule(store, name); }));
  });
  m.def("schedule_remove", [](const pgqrs::Store& store, const std::string& name) {
    return unlocked([&] { return pgqrs::remove_schedule(store, name); });
  });
  m.def("schedule_fire_due", [](const pgqrs::Store& store) {
    return unlocked([&] { return pgqrs::fire_due_schedules(store); });
  });
  m.def("prune", [](const pgqrs::Store& store, std::optional<long long> archived_us,
                    std::optional<long long> dead_us, std::optional<std::string> queue,
                    std::uint32_t batch_size, bool dry_run, double throttle) {
    pgqrs::PruneOptions o;
    if (archived_us) o.archived_older_than = Micros(*archived_us);
    if (dead_us) o.dead_older_than = Micros(*dead_us);
    o.queue = std::move(queue);
    o.batch_size = batch_size;
    o.dry_run = dry_run;
    o.throttle = throttle;
    const pgqrs::PruneResult r = unlocked([&] { return pgqrs::prune(store, o); });
    nb::dict d;
    d["archived"] = r.archived;
    d["dead"] = r.dead;
    d["runs"] = r.runs;
    d["batches"] = r.batches;
    d["dry_run"] = r.dry_run;
    d["skipped"] = r.skipped;
    return d;
  });
  m.def("set_workflow_retention", [](const pgqrs::Store& store, const std::string& workflow,
                                     std::optional<long long> retain_us) {
    std::optional<pgqrs::Duration> d;
    if (retain_us) d = Micros(*retain_us);
    unlocked([&] { pgqrs::set_workflow_retention(store, workflow, d); });
  });
}

}  // namespace pgqrs_py
