#include "conformance/backend_fixture.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "conformance/postgres_cases.h"
#include "conformance/s3_cases.h"

namespace pgqrs_test {

namespace fs = std::filesystem;

namespace {

// Suite-wide defaults applied to every config: a small poll interval (measured on the
// test's ManualClock, like every engine wait); everything else stays at the documented
// defaults.
void ApplySuiteDefaults(pgqrs::Config& config) { config.poll_interval_ms = 10; }

// The Turso case runs whenever the library was built with the Turso engine.
std::optional<std::string> TursoUnavailableReason() {
#if PGQRS_TEST_WITH_TURSO
  return std::nullopt;
#else
  return std::string("this build has PGQRS_WITH_TURSO=OFF (no Turso engine linked)");
#endif
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const BackendCase& c) { return os << c.name; }

std::vector<BackendCase> AllBackends() {
  std::vector<BackendCase> cases;
  cases.push_back(BackendCase{"sqlite_file", "sqlite", /*persistent=*/true,
                              [](const fs::path& scratch) {
                                return pgqrs::Config::from_dsn("sqlite://" +
                                                               (scratch / "queue.db").string());
                              },
                              nullptr, nullptr});
  cases.push_back(
      BackendCase{"sqlite_memory", "sqlite", /*persistent=*/false,
                  [](const fs::path&) { return pgqrs::Config::from_dsn("sqlite::memory:"); },
                  nullptr, nullptr});
  // Postgres, directly and through PgBouncer (transaction pooling); see postgres_cases.h.
  cases.push_back(PostgresCase());
  cases.push_back(PgBouncerCase());
  // S3 (durable mode) against the moto test server; see s3_cases.h.
  cases.push_back(S3Case());
  // Turso: the Turso engine embedded through its C ABI, on a file (docs/turso.md).
  cases.push_back(BackendCase{"turso", "turso", /*persistent=*/true,
                              [](const fs::path& scratch) {
                                return pgqrs::Config::from_dsn("turso://" +
                                                               (scratch / "queue.db").string());
                              },
                              nullptr, [] { return TursoUnavailableReason(); }});
  // Later backends go here; see the comment at the top of backend_fixture.h.
  return cases;
}

std::string BackendCaseName(const ::testing::TestParamInfo<BackendCase>& info) {
  return info.param.name;
}

std::optional<std::string> SkipReasonIfEnvMissing(const char* var) {
  const char* value = std::getenv(var);
  if (value == nullptr || *value == '\0') {
    return std::string(var) + " is not set: this backend needs a server/bucket to test against";
  }
  return std::nullopt;
}

void ConformanceTest::SetUp() {
  const BackendCase& c = GetParam();
  if (c.unavailable) {
    if (auto reason = c.unavailable()) GTEST_SKIP() << "backend " << c.name << ": " << *reason;
  }
  // Start on a whole second so every time the suite produces is a whole number of
  // milliseconds (no false alarms from a backend that stores milliseconds).
  clock_ = std::make_shared<pgqrs::ManualClock>(
      std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  config_ = FreshConfig();
  store_.emplace(pgqrs::connect_with_config(config_, clock_));
  pgqrs::admin(*store_).install();
}

void ConformanceTest::TearDown() {
  extra_stores_.clear();
  store_.reset();
  const BackendCase& c = GetParam();
  for (auto& o : opened_) {
    if (c.cleanup) {
      try {
        c.cleanup(o.config);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "backend cleanup failed: " << e.what();
      }
    }
  }
  opened_.clear();  // removes the temp dirs
}

pgqrs::Config ConformanceTest::FreshConfig() {
  auto dir = std::make_unique<TempDir>("pgqrs-conf");
  pgqrs::Config config = GetParam().make_config(dir->path());
  ApplySuiteDefaults(config);
  opened_.push_back(Opened{config, std::move(dir)});
  return config;
}

pgqrs::Store ConformanceTest::MakeStore(const std::function<void(pgqrs::Config&)>& tweak,
                                        bool install) {
  pgqrs::Config config = FreshConfig();
  if (tweak) tweak(config);
  pgqrs::Store s = pgqrs::connect_with_config(config, clock_);
  if (install) pgqrs::admin(s).install();
  extra_stores_.push_back(s);
  return s;
}

pgqrs::QueueInfo ConformanceTest::MakeQueue(const std::string& name) {
  return MakeQueue(*store_, name);
}

pgqrs::QueueInfo ConformanceTest::MakeQueue(const pgqrs::Store& s, const std::string& name) {
  return s.queue(name);
}

std::vector<std::int64_t> ConformanceTest::EnqueueNumbers(const pgqrs::Store& s,
                                                          const std::string& queue, int count) {
  std::vector<pgqrs::json> payloads;
  payloads.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) payloads.push_back(pgqrs::json{{"n", i}});
  return pgqrs::enqueue().messages(std::move(payloads)).to(queue).execute(s);
}

std::vector<pgqrs::QueueMessage> ConformanceTest::AllMessages(const pgqrs::Store& s,
                                                              const std::string& queue) {
  return pgqrs::admin(s).list_messages(queue, 100000, /*include_archived=*/true);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

bool ContainsAny(std::string_view text, const std::vector<std::string>& needles) {
  const std::string hay = Lower(text);
  return std::any_of(needles.begin(), needles.end(),
                     [&](const std::string& n) { return hay.find(Lower(n)) != std::string::npos; });
}

bool ConformanceTest::WaitForWaiters(std::size_t n, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (clock_->waiting() < n) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

bool EventuallyTrue(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace pgqrs_test
