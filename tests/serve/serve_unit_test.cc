// pgqrs serve's pure parts: the Prometheus text renderer, the security helpers and the
// --listen parser.
#include <gtest/gtest.h>

#include <stdexcept>

#include "serve/listen_address.h"
#include "serve/metrics_text.h"
#include "serve/security.h"

namespace {

using namespace pgqrs::cli::serve;

TEST(ServeMetricsText, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("plain"), "plain");
}

TEST(ServeMetricsText, EveryFamilyHasHelpAndTypeEvenWithoutSamples) {
  const std::string text = render_metrics(MetricsInput{});
  for (const char* family :
       {"pgqrs_queue_pending_messages", "pgqrs_queue_leased_messages",
        "pgqrs_queue_delayed_messages", "pgqrs_queue_dead_letters", "pgqrs_queue_archived_messages",
        "pgqrs_queue_oldest_pending_age_seconds", "pgqrs_workers",
        "pgqrs_worker_oldest_heartbeat_age_seconds", "pgqrs_workflow_runs",
        "pgqrs_workflow_step_retries", "pgqrs_scrape_duration_seconds"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " gauge\n"), std::string::npos) << family;
  }
}

TEST(ServeMetricsText, RendersQueuesWorkersAndRuns) {
  MetricsInput in;
  pgqrs::QueueMetrics q;
  q.queue_name = "jobs";
  q.pending = 7;
  q.oldest_pending_age = std::chrono::milliseconds(1500);
  in.queues.push_back(q);
  in.activity.workers.push_back(
      {std::nullopt, pgqrs::WorkerStatus::kPolling, 2, std::chrono::milliseconds(250)});
  in.activity.workers.push_back(
      {std::string("jobs"), pgqrs::WorkerStatus::kStopped, 3, std::chrono::milliseconds(99000)});
  in.activity.runs.push_back({"etl", pgqrs::WorkflowStatus::kError, 4});
  in.activity.step_retries.push_back({"etl", 9});
  const std::string text = render_metrics(in);
  EXPECT_NE(text.find("\npgqrs_queue_pending_messages{queue=\"jobs\"} 7\n"), std::string::npos);
  EXPECT_NE(text.find("\npgqrs_queue_oldest_pending_age_seconds{queue=\"jobs\"} 1.500\n"),
            std::string::npos);
  EXPECT_NE(text.find("\npgqrs_workers{queue=\"\",state=\"polling\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("\npgqrs_workers{queue=\"jobs\",state=\"stopped\"} 3\n"), std::string::npos);
  EXPECT_NE(
      text.find("pgqrs_worker_oldest_heartbeat_age_seconds{queue=\"\",state=\"polling\"} 0.250"),
      std::string::npos);
  EXPECT_EQ(
      text.find("pgqrs_worker_oldest_heartbeat_age_seconds{queue=\"jobs\",state=\"stopped\"}"),
      std::string::npos)
      << "stopped workers have no heartbeat to watch";
  EXPECT_NE(text.find("\npgqrs_workflow_runs{workflow=\"etl\",status=\"ERROR\"} 4\n"),
            std::string::npos);
  EXPECT_NE(text.find("\npgqrs_workflow_step_retries{workflow=\"etl\"} 9\n"), std::string::npos);
}

TEST(ServeSecurity, LoopbackAddresses) {
  for (const char* h : {"127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"}) {
    EXPECT_TRUE(is_loopback_address(h)) << h;
  }
  for (const char* h : {"0.0.0.0", "10.0.0.1", "::", "[::]", "example.com", "", "128.0.0.1"}) {
    EXPECT_FALSE(is_loopback_address(h)) << h;
  }
}

TEST(ServeSecurity, LoopbackHostHeaders) {
  for (const char* h : {"127.0.0.1:8080", "localhost", "localhost:1", "[::1]:80", "[::1]"}) {
    EXPECT_TRUE(is_loopback_host_header(h)) << h;
  }
  for (const char* h :
       {"", "evil.com", "evil.com:8080", "localhost.evil.com", "[::1", "10.1.1.1:80"}) {
    EXPECT_FALSE(is_loopback_host_header(h)) << h;
  }
}

TEST(ServeSecurity, TokensCookiesAndComparison) {
  const std::string a = random_hex(16), b = random_hex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(equal_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_constant_time("abc", "abcd"));
  EXPECT_FALSE(equal_constant_time("", "a"));
  EXPECT_EQ(cookie_value("a=1; pgqrs_token=xyz; b=2", "pgqrs_token"), "xyz");
  EXPECT_EQ(cookie_value("pgqrs_token=", "pgqrs_token"), "");
  EXPECT_EQ(cookie_value("xpgqrs_token=1", "pgqrs_token"), std::nullopt);
  EXPECT_EQ(cookie_value("", "pgqrs_token"), std::nullopt);
}

TEST(ServeListenAddress, ParsesHostAndPort) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:8080").host, "127.0.0.1");
  EXPECT_EQ(parse_listen_address("127.0.0.1:8080").port, 8080);
  EXPECT_EQ(parse_listen_address("[::1]:0").host, "[::1]");
  EXPECT_EQ(parse_listen_address("0.0.0.0:65535").port, 65535);
  for (const char* bad :
       {"8080", ":8080", "host:", "host:x", "host:65536", "::1:80", "[::1:80", "host:-1"}) {
    EXPECT_THROW(parse_listen_address(bad), std::invalid_argument) << bad;
  }
}

}  // namespace
