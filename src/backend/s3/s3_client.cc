#include "backend/s3/s3_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

namespace pgqrs::s3 {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The text of the first <tag>...</tag> in `xml`, or "".
std::string xml_value(const std::string& xml, const std::string& tag, std::size_t from = 0,
                      std::size_t* end = nullptr) {
  const std::string open = "<" + tag + ">";
  const std::string close = "</" + tag + ">";
  auto a = xml.find(open, from);
  if (a == std::string::npos) return {};
  a += open.size();
  auto b = xml.find(close, a);
  if (b == std::string::npos) return {};
  if (end != nullptr) *end = b + close.size();
  return xml.substr(a, b - a);
}

std::string xml_unescape(std::string s) {
  static const std::pair<const char*, const char*> kEntities[] = {
      {"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}};
  for (const auto& [from, to] : kEntities) {
    const std::string f(from);
    for (auto pos = s.find(f); pos != std::string::npos; pos = s.find(f, pos + 1)) {
      s.replace(pos, f.size(), to);
    }
  }
  return s;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

struct HeaderSink {
  std::string etag;
  std::uint64_t content_length = 0;
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* sink = static_cast<HeaderSink*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string value = trim(line.substr(colon + 1));
    if (name == "etag") sink->etag = value;
    if (name == "content-length") sink->content_length = std::strtoull(value.c_str(), nullptr, 10);
  }
  return size * n;
}

}  // namespace

S3Settings S3Settings::from_environment(std::string bucket) {
  S3Settings s;
  s.bucket = std::move(bucket);
  s.access_key_id = env_or_empty("AWS_ACCESS_KEY_ID");
  s.secret_access_key = env_or_empty("AWS_SECRET_ACCESS_KEY");
  s.session_token = env_or_empty("AWS_SESSION_TOKEN");
  if (s.access_key_id.empty() || s.secret_access_key.empty()) {
    throw ConfigError(
        "s3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set to use s3:// DSNs "
        "(credentials are read from the environment only)");
  }
  if (auto r = env_or_empty("AWS_REGION"); !r.empty()) {
    s.region = r;
  } else if (auto d = env_or_empty("AWS_DEFAULT_REGION"); !d.empty()) {
    s.region = d;
  }
  for (char c : s.region) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) {
      throw ConfigError("s3: AWS_REGION '" + s.region + "' is not a region name");
    }
  }
  s.endpoint = env_or_empty("AWS_ENDPOINT_URL");
  if (!s.endpoint.empty()) {
    if (!s.endpoint.starts_with("http://") && !s.endpoint.starts_with("https://")) {
      throw ConfigError("s3: AWS_ENDPOINT_URL '" + s.endpoint +
                        "' must start with http:// or https://");
    }
    while (s.endpoint.size() > 8 && s.endpoint.back() == '/') s.endpoint.pop_back();
  }
  return s;
}

Retry classify_attempt(CURLcode code, long http_status) {
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
      return Retry::kNotApplied;  // nothing reached the server
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return Retry::kMaybeApplied;  // sent (maybe), answer lost
    default:
      return Retry::kNo;
  }
  if (http_status == 429 || http_status == 500 || http_status == 502 || http_status == 503 ||
      http_status == 504) {
    return Retry::kMaybeApplied;
  }
  // 409 ConditionalRequestConflict: another conditional write to the key was in progress;
  // ours was not applied and may be retried.
  if (http_status == 409) return Retry::kNotApplied;
  return Retry::kNo;
}

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw InternalError("s3: SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string encode_key(const std::string& key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::vector<ListedObject> parse_list_response(const std::string& xml, std::string* next_token) {
  std::vector<ListedObject> out;
  std::size_t pos = 0;
  for (;;) {
    std::size_t end = 0;
    std::string item = xml_value(xml, "Contents", pos, &end);
    if (end == 0) break;
    ListedObject o;
    o.key = xml_unescape(xml_value(item, "Key"));
    o.etag = xml_unescape(xml_value(item, "ETag"));
    o.size = std::strtoull(xml_value(item, "Size").c_str(), nullptr, 10);
    out.push_back(std::move(o));
    pos = end;
  }
  if (next_token != nullptr) {
    const bool truncated = xml_value(xml, "IsTruncated") == "true";
    *next_token = truncated ? xml_unescape(xml_value(xml, "NextContinuationToken")) : "";
  }
  return out;
}

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)), pool_(make_easy_pool(8)) {
  ensure_curl_initialised();
}

std::string S3Client::url_for(const Request& req) const {
  std::string url;
  const bool path_style =
      !settings_.endpoint.empty() || settings_.bucket.find('.') != std::string::npos;
  if (!settings_.endpoint.empty()) {
    url = settings_.endpoint + "/" + settings_.bucket + "/";
  } else if (path_style) {
    url = "https://s3." + settings_.region + ".amazonaws.com/" + settings_.bucket + "/";
  } else {
    url = "https://" + settings_.bucket + ".s3." + settings_.region + ".amazonaws.com/";
  }
  url += encode_key(req.key);
  if (!req.query.empty()) url += "?" + req.query;
  return url;
}

S3Client::Response S3Client::perform_once(const Request& req) {
  Response resp;
  EasyPool::Lease lease = pool_.acquire();
  CURL* h = lease.get();
  curl_easy_reset(h);

  const std::string url = url_for(req);
  const std::string sigv4 = "aws:amz:" + settings_.region + ":s3";
  static const std::string kEmpty;
  const std::string& body = req.body != nullptr ? *req.body : kEmpty;

  CurlHeaders headers;
  for (const auto& line : req.headers) headers.add(line);
  headers.add("x-amz-content-sha256: " + sha256_hex(body));
  if (!settings_.session_token.empty()) {
    headers.add("x-amz-security-token: " + settings_.session_token);
  }
  HeaderSink sink;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, settings_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, settings_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(settings_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.request_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);

  const std::string method = req.method;
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT") {
    // The body goes as POSTFIELDS under the PUT method, so curl's SigV4 hashes exactly it.
    // No "Expect:" line to suppress 100-continue: libcurl 7.88 signs such an empty header
    // without sending it, and S3 then rejects the signature (s3_signing_test caught it).
    headers.add("Content-Type: application/octet-stream");
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  } else if (method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method);
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  resp.code = curl_easy_perform(h);
  if (resp.code == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  } else {
    resp.curl_error = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(resp.code);
    lease.mark_broken();  // a broken connection stays with its handle; start afresh
  }
  resp.etag = sink.etag;
  resp.content_length = sink.content_length;
  return resp;
}

void S3Client::backoff(int attempt) const {
  // Full jitter: uniform in [0, min(cap, base * 2^attempt)].
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto ceiling =
      std::min<long long>(settings_.backoff_cap.count(),
                          settings_.backoff_base.count() * (1LL << std::min(attempt, 20)));
  std::uniform_int_distribution<long long> dist(0, std::max<long long>(ceiling, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(dist(rng)));
}

S3Client::Response S3Client::perform(const Request& req, bool* maybe_applied) {
  Response resp;
  const int attempts = std::max(settings_.max_attempts, 1);
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0) backoff(attempt);
    resp = perform_once(req);
    const Retry r = classify_attempt(resp.code, resp.status);
    if (r == Retry::kNo) return resp;
    if (r == Retry::kMaybeApplied && maybe_applied != nullptr) *maybe_applied = true;
  }
  fail(req, resp, maybe_applied != nullptr && *maybe_applied);
}

void S3Client::fail(const Request& req, const Response& resp, bool outcome_unknown) const {
  std::string what = std::string("s3: ") + req.method + " " +
                     (req.key.empty() ? "s3://" + settings_.bucket : describe(req.key));
  if (resp.code != CURLE_OK) {
    throw ConnectionError(
        what + " failed after " + std::to_string(settings_.max_attempts) +
            " attempt(s): " + resp.curl_error +
            (outcome_unknown ? " (the write may or may not have been applied)" : ""),
        outcome_unknown);
  }
  const std::string code = xml_value(resp.body, "Code");
  const std::string message = xml_value(resp.body, "Message");
  std::string detail = "HTTP " + std::to_string(resp.status);
  if (!code.empty()) detail += " " + code;
  if (!message.empty()) detail += ": " + message;
  if (classify_attempt(resp.code, resp.status) != Retry::kNo) {
    throw ConnectionError(
        what + " failed after " + std::to_string(settings_.max_attempts) + " attempt(s): " + detail,
        outcome_unknown);
  }
  if (code == "NoSuchBucket") {
    throw ConfigError(what + ": bucket '" + settings_.bucket + "' does not exist (" + detail + ")");
  }
  if (resp.status == 403 || resp.status == 401) {
    throw ConfigError(what + ": access denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /" +
                      " AWS_SESSION_TOKEN / AWS_REGION): " + detail);
  }
  throw InternalError(what + ": unexpected response " + detail);
}

std::optional<ObjectInfo> S3Client::head(const std::string& key) {
  Request req{"HEAD", key, {}, {}, nullptr};
  Response resp = perform(req, nullptr);
  if (resp.status == 404) return std::nullopt;
  if (resp.status / 100 != 2) fail(req, resp, false);
  return ObjectInfo{resp.etag, resp.content_length};
}

GetResult S3Client::get(const std::string& key, const std::string& if_none_match) {
  Request req{"GET", key, {}, {}, nullptr};
  if (!if_none_match.empty()) req.headers.push_back("If-None-Match: " + if_none_match);
  Response resp = perform(req, nullptr);
  GetResult out;
  if (resp.status == 404) {
    if (xml_value(resp.body, "Code") == "NoSuchBucket") fail(req, resp, false);
    out.kind = GetResult::Kind::kNotFound;
    return out;
  }
  if (resp.status == 304) {
    out.kind = GetResult::Kind::kNotModified;
    out.etag = if_none_match;
    return out;
  }
  if (resp.status / 100 != 2) fail(req, resp, false);
  out.kind = GetResult::Kind::kOk;
  out.etag = resp.etag;
  out.body = std::move(resp.body);
  return out;
}

std::string S3Client::put(const std::string& key, const std::string& body,
                          const PutCondition& condition) {
  Request req{"PUT", key, {}, {}, &body};
  if (condition.kind == PutCondition::Kind::kIfMatch) {
    req.headers.push_back("If-Match: " + condition.etag);
  } else {
    req.headers.push_back("If-None-Match: *");
  }
  bool maybe_applied = false;
  Response resp = perform(req, &maybe_applied);
  if (resp.status / 100 == 2) return resp.etag;
  const bool refused =
      resp.status == 412 || (condition.kind == PutCondition::Kind::kIfMatch && resp.status == 404);
  if (refused) {
    // An earlier attempt may have stored our body: then the object now holds exactly it.
    // Checked on every refusal, not only after a failure we saw: libcurl itself silently
    // re-sends a request whose reused connection died before an answer, so our own
    // landed PUT can come back as 412 with no error visible here.
    GetResult now = get(key);
    if (now.kind == GetResult::Kind::kOk && now.body == body) return now.etag;
  }
  if (resp.status == 412) {
    throw PreconditionFailedError(
        "s3: PUT " + describe(key) + " refused (412 Precondition Failed): " +
        (condition.kind == PutCondition::Kind::kIfMatch
             ? "the object changed since version " + condition.etag + " (another writer)"
             : std::string("the object already exists")));
  }
  if (refused) {
    throw PreconditionFailedError("s3: PUT " + describe(key) +
                                  " refused: the object no longer exists (deleted by another "
                                  "writer since version " +
                                  condition.etag + ")");
  }
  fail(req, resp, maybe_applied);
}

void S3Client::remove(const std::string& key, const std::string& if_match) {
  Request req{"DELETE", key, {}, {}, nullptr};
  if (!if_match.empty()) req.headers.push_back("If-Match: " + if_match);
  bool maybe_applied = false;
  Response resp = perform(req, &maybe_applied);
  if (resp.status / 100 == 2 || resp.status == 404) return;
  if (resp.status == 412) {
    if (!head(key)) return;  // our own earlier attempt deleted it (see put())
    throw PreconditionFailedError("s3: DELETE " + describe(key) +
                                  " refused (412): the object changed since version " + if_match);
  }
  fail(req, resp, maybe_applied);
}

std::vector<ListedObject> S3Client::list(const std::string& prefix) {
  std::vector<ListedObject> all;
  std::string token;
  for (;;) {
    Request req{"GET", "", {}, {}, nullptr};
    // Parameters in canonical (sorted) order, values encoded, as SigV4 signs them.
    if (!token.empty()) {
      char* enc = curl_easy_escape(nullptr, token.c_str(), static_cast<int>(token.size()));
      req.query += "continuation-token=" + std::string(enc) + "&";
      curl_free(enc);
    }
    req.query += "list-type=2&prefix=";
    {
      char* enc = curl_easy_escape(nullptr, prefix.c_str(), static_cast<int>(prefix.size()));
      req.query += enc;
      curl_free(enc);
    }
    Response resp = perform(req, nullptr);
    if (resp.status / 100 != 2) fail(req, resp, false);
    std::string next;
    auto page = parse_list_response(resp.body, &next);
    all.insert(all.end(), std::make_move_iterator(page.begin()),
               std::make_move_iterator(page.end()));
    if (next.empty()) return all;
    token = std::move(next);
  }
}

}  // namespace pgqrs::s3
