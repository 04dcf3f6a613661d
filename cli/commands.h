// Registration of the command groups. Each adds its subcommands to `app`; a parsed leaf
// command stores its work in ctx.set_action(), which main() runs after parsing succeeded.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>

#include <CLI/CLI.hpp>

#include "context.h"

namespace pgqrs::cli {

void register_admin_commands(CLI::App& app, Context& ctx);
void register_queue_commands(CLI::App& app, Context& ctx);
void register_worker_commands(CLI::App& app, Context& ctx);
void register_workflow_commands(CLI::App& app, Context& ctx);
// workflow fork | rerun (commands_workflow_fork.cc), under the "workflow" group.
void register_workflow_fork_commands(CLI::App& group, Context& ctx);
// pgqrs workflow send | messages | events | event | children (commands_workflow_talk.cc).
void register_workflow_talk_commands(CLI::App& group, Context& ctx);
// pgqrs workflow stranded | migrate (commands_workflow_versions.cc).
void register_workflow_version_commands(CLI::App& group, Context& ctx);
void register_s3_commands(CLI::App& app, Context& ctx);
void register_serve_command(CLI::App& app, Context& ctx);  // commands_serve.cc
// Also adds `admin prune` to the admin group (register it after register_admin_commands).
void register_schedule_commands(CLI::App& app, Context& ctx);

// Makes `cmd` run `fn` once the whole command line parsed.
inline void on_run(CLI::App* cmd, Context& ctx, std::function<void()> fn) {
  cmd->callback([&ctx, fn = std::move(fn)] { ctx.set_action(fn); });
}

// CLI11 check for duration options (see duration.h).
CLI::Validator duration_validator();

// `--before-id N` of a list command (keyset paging: only `what` with an id below N, i.e.
// older than the last page; pass the last id it printed). N must be positive.
inline CLI::Option* add_before_id_option(CLI::App* cmd, std::int64_t& into, const char* what) {
  return cmd
      ->add_option("--before-id", into,
                   std::string("Only ") + what +
                       " older than this id (paging: pass the last id of the previous page)")
      ->check(CLI::Range(std::int64_t{1}, std::numeric_limits<std::int64_t>::max()));
}

}  // namespace pgqrs::cli
