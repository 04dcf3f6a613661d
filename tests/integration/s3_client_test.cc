// The S3 client against the S3 test server: conditional PUTs (If-None-Match: *, If-Match),
// 412 as PreconditionFailedError (a ConflictError), HEAD / GET with If-None-Match, DELETE,
// LIST with pagination-free prefixes, keys that need encoding.
#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

using pgqrs::s3::GetResult;
using pgqrs::s3::PreconditionFailedError;
using pgqrs::s3::PutCondition;

class S3ClientTest : public ::testing::Test {
 protected:
  void SetUp() override { PGQRS_SKIP_UNLESS_S3(); }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") == nullptr) return;
    auto c = DirectClient();
    for (const auto& o : c.list(prefix_)) c.remove(o.key);
  }
  std::string prefix_ = UniqueKey("client") + "/";
};

TEST_F(S3ClientTest, ConditionalPutsAreHonouredByTheServer) {
  auto c = DirectClient();
  const std::string key = prefix_ + "obj";
  EXPECT_FALSE(c.head(key).has_value());
  const std::string e1 = c.put(key, "one", PutCondition::if_absent());
  EXPECT_FALSE(e1.empty());
  // Create-only again: refused, object unchanged.
  EXPECT_THROW(c.put(key, "two", PutCondition::if_absent()), PreconditionFailedError);
  // Compare-and-swap on the right ETag succeeds, on the old one it is refused.
  const std::string e2 = c.put(key, "two", PutCondition::if_match(e1));
  EXPECT_NE(e1, e2);
  try {
    c.put(key, "three", PutCondition::if_match(e1));
    ADD_FAILURE() << "PUT with a stale If-Match was accepted: the server ignores If-Match";
  } catch (const pgqrs::ConflictError& e) {
    EXPECT_EQ(e.code(), pgqrs::ErrorCode::kConflict);
    EXPECT_FALSE(e.retryable());
    EXPECT_TRUE(ContainsAny(e.what(), {"412", key})) << e.what();
  }
  GetResult g = c.get(key);
  ASSERT_EQ(g.kind, GetResult::Kind::kOk);
  EXPECT_EQ(g.body, "two");
  EXPECT_EQ(g.etag, e2);
  EXPECT_EQ(c.head(key)->size, 3u);
}

TEST_F(S3ClientTest, IfMatchOnAMissingObjectIsAConflict) {
  auto c = DirectClient();
  EXPECT_THROW(c.put(prefix_ + "absent", "x", PutCondition::if_match("\"0123\"")),
               PreconditionFailedError);
  EXPECT_FALSE(c.head(prefix_ + "absent").has_value());
}

TEST_F(S3ClientTest, ConditionalGetSaysNotModified) {
  auto c = DirectClient();
  const std::string key = prefix_ + "g";
  const std::string etag = c.put(key, std::string(100000, 'z'), PutCondition::if_absent());
  EXPECT_EQ(c.get(key, etag).kind, GetResult::Kind::kNotModified);
  EXPECT_EQ(c.get(key, "\"other\"").kind, GetResult::Kind::kOk);
  EXPECT_EQ(c.get(prefix_ + "missing").kind, GetResult::Kind::kNotFound);
}

TEST_F(S3ClientTest, BinaryBodiesAndAwkwardKeysRoundTrip) {
  auto c = DirectClient();
  std::string body;
  for (int i = 0; i < 70000; ++i) body.push_back(static_cast<char>(i % 256));
  const std::string key = prefix_ + "dir/with space+plus&amp=%25é.sqlite";
  c.put(key, body, PutCondition::if_absent());
  GetResult g = c.get(key);
  ASSERT_EQ(g.kind, GetResult::Kind::kOk);
  EXPECT_EQ(g.body, body);
  auto listed = c.list(prefix_ + "dir/");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].key, key);
  EXPECT_EQ(listed[0].size, body.size());
}

TEST_F(S3ClientTest, DeleteRemovesAndToleratesMissingObjects) {
  auto c = DirectClient();
  const std::string key = prefix_ + "d";
  const std::string etag = c.put(key, "x", PutCondition::if_absent());
  EXPECT_THROW(c.remove(key, "\"stale\""), PreconditionFailedError);
  EXPECT_TRUE(c.head(key).has_value());
  c.remove(key, etag);
  EXPECT_FALSE(c.head(key).has_value());
  EXPECT_NO_THROW(c.remove(key));
}

TEST_F(S3ClientTest, ListSeesEveryObjectUnderAPrefix) {
  auto c = DirectClient();
  for (int i = 0; i < 5; ++i)
    c.put(prefix_ + "l/" + std::to_string(i), "v", PutCondition::if_absent());
  EXPECT_EQ(c.list(prefix_ + "l/").size(), 5u);
  EXPECT_TRUE(c.list(prefix_ + "nothing/").empty());
}

}  // namespace
}  // namespace pgqrs_test
