// Processes writing the same S3 object (durable mode, each its own cache): a writer with a
// stale cache has its write refused and applied again on the newer version (H26), so every
// write lands and no update is ever lost.
#include <fstream>
#include <map>

#include "integration/s3_test_support.h"

namespace pgqrs_test {
namespace {

class S3MultiProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PGQRS_SKIP_UNLESS_S3();
    pgqrs::Store s = pgqrs::connect_with_config(S3Config(key_, dir_.path() / "setup"));
    pgqrs::admin(s).install();
    s.queue("jobs");
  }
  void TearDown() override {
    if (std::getenv("PGQRS_TEST_S3_BUCKET") != nullptr) DirectClient().remove(key_);
  }
  std::string Cache(const std::string& name) { return (dir_.path() / name).string(); }
  std::string key_ = UniqueKey("multiprocess");
  ScratchDir dir_{"pgqrs-s3-mp"};
};

TEST_F(S3MultiProcessTest, TheSecondWriterOnAStaleVersionLandsOnTopAndNothingIsLost) {
  const auto go = dir_.path() / "go", ready = dir_.path() / "ready";
  // B downloads the current version, then waits.
  pid_t b = Spawn(
      {PGQRS_S3_WRITER_PATH, key_, Cache("b"), "2", "1", "once-after", go.string(), ready.string()},
      {}, (dir_.path() / "b.err").string());
  ASSERT_GT(b, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(ready) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(std::filesystem::exists(ready));
  // A writes first and wins.
  pid_t a = Spawn({PGQRS_S3_WRITER_PATH, key_, Cache("a"), "1", "1", "retry"}, {},
                  (dir_.path() / "a.err").string());
  auto a_status = WaitAll({a}, std::chrono::steady_clock::now() + std::chrono::seconds(60));
  EXPECT_EQ(a_status[a], 0);
  std::ofstream(go) << "go\n";
  auto b_status = WaitAll({b}, std::chrono::steady_clock::now() + std::chrono::seconds(60));
  EXPECT_EQ(b_status[b], 0) << "B's write on a stale version was not applied on A's";

  auto remote = RemoteMessages(key_, "jobs");
  ASSERT_EQ(remote.size(), 2u);  // A's write survived and B's landed on top of it
  std::set<int> writers;
  for (const auto& m : remote) writers.insert(m.payload.at("w").get<int>());
  EXPECT_EQ(writers, (std::set<int>{1, 2}));
}

TEST_F(S3MultiProcessTest, FourConcurrentWritersAllLand) {
  constexpr int kEach = 12;
  std::vector<pid_t> pids;
  for (int w = 1; w <= 4; ++w) {
    pids.push_back(Spawn({PGQRS_S3_WRITER_PATH, key_, Cache("w" + std::to_string(w)),
                          std::to_string(w), std::to_string(kEach), "retry"},
                         {}, (dir_.path() / ("w" + std::to_string(w) + ".err")).string()));
  }
  auto status = WaitAll(pids, std::chrono::steady_clock::now() + std::chrono::seconds(240));
  for (pid_t p : pids) EXPECT_EQ(status[p], 0);

  std::map<int, std::set<int>> by_writer;
  auto remote = RemoteMessages(key_, "jobs");
  for (const auto& m : remote) {
    EXPECT_TRUE(by_writer[m.payload.at("w").get<int>()].insert(m.payload.at("i").get<int>()).second)
        << "duplicate " << m.payload;
  }
  EXPECT_EQ(remote.size(), static_cast<std::size_t>(4 * kEach));
  for (int w = 1; w <= 4; ++w) EXPECT_EQ(by_writer[w].size(), static_cast<std::size_t>(kEach)) << w;
}

}  // namespace
}  // namespace pgqrs_test
