#include "serve/listen_address.h"

#include <charconv>
#include <stdexcept>

namespace pgqrs::cli::serve {

ListenAddress parse_listen_address(std::string_view text) {
  const auto fail = [&](const std::string& why) -> ListenAddress {
    throw std::invalid_argument("--listen '" + std::string(text) + "': " + why +
                                " (expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080)");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return fail("no host and port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[' && host.back() != ']') return fail("unclosed '['");
  if (host.front() != '[' && host.find(':') != std::string_view::npos) {
    return fail("put an IPv6 address in brackets");
  }
  int port = -1;
  const auto* end = port_text.data() + port_text.size();
  auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (port_text.empty() || ec != std::errc() || ptr != end || port < 0 || port > 65535) {
    return fail("port must be 0..65535");
  }
  return ListenAddress{std::string(host), port};
}

}  // namespace pgqrs::cli::serve
