#include "core/validation.h"

#include <algorithm>
#include <cmath>

#include "pgqrs/error.h"

namespace pgqrs::core {
namespace {

std::string printable(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out;
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

struct PayloadChecker {
  const ValidationConfig& limits;
  std::string_view where;

  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw ValidationError("invalid payload (" + std::string(where) + ") at " + path + ": " + why);
  }

  void check(const json& value, const std::string& path, std::size_t depth) const {
    switch (value.type()) {
      case json::value_t::object:
      case json::value_t::array:
        if (depth + 1 > limits.max_object_depth) {
          fail(path, "nesting depth exceeds " + std::to_string(limits.max_object_depth) +
                         " (validation.max_object_depth)");
        }
        if (value.is_object()) {
          for (const auto& [key, child] : value.items()) {
            if (key.size() > limits.max_string_length) {
              fail(path, "key longer than " + std::to_string(limits.max_string_length) +
                             " characters (validation.max_string_length)");
            }
            check(child, path + "." + printable(key), depth + 1);
          }
        } else {
          std::size_t i = 0;
          for (const auto& child : value) {
            check(child, path + "[" + std::to_string(i++) + "]", depth + 1);
          }
        }
        break;
      case json::value_t::string:
        if (value.get_ref<const std::string&>().size() > limits.max_string_length) {
          fail(path, "string longer than " + std::to_string(limits.max_string_length) +
                         " characters (validation.max_string_length)");
        }
        break;
      case json::value_t::number_float:
        if (!std::isfinite(value.get<double>())) {
          fail(path, "number is not finite (NaN and infinity are not JSON)");
        }
        break;
      case json::value_t::binary:
        fail(path, "binary values are not JSON");
      case json::value_t::discarded:
        fail(path, "discarded value (malformed JSON)");
      default:
        break;
    }
  }
};

}  // namespace

void validate_name(std::string_view name, std::string_view what) {
  if (name.empty()) throw ValidationError(std::string(what) + " must not be empty");
  if (name.size() > 128) {
    throw ValidationError(std::string(what) + " '" + printable(name) + "' is " +
                          std::to_string(name.size()) + " characters long; the limit is 128");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) {
      throw ValidationError(std::string(what) + " '" + printable(name) +
                            "' has an invalid character at position " + std::to_string(i) +
                            " (allowed: letters, digits, '_', '.', ':', '-')");
    }
  }
}

std::string validate_payload(const json& payload, const ValidationConfig& limits,
                             std::string_view where) {
  PayloadChecker checker{limits, where};
  checker.check(payload, "$", 0);
  if (!limits.required_keys.empty() || !limits.forbidden_keys.empty()) {
    for (const auto& key : limits.forbidden_keys) {
      if (payload.is_object() && payload.contains(key)) {
        checker.fail("$", "key '" + key + "' is forbidden (validation.forbidden_keys)");
      }
    }
    for (const auto& key : limits.required_keys) {
      if (!payload.is_object() || !payload.contains(key)) {
        checker.fail("$", "required key '" + key + "' is missing (validation.required_keys)");
      }
    }
  }
  std::string text;
  try {
    text = payload.dump();
  } catch (const json::type_error& e) {
    throw ValidationError("invalid payload (" + std::string(where) + "): " + e.what());
  }
  if (text.size() > limits.max_payload_size_bytes) {
    throw ValidationError("invalid payload (" + std::string(where) + "): serialised size " +
                          std::to_string(text.size()) + " bytes exceeds the limit of " +
                          std::to_string(limits.max_payload_size_bytes) +
                          " (validation.max_payload_size_bytes)");
  }
  return text;
}

std::vector<std::string> validate_payloads(const std::vector<json>& payloads,
                                           const ValidationConfig& limits) {
  if (payloads.empty()) throw ValidationError("nothing to enqueue: the batch is empty");
  std::vector<std::string> out;
  out.reserve(payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    std::string where = payloads.size() == 1 ? "message"
                                             : "message " + std::to_string(i) + " of " +
                                                   std::to_string(payloads.size());
    out.push_back(validate_payload(payloads[i], limits, where));
  }
  return out;
}

void validate_batch_size(std::uint64_t n, std::uint32_t max) {
  if (n == 0 || n > max) {
    throw ValidationError("batch size " + std::to_string(n) + " is out of range 1.." +
                          std::to_string(max) + " (default_max_batch_size)");
  }
}

}  // namespace pgqrs::core
