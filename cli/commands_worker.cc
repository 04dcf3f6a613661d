// pgqrs worker list | get | messages | release-messages | suspend | resume | shutdown |
// heartbeat | delete | purge | stats | health
#include <memory>

#include "commands.h"
#include "duration.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {

namespace {

// A state change: prints the worker as it is afterwards.
void print_transition(Context& ctx, const WorkerInfo& w, std::string_view verb) {
  Output out = ctx.output();
  if (out.json()) {
    out.print_json({{"ok", true}, {"worker", to_json(w)}});
  } else {
    out.print_line(std::string(verb) + " worker " + std::to_string(w.id) + " (" + w.name +
                   "): status " + std::string(to_string(w.status)));
  }
}

}  // namespace

void register_worker_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("worker", "Producers and consumers: state, leases, health");
  group->require_subcommand(1);

  struct Options {
    std::string queue;
    std::int64_t id = 0;
    std::string older_than = "7d";
    std::string timeout = "60s";
  };
  auto o = std::make_shared<Options>();

  CLI::App* cmd = group->add_subcommand("list", "List workers");
  CLI::Option* list_queue = cmd->add_option("--queue,-q", o->queue, "Only workers of this queue");
  on_run(cmd, ctx, [&ctx, o, list_queue] {
    std::optional<std::string_view> queue;
    if (list_queue->count() > 0) queue = o->queue;
    auto workers = ctx.admin().list_workers(queue);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(workers));
    } else {
      out.print_table(workers_table(workers));
    }
  });

  cmd = group->add_subcommand("get", "Show one worker");
  cmd->add_option("ID", o->id, "Worker id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    WorkerInfo w = ctx.admin().get_worker(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json(w));
    } else {
      out.print_fields(worker_fields(w));
    }
  });

  cmd = group->add_subcommand("messages", "Messages the worker leases now");
  cmd->add_option("ID", o->id, "Worker id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    auto messages = ctx.admin().worker_messages(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(messages));
    } else {
      out.print_table(messages_table(messages, ctx.store().clock().now()));
    }
  });

  cmd = group->add_subcommand("release-messages", "Make every message the worker leases visible");
  cmd->add_option("ID", o->id, "Worker id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    std::uint64_t released = ctx.admin().release_worker_messages(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"worker_id", o->id}, {"released", released}});
    } else {
      out.print_line("Released " + std::to_string(released) + " message(s) of worker " +
                     std::to_string(o->id));
    }
  });

  struct Transition {
    const char* name;
    const char* help;
    const char* verb;
    WorkerInfo (Admin::*apply)(std::int64_t) const;
  };
  static constexpr Transition kTransitions[] = {
      {"suspend", "Suspend a worker (ready|polling|interrupted -> suspended)", "Suspended",
       &Admin::suspend_worker},
      {"resume", "Resume a suspended worker (suspended -> ready)", "Resumed",
       &Admin::resume_worker},
      {"shutdown", "Stop a suspended worker (suspended -> stopped)", "Shut down",
       &Admin::shutdown_worker},
      {"heartbeat", "Record a heartbeat for a worker", "Heartbeat sent for",
       &Admin::heartbeat_worker},
  };
  for (const Transition& t : kTransitions) {
    cmd = group->add_subcommand(t.name, t.help);
    cmd->add_option("ID", o->id, "Worker id")->required();
    on_run(cmd, ctx, [&ctx, o, &t] {
      Admin admin = ctx.admin();
      print_transition(ctx, (admin.*t.apply)(o->id), t.verb);
    });
  }

  cmd = group->add_subcommand("delete", "Delete a stopped worker no message references");
  cmd->add_option("ID", o->id, "Worker id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    ctx.admin().delete_worker(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"worker_id", o->id}});
    } else {
      out.print_line("Deleted worker " + std::to_string(o->id));
    }
  });

  cmd = group->add_subcommand("purge", "Delete old stopped workers no message references");
  cmd->add_option("--older-than", o->older_than,
                  "Only workers whose last heartbeat is older than this (default 7d)")
      ->check(duration_validator());
  on_run(cmd, ctx, [&ctx, o] {
    std::uint64_t purged = ctx.admin().purge_old_workers(parse_duration_or_throw(o->older_than));
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"purged", purged}});
    } else {
      out.print_line("Purged " + std::to_string(purged) + " stopped worker(s)");
    }
  });

  cmd = group->add_subcommand("stats", "Workers of a queue by status");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  on_run(cmd, ctx, [&ctx, o] {
    WorkerStats stats = ctx.admin().worker_stats(o->queue);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json(stats));
    } else {
      out.print_fields(worker_stats_fields(stats));
    }
  });

  cmd = group->add_subcommand("health", "Live workers and whether their heartbeat is recent");
  cmd->add_option("--timeout", o->timeout, "A heartbeat older than this is unhealthy (default 60s)")
      ->check(duration_validator());
  on_run(cmd, ctx, [&ctx, o] {
    auto health = ctx.admin().worker_health(parse_duration_or_throw(o->timeout));
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(health));
    } else {
      out.print_table(health_table(health));
    }
  });
}

}  // namespace pgqrs::cli
