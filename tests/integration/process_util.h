// Helpers for integration tests that run worker processes (pgqrs_queue_worker,
// pgqrs_workflow_worker): the scratch dir and process helpers of tests/common, reading the
// numbers a consumer logged and checking each was handled once, a file, an environment
// variable. Header-only.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/scratch_dir.h"

namespace pgqrs_test {

inline std::vector<long> ReadNumbers(const std::filesystem::path& file) {
  std::vector<long> out;
  std::ifstream in(file);
  long n = 0;
  while (in >> n) out.push_back(n);
  return out;
}

// Which of the numbers 0 .. expected-1 consumers logged more than once, and which never,
// given how often each number was logged.
struct DeliveryTally {
  std::vector<long> duplicates;
  std::vector<long> missing;
};
inline DeliveryTally TallyDeliveries(const std::map<long, int>& seen, long expected) {
  DeliveryTally tally;
  for (const auto& [n, times] : seen) {
    if (times > 1) tally.duplicates.push_back(n);
  }
  for (long n = 0; n < expected; ++n) {
    if (seen.find(n) == seen.end()) tally.missing.push_back(n);
  }
  return tally;
}

// "<count> <what>, first n=<first>" (no "first" when `numbers` is empty), for test messages.
inline std::string DescribeNumbers(const std::vector<long>& numbers, const std::string& what) {
  std::string text = std::to_string(numbers.size()) + " " + what;
  if (!numbers.empty()) text += ", first n=" + std::to_string(numbers[0]);
  return text;
}

inline std::string ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace pgqrs_test
