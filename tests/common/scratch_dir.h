// A scratch directory for a test: a fresh, empty directory under the system temp dir,
// removed recursively (whatever the test did to its permissions) when the object dies.
// Header-only; shared by the unit, conformance and integration tests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

namespace pgqrs_test {

class ScratchDir {
 public:
  // Creates <temp>/<prefix>-<pid>-<random hex>. Throws std::runtime_error if no fresh
  // directory can be created.
  explicit ScratchDir(const std::string& prefix = "pgqrs-test") {
    const std::filesystem::path base = std::filesystem::temp_directory_path();
    std::random_device rd;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::filesystem::path candidate =
          base / (prefix + "-" + std::to_string(::getpid()) + "-" + RandomHex(rd));
      std::error_code ec;
      if (std::filesystem::create_directory(candidate, ec)) {
        path_ = candidate;
        return;
      }
    }
    throw std::runtime_error("could not create a scratch dir under " + base.string());
  }
  ~ScratchDir() {
    std::error_code ec;
    // A test may have made the directory read-only; removal needs it writable again.
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path() / name as a string (a database file inside the directory, say).
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static std::string RandomHex(std::random_device& rd) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 12; ++i) out.push_back(kHex[rd() % 16]);
    return out;
  }

  std::filesystem::path path_;
};

}  // namespace pgqrs_test
