#include "core/workflow_json.h"

#include <cmath>

#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

// Path of the first value JSON cannot represent, or empty.
std::string first_unrepresentable(const json& v, const std::string& path) {
  switch (v.type()) {
    case json::value_t::number_float:
      return std::isfinite(v.get<double>()) ? "" : path;
    case json::value_t::binary:
    case json::value_t::discarded:
      return path;
    case json::value_t::object:
      for (const auto& [k, child] : v.items()) {
        auto p = first_unrepresentable(child, path + "." + k);
        if (!p.empty()) return p;
      }
      return "";
    case json::value_t::array: {
      std::size_t i = 0;
      for (const auto& child : v) {
        auto p = first_unrepresentable(child, path + "[" + std::to_string(i++) + "]");
        if (!p.empty()) return p;
      }
      return "";
    }
    default:
      return "";
  }
}

}  // namespace

std::string serialise_result(const json& value, const std::string& what, bool lenient) {
  if (lenient) return value.dump(-1, ' ', false, json::error_handler_t::replace);
  auto bad = first_unrepresentable(value, "$");
  if (!bad.empty()) {
    throw SerializationError(what + " is not JSON-serialisable: the value at " + bad +
                             " is not finite or not JSON");
  }
  try {
    return value.dump();
  } catch (const json::type_error& e) {
    throw SerializationError(what + " is not JSON-serialisable: " + e.what());
  }
}

}  // namespace pgqrs::core
