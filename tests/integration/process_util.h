// Helpers for integration tests that run worker processes (pgqrs_queue_worker,
// pgqrs_workflow_worker): the scratch dir and process helpers of tests/common, reading the
// numbers a consumer logged, a file, an environment variable. Header-only.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
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

inline std::string ReadFile(const std::filesystem::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace pgqrs_test
