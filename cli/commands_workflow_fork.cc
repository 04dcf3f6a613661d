// pgqrs workflow fork | rerun (pgqrs/fork.h; docs/workflows.md "Fork and rerun").
#include <memory>
#include <string>

#include "commands.h"
#include "duration.h"
#include "pgqrs/fork.h"

namespace pgqrs::cli {
namespace {

// {"run_id", "message_id", "source_run_id"} of a new run started by fork / rerun.
nlohmann::json started(Context& ctx, std::int64_t source, const QueueMessage& msg) {
  const std::int64_t run_id = pgqrs::run().message(msg).store(ctx.store()).record().id;
  return {{"run_id", run_id}, {"message_id", msg.id}, {"source_run_id", source}};
}

std::string started_line(const nlohmann::json& j, const std::string& what) {
  return what + " run " + std::to_string(j["source_run_id"].get<std::int64_t>()) + " as run " +
         std::to_string(j["run_id"].get<std::int64_t>()) + " (message " +
         std::to_string(j["message_id"].get<std::int64_t>()) + ")";
}

}  // namespace

void register_workflow_fork_commands(CLI::App& group, Context& ctx) {
  struct Options {
    std::int64_t id = 0;
    std::string from_step;
    std::string workflow;
    std::string status;
    std::string since;
    std::uint32_t limit = 100;
  };
  auto o = std::make_shared<Options>();

  CLI::App* cmd = group.add_subcommand(
      "fork", "Start a new run with the same input, copying the succeeded steps before a step");
  cmd->add_option("RUN_ID", o->id, "The run to fork")->required();
  cmd->add_option("--from-step", o->from_step,
                  "The first step to execute again (earlier succeeded steps are copied)")
      ->required();
  on_run(cmd, ctx, [&ctx, o] {
    const QueueMessage msg = pgqrs::fork(ctx.store(), o->id, o->from_step);
    const nlohmann::json j = started(ctx, o->id, msg);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(j);
    } else {
      out.print_line(started_line(j, "Forked") + " from step '" + o->from_step + "'");
    }
  });

  cmd = group.add_subcommand(
      "rerun", "Start runs again from the first step: one run, or every run matching filters");
  CLI::Option* id = cmd->add_option("RUN_ID", o->id, "The run to rerun (or use the filters)");
  CLI::Option* wf = cmd->add_option("--workflow,-w", o->workflow, "Only runs of this workflow");
  CLI::Option* status = cmd->add_option("--status,-s", o->status,
                                        "Only runs with this status, e.g. error (any case)");
  CLI::Option* since =
      cmd->add_option("--since", o->since,
                      "Only runs created at or after this: a duration ago (30m, 2h) or an "
                      "ISO-8601 time")
          ->check(CLI::Validator(check_since, "TIME", "since"));
  cmd->add_option("--limit,-n", o->limit, "At most this many runs (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  id->excludes(wf)->excludes(status)->excludes(since);
  on_run(cmd, ctx, [&ctx, o, id, wf, status, since] {
    Output out = ctx.output();
    if (id->count() > 0) {
      const nlohmann::json j = started(ctx, o->id, pgqrs::rerun(ctx.store(), o->id));
      if (out.json()) {
        out.print_json(j);
      } else {
        out.print_line(started_line(j, "Reran"));
      }
      return;
    }
    if (wf->count() + status->count() + since->count() == 0) {
      throw ValidationError(
          "rerun: give a RUN_ID or at least one filter (--workflow, --status, --since); "
          "rerunning every run needs --status or --since on purpose");
    }
    RunFilter filter;
    if (wf->count() > 0) filter.workflow = o->workflow;
    if (status->count() > 0) {
      filter.status = parse_workflow_status(o->status);
      if (!filter.status) throw ValidationError("--status: unknown run status '" + o->status + "'");
    }
    if (since->count() > 0)
      filter.since = parse_since_or_throw(o->since, ctx.store().clock().now());
    filter.limit = o->limit;
    const auto runs = ctx.admin().list_runs(filter);
    nlohmann::json all = nlohmann::json::array();
    std::size_t done = 0;
    for (const auto& run : runs) {
      all.push_back(started(ctx, run.id, pgqrs::rerun(ctx.store(), run.id)));
      ++done;
      if (!out.json()) {
        out.print_line(started_line(all.back(), "Reran") + " [" + std::to_string(done) + "/" +
                       std::to_string(runs.size()) + "]");
      }
    }
    if (out.json()) {
      out.print_json(all);
    } else if (runs.empty()) {
      out.print_line("No runs match");
    }
  });
}

}  // namespace pgqrs::cli
