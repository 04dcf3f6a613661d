// End-to-end tests of the pgqrs CLI: Workflow group (list, trigger, runs, steps, cancel).
// Fixture and helpers: tests/common/cli_fixture.h.
#include "common/cli_fixture.h"

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

// ---- workflow group ---------------------------------------------------------------------

// Workflow tests register definitions and run workers through the C++ API (the CLI has no
// create command and serves no runs), and look at the records through the CLI.
class CliWorkflowTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    Result r = cli({"admin", "install"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    pgqrs::Store store = pgqrs::connect(dsn_);
    pgqrs::workflow().name("wf").create(store);
  }

  // Triggers a run of `workflow` with `input` through the CLI; returns the run id.
  std::int64_t trigger(const std::string& input, const std::string& workflow = "wf") {
    Result r = cli_json({"workflow", "trigger", workflow, input});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    json j = parse_json(r);
    EXPECT_EQ(keys_of(j), (std::set<std::string>{"run_id", "message_id"})) << describe(r);
    EXPECT_TRUE(j["run_id"].is_number_integer()) << describe(r);
    EXPECT_TRUE(j["message_id"].is_number_integer()) << describe(r);
    return j.value("run_id", std::int64_t{0});
  }

  // Serves every queued run of "wf" with a two-step handler, then returns.
  void run_worker() {
    pgqrs::WorkflowDef def("wf", [](pgqrs::Run& run, const json& in) {
      int doubled = pgqrs::workflow_step(run, "double", [&] { return in.at("x").get<int>() * 2; });
      std::string text =
          pgqrs::workflow_step(run, "describe", [&] { return "x2=" + std::to_string(doubled); });
      return json{{"doubled", doubled}, {"text", text}};
    });
    pgqrs::Store store = pgqrs::connect(dsn_);
    pgqrs::workflow().name(def).until_empty().poll(store);
  }

  json runs(std::vector<std::string> filters = {}) {
    filters.insert(filters.begin(), {"workflow", "runs"});
    Result r = cli_json(filters);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    json j = parse_json(r);
    EXPECT_TRUE(j.is_array()) << describe(r);
    return j;
  }

  json run_record(std::int64_t id) {
    Result r = cli_json({"workflow", "run", std::to_string(id)});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return parse_json(r);
  }
};

const std::set<std::string> kRunKeys = {"id",         "workflow_id", "workflow_name", "message_id",
                                        "status",     "input",       "output",        "error",
                                        "created_at", "updated_at"};
const std::set<std::string> kStepKeys = {"id",          "run_id",     "step_name", "status",
                                         "input",       "output",     "error",     "retry_at",
                                         "retry_count", "created_at", "updated_at"};

TEST_F(CliWorkflowTest, ListShowsRegisteredWorkflows) {
  Result r = cli_json({"workflow", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json list = parse_json(r);
  ASSERT_TRUE(list.is_array()) << describe(r);
  ASSERT_EQ(list.size(), 1u) << describe(r);
  EXPECT_EQ(list[0]["name"], "wf");
  EXPECT_EQ(keys_of(list[0]), (std::set<std::string>{"id", "name", "queue_id", "created_at"}));
  EXPECT_TRUE(std::regex_match(list[0]["created_at"].get<std::string>(), iso_utc()));

  // The workflow's queue carries the same name.
  r = cli_json({"queue", "get", "wf"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["id"], list[0]["queue_id"]);

  r = cli({"workflow", "list"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("NAME"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("wf"), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, TriggerRunsStepsAndCancelOfAFinishedRun) {
  const std::int64_t id = trigger(R"({"x":1})");
  ASSERT_GT(id, 0);
  const std::string sid = std::to_string(id);

  json list = runs();
  ASSERT_EQ(list.size(), 1u);
  const json& run = list[0];
  EXPECT_EQ(keys_of(run), kRunKeys);
  EXPECT_EQ(run["id"], id);
  EXPECT_EQ(run["workflow_name"], "wf");
  EXPECT_EQ(run["status"], "QUEUED");
  EXPECT_EQ(run["input"], json({{"x", 1}})) << "input must be JSON, not a string";
  EXPECT_TRUE(run["output"].is_null());
  EXPECT_TRUE(run["error"].is_null());
  EXPECT_TRUE(run["message_id"].is_number_integer());
  EXPECT_TRUE(std::regex_match(run["created_at"].get<std::string>(), iso_utc()));
  EXPECT_TRUE(std::regex_match(run["updated_at"].get<std::string>(), iso_utc()));

  // Filters.
  EXPECT_EQ(runs({"--status", "queued"}).size(), 1u);
  EXPECT_EQ(runs({"--status", "QUEUED"}).size(), 1u);
  EXPECT_EQ(runs({"--status", "success"}).size(), 0u);
  EXPECT_EQ(runs({"--workflow", "wf"}).size(), 1u);
  EXPECT_EQ(runs({"--workflow", "other"}).size(), 0u);
  EXPECT_EQ(runs({"--since", "1h"}).size(), 1u);
  EXPECT_EQ(runs({"--since", "2000-01-01"}).size(), 1u);
  EXPECT_EQ(runs({"--since", "2199-01-01T00:00:00Z"}).size(), 0u);
  ASSERT_GT(trigger(R"({"x":2})"), id);
  EXPECT_EQ(runs().size(), 2u);
  json limited = runs({"--limit", "1"});
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_GT(limited[0]["id"].get<std::int64_t>(), id) << "newest first";

  json one = run_record(id);
  EXPECT_EQ(keys_of(one), kRunKeys);
  EXPECT_EQ(one, run);

  Result r = cli_json({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json::array()) << "no step runs before a worker does";
  r = cli({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("(none)"), std::string::npos) << describe(r);

  run_worker();

  r = cli_json({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json steps = parse_json(r);
  ASSERT_EQ(steps.size(), 2u) << describe(r);
  std::map<std::string, json> by_name;
  for (const auto& step : steps) {
    EXPECT_EQ(keys_of(step), kStepKeys);
    EXPECT_EQ(step["run_id"], id);
    EXPECT_EQ(step["status"], "SUCCESS");
    EXPECT_EQ(step["retry_count"], 0);
    EXPECT_TRUE(step["retry_at"].is_null());
    EXPECT_TRUE(step["error"].is_null());
    by_name[step["step_name"].get<std::string>()] = step;
  }
  EXPECT_EQ(by_name["double"]["output"], 2) << describe(r);
  EXPECT_EQ(by_name["describe"]["output"], "x2=2") << describe(r);

  r = cli({"workflow", "steps", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("describe"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);

  one = run_record(id);
  EXPECT_EQ(one["status"], "SUCCESS");
  EXPECT_EQ(one["output"], json({{"doubled", 2}, {"text", "x2=2"}}));
  EXPECT_TRUE(one["error"].is_null());
  EXPECT_EQ(runs({"--status", "success"}).size(), 2u);

  r = cli({"workflow", "run", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find(R"({"doubled":2,"text":"x2=2"})"), std::string::npos) << describe(r);

  r = cli({"workflow", "runs"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("STATUS"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find(R"({"x":1})"), std::string::npos) << describe(r);

  // Cancelling a finished run changes nothing and is not an error.
  r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json({{"ok", true}, {"cancelled", false}})) << describe(r);
  EXPECT_EQ(run_record(id)["status"], "SUCCESS");
  r = cli({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("not cancelled"), std::string::npos) << describe(r);
  EXPECT_NE(r.out.find("SUCCESS"), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, CancelOfAQueuedRun) {
  const std::string sid = std::to_string(trigger(R"({"x":3})"));
  Result r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json({{"ok", true}, {"cancelled", true}})) << describe(r);
  EXPECT_EQ(run_record(std::stoll(sid))["status"], "CANCELLING");
  EXPECT_EQ(runs({"--status", "cancelling"}).size(), 1u);

  // Already cancelling: nothing more to do.
  r = cli_json({"workflow", "cancel", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["cancelled"], false) << describe(r);

  const std::string other = std::to_string(trigger("{}"));
  r = cli({"workflow", "cancel", other});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Cancelling run " + other), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTest, TriggerInputFromStdinAndTableOutput) {
  Result r = cli({"workflow", "trigger", "wf", "-"}, R"({"from":"stdin"})");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("Triggered run "), std::string::npos) << describe(r);
  json list = runs();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["input"], json({{"from", "stdin"}}));
}

TEST_F(CliWorkflowTest, RunsPageWithBeforeId) {
  const std::int64_t a = trigger(R"({"x":1})");
  const std::int64_t b = trigger(R"({"x":2})");
  const std::int64_t c = trigger(R"({"x":3})");
  auto ids = [](const json& list) {
    std::vector<std::int64_t> out;
    for (const auto& r : list) out.push_back(r["id"].get<std::int64_t>());
    return out;
  };
  EXPECT_EQ(ids(runs({"--limit", "2"})), (std::vector<std::int64_t>{c, b}));
  EXPECT_EQ(ids(runs({"--limit", "2", "--before-id", std::to_string(b)})),
            (std::vector<std::int64_t>{a}));
  EXPECT_TRUE(runs({"--before-id", std::to_string(a)}).empty());
  for (const char* bad : {"0", "-1", "x"}) {
    Result r = cli({"workflow", "runs", "--before-id", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << describe(r);
  }
}

TEST_F(CliWorkflowTest, BadStatusOrSinceIsAUsageError) {
  Result r = cli({"workflow", "runs", "--status", "done"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  for (const char* status :
       {"QUEUED", "RUNNING", "PAUSED", "CANCELLING", "CANCELLED", "SUCCESS", "ERROR"}) {
    EXPECT_NE(r.err.find(status), std::string::npos) << status << "\n" << describe(r);
  }
  r = cli_json({"workflow", "runs", "--status", "done"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_EQ(parse_json(r)["error"]["code"], "usage") << describe(r);

  for (const char* bad : {"1.5h", "yesterday", "2026-13-01", "2026-02-30", "2026-11-22T25:00Z",
                          "2026-11-22T10:00:00+2", ""}) {
    r = cli({"workflow", "runs", "--since", bad});
    EXPECT_EQ(r.exit_code, 2) << "'" << bad << "'\n" << describe(r);
    EXPECT_NE(r.err.find("invalid time"), std::string::npos) << describe(r);
  }
  for (const char* good :
       {"90", "1h30m", "2026-11-22", "2026-11-22T10:00", "2026-11-22 10:00:00",
        "2026-11-22T10:00:00.5Z", "2026-11-22T12:00:00+02:00", "2026-11-22T05:00:00-0500"}) {
    r = cli({"workflow", "runs", "--since", good});
    EXPECT_EQ(r.exit_code, 0) << "'" << good << "'\n" << describe(r);
  }
}

// `t` (whole seconds since the epoch, UTC) + `millis` as "YYYY-MM-DDTHH:MM:SS.mmm" followed
// by `offset` ("Z", "+02:00", ...), the wall clock shifted by `shift_seconds`.
std::string FormatInstant(std::time_t t, int millis, long shift_seconds, const char* offset) {
  const std::time_t wall = t + shift_seconds;
  std::tm tm{};
  gmtime_r(&wall, &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d.%03d%s", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis, offset);
  return out;
}

TEST_F(CliWorkflowTest, SinceOffsetsAreHonoured) {
  trigger("{}");
  const std::string created = runs()[0]["created_at"].get<std::string>();  // ...Z
  const std::regex parts(R"((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z)");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(created, m, parts)) << created;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  const std::time_t t = timegm(&tm);
  const int millis = std::stoi(m[7]);
  ASSERT_EQ(FormatInstant(t, millis, 0, "Z"), created) << "the test's own formatting";

  // The creation time itself, in UTC and as the same instant at +02:00, includes the run; a
  // minute later, or the same wall clock at +01:00 (an hour later), excludes it.
  EXPECT_EQ(runs({"--since", created}).size(), 1u) << created;
  const std::string later = FormatInstant(t + 60, millis, 0, "Z");
  EXPECT_EQ(runs({"--since", later}).size(), 0u) << later;
  std::string shifted = FormatInstant(t, millis, 2 * 3600, "+02:00");
  EXPECT_EQ(runs({"--since", shifted}).size(), 1u) << shifted;
  shifted = FormatInstant(t, millis, 2 * 3600, "+01:00");
  EXPECT_EQ(runs({"--since", shifted}).size(), 0u) << shifted << " is an hour later";
}

TEST_F(CliWorkflowTest, UnknownRunOrWorkflowIsAPgqrsError) {
  for (const char* command : {"run", "steps", "cancel"}) {
    Result r = cli({"workflow", command, "987654"});
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << describe(r);
    EXPECT_NE(r.err.find("run 987654 not found"), std::string::npos) << describe(r);
    EXPECT_TRUE(r.out.empty()) << describe(r);
    r = cli_json({"workflow", command, "987654"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_EQ(parse_json(r)["error"]["code"], "validation") << describe(r);
  }

  Result r = cli({"workflow", "trigger", "nope", "{}"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.err.find("workflow 'nope' is not registered"), std::string::npos) << describe(r);
  EXPECT_EQ(runs().size(), 0u);
}

TEST_F(CliWorkflowTest, MalformedInputIsAUsageErrorAndTriggersNothing) {
  Result r = cli({"workflow", "trigger", "wf", R"({"x":)"});
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("invalid JSON payload"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("column"), std::string::npos) << describe(r);

  r = cli({"workflow", "trigger", "wf", "-"}, "{oops");
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_NE(r.err.find("stdin"), std::string::npos) << describe(r);

  EXPECT_EQ(runs().size(), 0u);
}

}  // namespace

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

// workflow fork | rerun (docs/workflows.md "Fork and rerun"): new runs, copied steps, JSON
// output, and the errors that name what is wrong.
class CliWorkflowForkTest : public CliWorkflowTest {};

TEST_F(CliWorkflowForkTest, ForkCopiesEarlierStepsAndRerunMatchesFilters) {
  const std::int64_t id = trigger(R"({"x":4})");
  run_worker();
  Result r = cli_json({"workflow", "fork", std::to_string(id), "--from-step", "describe"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json forked = parse_json(r);
  EXPECT_EQ(keys_of(forked), (std::set<std::string>{"run_id", "message_id", "source_run_id"}));
  EXPECT_EQ(forked["source_run_id"], id);
  const std::string fid = std::to_string(forked["run_id"].get<std::int64_t>());
  r = cli_json({"workflow", "steps", fid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json steps = parse_json(r);
  ASSERT_EQ(steps.size(), 1u) << describe(r);
  EXPECT_EQ(steps[0]["step_name"], "double");
  EXPECT_EQ(steps[0]["output"], 8);
  run_worker();
  EXPECT_EQ(run_record(forked["run_id"].get<std::int64_t>())["status"], "SUCCESS");

  r = cli({"workflow", "fork", std::to_string(id), "--from-step", "nope"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'nope'"), std::string::npos) << describe(r);
  EXPECT_NE(r.err.find("double, describe"), std::string::npos) << describe(r);

  r = cli_json({"workflow", "rerun", "--status", "success", "--workflow", "wf"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json reruns = parse_json(r);
  ASSERT_EQ(reruns.size(), 2u) << "the original and its fork";
  EXPECT_EQ(runs({"--status", "queued"}).size(), 2u);

  r = cli({"workflow", "rerun"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("RUN_ID or at least one filter"), std::string::npos) << describe(r);
  r = cli_json({"workflow", "rerun", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["source_run_id"], id);
}

}  // namespace

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

// workflow send | messages | events | event | children (docs/workflows.md "Messages, events
// and child workflows").
class CliWorkflowTalkTest : public CliWorkflowTest {
 protected:
  // "talk": waits for a message on "go", publishes it as event "got", starts one child of
  // "wf" with it, and returns the child's result.
  void serve_talk() {
    pgqrs::WorkflowDef child("wf", [](pgqrs::Run&, const json& in) {
      return json{{"doubled", in.at("x").get<int>() * 2}};
    });
    pgqrs::WorkflowDef talk("talk", [](pgqrs::Run& run, const json&) {
      auto got = run.recv("go", std::chrono::hours(1));
      run.set_event("got", *got);
      return run.start_child("wf", *got).result();
    });
    pgqrs::Store store = pgqrs::connect(dsn_);
    for (int round = 0; round < 3; ++round) {
      pgqrs::workflow().name(talk).until_empty().poll(store);
      pgqrs::workflow().name(child).until_empty().poll(store);
    }
  }
};

TEST_F(CliWorkflowTalkTest, SendWakesARunAndItsMessagesEventsAndChildrenAreListed) {
  pgqrs::workflow().name("talk").create(pgqrs::connect(dsn_));
  const std::int64_t id = trigger("{}", "talk");
  serve_talk();
  EXPECT_EQ(run_record(id)["status"], "PAUSED");

  Result r = cli_json({"workflow", "send", std::to_string(id), "go", R"({"x":21})"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(keys_of(parse_json(r)), (std::set<std::string>{"message_id", "run_id", "topic"}));
  serve_talk();
  EXPECT_EQ(run_record(id)["output"], json({{"doubled", 42}}));

  r = cli_json({"workflow", "messages", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json messages = parse_json(r);
  ASSERT_EQ(messages.size(), 1u) << describe(r);
  EXPECT_EQ(messages[0]["payload"], json({{"x", 21}}));
  EXPECT_EQ(messages[0]["received_by"], "recv:1");

  r = cli_json({"workflow", "event", std::to_string(id), "got"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["value"], json({{"x", 21}}));
  r = cli_json({"workflow", "events", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r).at(0)["kind"], "event");

  r = cli_json({"workflow", "children", std::to_string(id)});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json children = parse_json(r);
  ASSERT_EQ(children.size(), 1u) << describe(r);
  EXPECT_EQ(children[0]["workflow_name"], "wf");
  EXPECT_EQ(children[0]["status"], "SUCCESS");

  r = cli({"workflow", "messages", std::to_string(id)});
  EXPECT_NE(r.out.find("recv:1"), std::string::npos) << describe(r);

  r = cli({"workflow", "send", "999999", "go", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("999999"), std::string::npos) << describe(r);
  r = cli({"workflow", "send", std::to_string(id), "bad topic", "1"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("topic"), std::string::npos) << describe(r);
}

TEST_F(CliWorkflowTalkTest, ResumeEndsAPausedRunsWaitNow) {
  pgqrs::WorkflowDef waiter("waiter", [](pgqrs::Run& run, const json&) {
    return json{{"got", run.recv("go", std::chrono::hours(1)).value_or(json("timeout"))}};
  });
  pgqrs::Store store = pgqrs::connect(dsn_);
  pgqrs::workflow().name(waiter).create(store);
  const std::int64_t id = trigger("{}", "waiter");
  const std::string sid = std::to_string(id);
  Result r = cli({"workflow", "resume", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("not resumed: its status is QUEUED"), std::string::npos) << describe(r);
  pgqrs::workflow().name(waiter).until_empty().poll(store);
  ASSERT_EQ(run_record(id)["status"], "PAUSED");

  r = cli_json({"workflow", "resume", sid});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r), json({{"ok", true}, {"resumed", true}})) << describe(r);
  pgqrs::workflow().name(waiter).until_empty().poll(store);  // no hour passes
  EXPECT_EQ(run_record(id)["status"], "SUCCESS");
  EXPECT_EQ(run_record(id)["output"], json({{"got", "timeout"}}));

  r = cli({"workflow", "resume", "999999"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("999999"), std::string::npos) << describe(r);
}

}  // namespace

namespace {

using namespace pgqrs::cli_test;  // NOLINT(google-build-using-namespace)

// workflow stranded | migrate (docs/workflows.md "Safe upgrades").
class CliWorkflowVersionTest : public CliWorkflowTest {};

TEST_F(CliWorkflowVersionTest, StrandedListsRunsNoWorkerServesAndMigrateMovesThem) {
  pgqrs::Config config = pgqrs::Config::from_dsn(dsn_);
  config.app_version = "v1";
  pgqrs::Store v1 = pgqrs::connect_with_config(config);
  auto msg = pgqrs::workflow().name("wf").trigger(json{{"x", 1}}).execute(v1);
  const auto id = pgqrs::run().message(msg).store(v1).record().id;

  Result r = cli_json({"workflow", "stranded"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  json stranded = parse_json(r);
  ASSERT_EQ(stranded.size(), 1u) << describe(r);
  EXPECT_EQ(stranded[0]["run_id"], id);
  EXPECT_EQ(stranded[0]["app_version"], "v1");
  EXPECT_EQ(stranded[0]["status"], "QUEUED");

  r = cli_json({"workflow", "migrate", "--to", "v2", "--from", "v1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(parse_json(r)["migrated"], 1);
  r = cli_json({"workflow", "stranded"});
  EXPECT_EQ(parse_json(r).at(0)["app_version"], "v2");
  r = cli_json({"workflow", "migrate", "--to", ""});
  EXPECT_EQ(parse_json(r)["migrated"], 1);
  r = cli_json({"workflow", "stranded"});
  EXPECT_TRUE(parse_json(r).empty()) << "an unversioned run is served by any worker";

  r = cli({"workflow", "migrate", "--to", "bad version"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("app version"), std::string::npos) << describe(r);
}

}  // namespace
