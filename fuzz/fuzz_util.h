// Shared by the libFuzzer targets: the contract every parser of outside input keeps.
//
// Bad input must end in a typed pgqrs::Error (or, for the CLI, its UsageError) saying what
// and where. Any other exception escaping a parser is a finding: expect_typed_errors()
// aborts on it, so libFuzzer records the input as a crash, like a sanitizer report.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "pgqrs/error.h"

namespace pgqrs::fuzz {

template <class Parse>
void expect_typed_errors(const char* target, Parse&& parse) {
  try {
    parse();
  } catch (const pgqrs::Error&) {
    // The contract: a typed error.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: untyped exception escaped the parser: %s\n", target, e.what());
    std::abort();
  }
}

}  // namespace pgqrs::fuzz
