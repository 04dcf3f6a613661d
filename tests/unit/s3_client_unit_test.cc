// Pure parts of the S3 client (no server): which failures are retried and how, key
// encoding, SHA-256, the ListObjectsV2 parser, settings from the environment.
#include <cstdlib>

#include <gtest/gtest.h>

#include "backend/s3/s3_client.h"

namespace {

using pgqrs::s3::classify_attempt;
using pgqrs::s3::Retry;

TEST(S3Retry, TransportFailuresBeforeSendingWereNotApplied) {
  EXPECT_EQ(classify_attempt(CURLE_COULDNT_CONNECT, 0), Retry::kNotApplied);
  EXPECT_EQ(classify_attempt(CURLE_COULDNT_RESOLVE_HOST, 0), Retry::kNotApplied);
}

TEST(S3Retry, LostRepliesMayHaveBeenApplied) {
  EXPECT_EQ(classify_attempt(CURLE_RECV_ERROR, 0), Retry::kMaybeApplied);
  EXPECT_EQ(classify_attempt(CURLE_GOT_NOTHING, 0), Retry::kMaybeApplied);
  EXPECT_EQ(classify_attempt(CURLE_OPERATION_TIMEDOUT, 0), Retry::kMaybeApplied);
  EXPECT_EQ(classify_attempt(CURLE_OK, 500), Retry::kMaybeApplied);
  EXPECT_EQ(classify_attempt(CURLE_OK, 503), Retry::kMaybeApplied);
  EXPECT_EQ(classify_attempt(CURLE_OK, 429), Retry::kMaybeApplied);
}

TEST(S3Retry, PreconditionFailedAndClientErrorsAreNeverRetried) {
  EXPECT_EQ(classify_attempt(CURLE_OK, 412), Retry::kNo);
  EXPECT_EQ(classify_attempt(CURLE_OK, 403), Retry::kNo);
  EXPECT_EQ(classify_attempt(CURLE_OK, 404), Retry::kNo);
  EXPECT_EQ(classify_attempt(CURLE_OK, 200), Retry::kNo);
  EXPECT_EQ(classify_attempt(CURLE_OK, 304), Retry::kNo);
  // 409 ConditionalRequestConflict: a concurrent conditional write; ours was not applied.
  EXPECT_EQ(classify_attempt(CURLE_OK, 409), Retry::kNotApplied);
}

TEST(S3Keys, EncodingKeepsUnreservedCharactersAndSlashes) {
  EXPECT_EQ(pgqrs::s3::encode_key("a/b-c_d.e~f"), "a/b-c_d.e~f");
  EXPECT_EQ(pgqrs::s3::encode_key("with space+&="), "with%20space%2B%26%3D");
  EXPECT_EQ(pgqrs::s3::encode_key("\xc3\xa9"), "%C3%A9");
}

TEST(S3Hash, Sha256OfKnownInputs) {
  EXPECT_EQ(pgqrs::s3::sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(pgqrs::s3::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(S3List, ParsesKeysEtagsSizesAndTheContinuationToken) {
  const std::string xml =
      "<ListBucketResult><IsTruncated>true</IsTruncated>"
      "<Contents><Key>a&amp;b</Key><ETag>&quot;e1&quot;</ETag><Size>12</Size></Contents>"
      "<Contents><Key>c</Key><ETag>\"e2\"</ETag><Size>0</Size></Contents>"
      "<NextContinuationToken>tok</NextContinuationToken></ListBucketResult>";
  std::string next;
  auto objects = pgqrs::s3::parse_list_response(xml, &next);
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0].key, "a&b");
  EXPECT_EQ(objects[0].etag, "\"e1\"");
  EXPECT_EQ(objects[0].size, 12u);
  EXPECT_EQ(objects[1].key, "c");
  EXPECT_EQ(next, "tok");
  pgqrs::s3::parse_list_response("<IsTruncated>false</IsTruncated>", &next);
  EXPECT_TRUE(next.empty());
}

TEST(S3Settings, RegionFallsBackToDefaultRegionAndEndpointIsChecked) {
  ::setenv("AWS_ACCESS_KEY_ID", "k", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
  ::unsetenv("AWS_REGION");
  ::setenv("AWS_DEFAULT_REGION", "eu-west-3", 1);
  ::setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
  auto s = pgqrs::s3::S3Settings::from_environment("bucket");
  EXPECT_EQ(s.region, "eu-west-3");
  EXPECT_EQ(s.endpoint, "http://127.0.0.1:9000");
  ::setenv("AWS_ENDPOINT_URL", "127.0.0.1:9000", 1);
  EXPECT_THROW(pgqrs::s3::S3Settings::from_environment("bucket"), pgqrs::ConfigError);
  ::unsetenv("AWS_ACCESS_KEY_ID");
  EXPECT_THROW(pgqrs::s3::S3Settings::from_environment("bucket"), pgqrs::ConfigError);
}

}  // namespace
