// pgqrs: command-line administration of a pgqrs database.
//
// Parses the command line (CLI11), runs the chosen command against the public API and maps
// the outcome to an exit code: 0 success, 1 a pgqrs error, 2 a usage error. Errors are
// printed as "error: <message>" on stderr; with --format json a JSON error object is also
// printed on stdout so scripts can always parse stdout. See docs/cli.md.
#include <iostream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "completion.h"
#include "context.h"
#include "pgqrs/pgqrs.h"

namespace {

using pgqrs::cli::Context;

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// True when the command line asks for JSON output (--format json or --format=json). Used by
// --version, which CLI11 answers before the other options are stored.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--format=json") return true;
    if (arg == "--format" && i + 1 < argc && std::string(argv[i + 1]) == "json") return true;
  }
  return false;
}

// `pgqrs --version`: the library version, the schema version and the backends built in.
std::string version_text(bool json) {
  const pgqrs::BuildInfo info = pgqrs::build_info();
  if (json) {
    return nlohmann::json{{"version", info.library_version},
                          {"schema_version", info.schema_version},
                          {"backends", info.backends}}
        .dump(2);
  }
  std::string backends;
  for (const std::string& b : info.backends) backends += (backends.empty() ? "" : ", ") + b;
  return "pgqrs " + info.library_version + "\nschema version " +
         std::to_string(info.schema_version) + "\nbackends " + backends;
}

// `pgqrs completion SHELL`: registered last so the script covers every other command.
void register_completion_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "completion", "Print a shell completion script: source <(pgqrs completion bash)");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&app, &ctx, shell] {
    ctx.set_action([&app, &ctx, shell] {
      const std::string script = pgqrs::cli::completion_script(app, *shell);
      auto out = ctx.output();
      if (out.json()) {
        out.print_json({{"shell", *shell}, {"script", script}});
      } else {
        out.stream() << script;
      }
    });
  });
}

// Reports an error on stderr and, in JSON mode, as {"error": {...}} on stdout.
void report_error(const Context& ctx, std::string_view code, const std::string& message) {
  std::string text = ctx.scrub(message);
  std::cerr << "error: " << text << '\n';
  auto out = ctx.output();
  if (out.json()) {
    out.print_json({{"error", {{"code", std::string(code)}, {"message", text}}}});
  }
}

// CLI11 says only "A subcommand is required" when a group or command is missing or
// misspelt; name what was expected and what was given instead.
std::string explain_parse_error(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_name() != "RequiredError" || std::string(e.what()) != "A subcommand is required") {
    return e.what();
  }
  CLI::App* deepest = &app;
  std::string path = "pgqrs";
  while (!deepest->get_subcommands().empty()) {
    deepest = deepest->get_subcommands().front();
    path += " " + deepest->get_name();
  }
  const char* what = deepest == &app ? "group" : "command";
  std::string choices;
  for (const CLI::App* sub : deepest->get_subcommands([](CLI::App*) { return true; })) {
    choices += (choices.empty() ? "" : ", ") + sub->get_name();
  }
  std::string given;
  for (const std::string& arg : app.remaining(true)) {
    if (!arg.empty() && arg[0] != '-') {
      given = arg;
      break;
    }
  }
  std::string message =
      given.empty() ? "missing " + std::string(what) + " after '" + path + "'"
                    : "unknown " + std::string(what) + " '" + given + "' for '" + path + "'";
  return message + " (choose one of: " + choices + ")";
}

int run(Context& ctx) {
  try {
    ctx.action()();
    ctx.finish();
  } catch (const pgqrs::cli::UsageError& e) {
    report_error(ctx, "usage", e.what());
    return kExitUsage;
  } catch (const pgqrs::Error& e) {
    report_error(ctx, pgqrs::to_string(e.code()), e.what());
    return kExitError;
  } catch (const std::exception& e) {
    report_error(ctx, "internal", e.what());
    return kExitError;
  }
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "error: could not write the output\n";
    return kExitError;
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  Context ctx(std::cout);
  pgqrs::cli::GlobalOptions& opts = ctx.options();

  CLI::App app{"pgqrs: manage pgqrs job queues (Postgres, SQLite, Turso, S3)", "pgqrs"};
  app.fallthrough();  // global options are accepted after the group and command too
  app.require_subcommand(1);
  const bool json_requested = wants_json(argc, argv);
  app.set_version_flag(
      "--version", [json_requested] { return version_text(json_requested); },
      "Print the library version, the schema version and the backends built in, then exit");
  app.footer(
      "The database comes from --dsn, else the config (--config FILE, PGQRS_CONFIG_FILE,\n"
      "PGQRS_DSN, ./pgqrs.yaml). Exit codes: 0 ok, 1 pgqrs error, 2 usage error.\n");

  app.add_option("--dsn", opts.dsn,
                 "Database: postgresql://..., sqlite:///path.db, turso:///path.db, "
                 "s3://bucket/key.sqlite");
  app.add_option("--schema", opts.schema, "Postgres schema (default: config, else public)");
  app.add_option("--config", opts.config_file,
                 "YAML config file (takes the place of "
                 "PGQRS_CONFIG_FILE)");
  app.add_option("--format", opts.format, "Output format: table (default) or json")
      ->check(CLI::IsMember({"table", "json"}));
  app.add_option("--connect-timeout", opts.connect_timeout,
                 "Seconds to keep trying a database that refuses or does not answer (default 2)")
      ->check(CLI::Range(1, 3600));
  app.add_option("--log-level", opts.log_level,
                 "Log level: error, warn (default), info, debug, trace")
      ->check(CLI::IsMember({"error", "warn", "info", "debug", "trace"}));

  pgqrs::cli::register_admin_commands(app, ctx);
  pgqrs::cli::register_queue_commands(app, ctx);
  pgqrs::cli::register_worker_commands(app, ctx);
  pgqrs::cli::register_workflow_commands(app, ctx);
  pgqrs::cli::register_s3_commands(app, ctx);
  pgqrs::cli::register_serve_command(app, ctx);
  pgqrs::cli::register_schedule_commands(app, ctx);
  register_completion_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    // An invalid --format value leaves the default (table) in place.
    report_error(ctx, "usage", explain_parse_error(app, e));
    std::cerr << "Run with --help for more information.\n";
    return kExitUsage;
  }
  if (!ctx.action()) {  // unreachable: every group requires a command
    report_error(ctx, "usage", "no command given");
    return kExitUsage;
  }
  return run(ctx);
}
