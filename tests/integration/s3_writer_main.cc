// pgqrs_s3_writer: a process writing to one S3 queue object, for s3_multiprocess_test.
//
//   pgqrs_s3_writer KEY CACHE_DIR WRITER_ID COUNT retry
//       enqueues {"w": WRITER_ID, "i": i} for i < COUNT, retrying each on ConflictError;
//       prints "conflicts N" and exits 0.
//   pgqrs_s3_writer KEY CACHE_DIR WRITER_ID 1 once-after GO_FILE READY_FILE
//       connects (downloading the object), creates READY_FILE, waits for GO_FILE, then
//       enqueues once without retrying: exit 0 when it was stored, 3 on ConflictError.
// Environment: the AWS_* and PGQRS_TEST_S3_BUCKET variables of scripts/s3-test-server.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "pgqrs/pgqrs.h"

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: pgqrs_s3_writer KEY CACHE_DIR WRITER_ID COUNT retry|once-after ...\n";
    return 2;
  }
  const std::string key = argv[1], cache = argv[2], mode = argv[5];
  const int writer = std::atoi(argv[3]), count = std::atoi(argv[4]);
  pgqrs::Config c = pgqrs::Config::from_dsn(
      "s3://" + std::string(std::getenv("PGQRS_TEST_S3_BUCKET")) + "/" + key);
  c.s3.cache_dir = cache;
  try {
    pgqrs::Store store = pgqrs::connect_with_config(c);
    auto enqueue_one = [&](int i) {
      pgqrs::enqueue().message(pgqrs::json{{"w", writer}, {"i", i}}).to("jobs").execute(store);
    };
    if (mode == "once-after" && argc >= 8) {
      std::ofstream(argv[7]) << "ready\n";
      while (!std::filesystem::exists(argv[6])) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      try {
        enqueue_one(0);
      } catch (const pgqrs::ConflictError& e) {
        std::cerr << "conflict: " << e.what() << "\n";
        return 3;
      }
      return 0;
    }
    int conflicts = 0;
    for (int i = 0; i < count; ++i) {
      for (;;) {
        try {
          enqueue_one(i);
          break;
        } catch (const pgqrs::ConflictError&) {
          ++conflicts;
        }
      }
    }
    std::cout << "conflicts " << conflicts << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "pgqrs_s3_writer: " << e.what() << "\n";
    return 1;
  }
}
