// pgqrs schedule list | show | create | pause | resume | remove, and pgqrs admin prune
// (docs/schedules.md, docs/flow-control.md "Retention").
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "commands.h"
#include "duration.h"
#include "json_arg.h"
#include "output.h"
#include "records_json.h"

namespace pgqrs::cli {
namespace {

constexpr std::size_t kShownFireTimes = 5;

std::string every_text(const std::optional<Duration>& every) {
  if (!every) return "-";
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*every).count()) + "s";
}

Fields schedule_fields(const ScheduleRecord& s) {
  Fields f{
      {"name", s.name},
      {"cron", s.cron.value_or("-")},
      {"every", every_text(s.every)},
      {"time zone", s.time_zone},
      {"target",
       std::string(s.target_kind == ScheduleTarget::kQueue ? "queue " : "workflow ") + s.target},
      {"payload", compact_json(s.payload)},
      {"catch up", to_string(s.catch_up)},
      {"paused", s.paused ? "yes" : "no"},
      {"last fire", or_dash(s.last_fire_at)}};
  if (s.paused) {
    f.emplace_back("next fire", "- (paused)");
  } else {
    int i = 0;
    for (TimePoint t :
         upcoming_fire_times(s, s.next_fire_at - std::chrono::microseconds(1), kShownFireTimes)) {
      f.emplace_back(i++ == 0 ? "next fires" : "", format_time(t));
    }
  }
  return f;
}

void print_one(Context& ctx, const ScheduleRecord& s, const std::string& verb) {
  Output out = ctx.output();
  if (out.json()) {
    out.print_json(to_json(s, kShownFireTimes));
  } else if (verb.empty()) {
    out.print_fields(schedule_fields(s));
  } else {
    out.print_line(verb + " schedule '" + s.name + "'" +
                   (s.paused ? "" : "; next fire " + format_time(s.next_fire_at)));
  }
}

void register_prune(CLI::App& admin, Context& ctx) {
  struct Options {
    std::string archived_older_than;
    std::string dead_older_than;
    std::string queue;
    std::uint32_t batch_size = 1000;
    double throttle = PruneOptions{}.throttle;
    bool dry_run = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = admin.add_subcommand(
      "prune", "Delete old archived messages, dead letters and finished workflow runs");
  cmd->add_option("--archived-older-than", o->archived_older_than,
                  "Archived messages older than this (default: each queue's retain_archived)")
      ->check(duration_validator());
  cmd->add_option("--dead-older-than", o->dead_older_than,
                  "Dead letters older than this (default: each queue's retain_dead)")
      ->check(duration_validator());
  cmd->add_option("--queue,-q", o->queue, "Only this queue");
  cmd->add_option("--batch-size", o->batch_size, "Rows per transaction (default 1000)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--throttle", o->throttle,
                  "After each batch, wait this many times as long as it took (0: no pause; "
                  "default 2, so consumers keep draining)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_flag("--dry-run", o->dry_run, "Count what would be deleted; change nothing");
  on_run(cmd, ctx, [&ctx, o] {
    PruneOptions p;
    if (!o->archived_older_than.empty()) {
      p.archived_older_than = parse_duration_or_throw(o->archived_older_than);
    }
    if (!o->dead_older_than.empty()) {
      p.dead_older_than = parse_duration_or_throw(o->dead_older_than);
    }
    if (!o->queue.empty()) p.queue = o->queue;
    p.batch_size = o->batch_size;
    p.dry_run = o->dry_run;
    p.throttle = o->throttle;
    Output out = ctx.output();
    // The progress line goes to stderr, so --format json keeps one document on stdout.
    p.on_progress = [](const PruneProgress& pr) {
      std::cerr << "prune: " << pr.queue << " " << pr.kind << ": " << pr.deleted << std::endl;
    };
    const PruneResult r = prune(ctx.store(), p);
    if (out.json()) {
      out.print_json({{"ok", !r.skipped},
                      {"dry_run", r.dry_run},
                      {"skipped", r.skipped},
                      {"archived", r.archived},
                      {"dead", r.dead},
                      {"runs", r.runs},
                      {"batches", r.batches}});
    } else if (r.skipped) {
      out.print_line("Skipped: another process is pruning this store");
    } else {
      out.print_line(std::string(r.dry_run ? "Would delete " : "Deleted ") +
                     std::to_string(r.archived) + " archived message(s), " +
                     std::to_string(r.dead) + " dead letter(s), " + std::to_string(r.runs) +
                     " finished run(s)");
    }
  });
}

}  // namespace

void register_schedule_commands(CLI::App& app, Context& ctx) {
  register_prune(*app.get_subcommand("admin"), ctx);  // registered before this group

  CLI::App* group = app.add_subcommand("schedule", "Cron and interval schedules");
  group->require_subcommand(1);

  on_run(group->add_subcommand("list", "Every schedule with its next fire time"), ctx, [&ctx] {
    const auto all = list_schedules(ctx.store());
    Output out = ctx.output();
    if (out.json()) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& s : all) j.push_back(to_json(s, 0));
      out.print_json(j);
      return;
    }
    Table t({"NAME", "WHEN", "TZ", "TARGET", "CATCH_UP", "PAUSED", "NEXT_FIRE", "LAST_FIRE"});
    for (const auto& s : all) {
      t.add_row({s.name, s.cron ? *s.cron : "every " + every_text(s.every), s.time_zone,
                 (s.target_kind == ScheduleTarget::kQueue ? "queue:" : "workflow:") + s.target,
                 to_string(s.catch_up), s.paused ? "yes" : "no",
                 s.paused ? "-" : format_time(s.next_fire_at), or_dash(s.last_fire_at)});
    }
    out.print_table(t);
  });

  auto name = std::make_shared<std::string>();
  CLI::App* cmd = group->add_subcommand("show", "One schedule and its next fire times");
  cmd->add_option("NAME", *name, "Schedule name")->required();
  on_run(cmd, ctx, [&ctx, name] { print_one(ctx, get_schedule(ctx.store(), *name), ""); });

  cmd = group->add_subcommand("pause", "Stop firing (ticks while paused are skipped)");
  cmd->add_option("NAME", *name, "Schedule name")->required();
  on_run(cmd, ctx, [&ctx, name] { print_one(ctx, pause_schedule(ctx.store(), *name), "Paused"); });

  cmd = group->add_subcommand("resume", "Fire again from the next tick after now");
  cmd->add_option("NAME", *name, "Schedule name")->required();
  on_run(cmd, ctx,
         [&ctx, name] { print_one(ctx, resume_schedule(ctx.store(), *name), "Resumed"); });

  cmd = group->add_subcommand("remove", "Delete a schedule");
  cmd->add_option("NAME", *name, "Schedule name")->required();
  on_run(cmd, ctx, [&ctx, name] {
    const bool removed = remove_schedule(ctx.store(), *name);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"name", *name}, {"removed", removed}});
    } else {
      out.print_line(removed ? "Removed schedule '" + *name + "'" : "No schedule '" + *name + "'");
    }
  });

  struct CreateOptions {
    std::string name, cron, every, time_zone = "UTC", queue, workflow, payload = "{}",
                                   catch_up = "last";
  };
  auto c = std::make_shared<CreateOptions>();
  cmd = group->add_subcommand("create", "Create a schedule that enqueues or triggers");
  cmd->add_option("NAME", c->name, "Schedule name")->required();
  auto* cron =
      cmd->add_option("--cron", c->cron, "Cron expression: 5 fields, or 6 with seconds first");
  auto* every = cmd->add_option("--every", c->every, "Interval (e.g. 30s, 5m, 1h)")
                    ->check(duration_validator());
  cron->excludes(every);
  cmd->add_option("--tz,--time-zone", c->time_zone, "IANA time zone of the cron (default UTC)");
  auto* queue = cmd->add_option("--queue,-q", c->queue, "Enqueue to this queue");
  auto* workflow = cmd->add_option("--workflow,-w", c->workflow, "Trigger this workflow");
  queue->excludes(workflow);
  cmd->add_option("--payload,--input", c->payload,
                  "Message payload / run input as JSON (default {}), or - for stdin")
      ->check(json_validator());
  cmd->add_option("--catch-up", c->catch_up, "Missed ticks: none, last (default) or all")
      ->check(CLI::IsMember({"none", "last", "all"}));
  on_run(cmd, ctx, [&ctx, c] {
    ScheduleBuilder b(c->name);
    if (!c->cron.empty()) b.cron(c->cron);
    if (!c->every.empty()) b.every(parse_duration_or_throw(c->every));
    b.time_zone(c->time_zone);
    nlohmann::json payload = read_json_argument(c->payload);
    if (!c->workflow.empty()) {
      b.trigger(c->workflow, std::move(payload));
    } else if (!c->queue.empty()) {
      b.enqueue_to(c->queue, std::move(payload));
    }
    b.catch_up(catch_up_from_string(c->catch_up));
    print_one(ctx, b.create(ctx.store()), "Created");
  });
}

}  // namespace pgqrs::cli
