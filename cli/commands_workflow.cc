// pgqrs workflow list | runs | run | steps | cancel | resume | trigger (fork | rerun:
// commands_workflow_fork.cc; send | messages | events | event | children:
// commands_workflow_talk.cc)
#include <memory>

#include "commands.h"
#include "duration.h"
#include "json_arg.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {

namespace {

constexpr WorkflowStatus kStatuses[] = {WorkflowStatus::kQueued,    WorkflowStatus::kRunning,
                                        WorkflowStatus::kPaused,    WorkflowStatus::kCancelling,
                                        WorkflowStatus::kCancelled, WorkflowStatus::kSuccess,
                                        WorkflowStatus::kError};

// CLI11 check for --status: a run status in any case.
std::string check_status(const std::string& text) {
  if (parse_workflow_status(text)) return {};
  std::string names;
  for (WorkflowStatus s : kStatuses)
    names += (names.empty() ? "" : ", ") + std::string(to_string(s));
  return "invalid status '" + text + "': choose one of " + names + " (any case)";
}

}  // namespace

void register_workflow_commands(CLI::App& app, Context& ctx) {
  CLI::App* group =
      app.add_subcommand("workflow", "Durable workflows: definitions, runs and their steps");
  group->require_subcommand(1);

  struct Options {
    std::string workflow;
    std::string status;
    std::string since;
    std::uint32_t limit = 100;
    std::int64_t before_id = 0;
    std::int64_t id = 0;
    std::string input;
  };
  auto o = std::make_shared<Options>();

  on_run(group->add_subcommand("list", "List registered workflows"), ctx, [&ctx] {
    auto workflows = ctx.admin().list_workflows();
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(workflows));
    } else {
      out.print_table(workflows_table(workflows));
    }
  });

  CLI::App* cmd = group->add_subcommand("runs", "List runs, newest first");
  CLI::Option* runs_workflow =
      cmd->add_option("--workflow,-w", o->workflow, "Only runs of this workflow");
  CLI::Option* runs_status =
      cmd->add_option("--status,-s", o->status,
                      "Only runs with this status: QUEUED, RUNNING, PAUSED, CANCELLING, "
                      "CANCELLED, SUCCESS or ERROR (any case)")
          ->check(CLI::Validator(check_status, "STATUS", "status"));
  CLI::Option* runs_since =
      cmd->add_option("--since", o->since,
                      "Only runs created at or after this: a duration ago (30m, 2h, 7d) or an "
                      "ISO-8601 time (2026-11-22T10:00:00Z)")
          ->check(CLI::Validator(check_since, "TIME", "since"));
  cmd->add_option("--limit,-n", o->limit, "At most this many runs (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  CLI::Option* runs_before = add_before_id_option(cmd, o->before_id, "runs");
  on_run(cmd, ctx, [&ctx, o, runs_workflow, runs_status, runs_since, runs_before] {
    RunFilter filter;
    if (runs_workflow->count() > 0) filter.workflow = o->workflow;
    if (runs_status->count() > 0) filter.status = parse_workflow_status(o->status);
    if (runs_since->count() > 0) {
      filter.since = parse_since_or_throw(o->since, ctx.store().clock().now());
    }
    filter.limit = o->limit;
    if (runs_before->count() > 0) filter.before_id = o->before_id;
    auto runs = ctx.admin().list_runs(filter);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(runs));
    } else {
      out.print_table(runs_table(runs));
    }
  });

  cmd = group->add_subcommand("run", "Show one run with its input, output and error");
  cmd->add_option("ID", o->id, "Run id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    RunRecord r = ctx.admin().get_run(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json(r));
    } else {
      out.print_fields(run_fields(r));
    }
  });

  cmd = group->add_subcommand("steps", "List the recorded steps of a run");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    auto steps = ctx.admin().run_steps(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(steps));
    } else {
      out.print_table(steps_table(steps));
    }
  });

  cmd = group->add_subcommand(
      "cancel", "Ask a queued, running or paused run to stop (it becomes CANCELLING)");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    Admin admin = ctx.admin();
    bool cancelled = admin.cancel_run(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"cancelled", cancelled}});
    } else if (cancelled) {
      out.print_line("Cancelling run " + std::to_string(o->id) +
                     ": a worker stops it at its next step boundary");
    } else {
      out.print_line("Run " + std::to_string(o->id) + " not cancelled: its status is " +
                     std::string(to_string(admin.get_run(o->id).status)));
    }
  });

  cmd = group->add_subcommand(
      "resume", "End a paused run's wait now (its durable sleep is over, its recv times out)");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    Admin admin = ctx.admin();
    const bool resumed = admin.resume_run(o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"resumed", resumed}});
    } else if (resumed) {
      out.print_line("Resumed run " + std::to_string(o->id) +
                     ": a worker continues it at its next poll");
    } else {
      out.print_line("Run " + std::to_string(o->id) + " not resumed: its status is " +
                     std::string(to_string(admin.get_run(o->id).status)) + ", not PAUSED");
    }
  });

  cmd = group->add_subcommand("trigger", "Start a run of a registered workflow");
  cmd->add_option("WORKFLOW", o->workflow, "Workflow name")->required();
  cmd->add_option("JSON", o->input, "Run input as JSON text, or - to read it from stdin")
      ->required()
      ->check(json_validator());
  on_run(cmd, ctx, [&ctx, o] {
    nlohmann::json input = read_json_argument(o->input);
    QueueMessage msg =
        pgqrs::workflow().name(o->workflow).trigger(std::move(input)).execute(ctx.store());
    // The payload is the input; the run is found from the message id.
    std::int64_t run_id = pgqrs::run().message(msg).store(ctx.store()).record().id;
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"run_id", run_id}, {"message_id", msg.id}});
    } else {
      out.print_line("Triggered run " + std::to_string(run_id) + " of workflow '" + o->workflow +
                     "' (message " + std::to_string(msg.id) + ")");
    }
  });

  register_workflow_fork_commands(*group, ctx);
  register_workflow_talk_commands(*group, ctx);
  register_workflow_version_commands(*group, ctx);
}

}  // namespace pgqrs::cli
