// Schedules (pgqrs/schedule.h) on every backend: lifecycle, ticks that carry their time,
// catch_up modes, pause, workflow targets, firing from poll loops and a Scheduler handle,
// and bad input that stores nothing. Time is the suite's ManualClock.
#include <algorithm>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "conformance/backend_fixture.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::CatchUp;
using pgqrs::ScheduleRecord;

class ScheduleTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ConformanceTest::SetUp();
    if (IsSkipped()) return;
    MakeQueue("q");
    t0_ = now();
  }
  // Messages of "q" (archived too), oldest first.
  std::vector<pgqrs::QueueMessage> Messages() {
    auto all = AllMessages("q");
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return all;
  }
  pgqrs::TimePoint t0_;
};
PGQRS_INSTANTIATE_CONFORMANCE(ScheduleTest);

TEST_P(ScheduleTest, CreateListShowPauseResumeRemove) {
  auto s =
      pgqrs::schedule("five").cron("*/5 * * * * *").enqueue_to("q", {{"k", 1}}).create(store());
  EXPECT_EQ(s.name, "five");
  EXPECT_EQ(s.cron, "*/5 * * * * *");
  EXPECT_EQ(s.time_zone, "UTC");
  EXPECT_EQ(s.target_kind, pgqrs::ScheduleTarget::kQueue);
  EXPECT_EQ(s.target, "q");
  EXPECT_EQ(s.payload, (pgqrs::json{{"k", 1}}));
  EXPECT_EQ(s.catch_up, CatchUp::kLast);
  EXPECT_FALSE(s.paused);
  EXPECT_GT(s.next_fire_at, t0_);
  EXPECT_LE(s.next_fire_at, t0_ + 5s);

  pgqrs::schedule("hourly").every(1h).enqueue_to("q").catch_up(CatchUp::kAll).create(store());
  auto list = pgqrs::list_schedules(store());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "five");
  EXPECT_EQ(list[1].name, "hourly");
  EXPECT_EQ(list[1].every, pgqrs::Duration(1h));
  EXPECT_EQ(list[1].next_fire_at, t0_ + 1h);

  EXPECT_TRUE(pgqrs::pause_schedule(store(), "five").paused);
  EXPECT_TRUE(pgqrs::get_schedule(store(), "five").paused);
  Advance(1min);
  auto resumed = pgqrs::resume_schedule(store(), "five");
  EXPECT_FALSE(resumed.paused);
  EXPECT_GT(resumed.next_fire_at, now());
  EXPECT_LE(resumed.next_fire_at, now() + 5s);

  EXPECT_TRUE(pgqrs::remove_schedule(store(), "five"));
  EXPECT_FALSE(pgqrs::remove_schedule(store(), "five"));
  EXPECT_EQ(pgqrs::list_schedules(store()).size(), 1u);
  ExpectThrowMessage<pgqrs::ValidationError>([&] { pgqrs::get_schedule(store(), "five"); },
                                             "get unknown");
  ExpectThrowMessage<pgqrs::ConflictError>(
      [&] { pgqrs::schedule("hourly").every(1h).enqueue_to("q").create(store()); }, "duplicate");
}

TEST_P(ScheduleTest, EachTickCreatesOneMessageCarryingTheTickTime) {
  auto s = pgqrs::schedule("ticks").every(10s).enqueue_to("q", {{"job", "x"}}).create(store());
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);  // nothing due yet
  Advance(10s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);  // the same tick never fires twice
  Advance(3s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);
  Advance(7s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  auto msgs = Messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].enqueued_at, t0_ + 10s);
  EXPECT_EQ(msgs[1].enqueued_at, t0_ + 20s);
  EXPECT_EQ(msgs[0].payload, (pgqrs::json{{"job", "x"}}));
  auto after = pgqrs::get_schedule(store(), "ticks");
  EXPECT_EQ(after.last_fire_at, t0_ + 20s);
  EXPECT_EQ(after.next_fire_at, t0_ + 30s);
}

TEST_P(ScheduleTest, CatchUpLastFiresOnlyTheLatestMissedTick) {
  pgqrs::schedule("s").every(10s).enqueue_to("q").create(store());
  Advance(95s);  // ticks at 10..90 s were missed
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  auto msgs = Messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].enqueued_at, t0_ + 90s);
  EXPECT_EQ(pgqrs::get_schedule(store(), "s").next_fire_at, t0_ + 100s);
}

TEST_P(ScheduleTest, CatchUpAllFiresEveryMissedTickOldestFirst) {
  pgqrs::schedule("s").every(10s).enqueue_to("q").catch_up(CatchUp::kAll).create(store());
  Advance(95s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 9u);
  auto msgs = Messages();
  ASSERT_EQ(msgs.size(), 9u);
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(msgs[i].enqueued_at, t0_ + 10s * static_cast<int>(i + 1)) << i;
  }
}

TEST_P(ScheduleTest, CatchUpAllIsBoundedPerTransactionAndStillFiresEverything) {
  pgqrs::schedule("s").every(1s).enqueue_to("q").catch_up(CatchUp::kAll).create(store());
  Advance(250s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 250u);
  EXPECT_EQ(Messages().size(), 250u);
}

TEST_P(ScheduleTest, CatchUpNoneDropsTicksMissedLongAgo) {
  pgqrs::schedule("s").every(1h).enqueue_to("q").catch_up(CatchUp::kNone).create(store());
  Advance(3h + 30min);  // the latest tick (3 h) is 30 min late: missed, not fired
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);
  EXPECT_TRUE(Messages().empty());
  EXPECT_EQ(pgqrs::get_schedule(store(), "s").next_fire_at, t0_ + 4h);
  Advance(30min + 20s);  // on time (within the grace): fired
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  ASSERT_EQ(Messages().size(), 1u);
  EXPECT_EQ(Messages()[0].enqueued_at, t0_ + 4h);
}

TEST_P(ScheduleTest, PausedScheduleDoesNotFireAndResumeSkipsThePausedTicks) {
  pgqrs::schedule("s").every(10s).enqueue_to("q").catch_up(CatchUp::kAll).create(store());
  pgqrs::pause_schedule(store(), "s");
  Advance(60s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);
  pgqrs::resume_schedule(store(), "s");
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 0u);
  Advance(10s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  ASSERT_EQ(Messages().size(), 1u);
  EXPECT_EQ(Messages()[0].enqueued_at, t0_ + 70s);
}

TEST_P(ScheduleTest, CronInAZoneFiresAtWallClockTime) {
  // Start at a whole minute so the cron's ticks are easy to name.
  clock_->set(std::chrono::ceil<std::chrono::minutes>(now()));
  const auto start = now();
  pgqrs::schedule("s")
      .cron("*/2 * * * *")
      .time_zone("Asia/Kolkata")
      .enqueue_to("q")
      .create(store());
  // Kolkata is UTC+05:30: even local minutes are even UTC minutes too.
  const auto next = pgqrs::get_schedule(store(), "s").next_fire_at;
  EXPECT_GT(next, start);
  EXPECT_LE(next, start + 2min);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::minutes>(next.time_since_epoch()).count() % 2,
            0);
  EXPECT_EQ(next.time_since_epoch() % std::chrono::minutes(1), pgqrs::Duration::zero());
}

TEST_P(ScheduleTest, WorkflowTargetTriggersARunCreatedAtTheTick) {
  pgqrs::workflow().name("wf").create(store());
  pgqrs::schedule("s").every(30s).trigger("wf", {{"day", 1}}).create(store());
  Advance(30s);
  EXPECT_EQ(pgqrs::fire_due_schedules(store()), 1u);
  auto runs = admin().list_runs({});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].created_at, t0_ + 30s);
  EXPECT_EQ(runs[0].input, (pgqrs::json{{"day", 1}}));
  EXPECT_EQ(runs[0].status, pgqrs::WorkflowStatus::kQueued);
}

TEST_P(ScheduleTest, BadInputIsATypedErrorNamingTheFieldAndStoresNothing) {
  auto msg = [&](const pgqrs::ScheduleBuilder& b) {
    return ExpectThrowMessage<pgqrs::ValidationError>([&] { b.create(store()); }, "create");
  };
  EXPECT_EQ(msg(pgqrs::schedule("a").cron("0 25 * * *").enqueue_to("q")).rfind("cron: ", 0), 0u);
  EXPECT_EQ(msg(pgqrs::schedule("a").cron("* * *").enqueue_to("q")).rfind("cron: ", 0), 0u);
  EXPECT_EQ(msg(pgqrs::schedule("a").cron("0 3 * * *").time_zone("Mars/Base").enqueue_to("q"))
                .rfind("time_zone: ", 0),
            0u);
  EXPECT_EQ(msg(pgqrs::schedule("a").every(-5s).enqueue_to("q")).rfind("every: ", 0), 0u);
  EXPECT_EQ(msg(pgqrs::schedule("a").every(0s).enqueue_to("q")).rfind("every: ", 0), 0u);
  EXPECT_NE(msg(pgqrs::schedule("a").every(5s)).find("target"), std::string::npos);
  EXPECT_NE(msg(pgqrs::schedule("a").enqueue_to("q")).find("cron or every"), std::string::npos);
  EXPECT_NE(msg(pgqrs::schedule("bad name!").every(5s).enqueue_to("q")).find("schedule name"),
            std::string::npos);
  EXPECT_NE(msg(pgqrs::schedule("a").every(5s).trigger("nowf")).find("nowf"), std::string::npos);
  ExpectThrowMessage<pgqrs::QueueNotFoundError>(
      [&] { pgqrs::schedule("a").every(5s).enqueue_to("noq").create(store()); }, "no queue");
  EXPECT_EQ(pgqrs::catch_up_from_string("all"), CatchUp::kAll);
  EXPECT_EQ(ExpectThrowMessage<pgqrs::ValidationError>([] { pgqrs::catch_up_from_string("some"); },
                                                       "catch_up")
                .rfind("catch_up: ", 0),
            0u);
  EXPECT_TRUE(pgqrs::list_schedules(store()).empty());
}

TEST_P(ScheduleTest, AConsumerPollLoopFiresDueSchedules) {
  pgqrs::schedule("s").every(5s).enqueue_to("q", {{"from", "schedule"}}).create(store());
  Advance(5s);
  auto got = pgqrs::dequeue().from("q").until_empty().poll(store());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, (pgqrs::json{{"from", "schedule"}}));
  EXPECT_EQ(got[0].enqueued_at, t0_ + 5s);
}

TEST_P(ScheduleTest, ASchedulerHandleFiresOnTheStoreClock) {
  pgqrs::schedule("s").every(2s).enqueue_to("q").catch_up(CatchUp::kAll).create(store());
  pgqrs::Scheduler scheduler(store(), 1s);
  // Waits (real time, bounded) until the handle has fired `n` ticks.
  auto fired = [&](std::size_t n) {
    for (int i = 0; i < 1000 && scheduler.fired() < n; ++i) std::this_thread::sleep_for(10ms);
    return scheduler.fired();
  };
  for (std::size_t tick = 1; tick <= 3; ++tick) {
    Advance(1s);
    ASSERT_TRUE(WaitForWaiters(1));
    EXPECT_EQ(scheduler.fired(), tick - 1);  // not due yet: nothing fired
    Advance(1s);
    EXPECT_EQ(fired(tick), tick);
  }
  scheduler.stop();
  auto msgs = Messages();
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_EQ(msgs[0].enqueued_at, t0_ + 2s);
  EXPECT_EQ(msgs[2].enqueued_at, t0_ + 6s);
}

TEST_P(ScheduleTest, UpcomingFireTimesPreviewsWithoutStoring) {
  auto s = pgqrs::schedule("s").every(15s).enqueue_to("q").create(store());
  auto next = pgqrs::upcoming_fire_times(s, now(), 3);
  ASSERT_EQ(next.size(), 3u);
  EXPECT_EQ(next[0], t0_ + 15s);
  EXPECT_EQ(next[2], t0_ + 45s);
  EXPECT_TRUE(Messages().empty());
}

}  // namespace
}  // namespace pgqrs_test
