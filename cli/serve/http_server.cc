#include "serve/http_server.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "serve/api.h"
#include "serve/assets.h"
#include "serve/metrics_text.h"
#include "serve/security.h"

namespace pgqrs::cli::serve {
namespace {

using nlohmann::json;

constexpr char kJson[] = "application/json";
constexpr char kTokenCookie[] = "pgqrs_token";
// The pages are static files; everything they show is fetched from /api and put into the
// DOM as text. The policy forbids inline scripts and any other origin, so even a value that
// slipped through as markup could not run.
constexpr char kCsp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

// The single-page shell serves every dashboard URL; app.js renders by location.pathname.
// Add a page (e.g. schedules) here and in app.js's `pages` table.
constexpr const char* kPageRoutes[] = {"/",        "/queues", "/queues/([^/]+)", "/dead-letters",
                                       "/workers", "/runs",   "/runs/([^/]+)",   "/schedules"};

void set_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void set_error(httplib::Response& res, int status, std::string_view code,
               const std::string& message) {
  set_json(res, status, {{"error", {{"code", std::string(code)}, {"message", message}}}});
}

Query query_of(const httplib::Request& req) {
  Query q;
  for (const auto& [k, v] : req.params) q[k] = v;
  return q;
}

std::string_view status_word(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 413:
      return "payload_too_large";
    case 414:
      return "uri_too_long";
    default:
      return status < 500 ? "client_error" : "server_error";
  }
}

}  // namespace

struct DashboardServer::Impl {
  Impl(Store store, ServeOptions opts)
      : admin(pgqrs::admin(store)),
        api(admin, opts.redacted_dsn),
        options(std::move(opts)),
        csrf(random_hex(24)) {}

  Admin admin;
  Api api;
  ServeOptions options;
  std::string csrf;
  httplib::Server http;
  std::mutex log_mutex;
  std::mutex run_mutex;  // guards stop_requested, running
  std::condition_variable run_done;
  bool stop_requested = false;
  bool running = false;

  bool authorised(const httplib::Request& req) const {
    if (options.token.empty()) return true;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0 && equal_constant_time(auth.substr(7), options.token)) {
      return true;
    }
    if (req.has_header("X-Pgqrs-Token") &&
        equal_constant_time(req.get_header_value("X-Pgqrs-Token"), options.token)) {
      return true;
    }
    auto cookie = cookie_value(req.get_header_value("Cookie"), kTokenCookie);
    return cookie && equal_constant_time(*cookie, options.token);
  }

  static bool wants_page(const httplib::Request& req) {
    return req.method == "GET" && req.path.rfind("/api/", 0) != 0 && req.path != "/metrics";
  }

  void serve_asset(httplib::Response& res, std::string_view name, int status = 200) {
    const Asset* a = find_asset(name);
    if (a == nullptr) {
      set_error(res, 404, "not_found", "no such file: " + std::string(name));
      return;
    }
    res.status = status;
    res.set_content(std::string(a->body), std::string(a->content_type).c_str());
  }

  // Runs before routing: size limit, Host check, token. Handled = refused here.
  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kCsp);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Cache-Control", "no-store");
    if (req.target.size() > options.max_target_length) {
      set_error(res, 414, "uri_too_long",
                "request target is " + std::to_string(req.target.size()) + " bytes; the limit is " +
                    std::to_string(options.max_target_length));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (options.token.empty() && !is_loopback_host_header(req.get_header_value("Host"))) {
      set_error(res, 403, "bad_host",
                "this server listens on loopback without a token and answers only requests "
                "addressed to a loopback host (got Host '" +
                    req.get_header_value("Host").substr(0, 100) + "')");
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool public_path = req.path == "/login" || req.path == "/assets/style.css";
    if (!public_path && !authorised(req)) {
      if (wants_page(req)) {
        serve_asset(res, "login.html", 401);
      } else {
        set_error(res, 401, "unauthorized",
                  "a token is required: Authorization: Bearer <token>, X-Pgqrs-Token, or log "
                  "in at /login");
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // Wraps a handler: HttpError -> its status, pgqrs errors -> 503 (connection) or 500, every
  // message scrubbed of database secrets.
  template <typename F>
  httplib::Server::Handler guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const HttpError& e) {
        set_error(res, e.status(), e.code(), options.scrub(e.what()));
      } catch (const pgqrs::ConnectionError& e) {
        set_error(res, 503, "connection", options.scrub(e.what()));
      } catch (const pgqrs::Error& e) {
        set_error(res, 500, std::string(pgqrs::to_string(e.code())), options.scrub(e.what()));
      } catch (const std::exception& e) {
        set_error(res, 500, "internal", options.scrub(e.what()));
      }
    };
  }

  template <typename F>
  void get_json(const char* pattern, F f) {
    http.Get(pattern, guarded([f](const httplib::Request& req, httplib::Response& res) {
               set_json(res, 200, f(req));
             }));
  }

  // POST actions: refused unless --allow-actions and the CSRF token match.
  template <typename F>
  void post_action(const char* pattern, F f) {
    http.Post(pattern, guarded([this, f](const httplib::Request& req, httplib::Response& res) {
                if (!options.allow_actions) {
                  throw HttpError(403, "actions_disabled",
                                  "actions are disabled; start pgqrs serve with --allow-actions");
                }
                if (!equal_constant_time(req.get_header_value("X-CSRF-Token"), csrf)) {
                  throw HttpError(403, "csrf",
                                  "missing or wrong X-CSRF-Token (read it from /api/session)");
                }
                set_json(res, 200, f(req));
              }));
  }

  void routes() {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      return pre_route(req, res);
    });
    // Every refusal httplib makes itself (unknown path, bad request line, ...) is JSON too.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          set_error(res, res.status, status_word(res.status),
                    "request refused with HTTP " + std::to_string(res.status));
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      if (options.access_log == nullptr) return;
      std::lock_guard lock(log_mutex);
      *options.access_log << req.method << ' ' << req.path << ' ' << res.status << std::endl;
    });
    http.set_payload_max_length(64 * 1024);
    // Idle keep-alive connections (a browser keeps some) would hold shutdown for httplib's
    // default 5 s; one second is plenty for a dashboard.
    http.set_keep_alive_timeout(1);

    for (const char* page : kPageRoutes) {
      http.Get(page, [this](const httplib::Request&, httplib::Response& res) {
        serve_asset(res, "index.html");
      });
    }
    http.Get("/assets/([A-Za-z0-9_.-]+)",
             [this](const httplib::Request& req, httplib::Response& res) {
               serve_asset(res, req.matches[1].str());
             });
    http.Get("/login", [this](const httplib::Request&, httplib::Response& res) {
      serve_asset(res, "login.html");
    });
    http.Post("/login", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string given = req.get_param_value("token");
      if (options.token.empty() || !equal_constant_time(given, options.token)) {
        serve_asset(res, "login.html", options.token.empty() ? 404 : 401);
        return;
      }
      res.set_header("Set-Cookie", std::string(kTokenCookie) + "=" + options.token +
                                       "; Path=/; HttpOnly; SameSite=Strict");
      res.set_redirect("/", 303);
    });

    http.Get("/metrics", guarded([this](const httplib::Request&, httplib::Response& res) {
               const auto started = std::chrono::steady_clock::now();
               MetricsInput in;
               in.queues = admin.all_queues_metrics();
               in.activity = admin.activity_metrics();
               in.schedules = list_schedules(admin.store());
               in.now = admin.store().clock().now();
               in.scrape_duration = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::steady_clock::now() - started);
               res.set_content(render_metrics(in), "text/plain; version=0.0.4; charset=utf-8");
             }));

    get_json("/api/session", [this](const httplib::Request&) {
      return json{{"csrf_token", csrf},
                  {"actions_allowed", options.allow_actions},
                  {"token_required", !options.token.empty()}};
    });
    get_json("/api/overview", [this](const httplib::Request&) { return api.overview(); });
    get_json("/api/queues", [this](const httplib::Request&) { return api.queues(); });
    get_json("/api/queues/([^/]+)",
             [this](const httplib::Request& req) { return api.queue(req.matches[1].str()); });
    get_json("/api/queues/([^/]+)/messages", [this](const httplib::Request& req) {
      return api.queue_messages(req.matches[1].str(), query_of(req));
    });
    get_json("/api/messages/([^/]+)",
             [this](const httplib::Request& req) { return api.message(req.matches[1].str()); });
    get_json("/api/dead-letters",
             [this](const httplib::Request& req) { return api.dead_letters(query_of(req)); });
    get_json("/api/workers",
             [this](const httplib::Request& req) { return api.workers(query_of(req)); });
    get_json("/api/workflows", [this](const httplib::Request&) { return api.workflows(); });
    get_json("/api/runs", [this](const httplib::Request& req) { return api.runs(query_of(req)); });
    get_json("/api/runs/([^/]+)",
             [this](const httplib::Request& req) { return api.run(req.matches[1].str()); });

    get_json("/api/schedules", [this](const httplib::Request&) { return api.schedules(); });

    post_action("/api/runs/([^/]+)/rerun", [this](const httplib::Request& req) {
      return api.rerun_run(req.matches[1].str());
    });
    post_action("/api/runs/([^/]+)/fork", [this](const httplib::Request& req) {
      const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (!body.is_object() || !body.contains("from_step") || !body["from_step"].is_string()) {
        throw HttpError(400, "bad_body", R"(body must be JSON {"from_step": "<step name>"})");
      }
      return api.fork_run(req.matches[1].str(), body["from_step"].get<std::string>());
    });
    post_action("/api/schedules/([^/]+)/pause", [this](const httplib::Request& req) {
      return api.pause_schedule(req.matches[1].str());
    });
    post_action("/api/schedules/([^/]+)/resume", [this](const httplib::Request& req) {
      return api.resume_schedule(req.matches[1].str());
    });
    post_action("/api/dead-letters/([^/]+)/replay", [this](const httplib::Request& req) {
      return api.replay_dead_letter(req.matches[1].str());
    });
    post_action("/api/runs/([^/]+)/cancel", [this](const httplib::Request& req) {
      return api.cancel_run(req.matches[1].str());
    });
    post_action("/api/runs/([^/]+)/resume", [this](const httplib::Request& req) {
      return api.resume_run(req.matches[1].str());
    });
    post_action("/api/queues/([^/]+)/purge", [this](const httplib::Request& req) {
      std::string confirm;
      if (!req.body.empty()) {
        const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (!body.is_object() || !body.contains("confirm") || !body["confirm"].is_string()) {
          throw HttpError(400, "bad_body", R"(body must be JSON {"confirm": "<queue name>"})");
        }
        confirm = body["confirm"].get<std::string>();
      }
      return api.purge_queue(req.matches[1].str(), confirm);
    });
  }
};

DashboardServer::DashboardServer(Store store, ServeOptions options) {
  if (options.token.empty() && !is_loopback_address(options.host)) {
    throw std::invalid_argument("listening on '" + options.host +
                                "' (not loopback) requires a token: --token or "
                                "PGQRS_SERVE_TOKEN");
  }
  impl_ = std::make_unique<Impl>(std::move(store), std::move(options));
  impl_->routes();
}

DashboardServer::~DashboardServer() = default;

int DashboardServer::bind() {
  const std::string& host = impl_->options.host;
  const std::string bind_host =
      host.size() >= 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
  if (impl_->options.port == 0) {
    const int port = impl_->http.bind_to_any_port(bind_host);
    if (port < 0) throw std::runtime_error("cannot listen on " + host + ": bind failed");
    return port;
  }
  if (!impl_->http.bind_to_port(bind_host, impl_->options.port)) {
    throw std::runtime_error("cannot listen on " + host + ":" +
                             std::to_string(impl_->options.port) +
                             " (address in use or not available)");
  }
  return impl_->options.port;
}

void DashboardServer::run() {
  {
    std::lock_guard lock(impl_->run_mutex);
    if (impl_->stop_requested) return;
    impl_->running = true;
  }
  impl_->http.listen_after_bind();
  {
    std::lock_guard lock(impl_->run_mutex);
    impl_->running = false;
  }
  impl_->run_done.notify_all();
}

void DashboardServer::stop() {
  std::unique_lock lock(impl_->run_mutex);
  impl_->stop_requested = true;
  // httplib's stop() does nothing until its accept loop has started: retry until run() ended.
  while (impl_->running) {
    impl_->http.stop();
    impl_->run_done.wait_for(lock, std::chrono::milliseconds(10));
  }
}

}  // namespace pgqrs::cli::serve
