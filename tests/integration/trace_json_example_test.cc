// examples/trace_json.cc, run as a child process: every line is a span object with the
// documented fields, and the spans form the trace the example describes -- request ->
// enqueue -> handle (twice for the email that failed once) and request -> enqueue -> run ->
// step (the retried step twice, the first with status "error"), all in one trace.
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/process.h"

namespace pgqrs_test {
namespace {

using nlohmann::json;

std::vector<json> RunExample() {
  auto run = RunCaptured({PGQRS_TRACE_JSON_PATH}, {"PATH=/usr/bin:/bin"},
                         std::filesystem::temp_directory_path());
  EXPECT_EQ(run.failure, "");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::vector<json> spans;
  std::istringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) spans.push_back(json::parse(line));
  }
  return spans;
}

std::vector<json> Named(const std::vector<json>& spans, const std::string& prefix) {
  std::vector<json> out;
  for (const auto& s : spans) {
    if (s["name"].get<std::string>().rfind(prefix, 0) == 0) out.push_back(s);
  }
  return out;
}

TEST(TraceJsonExample, SpansFormTheProducerConsumerAndWorkflowTree) {
  const auto spans = RunExample();
  ASSERT_FALSE(spans.empty());
  std::map<std::string, json> by_id;
  for (const auto& s : spans) {
    for (const char* field :
         {"trace_id", "span_id", "parent_span_id", "name", "start", "end", "attributes"}) {
      ASSERT_TRUE(s.contains(field)) << field << " missing in " << s.dump();
    }
    EXPECT_EQ(s["trace_id"].get<std::string>().size(), 32u);
    EXPECT_EQ(s["span_id"].get<std::string>().size(), 16u);
    EXPECT_LE(s["start"].get<std::int64_t>(), s["end"].get<std::int64_t>()) << s.dump();
    EXPECT_TRUE(by_id.emplace(s["span_id"].get<std::string>(), s).second)
        << "span ids are unique: " << s.dump();
  }
  const auto parent_of = [&](const json& s) -> json {
    if (s["parent_span_id"].is_null()) return nullptr;
    auto it = by_id.find(s["parent_span_id"].get<std::string>());
    return it == by_id.end() ? json(nullptr) : it->second;
  };

  const auto roots = Named(spans, "request");
  ASSERT_EQ(roots.size(), 1u);
  const json& root = roots[0];
  EXPECT_TRUE(root["parent_span_id"].is_null());
  for (const auto& s : spans) EXPECT_EQ(s["trace_id"], root["trace_id"]) << s.dump();

  const auto enqueues = Named(spans, "enqueue ");
  ASSERT_EQ(enqueues.size(), 3u) << "two emails and one workflow trigger";
  for (const auto& e : enqueues) EXPECT_EQ(e["parent_span_id"], root["span_id"]);

  const auto handles = Named(spans, "handle emails");
  ASSERT_EQ(handles.size(), 3u) << "one email failed once and was delivered again";
  int errors = 0;
  for (const auto& h : handles) {
    const json parent = parent_of(h);
    ASSERT_FALSE(parent.is_null()) << h.dump();
    EXPECT_EQ(parent["name"], "enqueue emails");
    EXPECT_EQ(parent["attributes"]["pgqrs.message_id"], h["attributes"]["pgqrs.message_id"]);
    if (h["attributes"]["status"] == "error") {
      ++errors;
      EXPECT_EQ(h["attributes"]["error.message"], "smtp timeout");
      EXPECT_EQ(h["attributes"]["pgqrs.attempt"], 1);
    }
  }
  EXPECT_EQ(errors, 1);

  const auto runs = Named(spans, "run order");
  ASSERT_EQ(runs.size(), 2u) << "the run waited once for its step's retry";
  for (const auto& r : runs) EXPECT_EQ(parent_of(r)["name"], "enqueue order");
  const auto steps = Named(spans, "step ");
  ASSERT_EQ(steps.size(), 3u) << "reserve (failed, retried), reserve, charge";
  for (const auto& s : steps) {
    EXPECT_EQ(parent_of(s)["name"], "run order") << s.dump();
  }
  EXPECT_EQ(steps[0]["name"], "step reserve");
  EXPECT_EQ(steps[0]["attributes"]["status"], "error");
  EXPECT_EQ(steps[0]["attributes"]["pgqrs.attempt"], 1);
  EXPECT_EQ(steps[1]["name"], "step reserve");
  EXPECT_EQ(steps[1]["attributes"]["status"], "ok");
  EXPECT_EQ(steps[1]["attributes"]["pgqrs.attempt"], 2);
  EXPECT_EQ(steps[2]["name"], "step charge");
  EXPECT_NE(steps[0]["parent_span_id"], steps[1]["parent_span_id"])
      << "each execution of the run is its own span";
}

}  // namespace
}  // namespace pgqrs_test
