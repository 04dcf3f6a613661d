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

EasyPool make_easy_pool(std::size_t max_idle) {
  EasyPool::Policy policy;
  policy.open = [](EasyPool::Deadline) {
    ensure_curl_initialised();
    CurlEasy h(curl_easy_init());
    if (!h) throw InternalError("s3: curl_easy_init failed");
    return h;
  };
  return EasyPool(std::move(policy), EasyPool::kUnbounded, "s3", max_idle);
}

}  // namespace pgqrs::s3
