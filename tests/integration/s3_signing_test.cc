// Request signing, checked by a server that verifies it: scripts/s3_auth_server.py runs moto
// with authentication on (it recomputes every AWS Signature V4 with botocore and checks the
// key's IAM policy). libcurl's SigV4 with our x-amz-content-sha256 must be accepted for every
// operation, bodies and awkward keys included; a wrong secret must be refused.
#include <fstream>
#include <sstream>

#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

using pgqrs::s3::GetResult;
using pgqrs::s3::PutCondition;

struct AuthServer {
  std::string port, bucket, key, secret, temp_key, temp_secret, token;
};

class S3SigningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PGQRS_SKIP_UNLESS_S3();
    const char* py = std::getenv("PGQRS_TEST_PYTHON");
    if (py == nullptr)
      GTEST_SKIP() << "PGQRS_TEST_PYTHON is not set (scripts/s3-test-server sets it)";
    const auto out = dir_.path() / "auth.out";
    pid_ =
        Spawn({"/bin/sh", "-c",
               "exec '" + std::string(py) +
                   "' '" PGQRS_SOURCE_DIR "/scripts/s3_auth_server.py' > '" + out.string() + "'"},
              {}, (dir_.path() / "auth.err").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream in(out);
      std::string word;
      if (in >> word && word == "READY" &&
          in >> s_.port >> s_.bucket >> s_.key >> s_.secret >> s_.temp_key >> s_.temp_secret >>
              s_.token) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_FALSE(s_.token.empty()) << "the signing server did not start";
    env_.emplace_back(
        std::make_unique<ScopedEnv>("AWS_ENDPOINT_URL", "http://127.0.0.1:" + s_.port));
    env_.emplace_back(std::make_unique<ScopedEnv>("AWS_ACCESS_KEY_ID", s_.key));
    env_.emplace_back(std::make_unique<ScopedEnv>("AWS_SECRET_ACCESS_KEY", s_.secret));
  }
  void TearDown() override {
    env_.clear();
    if (pid_ > 0) pgqrs_test::KillAndReap(pid_);
  }
  pgqrs::s3::S3Client Client() {
    return pgqrs::s3::S3Client(pgqrs::s3::S3Settings::from_environment(s_.bucket));
  }

  ScratchDir dir_{"pgqrs-s3-sign"};
  pid_t pid_ = -1;
  AuthServer s_;
  std::vector<std::unique_ptr<ScopedEnv>> env_;
};

TEST_F(S3SigningTest, EveryOperationIsAcceptedWithAValidSignature) {
  auto c = Client();
  std::string body;
  for (int i = 0; i < 50000; ++i) body.push_back(static_cast<char>(i * 7 % 256));
  const std::string key = "signed/dir/with space+and&more=%.sqlite";
  const std::string e1 = c.put(key, body, PutCondition::if_absent());
  EXPECT_TRUE(c.head(key).has_value());
  GetResult g = c.get(key);
  ASSERT_EQ(g.kind, GetResult::Kind::kOk);
  EXPECT_EQ(g.body, body);
  EXPECT_EQ(c.get(key, e1).kind, GetResult::Kind::kNotModified);
  const std::string e2 = c.put(key, body + "x", PutCondition::if_match(e1));
  EXPECT_THROW(c.put(key, "y", PutCondition::if_match(e1)), pgqrs::s3::PreconditionFailedError);
  auto listed = c.list("signed/dir/");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, key);
  c.remove(key, e2);
  EXPECT_FALSE(c.head(key).has_value());
}

TEST_F(S3SigningTest, AStoreRunsOnSignedRequests) {
  pgqrs::Config config = pgqrs::Config::from_dsn("s3://" + s_.bucket + "/signed/queue.sqlite");
  config.s3.cache_dir = (dir_.path() / "cache").string();
  pgqrs::Store s = pgqrs::connect_with_config(config);
  pgqrs::admin(s).install();
  s.queue("jobs");
  pgqrs::enqueue().message(pgqrs::json{{"signed", true}}).to("jobs").execute(s);
  EXPECT_EQ(pgqrs::admin(s).list_messages("jobs").size(), 1u);
  EXPECT_EQ(pgqrs::as_s3(s).state(), pgqrs::SyncState::kInSync);
}

TEST_F(S3SigningTest, AWrongSecretIsRefusedAsAConfigError) {
  ScopedEnv wrong("AWS_SECRET_ACCESS_KEY", s_.secret + "x");
  const std::string msg = ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { Client().put("signed/nope", "x", PutCondition::if_absent()); }, "wrong secret");
  EXPECT_TRUE(ContainsAny(msg, {"access denied", "Signature"})) << msg;
}

}  // namespace
}  // namespace pgqrs_test
