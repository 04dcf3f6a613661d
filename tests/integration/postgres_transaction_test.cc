// Transactional enqueue on Postgres (SPEC §3, pgqrs/postgres.h and pgqrs/postgres_libpq.h):
// a job exists iff the business write of the same transaction commits; nothing is visible
// before commit; a failed statement aborts everything; commit wakes idle consumers; the
// libpq adapter joins a transaction on the caller's own connection. On a non-Postgres store
// the API is a ConfigError naming the backend.
//
// Needs PGQRS_TEST_POSTGRES_DSN (PGQRS_TEST_PGBOUNCER_DSN for the PgBouncer case); skipped
// with that reason otherwise.
#include <future>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "integration/pg_admin.h"
#include "integration/process_util.h"
#include "pgqrs/pgqrs.h"
#include "pgqrs/postgres_libpq.h"

namespace pgqrs_test {
namespace {

using namespace std::chrono_literals;

class PostgresTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dsn_ = Env("PGQRS_TEST_POSTGRES_DSN");
    if (dsn_.empty()) GTEST_SKIP() << "PGQRS_TEST_POSTGRES_DSN is not set: needs a Postgres server";
    db_ = std::make_unique<PgAdmin>(dsn_);
    schema_ = db_->CreateSchema("tx");
    orders_ = "\"" + schema_ + "\".orders";
    db_->Exec("CREATE TABLE " + orders_ + " (id int PRIMARY KEY, total numeric NOT NULL)");
    store_.emplace(Open(dsn_));
    pgqrs::admin(*store_).install();
    store_->queue("emails");
  }
  void TearDown() override {
    store_.reset();
    if (db_) db_->DropSchema(schema_);
  }

  pgqrs::Store Open(const std::string& dsn) {
    pgqrs::Config config = pgqrs::Config::from_dsn(dsn);
    config.schema = schema_;
    return pgqrs::connect_with_config(config);
  }
  std::string Count(const std::string& table) {
    return db_->Value("SELECT count(*) FROM " + table);
  }
  std::string Messages() { return Count("\"" + schema_ + "\".pgqrs_messages"); }

  std::string dsn_;
  std::string schema_;
  std::string orders_;
  std::unique_ptr<PgAdmin> db_;
  std::optional<pgqrs::Store> store_;
};

TEST_F(PostgresTransactionTest, CommitKeepsTheBusinessRowAndTheJobTogether) {
  auto tx = pgqrs::postgres::begin(*store_);
  auto inserted =
      tx.execute("INSERT INTO " + orders_ + " (id, total) VALUES ($1, $2)", {42, 19.99});
  EXPECT_EQ(inserted.affected_rows, 1u);
  auto ids = pgqrs::enqueue().message({{"order", 42}}).to("emails").execute(tx);
  ASSERT_EQ(ids.size(), 1u);
  // Nothing is visible to anyone else before commit.
  EXPECT_EQ(Count(orders_), "0");
  EXPECT_EQ(Messages(), "0");
  EXPECT_TRUE(pgqrs::dequeue().from("emails").fetch_all(*store_).empty());
  tx.commit();
  EXPECT_FALSE(tx.active());
  EXPECT_EQ(Count(orders_), "1");
  auto got = pgqrs::dequeue().from("emails").fetch_all(*store_);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, ids[0]);
  EXPECT_EQ(got[0].payload, (pgqrs::json{{"order", 42}}));
}

TEST_F(PostgresTransactionTest, RollbackOrDestructionDiscardsBoth) {
  {
    auto tx = pgqrs::postgres::begin(*store_);
    tx.execute("INSERT INTO " + orders_ + " (id, total) VALUES ($1, $2)", {1, 5});
    pgqrs::enqueue().messages({{{"n", 1}}, {{"n", 2}}}).to("emails").execute(tx);
    tx.rollback();
    EXPECT_FALSE(tx.active());
    EXPECT_THROW(tx.commit(), pgqrs::StateTransitionError);
  }
  {
    auto tx = pgqrs::postgres::begin(*store_);
    tx.execute("INSERT INTO " + orders_ + " (id, total) VALUES ($1, $2)", {2, 5});
    pgqrs::enqueue().message({{"n", 3}}).to("emails").execute(tx);
  }  // destroyed without commit
  EXPECT_EQ(Count(orders_), "0");
  EXPECT_EQ(Messages(), "0");
}

TEST_F(PostgresTransactionTest, AFailedStatementAbortsTheWholeTransaction) {
  db_->Exec("INSERT INTO " + orders_ + " (id, total) VALUES (7, 1)");
  auto tx = pgqrs::postgres::begin(*store_);
  pgqrs::enqueue().message({{"order", 7}}).to("emails").execute(tx);
  try {
    tx.execute("INSERT INTO " + orders_ + " (id, total) VALUES ($1, $2)", {7, 1});
    ADD_FAILURE() << "a duplicate key must fail";
  } catch (const pgqrs::postgres::SqlError& e) {
    EXPECT_EQ(e.sqlstate(), "23505") << e.what();
    EXPECT_FALSE(e.retryable());
  }
  EXPECT_FALSE(tx.active());
  EXPECT_THROW(tx.commit(), pgqrs::StateTransitionError);
  EXPECT_THROW(pgqrs::enqueue().message({{"x", 1}}).to("emails").execute(tx),
               pgqrs::StateTransitionError);
  EXPECT_EQ(Messages(), "0") << "the job of a failed transaction must not exist";
}

TEST_F(PostgresTransactionTest, ExecuteReturnsRowsAsTextWithNulls) {
  auto tx = pgqrs::postgres::begin(*store_);
  auto r = tx.execute("SELECT $1::int + 1 AS n, NULL::text AS nothing, $2::jsonb ->> 'k' AS k",
                      {41, pgqrs::json{{"k", "v"}}});
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.columns, (std::vector<std::string>{"n", "nothing", "k"}));
  EXPECT_EQ(r.rows[0][0], "42");
  EXPECT_FALSE(r.rows[0][1].has_value());
  EXPECT_EQ(r.rows[0][2], "v");
  EXPECT_EQ(r.affected_rows, 1u);
  auto nulls = tx.execute("SELECT $1::text IS NULL, $2::int IS NULL, $3::int",
                          {nullptr, std::nullopt, std::optional<int>(7)});
  EXPECT_EQ(nulls.rows[0][0], "t");
  EXPECT_EQ(nulls.rows[0][1], "t");
  EXPECT_EQ(nulls.rows[0][2], "7");
  tx.commit();
}

TEST_F(PostgresTransactionTest, EnqueueToAnUnknownQueueFailsButLeavesTheTransactionUsable) {
  auto tx = pgqrs::postgres::begin(*store_);
  EXPECT_THROW(pgqrs::enqueue().message({{"a", 1}}).to("nope").execute(tx),
               pgqrs::QueueNotFoundError);
  EXPECT_TRUE(tx.active());
  pgqrs::enqueue().message({{"a", 2}}).to("emails").execute(tx);
  tx.commit();
  EXPECT_EQ(Messages(), "1");
}

TEST_F(PostgresTransactionTest, CommitWakesAnIdleConsumerOfTheSameStore) {
  pgqrs::Config config = store_->config();
  config.poll_interval_ms = 30000;
  pgqrs::Store slow = pgqrs::connect_with_config(config);
  auto fut = std::async(std::launch::async,
                        [&] { return pgqrs::dequeue().from("emails").until(60s).poll(slow); });
  std::this_thread::sleep_for(200ms);
  auto tx = pgqrs::postgres::begin(slow);
  pgqrs::enqueue().message({{"wake", true}}).to("emails").execute(tx);
  EXPECT_EQ(fut.wait_for(300ms), std::future_status::timeout) << "woken before commit";
  tx.commit();
  ASSERT_EQ(fut.wait_for(5s), std::future_status::ready) << "commit did not wake the consumer";
  EXPECT_EQ(fut.get().size(), 1u);
}

TEST_F(PostgresTransactionTest, WorksThroughPgBouncerInTransactionMode) {
  const std::string bouncer = Env("PGQRS_TEST_PGBOUNCER_DSN");
  if (bouncer.empty()) GTEST_SKIP() << "PGQRS_TEST_PGBOUNCER_DSN is not set";
  pgqrs::Store store = Open(bouncer);
  for (int i = 0; i < 20; ++i) {
    auto tx = pgqrs::postgres::begin(store);
    tx.execute("INSERT INTO " + orders_ + " (id, total) VALUES ($1, 1)", {100 + i});
    pgqrs::enqueue().message({{"i", i}}).to("emails").execute(tx);
    if (i % 2 == 0) {
      tx.commit();
    } else {
      tx.rollback();
    }
  }
  EXPECT_EQ(Count(orders_), "10");
  EXPECT_EQ(Messages(), "10");
}

TEST_F(PostgresTransactionTest, AdoptJoinsTheTransactionOfTheCallersOwnConnection) {
  PGconn* conn = PQconnectdb(dsn_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK);
  auto exec = [&](const std::string& sql) { PQclear(PQexec(conn, sql.c_str())); };
  // Not inside a transaction: refused.
  EXPECT_THROW((void)pgqrs::postgres::adopt(*store_, conn), pgqrs::ValidationError);

  exec("BEGIN");
  exec("INSERT INTO " + orders_ + " (id, total) VALUES (1, 10)");
  {
    auto tx = pgqrs::postgres::adopt(*store_, conn);
    pgqrs::enqueue().message({{"order", 1}}).to("emails").execute(tx);
    EXPECT_THROW(tx.commit(), pgqrs::StateTransitionError) << "the caller commits, not the view";
  }  // the view goes; the caller's transaction stays open
  EXPECT_EQ(PQtransactionStatus(conn), PQTRANS_INTRANS);
  EXPECT_EQ(Messages(), "0");
  exec("COMMIT");
  EXPECT_EQ(Count(orders_), "1");
  EXPECT_EQ(Messages(), "1");

  exec("BEGIN");
  exec("INSERT INTO " + orders_ + " (id, total) VALUES (2, 10)");
  {
    auto tx = pgqrs::postgres::adopt(*store_, conn);
    pgqrs::enqueue().message({{"order", 2}}).to("emails").execute(tx);
  }
  exec("ROLLBACK");
  EXPECT_EQ(Count(orders_), "1");
  EXPECT_EQ(Messages(), "1");
  PQfinish(conn);
}

TEST(PostgresTransactionOnOtherBackends, BeginOnASqliteStoreIsConfigErrorNamingTheBackend) {
  pgqrs::Store store = pgqrs::connect_with_config(pgqrs::Config::from_dsn("sqlite::memory:"));
  try {
    (void)pgqrs::postgres::begin(store);
    ADD_FAILURE() << "expected ConfigError";
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("sqlite"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pgqrs_test
