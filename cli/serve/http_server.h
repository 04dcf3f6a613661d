// The HTTP side of `pgqrs serve`: routes (/metrics, /api/..., the pages), the security
// rules of security.h applied to every request, and JSON errors for every refusal. Built on
// cpp-httplib (Debian libcpp-httplib-dev); httplib stays out of this header.
//
// Thread-safety: requests are served on httplib's thread pool; the Store is thread-safe.
// stop() may be called from any thread (e.g. a signal-handling thread).
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port (see DashboardServer::bind)
  bool allow_actions = false;  // the POST actions (replay, cancel, purge)
  std::string token;           // empty: no token (only allowed on a loopback host)
  std::string redacted_dsn;    // shown by /api/overview; never the password
  // Hides database secrets in a message before it is sent or logged (Context::scrub).
  std::function<std::string(std::string)> scrub = [](std::string s) { return s; };
  std::ostream* access_log = nullptr;    // one line per request (method, path, status); no query
  std::size_t max_target_length = 2048;  // longer request targets get 414
};

class DashboardServer {
 public:
  // Throws std::invalid_argument when a non-loopback host has no token.
  DashboardServer(Store store, ServeOptions options);
  ~DashboardServer();
  DashboardServer(const DashboardServer&) = delete;
  DashboardServer& operator=(const DashboardServer&) = delete;

  // Binds the listening socket and returns the port (the chosen one when options.port is
  // 0). Throws std::runtime_error naming the address when it cannot bind.
  int bind();
  // Serves until stop(). Call after bind(). Returns at once if stop() came first.
  void run();
  // Stops run() (from any thread) and returns once it has returned; stops a later run()
  // before it starts.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgqrs::cli::serve
