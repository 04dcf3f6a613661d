// SPEC §2: install / verify / uninstall, and the store handle itself.
#include <algorithm>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

class SchemaTest : public ConformanceTest {};

TEST_P(SchemaTest, VerifyAfterInstallReportsCurrentVersion) {
  pgqrs::SchemaInfo info = admin().verify();
  EXPECT_GT(info.version, 0);
  EXPECT_EQ(info.version, info.expected_version);
}

TEST_P(SchemaTest, InstallIsIdempotentAndKeepsData) {
  MakeQueue("keep");
  EnqueueNumbers("keep", 3);
  EXPECT_NO_THROW(admin().install());
  EXPECT_NO_THROW(admin().install());
  EXPECT_NO_THROW(admin().verify());
  EXPECT_EQ(admin().get_queue("keep").queue_name, "keep");
  EXPECT_EQ(admin().queue_metrics("keep").pending, 3u);
}

TEST_P(SchemaTest, VerifyBeforeInstallThrowsConfigErrorNotInstalled) {
  pgqrs::Store fresh = MakeStore({}, /*install=*/false);
  std::string msg = ExpectThrowMessage<pgqrs::ConfigError>([&] { admin(fresh).verify(); },
                                                           "verify on an empty database");
  EXPECT_TRUE(ContainsAny(msg, {"not installed"})) << msg;
}

TEST_P(SchemaTest, UninstallThenVerifyThrowsConfigError) {
  MakeQueue("gone");
  admin().uninstall();
  ExpectThrowMessage<pgqrs::ConfigError>([&] { admin().verify(); }, "verify after uninstall");
}

TEST_P(SchemaTest, UninstallIsIdempotentAndReinstallStartsEmpty) {
  MakeQueue("gone");
  EnqueueNumbers("gone", 2);
  admin().uninstall();
  EXPECT_NO_THROW(admin().uninstall());
  admin().install();
  EXPECT_NO_THROW(admin().verify());
  EXPECT_TRUE(admin().list_queues().empty());
  EXPECT_THROW(admin().get_queue("gone"), pgqrs::QueueNotFoundError);
}

TEST_P(SchemaTest, BackendNameMatchesDsnScheme) {
  EXPECT_EQ(store().backend_name(), GetParam().backend);
  EXPECT_EQ(admin().system_stats().backend, GetParam().backend);
}

TEST_P(SchemaTest, StoreExposesItsConfigAndInjectedClock) {
  EXPECT_EQ(store().config().dsn, config_.dsn);
  EXPECT_EQ(store().config().poll_interval_ms, config_.poll_interval_ms);
  Advance(std::chrono::seconds(1234));
  EXPECT_EQ(store().clock().now(), clock_->now());
}

TEST_P(SchemaTest, StoreCopiesShareTheSameDatabase) {
  pgqrs::Store copy = store();
  copy.queue("shared");
  EXPECT_EQ(admin().get_queue("shared").queue_name, "shared");
}

TEST_P(SchemaTest, SecondStoreOnSameDsnSeesData) {
  if (!GetParam().persistent) {
    GTEST_SKIP() << GetParam().name
                 << " is not persistent: each connection to it is a new, empty database";
  }
  MakeQueue("persisted");
  EnqueueNumbers("persisted", 4);
  pgqrs::Store other = pgqrs::connect_with_config(config_, clock_);
  EXPECT_NO_THROW(admin(other).verify());
  EXPECT_EQ(admin(other).queue_metrics("persisted").pending, 4u);
}

// A store opened before another one created a queue uses that queue at once, writes
// included (on S3 its cache is older than the object: a write that fails on the stale copy
// is checked against the newest version before the error is believed).
TEST_P(SchemaTest, StoreOpenedBeforeAQueueWasCreatedWritesToIt) {
  if (!GetParam().persistent) {
    GTEST_SKIP() << GetParam().name
                 << " is not persistent: each connection to it is a new, empty database";
  }
  pgqrs::Store early = pgqrs::connect_with_config(config_, clock_);
  EXPECT_NO_THROW(admin(early).verify());
  MakeQueue("created-later");
  auto producer = early.producer("created-later");
  const auto id = producer.enqueue(nlohmann::json{{"n", 1}});
  EXPECT_GT(id, 0);
  EXPECT_EQ(admin().queue_metrics("created-later").pending, 1u);
  EXPECT_THROW(early.producer("never-created"), pgqrs::QueueNotFoundError);
}

TEST_P(SchemaTest, SystemStatsReportsSchemaVersion) {
  EXPECT_EQ(admin().system_stats().schema_version, admin().verify().version);
}

}  // namespace

PGQRS_INSTANTIATE_CONFORMANCE(SchemaTest);

}  // namespace pgqrs_test
