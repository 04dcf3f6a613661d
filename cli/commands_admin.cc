// pgqrs admin install | verify | uninstall | stats | reclaim
#include <memory>

#include "commands.h"
#include "duration.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {

CLI::Validator duration_validator() {
  return CLI::Validator(check_duration, "DURATION", "duration");
}

void register_admin_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("admin", "Schema management and system statistics");
  group->require_subcommand(1);

  on_run(group->add_subcommand("install", "Create or upgrade the pgqrs schema (idempotent)"), ctx,
         [&ctx] {
           Admin admin = ctx.admin();
           admin.install();
           SchemaInfo info = admin.verify();
           Output out = ctx.output();
           if (out.json()) {
             nlohmann::json j = {{"ok", true}};
             j.update(to_json(info));
             out.print_json(j);
           } else {
             out.print_line("Installed pgqrs schema version " + std::to_string(info.version) +
                            " in " + ctx.redacted_dsn());
           }
         });

  on_run(group->add_subcommand("verify", "Check that the schema is installed and current"), ctx,
         [&ctx] {
           SchemaInfo info = ctx.admin().verify();
           Output out = ctx.output();
           if (out.json()) {
             nlohmann::json j = {{"ok", true}};
             j.update(to_json(info));
             out.print_json(j);
           } else {
             out.print_line("Schema OK: version " + std::to_string(info.version) + " in " +
                            ctx.redacted_dsn());
           }
         });

  on_run(group->add_subcommand("uninstall", "Drop everything pgqrs created (all queues and data)"),
         ctx, [&ctx] {
           ctx.admin().uninstall();
           Output out = ctx.output();
           if (out.json()) {
             out.print_json({{"ok", true}});
           } else {
             out.print_line("Uninstalled pgqrs from " + ctx.redacted_dsn());
           }
         });

  on_run(group->add_subcommand("stats", "System-wide counts of queues, workers and messages"), ctx,
         [&ctx] {
           SystemStats stats = ctx.admin().system_stats();
           Output out = ctx.output();
           if (out.json()) {
             out.print_json(to_json(stats));
           } else {
             out.print_fields(system_stats_fields(stats));
           }
         });

  struct ReclaimOptions {
    std::string queue;
    std::string older_than = "60s";
  };
  auto reclaim = std::make_shared<ReclaimOptions>();
  CLI::App* cmd = group->add_subcommand(
      "reclaim", "Release the messages of zombie workers (stale heartbeat) and stop them");
  cmd->add_option("--queue,-q", reclaim->queue, "Queue whose workers are checked")->required();
  cmd->add_option("--older-than", reclaim->older_than,
                  "Heartbeat age that makes a worker a zombie (default 60s)")
      ->check(duration_validator());
  on_run(cmd, ctx, [&ctx, reclaim] {
    auto older_than = parse_duration_or_throw(reclaim->older_than);
    std::uint64_t released = ctx.admin().reclaim_messages(reclaim->queue, older_than);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"queue", reclaim->queue}, {"released", released}});
    } else {
      out.print_line("Released " + std::to_string(released) + " message(s) of zombie workers on '" +
                     reclaim->queue + "'");
    }
  });
}

}  // namespace pgqrs::cli
