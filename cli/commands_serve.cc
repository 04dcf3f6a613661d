// pgqrs serve: the metrics endpoint, JSON API and dashboard over HTTP (cli/serve/,
// docs/ui.md). Runs until SIGINT or SIGTERM, then stops accepting, finishes the requests in
// flight and exits 0.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "commands.h"
#include "serve/http_server.h"
#include "serve/listen_address.h"

namespace pgqrs::cli {
namespace {

struct ServeArgs {
  std::string listen = "127.0.0.1:8080";
  bool allow_actions = false;
  std::string token;
};

void run_serve(Context& ctx, const ServeArgs& args) {
  serve::ServeOptions options;
  try {
    const serve::ListenAddress address = serve::parse_listen_address(args.listen);
    options.host = address.host;
    options.port = address.port;
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  options.allow_actions = args.allow_actions;
  options.token = args.token;
  if (options.token.empty()) {
    if (const char* env = std::getenv("PGQRS_SERVE_TOKEN")) options.token = env;
  }
  options.access_log = &std::cerr;
  options.scrub = [&ctx](std::string s) { return ctx.scrub(std::move(s)); };

  // Signals are taken by one thread with sigwait, so no handler runs inside httplib; block
  // them before any server thread starts (threads inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const Store& store = ctx.store();
  options.redacted_dsn = ctx.redacted_dsn();
  std::unique_ptr<serve::DashboardServer> server;
  try {
    server = std::make_unique<serve::DashboardServer>(store, options);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const int port = server->bind();

  int received = 0;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    received = sig;
    server->stop();
  });
  std::cout << "pgqrs serve: listening on http://" << options.host << ':' << port << " ("
            << (options.allow_actions ? "actions allowed" : "read-only")
            << (options.token.empty() ? "" : ", token required") << "; database "
            << ctx.redacted_dsn() << ")" << std::endl;
  server->run();
  if (received == 0) pthread_kill(waiter.native_handle(), SIGTERM);  // run ended on its own
  waiter.join();
  std::cout << "pgqrs serve: stopped" << (received == SIGINT ? " (SIGINT)" : " (SIGTERM)")
            << std::endl;
}

}  // namespace

void register_serve_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand(
      "serve", "Serve /metrics (Prometheus), a JSON API and the dashboard over HTTP");
  cmd->add_option("--listen", args->listen, "HOST:PORT to listen on (default 127.0.0.1:8080)");
  cmd->add_flag("--allow-actions", args->allow_actions,
                "Allow the dashboard's actions: replay dead letters, cancel runs, purge queues");
  cmd->add_option("--token", args->token,
                  "Access token required on every request (default: PGQRS_SERVE_TOKEN); "
                  "mandatory when listening on a non-loopback address");
  on_run(cmd, ctx, [&ctx, args] { run_serve(ctx, *args); });
}

}  // namespace pgqrs::cli
