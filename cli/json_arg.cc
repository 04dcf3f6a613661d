#include "json_arg.h"

#include <iostream>
#include <iterator>

#include "context.h"

namespace pgqrs::cli {

namespace {

// A parse failure of nlohmann::json without its "[json.exception.parse_error.101] " prefix:
// "parse error at line 1, column 5: syntax error while parsing ...". Besides parse_error,
// json::parse throws out_of_range for a number too large for a double ("number overflow
// parsing '7e999'"); both are bad input.
std::string describe_parse_error(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (auto close = what.find("] ");
      what.rfind("[json.exception", 0) == 0 && close != std::string::npos) {
    what.erase(0, close + 2);
  }
  return what;
}

std::string check_json(const std::string& text) {
  if (text == "-") return {};  // read from stdin at run time
  try {
    nlohmann::json parsed = nlohmann::json::parse(text);
    (void)parsed;
    return {};
  } catch (const nlohmann::json::exception& e) {
    return "invalid JSON payload: " + describe_parse_error(e);
  }
}

}  // namespace

CLI::Validator json_validator() { return CLI::Validator(check_json, "JSON", "json"); }

nlohmann::json read_json_argument(const std::string& arg) {
  std::string text = arg;
  const char* where = "argument JSON";
  if (arg == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    where = "JSON read from stdin";
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(std::string(where) + ": invalid JSON payload: " + describe_parse_error(e));
  }
}

}  // namespace pgqrs::cli
