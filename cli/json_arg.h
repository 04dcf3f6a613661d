// JSON given on the command line (`queue enqueue Q JSON`, `workflow trigger W JSON`): the
// text itself, or "-" to read it from stdin. Malformed JSON is a usage error (exit 2).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "pgqrs/pgqrs.h"

namespace pgqrs::cli {

// CLI11 check for a JSON argument: rejects malformed text while the command line is parsed
// ("invalid JSON payload: parse error at line 1, column 5: ..."); "-" passes (stdin is read
// and checked at run time).
CLI::Validator json_validator();

// The JSON value of the argument; reads stdin for "-". Throws UsageError when the text is
// not valid JSON, naming where it came from ("argument JSON" / "JSON read from stdin").
nlohmann::json read_json_argument(const std::string& arg);

}  // namespace pgqrs::cli
