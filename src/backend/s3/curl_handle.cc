#include "backend/s3/curl_handle.h"

#include <mutex>

#include "pgqrs/error.h"

namespace pgqrs::s3 {

void ensure_curl_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw InternalError("s3: curl_global_init failed");
    }
  });
}

void CurlHeaders::add(const std::string& line) {
  curl_slist* next = curl_slist_append(list_, line.c_str());
  if (next == nullptr) throw InternalError("s3: out of memory building request headers");
  list_ = next;
}

EasyPool::Lease::~Lease() {
  if (handle_ && pool_ != nullptr) pool_->give_back(std::move(handle_));
}

EasyPool::Lease EasyPool::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CurlEasy h = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(h));
    }
  }
  ensure_curl_initialised();
  CurlEasy h(curl_easy_init());
  if (!h) throw InternalError("s3: curl_easy_init failed");
  return Lease(this, std::move(h));
}

void EasyPool::give_back(CurlEasy handle) {
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(handle));
}

}  // namespace pgqrs::s3
