// pgqrs-demo: a job queue on an embedded SQLite file, end to end (`make demo` runs it).
//
// In a fresh temporary directory it installs the schema, creates the queue "emails",
// enqueues 1,000 jobs in one batch and drains them with two consumer threads. A few jobs
// fail on their first delivery, so they are released with a short backoff and retried.
// It then prints who did what, how long it took and the queue's metrics, and exits 1 if a
// job was lost or handled twice.
//
// Usage: pgqrs-demo [--messages N] [--keep]
//   --messages N   how many jobs to enqueue (default 1000)
//   --keep         keep the database file instead of deleting it at the end

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>  // mkdtemp (POSIX)
#include <exception>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <pgqrs/pgqrs.h>

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kQueue = "emails";
// Jobs whose number ends in 42 fail on their first delivery: a flaky mail server.
constexpr std::uint64_t kFlakyEvery = 100;
constexpr std::uint64_t kFlakyAt = 42;
// The drain gives up (and the demo fails) if the queue is not empty by then.
constexpr auto kDrainTimeout = std::chrono::seconds(60);

struct Options {
  std::uint64_t messages = 1000;
  bool keep = false;
};

Options parse_args(int argc, char** argv) {
  Options opts;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--messages" && i + 1 < argc) {
      opts.messages = std::stoull(argv[++i]);
    } else if (arg == "--keep") {
      opts.keep = true;
    } else {
      throw std::invalid_argument("usage: pgqrs-demo [--messages N] [--keep]");
    }
  }
  if (opts.messages == 0) throw std::invalid_argument("--messages must be at least 1");
  return opts;
}

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string fixed(double value, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << value;
  return s.str();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A fresh directory under $TMPDIR (or /tmp), removed when the demo ends unless kept.
class TempDir {
 public:
  explicit TempDir(bool keep) : keep_(keep) {
    std::string pattern = (std::filesystem::temp_directory_path() / "pgqrs-demo-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!keep_) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
};

// What one consumer thread did.
struct Tally {
  explicit Tally(std::string worker_name) : name(std::move(worker_name)) {}
  std::string name;
  std::uint64_t processed = 0;  // handler returned: message archived
  std::uint64_t failed = 0;     // handler threw: message released with backoff
  std::uint64_t batches = 0;
  std::string final_status;
};

// The job: "send" a welcome email. Trivial work, except that the flaky ones fail the first
// time they are delivered (read_ct == 1) and succeed on the retry.
void send_email(const pgqrs::QueueMessage& msg, std::atomic<std::uint64_t>& checksum) {
  const std::uint64_t n = msg.payload.at("n").get<std::uint64_t>();
  if (n % kFlakyEvery == kFlakyAt && msg.read_ct == 1) {
    throw std::runtime_error("421 mail server busy, try again later");
  }
  const auto& to = msg.payload.at("to").get_ref<const std::string&>();
  checksum.fetch_add(std::hash<std::string>{}(to) % 1000, std::memory_order_relaxed);
}

// One consumer: polls until the whole queue is done (nothing pending, delayed for a retry,
// or leased by the other consumer), then stops its worker.
void run_consumer(const pgqrs::Store& store, Tally& tally, std::atomic<std::uint64_t>& checksum,
                  Clock::time_point deadline) {
  const pgqrs::Consumer consumer = pgqrs::consumer(tally.name, std::string(kQueue)).create(store);
  const pgqrs::RetryBackoff backoff{milliseconds(5), milliseconds(20), true};
  const auto handler = [&checksum](const pgqrs::QueueMessage& msg) { send_email(msg, checksum); };

  for (;;) {
    const pgqrs::PollStats stats = pgqrs::dequeue()
                                       .worker(consumer)
                                       .batch(10)
                                       .retry_backoff(backoff)
                                       .until_empty()
                                       .handle(handler)
                                       .poll(store);
    tally.processed += stats.processed;
    tally.failed += stats.failed;
    tally.batches += stats.batches;

    // until_empty() returns when nothing is deliverable *now*; retries may still be waiting
    // out their backoff, and the other consumer may still hold leases.
    const pgqrs::QueueMetrics m = pgqrs::admin(store).queue_metrics(kQueue);
    if (m.pending + m.delayed + m.leased == 0) break;
    if (Clock::now() > deadline) throw std::runtime_error("queue not drained within 60 s");
    std::this_thread::sleep_for(milliseconds(2));
  }

  consumer.suspend();
  consumer.shutdown();
  tally.final_status = std::string(pgqrs::to_string(consumer.status()));
}

void print_row(std::string_view label, const std::string& value) {
  std::cout << "  " << std::left << std::setw(12) << label << value << '\n';
}

int run(const Options& opts) {
  const TempDir dir(opts.keep);
  const std::string dsn = "sqlite://" + (dir.path() / "demo.db").string();

  std::cout << "pgqrs demo: " << grouped(opts.messages)
            << " jobs through an embedded SQLite queue, two consumers\n\n";
  print_row("database", dsn + (opts.keep ? "  (kept)" : "  (deleted at exit)"));

  // 1. Connect, install the schema, create the queue.
  const pgqrs::Store store = pgqrs::connect(dsn);
  pgqrs::admin(store).install();
  store.queue(kQueue);
  print_row("schema", "installed; queue \"" + std::string(kQueue) + "\" created");

  // 2. Enqueue every job in one batch (one transaction).
  std::vector<pgqrs::json> jobs;
  jobs.reserve(opts.messages);
  for (std::uint64_t n = 0; n < opts.messages; ++n) {
    jobs.push_back(
        {{"n", n}, {"to", "user" + std::to_string(n) + "@example.com"}, {"template", "welcome"}});
  }
  const auto enqueue_start = Clock::now();
  const std::vector<std::int64_t> ids =
      pgqrs::enqueue().messages(std::move(jobs)).to(std::string(kQueue)).execute(store);
  print_row("enqueued", grouped(ids.size()) + " messages in one batch (" +
                            fixed(seconds_since(enqueue_start) * 1000, 1) + " ms)");

  // 3. Drain with two consumer threads.
  std::vector<Tally> tallies{Tally("worker-a"), Tally("worker-b")};
  std::atomic<std::uint64_t> checksum{0};
  std::mutex error_mutex;
  std::exception_ptr error;
  const auto drain_start = Clock::now();
  const auto deadline = drain_start + kDrainTimeout;
  {
    std::vector<std::jthread> threads;
    threads.reserve(tallies.size());
    for (Tally& tally : tallies) {
      threads.emplace_back([&, deadline] {
        try {
          run_consumer(store, tally, checksum, deadline);
        } catch (...) {
          const std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
        }
      });
    }
  }  // joins both threads
  const double elapsed = seconds_since(drain_start);
  if (error) std::rethrow_exception(error);

  // 4. Summary.
  std::uint64_t processed = 0;
  std::uint64_t failed = 0;
  std::uint64_t batches = 0;
  std::cout << "\n  " << std::left << std::setw(12) << "consumer" << std::right << std::setw(10)
            << "processed" << std::setw(10) << "retried" << std::setw(10) << "batches"
            << "   status\n";
  for (const Tally& t : tallies) {
    std::cout << "  " << std::left << std::setw(12) << t.name << std::right << std::setw(10)
              << grouped(t.processed) << std::setw(10) << grouped(t.failed) << std::setw(10)
              << grouped(t.batches) << "   " << t.final_status << '\n';
    processed += t.processed;
    failed += t.failed;
    batches += t.batches;
  }
  std::cout << "  " << std::left << std::setw(12) << "total" << std::right << std::setw(10)
            << grouped(processed) << std::setw(10) << grouped(failed) << std::setw(10)
            << grouped(batches) << '\n';

  std::cout << '\n';
  print_row("elapsed", fixed(elapsed, 3) + " s (drain, both consumers)");
  print_row("throughput",
            grouped(static_cast<std::uint64_t>(static_cast<double>(processed) / elapsed)) +
                " messages/s");
  print_row("retries", grouped(failed) + " failed first deliveries, released with 5-20 ms" +
                           " backoff and redelivered");

  const pgqrs::QueueMetrics m = pgqrs::admin(store).queue_metrics(kQueue);
  std::cout << "\n  queue \"" << m.queue_name << "\" metrics\n";
  const auto metric = [](std::string_view name, std::uint64_t value) {
    std::cout << "    " << std::left << std::setw(10) << name << std::right << std::setw(8)
              << grouped(value) << '\n';
  };
  metric("pending", m.pending);
  metric("delayed", m.delayed);
  metric("leased", m.leased);
  metric("archived", m.archived);
  metric("dead", m.dead);

  // Every job handled exactly once (retries aside), and the database agrees.
  const std::uint64_t expected_failures =
      (opts.messages + kFlakyEvery - 1 - kFlakyAt) / kFlakyEvery;
  const bool ok = processed == opts.messages && m.archived == opts.messages &&
                  m.pending + m.delayed + m.leased + m.dead == 0 && failed == expected_failures;
  std::cout << '\n'
            << (ok ? "  ok: every job archived exactly once; every planned failure was retried\n"
                   : "  FAILED: the counts above do not add up\n");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_args(argc, argv));
  } catch (const pgqrs::Error& e) {
    std::cerr << "pgqrs-demo: " << pgqrs::to_string(e.code()) << ": " << e.what() << '\n';
  } catch (const std::exception& e) {
    std::cerr << "pgqrs-demo: " << e.what() << '\n';
  }
  return 1;
}
