#include "core/identity.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>

namespace pgqrs::core {

const std::string& hostname() {
  static const std::string name = [] {
    std::array<char, 256> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return std::string("host");
    std::string out;
    for (char c : std::string(buf.data())) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == ':' || c == '-';
      out += ok ? c : '_';
    }
    return out.substr(0, 64);
  }();
  return name;
}

std::int64_t process_id() { return static_cast<std::int64_t>(getpid()); }

std::string generated_worker_name() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::uint64_t> dist;
  std::uint64_t hi = dist(rng), lo = dist(rng);
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return hostname() + "-" + uuid;
}

}  // namespace pgqrs::core
