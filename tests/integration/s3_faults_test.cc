// Server faults between the S3 backend and the server, injected by scripts/s3_fault_proxy.py:
// 500s, replies dropped after the server applied a PUT, slow responses beyond the request
// timeout, an unreachable endpoint. Every write the application was told succeeded is on
// the server exactly once; nothing is lost or duplicated.
#include <set>

#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

class S3FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override { PGQRS_SKIP_UNLESS_S3(); }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }

  // Through `proxy`: install, a queue, `n` single enqueues (each must succeed), then leases
  // and archives `archived` of them. Returns what the application saw succeed.
  void RunWorkload(const FaultProxy& proxy, int n, int archived, std::uint32_t timeout_s = 30) {
    ScopedEnv endpoint("AWS_ENDPOINT_URL", proxy.url());
    pgqrs::Config c = S3Config(key_, dir_.path() / "cache");
    c.connection_timeout_seconds = timeout_s;
    pgqrs::Store s = pgqrs::connect_with_config(c);
    pgqrs::admin(s).install();
    s.queue("jobs");
    for (int i = 0; i < n; ++i) {
      pgqrs::enqueue().message(pgqrs::json{{"i", i}}).to("jobs").execute(s);
    }
    pgqrs::Consumer consumer = s.consumer("jobs");
    int done = 0;
    while (done < archived) {
      auto batch = pgqrs::dequeue()
                       .worker(consumer)
                       .batch(static_cast<std::uint32_t>(archived - done))
                       .fetch_all(s);
      ASSERT_FALSE(batch.empty());
      std::vector<std::int64_t> ids;
      for (const auto& m : batch) ids.push_back(m.id);
      for (bool ok : consumer.archive_many(ids)) EXPECT_TRUE(ok);
      done += static_cast<int>(ids.size());
    }
  }

  // The server (read directly) holds messages i = 0..n-1 exactly once, `archived` archived.
  void ExpectRemote(int n, int archived) {
    auto remote = RemoteMessages(key_, "jobs");
    std::set<int> seen;
    int archived_seen = 0;
    for (const auto& m : remote) {
      EXPECT_TRUE(seen.insert(m.payload.at("i").get<int>()).second) << "duplicate " << m.payload;
      if (m.archived_at) ++archived_seen;
    }
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(remote.size(), static_cast<std::size_t>(n));
    EXPECT_EQ(archived_seen, archived);
  }

  std::string key_ = UniqueKey("faults");
  ScratchDir dir_{"pgqrs-s3-faults"};
};

TEST_F(S3FaultsTest, EveryThirdRequestAnswered500IsRetriedAndNothingIsLost) {
  FaultProxy proxy({"--fail-every", "3", "--fail-status", "500"});
  RunWorkload(proxy, 12, 5);
  ExpectRemote(12, 5);
  EXPECT_NE(proxy.log().find("-> 500"), std::string::npos) << "no fault was injected";
}

TEST_F(S3FaultsTest, ThrottlingWith503SlowDownIsRetried) {
  FaultProxy proxy({"--fail-every", "2", "--fail-status", "503", "--methods", "PUT"});
  RunWorkload(proxy, 8, 3);
  ExpectRemote(8, 3);
}

TEST_F(S3FaultsTest, APutWhoseReplyIsLostAfterItLandedIsRecognisedNotDuplicated) {
  // Every second PUT reaches the server and is stored, then the connection is reset: the
  // retry gets 412 (its If-Match names the old version) and the client must find its own
  // body on the server instead of reporting a conflict.
  FaultProxy proxy({"--drop-every", "2", "--methods", "PUT"});
  RunWorkload(proxy, 10, 4);
  ExpectRemote(10, 4);
  EXPECT_NE(proxy.log().find("reply dropped"), std::string::npos) << "no fault was injected";
}

TEST_F(S3FaultsTest, DroppedGetsAndHeadsAreRetried) {
  FaultProxy proxy({"--drop-every", "2", "--methods", "GET,HEAD"});
  RunWorkload(proxy, 6, 2);
  ExpectRemote(6, 2);
}

TEST_F(S3FaultsTest, ResponsesSlowerThanTheTimeoutAreRetried) {
  // Every fourth request is held 4 s; the request timeout is 2 s (margin for a slow moto).
  FaultProxy proxy({"--stall-every", "4", "--stall-ms", "4000"});
  RunWorkload(proxy, 6, 2, /*timeout_s=*/2);
  ExpectRemote(6, 2);
  EXPECT_NE(proxy.log().find("stalled"), std::string::npos) << "no fault was injected";
}

TEST_F(S3FaultsTest, SlowButInTimeResponsesJustTakeLonger) {
  FaultProxy proxy({"--stall-every", "2", "--stall-ms", "300"});
  RunWorkload(proxy, 6, 2);
  ExpectRemote(6, 2);
}

TEST_F(S3FaultsTest, AnUnreachableEndpointIsAConnectionErrorNamingTheObject) {
  ScopedEnv endpoint("AWS_ENDPOINT_URL", "http://127.0.0.1:1");
  pgqrs::Config c = S3Config(key_, dir_.path() / "cache");
  const std::string msg = ExpectThrowMessage<pgqrs::ConnectionError>(
      [&] { (void)pgqrs::connect_with_config(c); }, "unreachable endpoint");
  EXPECT_TRUE(ContainsAny(msg, {key_})) << msg;
}

TEST_F(S3FaultsTest, WritesFailingForGoodLeaveTheStoreUsable) {
  // Connect and install directly, then write through a proxy that fails every PUT: the
  // write fails with ConnectionError, and the cache is back at the stored version.
  {
    pgqrs::Store s = pgqrs::connect_with_config(S3Config(key_, dir_.path() / "direct"));
    pgqrs::admin(s).install();
    s.queue("jobs");
  }
  FaultProxy proxy({"--fail-every", "1", "--methods", "PUT"});
  ScopedEnv endpoint("AWS_ENDPOINT_URL", proxy.url());
  pgqrs::Store s = pgqrs::connect_with_config(S3Config(key_, dir_.path() / "cache"));
  ExpectThrowMessage<pgqrs::ConnectionError>(
      [&] {
        pgqrs::enqueue().message(pgqrs::json{{"i", 0}}).to("jobs").execute(s);
      },
      "enqueue while every PUT fails");
  EXPECT_TRUE(pgqrs::admin(s).list_messages("jobs").empty());  // reverted, not half-there
  EXPECT_EQ(pgqrs::as_s3(s).state(), pgqrs::SyncState::kInSync);
}

}  // namespace
}  // namespace pgqrs_test
