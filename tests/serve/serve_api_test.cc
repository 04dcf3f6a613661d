// pgqrs serve over every backend: Admin::activity_metrics (the MetricsStore capability the
// /metrics endpoint adds), then the HTTP server itself — /metrics, the JSON API, the action
// rules and the refusals — in-process on a loopback port over the fixture's store (its
// ManualClock drives every age the server reports).
#include <httplib.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "conformance/workflow_test_support.h"
#include "serve/http_server.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using pgqrs::WorkflowStatus;
using pgqrs::cli::serve::DashboardServer;
using pgqrs::cli::serve::ServeOptions;

class ServeTest : public WorkflowTest {
 protected:
  void TearDown() override {
    StopServer();
    WorkflowTest::TearDown();
  }

  void StartServer(ServeOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.redacted_dsn.empty()) options.redacted_dsn = "sqlite:///redacted";
    server_ = std::make_unique<DashboardServer>(store(), options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(30, 0);
  }
  void StopServer() {
    if (!server_) return;
    server_->stop();
    thread_.join();
    server_.reset();
  }

  // GET `path`; expects `status` and a JSON body (except for /metrics and pages).
  json GetJson(const std::string& path, int status = 200) {
    auto res = client_->Get(path);
    EXPECT_TRUE(res) << path << ": no response";
    if (!res) return nullptr;
    EXPECT_EQ(res->status, status) << path << ": " << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    return json::parse(res->body, nullptr, false);
  }
  json PostJson(const std::string& path, const json& body, int status,
                const httplib::Headers& headers = {}) {
    auto res = client_->Post(path, headers, body.dump(), "application/json");
    EXPECT_TRUE(res) << path << ": no response";
    if (!res) return nullptr;
    EXPECT_EQ(res->status, status) << path << ": " << res->body;
    return json::parse(res->body, nullptr, false);
  }
  httplib::Headers Csrf() {
    return {{"X-CSRF-Token", GetJson("/api/session")["csrf_token"].get<std::string>()}};
  }
  std::string Metrics() {
    auto res = client_->Get("/metrics");
    EXPECT_TRUE(res && res->status == 200);
    return res ? res->body : "";
  }
  static ServeOptions WithActions() {
    ServeOptions o;
    o.allow_actions = true;
    return o;
  }
  static std::string ErrorCode(const json& j) {
    return j.is_object() && j.contains("error") ? j["error"]["code"].get<std::string>() : "";
  }

  // A run of `workflow` that recorded one step with `retries` transient failures and ended
  // in `outcome` (SUCCESS or ERROR).
  std::int64_t RunWithRetries(const std::string& workflow, int retries, WorkflowStatus outcome) {
    pgqrs::workflow().name(workflow).create(store());
    const auto id =
        RunIdOf(pgqrs::workflow().name(workflow).trigger(json{{"w", workflow}}).execute(store()));
    pgqrs::Run run = pgqrs::run().id(id).store(store()).execute();
    run.start();
    pgqrs::StepRetryPolicy policy;
    policy.max_attempts = 10;
    policy.backoff = pgqrs::BackoffStrategy::fixed(1ms);
    for (int i = 0; i < retries; ++i) {
      Advance(1s);
      pgqrs::Run r = run.with_time(now());
      EXPECT_EQ(r.acquire_step("fetch").status, pgqrs::StepResult::Status::kExecute);
      try {
        r.fail_step_transient("fetch", pgqrs::TransientStepError("flaky"), policy);
      } catch (const pgqrs::StepNotReadyError&) {
      }
    }
    Advance(1s);
    pgqrs::Run last = run.with_time(now());
    EXPECT_EQ(last.acquire_step("fetch").status, pgqrs::StepResult::Status::kExecute);
    last.complete_step("fetch", 1);
    if (outcome == WorkflowStatus::kSuccess) {
      EXPECT_TRUE(last.complete(json{{"ok", true}}));
    } else {
      EXPECT_TRUE(last.fail(json{{"message", "gave up"}}));
    }
    return id;
  }

  std::unique_ptr<DashboardServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  int port_ = 0;
};

// ---- Admin::activity_metrics (the capability) -------------------------------------------

TEST_P(ServeTest, ActivityMetricsCountWorkersRunsAndStepRetries) {
  MakeQueue("jobs");
  MakeQueue("mail");
  auto c1 = pgqrs::consumer("c1", "jobs").create(store());
  Advance(5s);
  auto c2 = pgqrs::consumer("c2", "jobs").create(store());
  auto c3 = pgqrs::consumer("c3", "mail").create(store());
  c3.suspend();
  Advance(2s);
  RunWithRetries("etl", 2, WorkflowStatus::kSuccess);
  RunWithRetries("etl", 1, WorkflowStatus::kError);
  pgqrs::workflow().name("report").create(store());
  pgqrs::workflow().name("report").trigger(json::object()).execute(store());

  const pgqrs::ActivityMetrics m = admin().activity_metrics();
  std::vector<std::tuple<std::string, pgqrs::WorkerStatus, std::uint64_t>> workers;
  for (const auto& w : m.workers)
    workers.emplace_back(w.queue_name.value_or(""), w.status, w.count);
  EXPECT_NE(std::find(workers.begin(), workers.end(),
                      std::make_tuple(std::string("jobs"), pgqrs::WorkerStatus::kReady, 2ull)),
            workers.end());
  EXPECT_NE(std::find(workers.begin(), workers.end(),
                      std::make_tuple(std::string("mail"), pgqrs::WorkerStatus::kSuspended, 1ull)),
            workers.end());
  for (const auto& w : m.workers) {
    if (w.queue_name == "jobs" && w.status == pgqrs::WorkerStatus::kReady) {
      // c1 registered 9 s ago (worker creation = first heartbeat), c2 2 s + the runs' time.
      EXPECT_GE(w.oldest_heartbeat_age, 7s + 5s) << "the oldest heartbeat of the group, c1's";
    }
  }
  std::vector<std::tuple<std::string, WorkflowStatus, std::uint64_t>> runs;
  for (const auto& r : m.runs) runs.emplace_back(r.workflow_name, r.status, r.count);
  EXPECT_EQ(runs, (decltype(runs){{"etl", WorkflowStatus::kSuccess, 1},
                                  {"etl", WorkflowStatus::kError, 1},
                                  {"report", WorkflowStatus::kQueued, 1}}));
  ASSERT_EQ(m.step_retries.size(), 2u) << "every definition, retried or not";
  EXPECT_EQ(m.step_retries[0].workflow_name, "etl");
  EXPECT_EQ(m.step_retries[0].retries, 3u);
  EXPECT_EQ(m.step_retries[1].workflow_name, "report");
  EXPECT_EQ(m.step_retries[1].retries, 0u) << "report has no step";
}

TEST_P(ServeTest, ActivityMetricsOfAnEmptyStoreAreEmpty) {
  const pgqrs::ActivityMetrics m = admin().activity_metrics();
  EXPECT_TRUE(m.workers.empty());
  EXPECT_TRUE(m.runs.empty());
  EXPECT_TRUE(m.step_retries.empty());
}

// ---- /metrics ----------------------------------------------------------------------------

TEST_P(ServeTest, MetricsEndpointMatchesQueueMetrics) {
  MakeQueue("jobs");
  EnqueueNumbers("jobs", 3);
  pgqrs::enqueue().message({{"later", 1}}).to("jobs").delay(60s).execute(store());
  Advance(90s);  // the delayed one is now pending too; the oldest pending is 90 s old
  auto c = pgqrs::consumer("c", "jobs").create(store());
  auto leased = c.dequeue_with_vt(1, 30s);
  ASSERT_EQ(leased.size(), 1u);
  ASSERT_TRUE(c.archive(leased[0].id));
  ASSERT_EQ(c.dequeue_with_vt(1, 30s).size(), 1u);
  RunWithRetries("etl", 2, WorkflowStatus::kSuccess);
  StartServer();

  const std::string text = Metrics();
  const pgqrs::QueueMetrics q = admin().queue_metrics("jobs");
  EXPECT_EQ(q.pending, 2u);
  const auto has = [&](const std::string& line) {
    EXPECT_NE(text.find("\n" + line + "\n"), std::string::npos) << line << " in\n" << text;
  };
  has("pgqrs_queue_pending_messages{queue=\"jobs\"} " + std::to_string(q.pending));
  has("pgqrs_queue_leased_messages{queue=\"jobs\"} " + std::to_string(q.leased));
  has("pgqrs_queue_delayed_messages{queue=\"jobs\"} " + std::to_string(q.delayed));
  has("pgqrs_queue_dead_letters{queue=\"jobs\"} " + std::to_string(q.dead));
  has("pgqrs_queue_archived_messages{queue=\"jobs\"} 1");
  ASSERT_TRUE(q.oldest_pending_age.has_value());
  char age[32];
  std::snprintf(age, sizeof age, "%.3f", static_cast<double>(q.oldest_pending_age->count()) / 1000);
  has("pgqrs_queue_oldest_pending_age_seconds{queue=\"jobs\"} " + std::string(age));
  has("pgqrs_workers{queue=\"jobs\",state=\"ready\"} 1");
  has("pgqrs_workflow_runs{workflow=\"etl\",status=\"SUCCESS\"} 1");
  has("pgqrs_workflow_step_retries{workflow=\"etl\"} 2");
  has("# TYPE pgqrs_queue_pending_messages gauge");
  EXPECT_NE(text.find("pgqrs_scrape_duration_seconds "), std::string::npos);
}

// ---- the JSON API ------------------------------------------------------------------------

TEST_P(ServeTest, ApiShowsQueuesMessagesWorkersRunsAndSteps) {
  MakeQueue("jobs");
  auto ids = EnqueueNumbers("jobs", 3);
  auto c = pgqrs::consumer("c", "jobs").create(store());
  const auto run_id = RunWithRetries("etl", 1, WorkflowStatus::kSuccess);
  ServeOptions options;
  options.redacted_dsn = "postgresql://app:***@db/x";
  StartServer(options);

  const json queues = GetJson("/api/queues");
  ASSERT_TRUE(queues.is_array());
  const auto jobs = std::find_if(queues.begin(), queues.end(),
                                 [](const json& q) { return q["queue_name"] == "jobs"; });
  ASSERT_NE(jobs, queues.end());
  EXPECT_EQ((*jobs)["pending"], 3);

  const json queue = GetJson("/api/queues/jobs");
  EXPECT_EQ(queue["queue_name"], "jobs");
  EXPECT_EQ(queue["metrics"]["pending"], 3);
  EXPECT_EQ(queue["workers"]["total"], 1);

  const json page = GetJson("/api/queues/jobs/messages?limit=2");
  ASSERT_EQ(page["messages"].size(), 2u) << "limit applies";
  EXPECT_EQ(page["messages"][0]["id"], ids[2]) << "newest first";
  EXPECT_EQ(page["messages"][0]["payload"], (json{{"n", 2}}));
  EXPECT_EQ(GetJson("/api/messages/" + std::to_string(ids[0]))["payload"], (json{{"n", 0}}));

  const json workers = GetJson("/api/workers?queue=jobs");
  ASSERT_EQ(workers.size(), 1u);
  EXPECT_EQ(workers[0]["name"], "c");
  EXPECT_EQ(workers[0]["status"], "ready");
  EXPECT_TRUE(workers[0]["since_heartbeat_ms"].is_number());

  const json runs = GetJson("/api/runs?workflow=etl&status=SUCCESS");
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["id"], run_id);
  EXPECT_EQ(GetJson("/api/runs?status=ERROR")["runs"].size(), 0u);
  const json run = GetJson("/api/runs/" + std::to_string(run_id));
  EXPECT_EQ(run["status"], "SUCCESS");
  ASSERT_EQ(run["steps"].size(), 1u);
  EXPECT_EQ(run["steps"][0]["step_name"], "fetch");
  EXPECT_EQ(run["steps"][0]["retry_count"], 1);

  const json overview = GetJson("/api/overview");
  EXPECT_EQ(overview["dsn"], "postgresql://app:***@db/x");
  EXPECT_EQ(overview["backend"], GetParam().backend);
}

TEST_P(ServeTest, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  MakeQueue("jobs");
  StartServer();
  struct Refusal {
    std::string path;
    int status;
    std::string code;
  };
  const std::vector<Refusal> refusals = {
      {"/api/queues/nope", 404, "queue_not_found"},
      {"/api/queues/nope/messages", 404, "queue_not_found"},
      {"/api/queues/bad%20name", 400, "validation"},
      {"/api/runs/999999", 404, "run_not_found"},
      {"/api/runs/abc", 400, "bad_id"},
      {"/api/runs/-1", 400, "bad_id"},
      {"/api/runs/99999999999999999999", 400, "bad_id"},
      {"/api/messages/12x", 400, "bad_id"},
      {"/api/messages/424242", 404, "message_not_found"},
      {"/api/runs?status=DONE", 400, "bad_status"},
      {"/api/runs?limit=0", 400, "bad_limit"},
      {"/api/runs?limit=100000", 400, "bad_limit"},
      {"/api/nothing-here", 404, "not_found"},
      {"/api/queues?x=" + std::string(5000, 'a'), 414, "uri_too_long"},
      {"/api/queues?x=" + std::string(20000, 'a'), 414, "uri_too_long"},
  };
  for (const Refusal& r : refusals) {
    EXPECT_EQ(ErrorCode(GetJson(r.path, r.status)), r.code) << r.path.substr(0, 60);
  }
  EXPECT_EQ(GetJson("/api/queues/jobs")["queue_name"], "jobs") << "still serving";
}

// Keyset paging (issue 16): each list follows next_before_id from the first page to a null
// one, seeing every row once, newest first; bad paging parameters are 400s naming them.
TEST_P(ServeTest, ListsPageWithBeforeIdAndNextBeforeId) {
  MakeQueue("jobs");
  MakeQueue("dead");
  const auto jobs = EnqueueNumbers("jobs", 25);
  const auto dead = EnqueueNumbers("dead", 25);
  auto c = pgqrs::consumer("c", "dead").create(store());
  for (std::uint32_t i = 0; i < store().config().max_read_ct; ++i) {
    ASSERT_EQ(c.dequeue_with_vt(25, 1s).size(), 25u);
    ASSERT_EQ(c.release_messages(dead), 25u);
  }
  ASSERT_EQ(admin().dlq("dead").size(), 25u);
  pgqrs::workflow().name("etl").create(store());
  std::vector<std::int64_t> runs;
  for (int i = 0; i < 25; ++i) {
    runs.push_back(RunIdOf(pgqrs::workflow().name("etl").trigger(json{{"i", i}}).execute(store())));
  }
  StartServer();

  // Follows the pages of `path` (limit 10); returns the ids seen and checks the page sizes.
  auto page_through = [&](const std::string& path, const std::string& key) {
    std::vector<std::int64_t> seen;
    std::vector<std::size_t> sizes;
    std::string next = path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=10";
    for (int guard = 0; guard < 10; ++guard) {
      const json page = GetJson(next);
      EXPECT_EQ(page["limit"], 10);
      sizes.push_back(page[key].size());
      for (const auto& row : page[key]) seen.push_back(row["id"].get<std::int64_t>());
      if (page["next_before_id"].is_null()) break;
      EXPECT_EQ(page["next_before_id"], page[key].back()["id"]) << "the smallest id of the page";
      next = path + (path.find('?') == std::string::npos ? "?" : "&") +
             "limit=10&before_id=" + std::to_string(page["next_before_id"].get<std::int64_t>());
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 5})) << path;
    return seen;
  };
  auto newest_first = [](std::vector<std::int64_t> ids) {
    std::reverse(ids.begin(), ids.end());
    return ids;
  };
  EXPECT_EQ(page_through("/api/queues/jobs/messages", "messages"), newest_first(jobs));
  EXPECT_EQ(page_through("/api/dead-letters?queue=dead", "messages"), newest_first(dead));
  EXPECT_EQ(page_through("/api/dead-letters", "messages"), newest_first(dead));
  EXPECT_EQ(page_through("/api/runs?workflow=etl", "runs"), newest_first(runs));

  // A page that ends exactly at the oldest row says so (no empty "Older" page).
  const json last =
      GetJson("/api/queues/jobs/messages?limit=5&before_id=" + std::to_string(jobs[5]));
  EXPECT_EQ(last["messages"].size(), 5u);
  EXPECT_TRUE(last["next_before_id"].is_null());
  EXPECT_EQ(GetJson("/api/dead-letters?limit=25")["truncated"], false);
  EXPECT_EQ(GetJson("/api/dead-letters?limit=24")["truncated"], true);

  for (const std::string path : {"/api/queues/jobs/messages", "/api/dead-letters", "/api/runs"}) {
    for (const std::string bad : {"0", "-3", "abc", "", "12x", "99999999999999999999"}) {
      const json err = GetJson(path + "?before_id=" + bad, 400);
      EXPECT_EQ(ErrorCode(err), "bad_before_id") << path << " before_id=" << bad;
      EXPECT_NE(err["error"]["message"].get<std::string>().find("before_id"), std::string::npos);
    }
    const json err = GetJson(path + "?limit=zero", 400);
    EXPECT_EQ(ErrorCode(err), "bad_limit") << path;
    EXPECT_NE(err["error"]["message"].get<std::string>().find("limit"), std::string::npos);
  }
}

TEST_P(ServeTest, ActionsAreRefusedWithoutAllowActions) {
  MakeQueue("jobs");
  EnqueueNumbers("jobs", 2);
  StartServer();
  EXPECT_FALSE(GetJson("/api/session")["actions_allowed"].get<bool>());
  const json r = PostJson("/api/queues/jobs/purge", {{"confirm", "jobs"}}, 403, Csrf());
  EXPECT_EQ(ErrorCode(r), "actions_disabled");
  EXPECT_EQ(admin().queue_metrics("jobs").pending, 2u) << "nothing purged";
  auto get = client_->Post("/api/runs/1/cancel", "", "application/json");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 403);
}

TEST_P(ServeTest, ActionsNeedTheCsrfTokenAndConfirmation) {
  MakeQueue("jobs");
  EnqueueNumbers("jobs", 2);
  StartServer(WithActions());
  EXPECT_EQ(ErrorCode(PostJson("/api/queues/jobs/purge", {{"confirm", "jobs"}}, 403)), "csrf");
  EXPECT_EQ(ErrorCode(PostJson("/api/queues/jobs/purge", {{"confirm", "jobs"}}, 403,
                               {{"X-CSRF-Token", "guess"}})),
            "csrf");
  EXPECT_EQ(ErrorCode(PostJson("/api/queues/jobs/purge", {{"confirm", "job"}}, 400, Csrf())),
            "confirmation_required");
  EXPECT_EQ(admin().queue_metrics("jobs").pending, 2u);
  EXPECT_EQ(PostJson("/api/queues/jobs/purge", {{"confirm", "jobs"}}, 200, Csrf())["purged"], 2);
  EXPECT_EQ(admin().queue_metrics("jobs").pending, 0u);
  EXPECT_EQ(ErrorCode(PostJson("/api/queues/nope/purge", {{"confirm", "nope"}}, 404, Csrf())),
            "queue_not_found");
}

TEST_P(ServeTest, ReplayDeadLetterAndCancelRunActions) {
  MakeQueue("jobs");
  const auto id = pgqrs::enqueue().message({{"poison", true}}).to("jobs").execute(store())[0];
  auto c = pgqrs::consumer("c", "jobs").create(store());
  for (std::uint32_t i = 0; i < store().config().max_read_ct; ++i) {
    ASSERT_EQ(c.dequeue_with_vt(1, 1s).size(), 1u);
    ASSERT_EQ(c.release_messages({id}), 1u);
  }
  ASSERT_EQ(admin().dlq("jobs").size(), 1u);
  pgqrs::workflow().name("etl").create(store());
  const auto run_id =
      RunIdOf(pgqrs::workflow().name("etl").trigger(json::object()).execute(store()));
  StartServer(WithActions());

  const json dead = GetJson("/api/dead-letters?queue=jobs");
  ASSERT_EQ(dead["messages"].size(), 1u);
  EXPECT_EQ(dead["messages"][0]["id"], id);
  EXPECT_EQ(PostJson("/api/dead-letters/" + std::to_string(id) + "/replay", json::object(), 200,
                     Csrf())["replayed"],
            true);
  EXPECT_TRUE(admin().dlq("jobs").empty());
  EXPECT_EQ(ErrorCode(PostJson("/api/dead-letters/" + std::to_string(id) + "/replay",
                               json::object(), 409, Csrf())),
            "not_a_dead_letter");

  EXPECT_EQ(PostJson("/api/runs/" + std::to_string(run_id) + "/cancel", json::object(), 200,
                     Csrf())["cancel_requested"],
            true);
  EXPECT_EQ(Status(run_id), WorkflowStatus::kCancelling);
  EXPECT_EQ(ErrorCode(PostJson("/api/runs/" + std::to_string(run_id) + "/cancel", json::object(),
                               409, Csrf())),
            "run_not_cancellable");
  EXPECT_EQ(ErrorCode(PostJson("/api/runs/777777/cancel", json::object(), 404, Csrf())),
            "run_not_found");
}

TEST_P(ServeTest, SchedulesPageDataLagMetricAndPauseResumeActions) {
  store().queue("reports");
  pgqrs::schedule("nightly")
      .every(60s)
      .enqueue_to("reports", json{{"kind", "nightly"}})
      .create(store());
  pgqrs::schedule("quiet").cron("0 3 * * *").enqueue_to("reports").create(store());
  pgqrs::pause_schedule(store(), "quiet");
  // Nothing fires the schedules here, so "nightly" falls 90 s behind on the engine clock.
  Advance(150s);
  StartServer(WithActions());

  const json list = GetJson("/api/schedules");
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  const auto by_name = [&](const std::string& name) {
    for (const auto& s : list)
      if (s["name"] == name) return s;
    ADD_FAILURE() << "no schedule " << name << " in " << list.dump();
    return json();
  };
  const json nightly = by_name("nightly");
  EXPECT_EQ(nightly["every_seconds"], 60);
  EXPECT_EQ(nightly["target"], "reports");
  EXPECT_EQ(nightly["paused"], false);
  EXPECT_NEAR(nightly["lag_seconds"].get<double>(), 90.0, 0.01);
  EXPECT_EQ(nightly["upcoming"].size(), 3u);
  const json quiet = by_name("quiet");
  EXPECT_EQ(quiet["paused"], true);
  EXPECT_EQ(quiet["lag_seconds"], 0.0) << "a paused schedule is never late";
  EXPECT_TRUE(quiet["upcoming"].empty());

  const std::string metrics = Metrics();
  EXPECT_NE(metrics.find("pgqrs_schedule_lag_seconds{schedule=\"nightly\"} 90.000\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pgqrs_schedule_lag_seconds{schedule=\"quiet\"} 0.000\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("pgqrs_schedule_paused{schedule=\"quiet\"} 1\n"), std::string::npos);

  EXPECT_EQ(PostJson("/api/schedules/quiet/resume", json::object(), 200, Csrf())["paused"], false);
  EXPECT_FALSE(pgqrs::get_schedule(store(), "quiet").paused);
  EXPECT_EQ(PostJson("/api/schedules/nightly/pause", json::object(), 200, Csrf())["paused"], true);
  EXPECT_TRUE(pgqrs::get_schedule(store(), "nightly").paused);
  EXPECT_EQ(ErrorCode(PostJson("/api/schedules/nope/pause", json::object(), 404, Csrf())),
            "schedule_not_found");
  EXPECT_EQ(GetJson("/api/schedules").size(), 2u) << "the server keeps serving";
}

// The run page's panels (issue 15's coordination) and the "Resume now" action.
TEST_P(ServeTest, ARunShowsItsMessagesEventsAndChildrenAndResumeNowEndsItsWait) {
  pgqrs::workflow().name("child").create(store());
  pgqrs::WorkflowDef def("talk", [](pgqrs::Run& run, const json&) {
    run.set_event("progress", 40);
    run.write_stream("log", "line <1>");
    run.start_child("child", json{{"n", 1}});
    auto answer = run.recv("approval", 1h);
    return json{{"approved", answer.value_or(json("timeout"))}};
  });
  Register(def);
  const auto run_id = Trigger(def);
  pgqrs::send(store(), run_id, "note", json{{"html", "<script>alert(1)</script>"}});
  Drain(def);
  ASSERT_EQ(Status(run_id), WorkflowStatus::kPaused) << Describe(run_id);
  StartServer(WithActions());
  const std::string base = "/api/runs/" + std::to_string(run_id);

  const json run = GetJson(base);
  ASSERT_EQ(run["messages"].size(), 1u) << run.dump();
  EXPECT_EQ(run["messages"][0]["topic"], "note");
  EXPECT_EQ(run["messages"][0]["payload"], (json{{"html", "<script>alert(1)</script>"}}));
  EXPECT_EQ(run["messages"][0]["received_by"], nullptr);
  ASSERT_EQ(run["events"].size(), 2u) << run.dump();
  EXPECT_EQ(run["events"][0]["kind"], "event");
  EXPECT_EQ(run["events"][1]["value"], "line <1>");
  ASSERT_EQ(run["children"].size(), 1u);
  EXPECT_EQ(run["children"][0]["workflow_name"], "child");
  EXPECT_EQ(run["messages_truncated"], false);
  EXPECT_EQ(run["steps"].size(), 4u) << "set_event, write_stream, start_child, recv";

  EXPECT_EQ(PostJson(base + "/resume", json::object(), 200, Csrf())["resumed"], true);
  Drain(def);  // the clock has not moved: the hour-long recv timed out now
  EXPECT_EQ(Status(run_id), WorkflowStatus::kSuccess) << Describe(run_id);
  EXPECT_EQ(Record(run_id).output, (json{{"approved", "timeout"}}));
  EXPECT_EQ(ErrorCode(PostJson(base + "/resume", json::object(), 409, Csrf())), "run_not_paused");
  EXPECT_EQ(ErrorCode(PostJson("/api/runs/777777/resume", json::object(), 404, Csrf())),
            "run_not_found");
  StopServer();
  StartServer();
  EXPECT_EQ(ErrorCode(PostJson(base + "/resume", json::object(), 403, Csrf())), "actions_disabled");
}

TEST_P(ServeTest, RerunAndForkActionsStartNewRuns) {
  const auto run_id = RunWithRetries("billing", 0, WorkflowStatus::kError);
  StartServer(WithActions());
  const std::string base = "/api/runs/" + std::to_string(run_id);

  const json rerun = PostJson(base + "/rerun", json::object(), 200, Csrf());
  ASSERT_TRUE(rerun.contains("run_id")) << rerun.dump();
  EXPECT_NE(rerun["run_id"], run_id);
  EXPECT_EQ(Status(rerun["run_id"].get<std::int64_t>()), WorkflowStatus::kQueued);
  EXPECT_TRUE(ListSteps(store(), rerun["run_id"].get<std::int64_t>()).empty())
      << "a rerun copies no step";

  const json forked = PostJson(base + "/fork", json{{"from_step", "fetch"}}, 200, Csrf());
  ASSERT_TRUE(forked.contains("run_id")) << forked.dump();
  EXPECT_EQ(GetJson("/api/runs/" + std::to_string(forked["run_id"].get<std::int64_t>()))["status"],
            "QUEUED");

  EXPECT_EQ(ErrorCode(PostJson(base + "/fork", json{{"from_step", "refund"}}, 400, Csrf())),
            "validation");
  EXPECT_EQ(ErrorCode(PostJson(base + "/fork", json{{"step", "fetch"}}, 400, Csrf())), "bad_body");
  EXPECT_EQ(ErrorCode(PostJson("/api/runs/777777/rerun", json::object(), 404, Csrf())),
            "run_not_found");
  EXPECT_EQ(ErrorCode(PostJson("/api/runs/x1/fork", json{{"from_step", "fetch"}}, 400, Csrf())),
            "bad_id");
  // Without --allow-actions both are refused.
  StopServer();
  StartServer();
  EXPECT_EQ(ErrorCode(PostJson(base + "/rerun", json::object(), 403, Csrf())), "actions_disabled");
  EXPECT_EQ(ErrorCode(PostJson("/api/schedules/x/pause", json::object(), 403, Csrf())),
            "actions_disabled");
}

TEST_P(ServeTest, TokenIsCheckedOnEveryRequest) {
  MakeQueue("jobs");
  ServeOptions options;
  options.token = "s3cret-token";
  StartServer(options);
  EXPECT_EQ(ErrorCode(GetJson("/api/queues", 401)), "unauthorized");
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 401);
  auto page = client_->Get("/queues");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 401);
  EXPECT_NE(page->body.find("name=\"token\""), std::string::npos) << "the login form";

  EXPECT_EQ(client_->Get("/api/queues", {{"Authorization", "Bearer s3cret-token"}})->status, 200);
  EXPECT_EQ(client_->Get("/api/queues", {{"X-Pgqrs-Token", "s3cret-token"}})->status, 200);
  EXPECT_EQ(client_->Get("/api/queues", {{"Authorization", "Bearer s3cret-tokeN"}})->status, 401);
  EXPECT_EQ(client_->Get("/api/queues", {{"Cookie", "pgqrs_token=s3cret-token"}})->status, 200);

  auto bad_login = client_->Post("/login", "token=wrong", "application/x-www-form-urlencoded");
  ASSERT_TRUE(bad_login);
  EXPECT_EQ(bad_login->status, 401);
  auto login = client_->Post("/login", "token=s3cret-token", "application/x-www-form-urlencoded");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("pgqrs_token=s3cret-token"), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
}

TEST_P(ServeTest, LoopbackServerWithoutTokenRefusesForeignHostHeaders) {
  StartServer();
  EXPECT_EQ(client_->Get("/api/queues", {{"Host", "localhost:1234"}})->status, 200);
  auto res = client_->Get("/api/queues", {{"Host", "attacker.example:80"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(ErrorCode(json::parse(res->body)), "bad_host");
}

TEST_P(ServeTest, PagesAndAssetsAreEmbeddedWithAStrictContentSecurityPolicy) {
  StartServer();
  for (const char* path :
       {"/", "/queues", "/queues/jobs", "/dead-letters", "/workers", "/runs", "/runs/1"}) {
    auto res = client_->Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_NE(res->body.find("/assets/app.js"), std::string::npos) << path;
    EXPECT_NE(res->get_header_value("Content-Security-Policy").find("script-src 'self'"),
              std::string::npos);
  }
  auto js = client_->Get("/assets/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body.find("innerHTML"), std::string::npos) << "the pages build the DOM as text";
  EXPECT_EQ(client_->Get("/assets/nope.js")->status, 404);
}

PGQRS_INSTANTIATE_CONFORMANCE(ServeTest);

}  // namespace
}  // namespace pgqrs_test
