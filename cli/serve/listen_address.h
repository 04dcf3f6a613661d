// `--listen HOST:PORT` of `pgqrs serve`: "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:9000",
// "localhost:0" (0 = any free port).
#pragma once

#include <string>
#include <string_view>

namespace pgqrs::cli::serve {

struct ListenAddress {
  std::string host;  // as given (IPv6 keeps its brackets)
  int port = 0;
};

// Throws std::invalid_argument naming the text when it is not HOST:PORT with a port in
// 0..65535.
ListenAddress parse_listen_address(std::string_view text);

}  // namespace pgqrs::cli::serve
