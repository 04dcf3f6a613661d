// Keyset paging of the admin lists (issue 16): list_messages, dlq and list_runs take a
// `before_id` cursor; paging with the last id of each page visits every row exactly once,
// newest first, on every backend.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "conformance/workflow_test_support.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;
using pgqrs::json;
using Ids = std::vector<std::int64_t>;

// Fetches pages of `limit` with fetch(before_id) from the first (nullopt) until a short
// page; the cursor of the next page is the last id of a full one. Returns every id seen, in
// order, and the page sizes.
struct Paged {
  Ids ids;
  std::vector<std::size_t> pages;
};
template <typename Record>
Paged PageThrough(std::uint32_t limit,
                  const std::function<std::vector<Record>(std::optional<std::int64_t>)>& fetch) {
  Paged out;
  std::optional<std::int64_t> before;
  for (int guard = 0; guard < 100; ++guard) {
    const auto page = fetch(before);
    out.pages.push_back(page.size());
    for (const auto& r : page) out.ids.push_back(r.id);
    if (page.size() < limit) break;
    before = page.back().id;
  }
  return out;
}

Ids Reversed(Ids ids) { return Ids(ids.rbegin(), ids.rend()); }

class PagingTest : public WorkflowTest {};

TEST_P(PagingTest, MessagesPageNewestFirstEachExactlyOnce) {
  MakeQueue("q");
  MakeQueue("other");
  Ids mine;
  for (int i = 0; i < 25; ++i) {
    mine.push_back(EnqueueNumbers("q", 1)[0]);
    EnqueueNumbers("other", 1);  // interleaved ids of another queue are never listed
  }
  const auto paged = PageThrough<pgqrs::QueueMessage>(10, [&](std::optional<std::int64_t> before) {
    return admin().list_messages("q", 10, false, before);
  });
  EXPECT_EQ(paged.ids, Reversed(mine));
  EXPECT_EQ(paged.pages, (std::vector<std::size_t>{10, 10, 5}));

  // A cursor that is no message's id still bounds the page; past the oldest: empty.
  EXPECT_EQ(admin().list_messages("q", 3, false, mine[5] + 1).front().id, mine[5]);
  EXPECT_TRUE(admin().list_messages("q", 10, false, mine[0]).empty());
}

TEST_P(PagingTest, ArchivedMessagesArePagedWhenIncluded) {
  MakeQueue("q");
  const Ids ids = EnqueueNumbers("q", 25);
  pgqrs::Consumer c = pgqrs::consumer("c", "q").create(store());
  const auto leased = c.dequeue(12);
  ASSERT_EQ(leased.size(), 12u);
  for (const auto& m : leased) ASSERT_TRUE(c.archive(m.id));

  auto all = PageThrough<pgqrs::QueueMessage>(10, [&](std::optional<std::int64_t> before) {
    return admin().list_messages("q", 10, true, before);
  });
  EXPECT_EQ(all.ids, Reversed(ids));
  auto live = PageThrough<pgqrs::QueueMessage>(10, [&](std::optional<std::int64_t> before) {
    return admin().list_messages("q", 10, false, before);
  });
  EXPECT_EQ(live.ids, Reversed(Ids(ids.begin() + 12, ids.end())));
  EXPECT_EQ(live.pages, (std::vector<std::size_t>{10, 3}));
}

TEST_P(PagingTest, DeadLettersPageNewestFirstEachExactlyOnce) {
  const pgqrs::Store s = MakeStore([](pgqrs::Config& c) { c.max_read_ct = 1; });
  MakeQueue(s, "q");
  MakeQueue(s, "other");
  Ids mine;
  Ids every;
  for (int i = 0; i < 25; ++i) {
    mine.push_back(EnqueueNumbers(s, "q", 1)[0]);
    every.push_back(mine.back());
    every.push_back(EnqueueNumbers(s, "other", 1)[0]);
  }
  // One delivery each, leases expire: every message is a dead letter (max_read_ct = 1).
  pgqrs::Consumer c = pgqrs::consumer("c", "q").create(s);
  pgqrs::Consumer o = pgqrs::consumer("o", "other").create(s);
  ASSERT_EQ(c.dequeue_with_vt(25, 10s).size(), 25u);
  ASSERT_EQ(o.dequeue_with_vt(25, 10s).size(), 25u);
  Advance(11s);
  const pgqrs::Admin a = admin(s);

  auto paged = PageThrough<pgqrs::QueueMessage>(
      10, [&](std::optional<std::int64_t> before) { return a.dlq("q", 10, before); });
  EXPECT_EQ(paged.ids, Reversed(mine));
  EXPECT_EQ(paged.pages, (std::vector<std::size_t>{10, 10, 5}));

  auto all_queues = PageThrough<pgqrs::QueueMessage>(
      10, [&](std::optional<std::int64_t> before) { return a.dlq(std::nullopt, 10, before); });
  EXPECT_EQ(all_queues.ids, Reversed(every));

  // No limit: all of them, newest first, as before paging existed (but newest first).
  Ids unpaged;
  for (const auto& m : a.dlq("q")) unpaged.push_back(m.id);
  EXPECT_EQ(unpaged, Reversed(mine));
}

TEST_P(PagingTest, RunsPageNewestFirstEachExactlyOnce) {
  pgqrs::WorkflowDef wf("wf_paged", [](pgqrs::Run&, const json& in) { return in; });
  pgqrs::WorkflowDef other("wf_other", [](pgqrs::Run&, const json& in) { return in; });
  Register(wf);
  Register(other);
  Ids mine;
  Ids every;
  for (int i = 0; i < 25; ++i) {
    mine.push_back(Trigger(wf, json{{"i", i}}));
    every.push_back(mine.back());
    every.push_back(Trigger(other, json{{"i", i}}));
    if (i % 3 == 0) Advance(1s);  // some runs share created_at: the id breaks the tie
  }
  pgqrs::RunFilter of_wf;
  of_wf.workflow = "wf_paged";
  of_wf.limit = 10;
  auto paged = PageThrough<pgqrs::RunRecord>(10, [&](std::optional<std::int64_t> before) {
    pgqrs::RunFilter f = of_wf;
    f.before_id = before;
    return ListRuns(store(), f);
  });
  EXPECT_EQ(paged.ids, Reversed(mine));
  EXPECT_EQ(paged.pages, (std::vector<std::size_t>{10, 10, 5}));

  auto all = PageThrough<pgqrs::RunRecord>(10, [&](std::optional<std::int64_t> before) {
    pgqrs::RunFilter f;
    f.limit = 10;
    f.before_id = before;
    return ListRuns(store(), f);
  });
  EXPECT_EQ(all.ids, Reversed(every));
}

// Runs are listed by created_at: one created with an earlier time than a run before it (a
// skewed clock) sits in its time's place, and paging keeps to that order, skipping none.
TEST_P(PagingTest, RunsPagingFollowsTheListOrderWhenClocksDisagree) {
  pgqrs::WorkflowDef wf("wf_skew", [](pgqrs::Run&, const json& in) { return in; });
  Register(wf);
  const auto t0 = now();
  Ids ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(Trigger(wf, json{{"i", i}}));
    Advance(1s);
  }
  clock_->set(t0 + 2500ms);  // between run 2 and run 3
  const auto late = Trigger(wf, json{{"late", true}});

  const Ids expected = {ids[5], ids[4], ids[3], late, ids[2], ids[1], ids[0]};
  pgqrs::RunFilter all;
  EXPECT_EQ(PageThrough<pgqrs::RunRecord>(100,
                                          [&](std::optional<std::int64_t> b) {
                                            all.before_id = b;
                                            return ListRuns(store(), all);
                                          })
                .ids,
            expected);
  for (std::uint32_t limit : {1u, 2u, 3u}) {
    pgqrs::RunFilter f;
    f.limit = limit;
    const auto paged = PageThrough<pgqrs::RunRecord>(limit, [&](std::optional<std::int64_t> b) {
      f.before_id = b;
      return ListRuns(store(), f);
    });
    EXPECT_EQ(paged.ids, expected) << "limit " << limit;
  }
}

TEST_P(PagingTest, BadCursorsAndLimitsAreValidationErrors) {
  MakeQueue("q");
  pgqrs::RunFilter f;
  f.before_id = 0;
  EXPECT_THROW(admin().list_messages("q", 10, false, 0), pgqrs::ValidationError);
  EXPECT_THROW(admin().list_messages("q", 10, false, -5), pgqrs::ValidationError);
  EXPECT_THROW(admin().dlq("q", 10, 0), pgqrs::ValidationError);
  EXPECT_THROW(admin().dlq("q", 0), pgqrs::ValidationError);
  EXPECT_THROW(ListRuns(store(), f), pgqrs::ValidationError);
  f.before_id = 1;
  EXPECT_TRUE(ListRuns(store(), f).empty());
}

PGQRS_INSTANTIATE_CONFORMANCE(PagingTest);

}  // namespace
}  // namespace pgqrs_test
