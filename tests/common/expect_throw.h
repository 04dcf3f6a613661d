// ExpectThrowMessage: the one "expect exactly this pgqrs error and give me its message"
// helper of every test binary (conformance, integration).
#pragma once

#include <exception>
#include <string>

#include <gtest/gtest.h>

namespace pgqrs_test {

// Runs `fn`, expects it to throw exactly E (or a subclass); returns the message, or
// "<no exception>" / "<other exception>" after recording a failure that names `what`.
template <class E, class Fn>
std::string ExpectThrowMessage(Fn&& fn, const char* what) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": expected " << ::testing::internal::GetTypeName<E>()
                  << ", got another exception: " << e.what();
    return "<other exception>";
  }
  ADD_FAILURE() << what << ": expected " << ::testing::internal::GetTypeName<E>()
                << ", got no exception";
  return "<no exception>";
}

}  // namespace pgqrs_test
