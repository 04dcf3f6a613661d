// RAII owners for libcurl handles (internal to the S3 backend). No curl type leaves
// src/backend/s3/.
//
//  - ensure_curl_initialised(): curl_global_init once per process (thread-safe).
//  - CurlEasy: one easy handle; reset() before each request keeps its connection cache, so
//    consecutive requests to the same endpoint reuse a kept-alive connection.
//  - CurlHeaders: a curl_slist of request headers, freed on destruction.
//  - EasyPool: the backends' pool (backend/pool.h) over easy handles.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backend/pool.h"

namespace pgqrs::s3 {

void ensure_curl_initialised();

struct CurlEasyDeleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

class CurlHeaders {
 public:
  CurlHeaders() = default;
  ~CurlHeaders() { curl_slist_free_all(list_); }
  CurlHeaders(const CurlHeaders&) = delete;
  CurlHeaders& operator=(const CurlHeaders&) = delete;
  // Adds "Name: value" (or "Name:" to suppress a header curl would add by default).
  void add(const std::string& line);
  curl_slist* get() const { return list_; }

 private:
  curl_slist* list_ = nullptr;
};

// Lends easy handles, one request at a time per handle, opening more as needed (never
// waits) and keeping up to `max_idle` returned ones (backend/pool.h). InternalError when
// curl cannot allocate a handle.
using EasyPool = backend::Pool<CurlEasy>;
EasyPool make_easy_pool(std::size_t max_idle);

}  // namespace pgqrs::s3
