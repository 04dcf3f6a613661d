// pgqrs workflow stranded | migrate (pgqrs/versions.h; docs/workflows.md "Safe upgrades").
#include <memory>
#include <string>

#include "commands.h"
#include "duration.h"
#include "pgqrs/versions.h"

namespace pgqrs::cli {

void register_workflow_version_commands(CLI::App& group, Context& ctx) {
  struct Options {
    std::string heartbeat_timeout = "60s";
    std::uint32_t limit = 1000;
    std::string to;
    std::string from;
    std::string workflow;
  };
  auto o = std::make_shared<Options>();

  CLI::App* cmd = group.add_subcommand(
      "stranded", "List unfinished runs whose app version no live worker serves");
  cmd->add_option("--heartbeat-timeout", o->heartbeat_timeout,
                  "A worker is live when its heartbeat is at most this old (default 60s)")
      ->check(CLI::Validator(check_duration, "DURATION", "duration"));
  cmd->add_option("--limit,-n", o->limit, "At most this many runs (default 1000)")
      ->check(CLI::Range(1u, 1'000'000u));
  on_run(cmd, ctx, [&ctx, o] {
    auto runs =
        pgqrs::stranded_runs(ctx.store(), parse_duration_or_throw(o->heartbeat_timeout), o->limit);
    Output out = ctx.output();
    if (out.json()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& r : runs) {
        a.push_back({{"run_id", r.run_id},
                     {"workflow", r.workflow},
                     {"app_version", r.app_version},
                     {"status", std::string(to_string(r.status))}});
      }
      out.print_json(a);
    } else {
      Table t({"RUN", "WORKFLOW", "APP VERSION", "STATUS"});
      for (const auto& r : runs) {
        t.add_row({std::to_string(r.run_id), r.workflow, r.app_version,
                   std::string(to_string(r.status))});
      }
      out.print_table(t);
    }
  });

  cmd = group.add_subcommand(
      "migrate", "Move unfinished runs to another app version (one that live workers serve)");
  cmd->add_option("--to", o->to, "The new app version (\"\" = unversioned: any worker)")
      ->required();
  CLI::Option* from =
      cmd->add_option("--from", o->from, "Only runs of this version (\"\" = unversioned)");
  CLI::Option* wf = cmd->add_option("--workflow,-w", o->workflow, "Only runs of this workflow");
  on_run(cmd, ctx, [&ctx, o, from, wf] {
    std::optional<std::string> from_version, workflow;
    if (from->count() > 0) from_version = o->from;
    if (wf->count() > 0) workflow = o->workflow;
    const auto moved = pgqrs::migrate_runs(ctx.store(), o->to, from_version, workflow);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"migrated", moved}, {"to", o->to}});
    } else {
      out.print_line("Migrated " + std::to_string(moved) + " run(s) to app version '" + o->to +
                     "'");
    }
  });
}

}  // namespace pgqrs::cli
