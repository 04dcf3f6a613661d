// RAII owners for libcurl handles (internal to the S3 backend). No curl type leaves
// src/backend/s3/.
//
//  - ensure_curl_initialised(): curl_global_init once per process (thread-safe).
//  - CurlEasy: one easy handle; reset() before each request keeps its connection cache, so
//    consecutive requests to the same endpoint reuse a kept-alive connection.
//  - CurlHeaders: a curl_slist of request headers, freed on destruction.
//  - EasyPool: lends easy handles to threads (one request at a time per handle) and keeps up
//    to `max_idle` of them for reuse. Thread-safe.
#pragma once

#include <curl/curl.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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

class EasyPool {
 public:
  explicit EasyPool(std::size_t max_idle) : max_idle_(max_idle) {}

  // A handle borrowed from the pool; returned to it on destruction.
  class Lease {
   public:
    Lease(EasyPool* pool, CurlEasy handle) : pool_(pool), handle_(std::move(handle)) {}
    ~Lease();
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    CURL* get() const { return handle_.get(); }
    // Drops the handle instead of returning it (after an error that may leave it unusable).
    void discard() { handle_.reset(); }

   private:
    EasyPool* pool_;
    CurlEasy handle_;
  };

  // Throws InternalError when curl cannot allocate a handle.
  Lease acquire();

 private:
  void give_back(CurlEasy handle);
  std::size_t max_idle_;
  std::mutex mu_;
  std::vector<CurlEasy> idle_;  // GUARDED_BY(mu_)
};

}  // namespace pgqrs::s3
