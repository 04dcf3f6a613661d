// S3Client: the few S3 operations the S3 backend needs, over libcurl (internal).
//
// Requests are signed with libcurl's built-in AWS Signature V4 (CURLOPT_AWS_SIGV4); the
// session token, when there is one, goes in x-amz-security-token, and every request carries
// x-amz-content-sha256 (the SHA-256 of its body). Addressing: path style
// (<endpoint>/<bucket>/<key>) when a custom endpoint is configured (AWS_ENDPOINT_URL: MinIO,
// moto, ...), virtual-hosted style (https://<bucket>.s3.<region>.amazonaws.com/<key>) for
// AWS itself (path style there too when the bucket name has a dot, which TLS certificates
// of virtual hosts cannot cover).
//
// Failures and retries (docs/s3.md "Failures"):
//  - HEAD, GET, DELETE and LIST are idempotent: transient failures (connection refused or
//    reset, timeouts, HTTP 5xx, 429 / 503 SlowDown) are retried up to max_attempts times
//    with exponential backoff and full jitter, then ConnectionError.
//  - A conditional PUT is retried too, because its condition makes it safe: a body PUT
//    with If-Match: E (or If-None-Match: *) can be stored at most once over the version E.
//    Whenever a conditional PUT is refused (412), the client GETs the object: if it holds
//    exactly our body, an earlier attempt of ours landed (its answer was lost: a reset
//    after sending, a timeout, a 5xx, or a re-send libcurl made on its own after a reused
//    connection died) and the PUT succeeded; otherwise someone else wrote, and it is a
//    PreconditionFailedError. An unconditional PUT is never retried after it was sent.
//    When retries run out after an attempt whose outcome is unknown, ConnectionError has
//    outcome_unknown() == true.
//  - 412 Precondition Failed is PreconditionFailedError (a ConflictError), never retried.
//  - 403 / missing bucket are ConfigError (credentials, permissions, DSN); other 4xx are
//    InternalError. Every message names the operation and s3://bucket/key.
//
// Thread-safe: requests from several threads run in parallel on pooled curl handles.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/s3/curl_handle.h"
#include "pgqrs/error.h"

namespace pgqrs::s3 {

// The object changed (If-Match failed), already exists (If-None-Match: * failed) or is gone.
class PreconditionFailedError : public ConflictError {
 public:
  using ConflictError::ConflictError;
};

struct S3Settings {
  std::string bucket;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty = none
  std::string region = "us-east-1";
  std::string endpoint;  // e.g. http://127.0.0.1:9000; empty = AWS
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{30'000};  // whole request, transfer included
  int max_attempts = 6;                               // first try included
  std::chrono::milliseconds backoff_base{50};
  std::chrono::milliseconds backoff_cap{2'000};

  // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION (else
  // AWS_DEFAULT_REGION, else us-east-1), AWS_ENDPOINT_URL. ConfigError when the keys are
  // missing or the endpoint is not an http(s):// URL.
  static S3Settings from_environment(std::string bucket);
};

struct ObjectInfo {
  std::string etag;  // as the server sent it, quotes included
  std::uint64_t size = 0;
};

struct GetResult {
  enum class Kind { kOk, kNotModified, kNotFound };
  Kind kind = Kind::kNotFound;
  std::string etag;
  std::string body;
};

struct PutCondition {
  enum class Kind { kIfMatch, kIfAbsent };
  Kind kind = Kind::kIfAbsent;
  std::string etag;  // for kIfMatch
  static PutCondition if_match(std::string etag) { return {Kind::kIfMatch, std::move(etag)}; }
  static PutCondition if_absent() { return {Kind::kIfAbsent, {}}; }
};

struct ListedObject {
  std::string key;
  std::string etag;
  std::uint64_t size = 0;
};

// How a failed attempt may be retried (exposed for unit tests).
enum class Retry {
  kNo,            // permanent (or success)
  kNotApplied,    // transient, and the request had no effect (not sent, or refused)
  kMaybeApplied,  // transient, but a write may have taken effect
};
Retry classify_attempt(CURLcode code, long http_status);

// Hex SHA-256 of `data`.
std::string sha256_hex(const std::string& data);
// Percent-encodes an object key for a URL path (RFC 3986 unreserved characters and '/' kept).
std::string encode_key(const std::string& key);
// Objects of a ListObjectsV2 response body, and its continuation token (empty when done).
std::vector<ListedObject> parse_list_response(const std::string& xml, std::string* next_token);

class S3Client {
 public:
  explicit S3Client(S3Settings settings);

  const S3Settings& settings() const { return settings_; }
  std::string describe(const std::string& key) const {
    return "s3://" + settings_.bucket + "/" + key;
  }

  // nullopt when the object does not exist.
  std::optional<ObjectInfo> head(const std::string& key);
  // With `if_none_match` set, an unchanged object gives kNotModified (no body transferred).
  GetResult get(const std::string& key, const std::string& if_none_match = {});
  // Stores `body` under the condition; returns the new ETag. PreconditionFailedError when
  // the condition does not hold (for kIfMatch also when the object no longer exists).
  std::string put(const std::string& key, const std::string& body, const PutCondition& condition);
  // Deletes the object (a missing object is not an error). With `if_match`, servers that
  // support conditional deletes refuse with PreconditionFailedError when it changed.
  void remove(const std::string& key, const std::string& if_match = {});
  // Every object whose key starts with `prefix` (all pages).
  std::vector<ListedObject> list(const std::string& prefix);

 private:
  struct Request {
    const char* method = "GET";
    std::string key;    // object key; empty for bucket-level requests
    std::string query;  // canonical (sorted, encoded) query string, without '?'
    std::vector<std::string> headers;
    const std::string* body = nullptr;
  };
  struct Response {
    CURLcode code = CURLE_OK;
    long status = 0;
    std::string curl_error;
    std::string etag;
    std::uint64_t content_length = 0;
    std::string body;
  };

  std::string url_for(const Request& req) const;
  Response perform_once(const Request& req);
  // Runs `req`, retrying transient failures; returns the first non-transient response.
  // `maybe_applied` (optional) is set when some failed attempt may have had an effect.
  Response perform(const Request& req, bool* maybe_applied);
  [[noreturn]] void fail(const Request& req, const Response& resp, bool outcome_unknown) const;
  void backoff(int attempt) const;

  S3Settings settings_;
  EasyPool pool_;
};

}  // namespace pgqrs::s3
