// Payload and name validation (SPEC §7): each limit rejects with a message naming the limit
// and where the problem is.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/validation.h"
#include "pgqrs/error.h"

using pgqrs::json;
using pgqrs::ValidationConfig;
using pgqrs::ValidationError;
using pgqrs::core::validate_name;
using pgqrs::core::validate_payload;
using pgqrs::core::validate_payloads;

namespace {

std::string error_of(const json& payload, const ValidationConfig& limits = {}) {
  try {
    validate_payload(payload, limits, "message");
  } catch (const ValidationError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Names, AcceptTheAllowedAlphabet) {
  EXPECT_NO_THROW(validate_name("jobs.v2:high-prio_1", "queue name"));
  EXPECT_NO_THROW(validate_name(std::string(128, 'a'), "queue name"));
}

TEST(Names, RejectEmptyLongAndOddCharacters) {
  EXPECT_THROW(validate_name("", "queue name"), ValidationError);
  EXPECT_THROW(validate_name(std::string(129, 'a'), "queue name"), ValidationError);
  for (const char* bad : {"a b", "x;drop table", "q'", "naïve", "a/b", "tab\there"}) {
    EXPECT_THROW(validate_name(bad, "queue name"), ValidationError) << bad;
  }
  try {
    validate_name("bad name", "worker name");
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("worker name 'bad name'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("position 3"), std::string::npos);
  }
}

TEST(Payloads, SerialisedFormIsReturned) {
  EXPECT_EQ(validate_payload(json{{"n", 1}}, {}, "message"), R"({"n":1})");
}

TEST(Payloads, OversizeIsRejected) {
  ValidationConfig limits;
  limits.max_payload_size_bytes = 16;
  EXPECT_NE(error_of(json{{"k", std::string(20, 'x')}}, limits).find("max_payload_size_bytes"),
            std::string::npos);
}

TEST(Payloads, DepthLimit) {
  json deep = 1;
  for (int i = 0; i < 33; ++i) deep = json::array({deep});
  EXPECT_NE(error_of(deep).find("max_object_depth"), std::string::npos);
  json ok = 1;
  for (int i = 0; i < 32; ++i) ok = json::array({ok});
  EXPECT_EQ(error_of(ok), "");
}

TEST(Payloads, NonFiniteNumbersAreRejectedWithTheirPath) {
  auto msg = error_of(json{{"a", {{"b", std::numeric_limits<double>::quiet_NaN()}}}});
  EXPECT_NE(msg.find("$.a.b"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not finite"), std::string::npos) << msg;
  EXPECT_NE(error_of(json::array({std::numeric_limits<double>::infinity()})).find("$[0]"),
            std::string::npos);
}

TEST(Payloads, StringLengthLimit) {
  ValidationConfig limits;
  limits.max_string_length = 4;
  EXPECT_NE(error_of(json{{"k", "12345"}}, limits).find("max_string_length"), std::string::npos);
  EXPECT_EQ(error_of(json{{"k", "1234"}}, limits), "");
}

TEST(Payloads, ForbiddenAndRequiredKeys) {
  ValidationConfig limits;
  limits.forbidden_keys = {"password"};
  limits.required_keys = {"task"};
  EXPECT_NE(error_of(json{{"task", 1}, {"password", "x"}}, limits).find("'password' is forbidden"),
            std::string::npos);
  EXPECT_NE(error_of(json{{"other", 1}}, limits).find("required key 'task'"), std::string::npos);
  EXPECT_NE(error_of(json::array({1}), limits).find("required key 'task'"), std::string::npos);
  EXPECT_EQ(error_of(json{{"task", 1}}, limits), "");
}

TEST(Payloads, BatchErrorNamesTheIndex) {
  std::vector<json> batch = {json{{"n", 1}}, json{{"n", std::nan("")}}, json{{"n", 3}}};
  try {
    validate_payloads(batch, {});
    FAIL();
  } catch (const ValidationError& e) {
    EXPECT_NE(std::string(e.what()).find("message 1 of 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(validate_payloads({}, {}), ValidationError);
}
