// pgqrs_serve_seed DSN [SCHEMA]: fills a fresh database with what the dashboard's browser
// tests look at (tests/browser/): queues with messages (one payload holding markup), a dead
// letter, workers in several states, and workflow runs that succeeded (with step retries),
// failed, are queued, are running, and one that talked (a message, an event, a stream, a
// child) and waits, PAUSED, in recv. Installs the schema first. Prints a JSON summary.
#include <chrono>
#include <iostream>
#include <string>

#include "pgqrs/coordination.h"
#include "pgqrs/pgqrs.h"

namespace {

using namespace std::chrono_literals;
using pgqrs::json;

std::int64_t trigger(const pgqrs::Store& store, const std::string& workflow, const json& input) {
  auto msg = pgqrs::workflow().name(workflow).trigger(input).execute(store);
  return pgqrs::run().message(msg).store(store).record().id;
}

// A run whose step `name` failed transiently `retries` times before it succeeded, each
// attempt one simulated second after the last.
void step_with_retries(pgqrs::Run& run, const std::string& name, int retries) {
  pgqrs::StepRetryPolicy policy;
  policy.max_attempts = 10;
  policy.backoff = pgqrs::BackoffStrategy::fixed(1ms);
  pgqrs::TimePoint t = run.current_time();
  for (int i = 0; i <= retries; ++i) {
    t += 1s;
    pgqrs::Run at = run.with_time(t);
    at.acquire_step(name);
    if (i == retries) {
      at.complete_step(name, json{{"rows", 42}});
      return;
    }
    try {
      at.fail_step_transient(name, pgqrs::TransientStepError("timeout talking to upstream"),
                             policy);
    } catch (const pgqrs::StepNotReadyError&) {
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::cerr << "usage: pgqrs_serve_seed DSN [SCHEMA]\n";
    return 2;
  }
  pgqrs::Config config = pgqrs::Config::from_dsn(argv[1]);
  if (argc == 3) config.schema = argv[2];
  const pgqrs::Store store = pgqrs::connect_with_config(config);
  const pgqrs::Admin admin = pgqrs::admin(store);
  admin.install();

  admin.create_queue("emails");
  admin.create_queue("reports");
  for (int i = 0; i < 4; ++i) {
    pgqrs::enqueue()
        .message({{"to", "user" + std::to_string(i) + "@example.com"}})
        .to("emails")
        .execute(store);
  }
  const auto xss = pgqrs::enqueue()
                       .message({{"html",
                                  "<script>window.__pgqrs_xss = 1</script>"
                                  "<img src=x onerror=\"window.__pgqrs_xss = 2\">"}})
                       .to("emails")
                       .execute(store)[0];

  // A dead letter: delivered max_read_ct times and released each time.
  const auto poison =
      pgqrs::enqueue().message({{"report", "broken"}}).to("reports").execute(store)[0];
  pgqrs::enqueue().message({{"report", "weekly"}}).to("reports").delay(3600s).execute(store);
  auto reporter = pgqrs::consumer("reporter", "reports").create(store);
  for (std::uint32_t i = 0; i < store.config().max_read_ct; ++i) {
    reporter.dequeue_with_vt(1, 1s);
    reporter.release_messages({poison});
  }

  auto mailer = pgqrs::consumer("mailer", "emails").create(store);
  auto paused = pgqrs::consumer("mailer-2", "emails").create(store);
  paused.suspend();

  pgqrs::workflow().name("etl").create(store);
  pgqrs::workflow().name("report").create(store);
  const auto ok = trigger(store, "etl", json{{"day", "2026-12-01"}});
  {
    pgqrs::Run run = pgqrs::run().id(ok).store(store).execute();
    run.start();
    step_with_retries(run, "extract", 0);
    step_with_retries(run, "transform", 2);
    step_with_retries(run, "load", 0);
    run.with_time(run.current_time() + 10s).complete(json{{"loaded", 42}});
  }
  const auto failed = trigger(store, "etl", json{{"day", "2026-12-02"}});
  {
    pgqrs::Run run = pgqrs::run().id(failed).store(store).execute();
    run.start();
    step_with_retries(run, "extract", 1);
    pgqrs::Run at = run.with_time(run.current_time() + 5s);
    at.acquire_step("transform");
    at.fail_step("transform", json{{"message", "column <b>amount</b> is missing"}});
    at.fail(json{{"message", "transform failed"}});
  }
  // Schedules: one active (never fired here), one paused.
  pgqrs::schedule("nightly-report")
      .cron("0 3 * * *")
      .enqueue_to("reports", json{{"report", "nightly"}})
      .create(store);
  pgqrs::schedule("hourly-sync").every(3600s).trigger("etl", json{{"day", "today"}}).create(store);
  pgqrs::pause_schedule(store, "hourly-sync");

  // A run that talked (issue 15) and now waits, PAUSED, for an "approval" message: it has an
  // unread message whose payload holds markup, an event, a closed stream and a child run
  // (of "report", which nobody serves: it stays QUEUED).
  pgqrs::WorkflowDef talk("approval", [](pgqrs::Run& run, const json&) {
    run.set_event("progress", json{{"percent", 40}});
    run.write_stream("log", json("step one <b>done</b>"));
    run.close_stream("log");
    run.start_child("report", json{{"kind", "child"}});
    auto answer = run.recv("approval", std::chrono::hours(24));
    return json{{"approved", answer.value_or(json(nullptr))}};
  });
  pgqrs::workflow().name(talk).create(store);
  const auto waiting = trigger(store, "approval", json{{"order", 7}});
  pgqrs::send(store, waiting, "note",
              json{{"html",
                    "<script>window.__pgqrs_xss = 3</script>"
                    "<img src=x onerror=\"window.__pgqrs_xss = 4\">"}});
  auto approver = pgqrs::consumer("approver", "approval").create(store);
  pgqrs::workflow().name(talk).consumer(approver).until_empty().poll(store);
  approver.suspend();  // no worker of this process serves it later

  const auto queued = trigger(store, "report", json{{"kind", "monthly"}});
  const auto running = trigger(store, "report", json{{"kind", "daily"}});
  pgqrs::run().id(running).store(store).execute().start();

  std::cout << json{{"xss_message", xss},     {"dead_letter", poison},
                    {"run_success", ok},      {"run_error", failed},
                    {"run_queued", queued},   {"run_running", running},
                    {"run_waiting", waiting}, {"worker_ready", mailer.id()}}
                   .dump()
            << std::endl;
  return 0;
}
