// SPEC §1: configuration. Backend-independent, so plain TESTs (run once).
//
// Config::load precedence (config.h): defaults < ./pgqrs.yaml < PGQRS_* env <
// PGQRS_CONFIG_FILE (or the path passed to load()) < values set by the caller afterwards.
// Every test runs with a clean PGQRS_* environment and in its own working directory, both
// restored afterwards.
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "conformance/backend_fixture.h"

extern char** environ;

namespace pgqrs_test {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (char** e = environ; *e != nullptr; ++e) {
      std::string entry(*e);
      if (entry.rfind("PGQRS_", 0) != 0) continue;
      auto eq = entry.find('=');
      saved_env_[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : saved_env_) ::unsetenv(name.c_str());
    saved_cwd_ = fs::current_path();
    fs::current_path(dir_.path());
  }
  void TearDown() override {
    std::error_code ec;
    fs::current_path(saved_cwd_, ec);
    for (char** e = environ; *e != nullptr;) {
      std::string entry(*e);
      if (entry.rfind("PGQRS_", 0) == 0) {
        ::unsetenv(entry.substr(0, entry.find('=')).c_str());
        e = environ;  // the array changed; start over
      } else {
        ++e;
      }
    }
    for (const auto& [name, value] : saved_env_) ::setenv(name.c_str(), value.c_str(), 1);
  }

  static void SetEnv(const char* name, const std::string& value) {
    ::setenv(name, value.c_str(), 1);
  }
  fs::path Write(const std::string& name, const std::string& text) {
    fs::path p = dir_.path() / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

  TempDir dir_;

 private:
  std::map<std::string, std::string> saved_env_;
  fs::path saved_cwd_;
};

TEST_F(ConfigTest, FromDsnHasDocumentedDefaults) {
  pgqrs::Config c = pgqrs::Config::from_dsn("sqlite:///tmp/x.db");
  EXPECT_EQ(c.dsn, "sqlite:///tmp/x.db");
  EXPECT_EQ(c.schema, "public");
  EXPECT_EQ(c.max_connections, 16u);
  EXPECT_EQ(c.connection_timeout_seconds, 30u);
  EXPECT_EQ(c.default_lock_time_seconds, 30u);
  EXPECT_EQ(c.default_max_batch_size, 100u);
  EXPECT_EQ(c.max_read_ct, 5u);
  EXPECT_EQ(c.heartbeat_interval_seconds, 5u);
  EXPECT_EQ(c.poll_interval_ms, 250u);
  EXPECT_TRUE(c.sqlite.use_wal);
  EXPECT_EQ(c.s3.mode, pgqrs::DurabilityMode::kDurable);
  EXPECT_EQ(c.validation.max_payload_size_bytes, 1024u * 1024u);
  EXPECT_EQ(c.validation.max_object_depth, 32u);
  EXPECT_FALSE(c.validation.max_enqueue_per_second.has_value());
  EXPECT_NO_THROW(c.validate());
}

TEST_F(ConfigTest, LoadWithNothingGivesDefaultsAndEmptyDsn) {
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.dsn, "");
  EXPECT_EQ(c.max_connections, 16u);
}

TEST_F(ConfigTest, LoadReadsLocalPgqrsYaml) {
  Write("pgqrs.yaml",
        "dsn: sqlite:///tmp/from-yaml.db\n"
        "max_connections: 3\n"
        "max_read_ct: 9\n"
        "validation:\n"
        "  max_object_depth: 4\n"
        "sqlite:\n"
        "  use_wal: false\n");
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.dsn, "sqlite:///tmp/from-yaml.db");
  EXPECT_EQ(c.max_connections, 3u);
  EXPECT_EQ(c.max_read_ct, 9u);
  EXPECT_EQ(c.validation.max_object_depth, 4u);
  EXPECT_FALSE(c.sqlite.use_wal);
}

TEST_F(ConfigTest, LoadReadsLocalPgqrsYml) {
  Write("pgqrs.yml", "dsn: sqlite:///tmp/from-yml.db\nmax_connections: 2\n");
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.dsn, "sqlite:///tmp/from-yml.db");
  EXPECT_EQ(c.max_connections, 2u);
}

TEST_F(ConfigTest, EnvOverridesLocalYaml) {
  Write("pgqrs.yaml", "dsn: sqlite:///tmp/yaml.db\nmax_connections: 3\nmax_read_ct: 9\n");
  SetEnv("PGQRS_MAX_CONNECTIONS", "4");
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.max_connections, 4u) << "env beats ./pgqrs.yaml";
  EXPECT_EQ(c.max_read_ct, 9u) << "fields not in env still come from the yaml";
  EXPECT_EQ(c.dsn, "sqlite:///tmp/yaml.db");
}

TEST_F(ConfigTest, ConfigFileEnvOverridesEnvAndLocalYaml) {
  Write("pgqrs.yaml", "dsn: sqlite:///tmp/yaml.db\nmax_connections: 3\n");
  fs::path file = Write("conf/explicit.yaml", "dsn: sqlite:///tmp/file.db\nmax_connections: 5\n");
  SetEnv("PGQRS_MAX_CONNECTIONS", "4");
  SetEnv("PGQRS_CONFIG_FILE", file.string());
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.max_connections, 5u) << "PGQRS_CONFIG_FILE beats PGQRS_* env";
  EXPECT_EQ(c.dsn, "sqlite:///tmp/file.db");
}

TEST_F(ConfigTest, ExplicitFileTakesThePlaceOfConfigFileEnv) {
  fs::path env_file = Write("conf/env.yaml", "dsn: sqlite:///tmp/env.db\nmax_connections: 5\n");
  fs::path explicit_file =
      Write("conf/explicit.yaml", "dsn: sqlite:///tmp/explicit.db\nmax_connections: 6\n");
  SetEnv("PGQRS_CONFIG_FILE", env_file.string());
  SetEnv("PGQRS_MAX_CONNECTIONS", "4");
  pgqrs::Config c = pgqrs::Config::load(explicit_file);
  EXPECT_EQ(c.max_connections, 6u);
  EXPECT_EQ(c.dsn, "sqlite:///tmp/explicit.db");
}

TEST_F(ConfigTest, ValuesSetAfterLoadWin) {
  SetEnv("PGQRS_MAX_CONNECTIONS", "4");
  pgqrs::Config c = pgqrs::Config::load();
  c.max_connections = 7;
  c.dsn = "sqlite::memory:";
  EXPECT_NO_THROW(c.validate());
  pgqrs::Store s = pgqrs::connect_with_config(c);
  EXPECT_EQ(s.config().max_connections, 7u);
}

TEST_F(ConfigTest, EveryDocumentedEnvVarIsRead) {
  SetEnv("PGQRS_DSN", "sqlite:///tmp/env.db");
  SetEnv("PGQRS_SCHEMA", "jobs_schema");
  SetEnv("PGQRS_MAX_CONNECTIONS", "11");
  SetEnv("PGQRS_CONNECTION_TIMEOUT", "12");
  SetEnv("PGQRS_DEFAULT_LOCK_TIME", "13");
  SetEnv("PGQRS_DEFAULT_BATCH_SIZE", "14");
  SetEnv("PGQRS_MAX_READ_CT", "15");
  SetEnv("PGQRS_HEARTBEAT_INTERVAL", "16");
  SetEnv("PGQRS_POLL_INTERVAL_MS", "17");
  SetEnv("PGQRS_SQLITE_USE_WAL", "false");
  SetEnv("PGQRS_S3_MODE", "local");
  SetEnv("PGQRS_S3_CACHE_DIR", "/tmp/pgqrs-cache-test");
  SetEnv("PGQRS_VALIDATION_CONFIG", R"({"max_payload_size_bytes": 2048, "max_object_depth": 7})");
  pgqrs::Config c = pgqrs::Config::load();
  EXPECT_EQ(c.dsn, "sqlite:///tmp/env.db");
  EXPECT_EQ(c.schema, "jobs_schema");
  EXPECT_EQ(c.max_connections, 11u);
  EXPECT_EQ(c.connection_timeout_seconds, 12u);
  EXPECT_EQ(c.default_lock_time_seconds, 13u);
  EXPECT_EQ(c.default_max_batch_size, 14u);
  EXPECT_EQ(c.max_read_ct, 15u);
  EXPECT_EQ(c.heartbeat_interval_seconds, 16u);
  EXPECT_EQ(c.poll_interval_ms, 17u);
  EXPECT_FALSE(c.sqlite.use_wal);
  EXPECT_EQ(c.s3.mode, pgqrs::DurabilityMode::kLocal);
  EXPECT_EQ(c.s3.cache_dir, "/tmp/pgqrs-cache-test");
  EXPECT_EQ(c.validation.max_payload_size_bytes, 2048u);
  EXPECT_EQ(c.validation.max_object_depth, 7u);
}

TEST_F(ConfigTest, MalformedEnvNumberIsConfigErrorNamingFieldAndValue) {
  SetEnv("PGQRS_MAX_CONNECTIONS", "abc");
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); }, "MAX_CONNECTIONS=abc");
  EXPECT_TRUE(ContainsAny(msg, {"max_connections"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"abc"})) << msg;
}

TEST_F(ConfigTest, OutOfRangeOrTrailingGarbageEnvNumberIsConfigError) {
  for (const char* bad : {"-1", "12abc", "99999999999999999999", "1.5"}) {
    SetEnv("PGQRS_DEFAULT_LOCK_TIME", bad);
    std::string msg = ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); },
                                                             "PGQRS_DEFAULT_LOCK_TIME bad value");
    EXPECT_TRUE(ContainsAny(msg, {"default_lock_time", "PGQRS_DEFAULT_LOCK_TIME"}))
        << "value '" << bad << "': " << msg;
  }
}

TEST_F(ConfigTest, MalformedBoolEnvIsConfigError) {
  SetEnv("PGQRS_SQLITE_USE_WAL", "maybe");
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); }, "USE_WAL=maybe");
  EXPECT_TRUE(ContainsAny(msg, {"maybe"})) << msg;
}

TEST_F(ConfigTest, MalformedValidationJsonEnvIsConfigError) {
  SetEnv("PGQRS_VALIDATION_CONFIG", "{not json");
  std::string msg = ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); },
                                                           "PGQRS_VALIDATION_CONFIG bad json");
  EXPECT_TRUE(ContainsAny(msg, {"validation"})) << msg;
}

// Found by fuzz/config_fuzz: nlohmann::json's out_of_range for a number too large for a
// double escaped Config::load() untyped.
TEST_F(ConfigTest, ValidationJsonNumberOverflowIsConfigError) {
  SetEnv("PGQRS_VALIDATION_CONFIG", R"({"max_payload_size_bytes": 1e999})");
  std::string msg = ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); },
                                                           "PGQRS_VALIDATION_CONFIG overflow");
  EXPECT_TRUE(ContainsAny(msg, {"validation"})) << msg;
}

TEST_F(ConfigTest, MalformedYamlFileIsConfigError) {
  fs::path file = Write("bad.yaml", "dsn: [unclosed\n  max_connections: : :\n");
  ExpectThrowMessage<pgqrs::ConfigError>([&] { pgqrs::Config::load(file); }, "bad yaml");
}

TEST_F(ConfigTest, WrongTypedYamlValueIsConfigErrorNamingField) {
  fs::path file = Write("typed.yaml", "dsn: \"sqlite::memory:\"\nmax_read_ct: lots\n");
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([&] { pgqrs::Config::load(file); }, "max_read_ct");
  EXPECT_TRUE(ContainsAny(msg, {"max_read_ct"})) << msg;
  EXPECT_TRUE(ContainsAny(msg, {"lots"})) << msg;
}

TEST_F(ConfigTest, MissingExplicitFileIsConfigErrorButMissingLocalYamlIsNot) {
  ExpectThrowMessage<pgqrs::ConfigError>(
      [&] { pgqrs::Config::load(dir_.path() / "does-not-exist.yaml"); }, "missing explicit file");
  SetEnv("PGQRS_CONFIG_FILE", (dir_.path() / "also-missing.yaml").string());
  ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); },
                                         "missing PGQRS_CONFIG_FILE");
  ::unsetenv("PGQRS_CONFIG_FILE");
  EXPECT_NO_THROW(pgqrs::Config::load()) << "no ./pgqrs.yaml is fine";
}

TEST_F(ConfigTest, ConnectAppliesEnvironment) {
  SetEnv("PGQRS_MAX_READ_CT", "7");
  SetEnv("PGQRS_DSN", "sqlite:///tmp/ignored-by-connect.db");
  const std::string dsn = "sqlite://" + (dir_.path() / "c.db").string();
  pgqrs::Store s = pgqrs::connect(dsn);
  EXPECT_EQ(s.config().dsn, dsn) << "the argument replaces PGQRS_DSN";
  EXPECT_EQ(s.config().max_read_ct, 7u);
  EXPECT_EQ(s.backend_name(), "sqlite");
}

TEST_F(ConfigTest, BadDsnSchemesAreConfigErrors) {
  for (const std::string dsn :
       {"mysql://u@h/db", "", "sqlite", "sqlite:", "http://example.com/x", "://x", "sqlite:/x"}) {
    EXPECT_THROW(pgqrs::connect(dsn), pgqrs::ConfigError) << "dsn '" << dsn << "'";
    EXPECT_THROW(pgqrs::Config::from_dsn(dsn).validate(), pgqrs::ConfigError)
        << "dsn '" << dsn << "'";
  }
}

TEST_F(ConfigTest, ValidateRejectsNonsenseValuesNamingTheField) {
  pgqrs::Config c = pgqrs::Config::from_dsn("sqlite::memory:");
  c.max_connections = 0;
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([&] { c.validate(); }, "max_connections = 0");
  EXPECT_TRUE(ContainsAny(msg, {"max_connections"})) << msg;

  c = pgqrs::Config::from_dsn("sqlite::memory:");
  c.default_max_batch_size = 0;
  msg = ExpectThrowMessage<pgqrs::ConfigError>([&] { c.validate(); }, "default_max_batch_size = 0");
  EXPECT_TRUE(ContainsAny(msg, {"default_max_batch_size"})) << msg;

  c = pgqrs::Config::from_dsn("sqlite::memory:");
  c.max_read_ct = 0;
  msg = ExpectThrowMessage<pgqrs::ConfigError>([&] { c.validate(); }, "max_read_ct = 0");
  EXPECT_TRUE(ContainsAny(msg, {"max_read_ct"})) << msg;

  c = pgqrs::Config::from_dsn("sqlite::memory:");
  c.validation.max_enqueue_per_second = -1.0;
  EXPECT_THROW(c.validate(), pgqrs::ConfigError) << "negative rate";
}

TEST_F(ConfigTest, InvalidSchemaIdentifierIsConfigError) {
  for (const char* bad : {"", "a;drop", "has space", "quote\"d", "1starts_with_digit"}) {
    pgqrs::Config c = pgqrs::Config::from_dsn("sqlite::memory:");
    c.schema = bad;
    std::string msg = ExpectThrowMessage<pgqrs::ConfigError>([&] { c.validate(); }, bad);
    EXPECT_TRUE(ContainsAny(msg, {"schema"})) << "schema '" << bad << "': " << msg;
  }
}

TEST_F(ConfigTest, BadS3ModeIsConfigError) {
  SetEnv("PGQRS_S3_MODE", "fast");
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([] { pgqrs::Config::load(); }, "S3_MODE=fast");
  EXPECT_TRUE(ContainsAny(msg, {"fast"})) << msg;
}

TEST_F(ConfigTest, UnknownYamlKeyIsConfigError) {
  // docs/configuration.md: a typo must not be ignored.
  fs::path file = Write("typo.yaml", "dsn: \"sqlite::memory:\"\nmax_conections: 4\n");
  std::string msg =
      ExpectThrowMessage<pgqrs::ConfigError>([&] { pgqrs::Config::load(file); }, "typo key");
  EXPECT_TRUE(ContainsAny(msg, {"max_conections"})) << msg;
}

TEST_F(ConfigTest, ConnectWithInvalidConfigIsConfigError) {
  pgqrs::Config c = pgqrs::Config::from_dsn("sqlite::memory:");
  c.max_connections = 0;
  EXPECT_THROW(pgqrs::connect_with_config(c), pgqrs::ConfigError);
}

TEST_F(ConfigTest, RedactDsnHidesPassword) {
  const std::string r = pgqrs::redact_dsn("postgresql://alice:s3cr3t-pw@db.example.com:5432/app");
  EXPECT_EQ(r.find("s3cr3t-pw"), std::string::npos) << r;
  EXPECT_NE(r.find("alice"), std::string::npos) << r;
  EXPECT_NE(r.find("db.example.com"), std::string::npos) << r;
  EXPECT_NE(r.find("***"), std::string::npos) << r;
  EXPECT_EQ(pgqrs::redact_dsn("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
  const std::string q = pgqrs::redact_dsn("postgres://bob:p%40ss@h/db?sslmode=require");
  EXPECT_EQ(q.find("p%40ss"), std::string::npos) << q;
}

TEST_F(ConfigTest, ConnectErrorsNeverEchoThePassword) {
  // Whether or not the Postgres backend is built, this fails (not built: ConfigError;
  // built: nothing listens on port 1) and the message must not contain the password.
  try {
    pgqrs::Config c = pgqrs::Config::from_dsn(
        "postgresql://alice:hunter2-secret@127.0.0.1:1/db?connect_timeout=1");
    c.connection_timeout_seconds = 1;
    pgqrs::Store s = pgqrs::connect_with_config(c);
    pgqrs::admin(s).verify();  // a lazily connecting backend fails here at the latest
    ADD_FAILURE() << "expected connect/verify to fail";
  } catch (const pgqrs::Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2-secret"), std::string::npos) << e.what();
  }
  try {
    pgqrs::connect("bogus://alice:hunter2-secret@h/db");
    ADD_FAILURE() << "expected connect to fail";
  } catch (const pgqrs::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2-secret"), std::string::npos) << e.what();
  }
}

TEST(ErrorCodeTest, CodesHaveStableNamesAndRetryMeaning) {
  EXPECT_EQ(pgqrs::to_string(pgqrs::ErrorCode::kQueueNotFound), "queue_not_found");
  EXPECT_EQ(pgqrs::to_string(pgqrs::ErrorCode::kRateLimited), "rate_limited");
  EXPECT_EQ(pgqrs::to_string(pgqrs::ErrorCode::kStateTransition), "state_transition");
  EXPECT_FALSE(pgqrs::QueueNotFoundError("x").retryable());
  EXPECT_TRUE(pgqrs::TimeoutError("x").retryable());
  EXPECT_FALSE(pgqrs::ConnectionError("x", /*outcome_unknown=*/true).retryable());
  EXPECT_TRUE(pgqrs::ConnectionError("x").retryable());
}

}  // namespace
}  // namespace pgqrs_test
