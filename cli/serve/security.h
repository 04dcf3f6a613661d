// The security rules of `pgqrs serve` that need no HTTP library: which listen addresses are
// loopback, which Host headers a loopback server accepts, the access token and CSRF token.
//
// Contract (docs/ui.md "Security"):
//   - A server on a loopback address may run without a token; it then accepts only requests
//     whose Host header names a loopback host (no DNS-rebinding access from a web page).
//   - Any other listen address requires a token; every request must carry it (Authorization:
//     Bearer, X-Pgqrs-Token, or the pgqrs_token cookie set by /login).
//   - Every POST must carry X-CSRF-Token equal to the per-process CSRF token, which only a
//     page already allowed to read /api/session can learn.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pgqrs::cli::serve {

// 127.0.0.0/8, ::1 (with or without brackets) and "localhost".
bool is_loopback_address(std::string_view host);
// The host part of a Host header value ("localhost:8080", "[::1]:80", "127.0.0.1") is a
// loopback address. An empty header is not.
bool is_loopback_host_header(std::string_view host_header);
// `bytes` random bytes from the kernel (getrandom), as lowercase hex. Throws
// std::runtime_error when the kernel has none to give.
std::string random_hex(std::size_t bytes);
// Compares without an early exit, so timing does not reveal how much of a token matched.
bool equal_constant_time(std::string_view a, std::string_view b);
// The value of cookie `name` in a Cookie header ("a=1; pgqrs_token=abc"), if present.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace pgqrs::cli::serve
