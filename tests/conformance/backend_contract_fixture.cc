#include "conformance/backend_contract_fixture.h"

#include "backend/registry.h"

namespace {

// As connect_with_config does: the DSN parsed once, handed to the registry.
std::unique_ptr<pgqrs::backend::Backend> Open(const pgqrs::Config& config) {
  return pgqrs::backend::open_backend(config, pgqrs::backend::Dsn::parse(config.dsn));
}

}  // namespace

namespace pgqrs_test {

void BackendContractTest::SetUp() {
  const BackendCase& c = GetParam();
  if (c.unavailable) {
    if (auto reason = c.unavailable()) GTEST_SKIP() << "backend " << c.name << ": " << *reason;
  }
  backend_ = Open(OpenConfig());
  backend_->install();
}

void BackendContractTest::TearDown() {
  others_.clear();
  backend_.reset();
  const BackendCase& c = GetParam();
  for (const auto& config : configs_) {
    if (!c.cleanup) break;
    try {
      c.cleanup(config);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "backend cleanup failed: " << e.what();
    }
  }
  configs_.clear();
  dirs_.clear();
}

pgqrs::Config BackendContractTest::OpenConfig() {
  dirs_.push_back(std::make_unique<ScratchDir>("pgqrs-contract"));
  pgqrs::Config config = GetParam().make_config(dirs_.back()->path());
  // Several connections, so that threads really run side by side; a generous lock wait.
  config.max_connections = 4;
  config.connection_timeout_seconds = 10;
  configs_.push_back(config);
  return config;
}

Backend& BackendContractTest::OpenFresh(bool install) {
  others_.push_back(Open(OpenConfig()));
  if (install) others_.back()->install();
  return *others_.back();
}

Backend& BackendContractTest::OpenSame() {
  others_.push_back(Open(configs_.front()));
  return *others_.back();
}

std::int64_t BackendContractTest::make_worker(const std::string& name, const std::string& queue,
                                              WorkerKind kind, TimePoint now) {
  return be().register_worker(name, kind, queue, "test-host", 4242, now).id;
}

std::vector<std::int64_t> BackendContractTest::enqueue(const std::string& queue, int n,
                                                       TimePoint visible_at, TimePoint now) {
  EnqueueParams p;
  p.queue = queue;
  for (int i = 0; i < n; ++i) p.payloads.push_back(R"({"n":)" + std::to_string(i) + "}");
  p.visible_at = visible_at;
  p.now = now;
  return be().enqueue(p);
}

std::vector<QueueMessage> BackendContractTest::dequeue(const std::string& queue,
                                                       std::uint32_t limit, std::int64_t worker,
                                                       TimePoint now, pgqrs::Duration lease,
                                                       std::int32_t max_read_ct) {
  DequeueParams p;
  p.queue = queue;
  p.limit = limit;
  p.lease = lease;
  p.consumer_worker_id = worker;
  p.now = now;
  p.max_read_ct = max_read_ct;
  return be().dequeue(p);
}

}  // namespace pgqrs_test
