// queue.drain, queue.enqueue and queue.latency.
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "prune_load.h"
#include "scenarios.h"

namespace pgqrs_bench {
namespace {

using pgqrs::json;

json payload(std::uint64_t n) { return json{{"task", "send_email"}, {"n", n}}; }

// The flow fields of message n (--keys, --priorities).
pgqrs::MessageOptions flow_of(std::uint64_t n, const Options& o) {
  pgqrs::MessageOptions f;
  if (o.keys > 0) f.concurrency_key = "k" + std::to_string(n % o.keys);
  if (o.priorities > 0) f.priority = static_cast<std::int32_t>(n % o.priorities);
  return f;
}

// Enqueues messages 0..count-1 in chunks (not timed by the callers); with `o`'s flow fields.
void prefill(const pgqrs::Store& store, const std::string& queue, std::uint64_t count,
             Progress& progress, const Options* o = nullptr) {
  constexpr std::uint64_t kChunk = 1000;
  for (std::uint64_t first = 0; first < count; first += kChunk) {
    auto b = pgqrs::enqueue();
    for (std::uint64_t n = first; n < std::min(count, first + kChunk); ++n) {
      if (o && (o->keys > 0 || o->priorities > 0)) {
        b.message(payload(n), flow_of(n, *o));
      } else {
        b.message(payload(n));
      }
    }
    b.to(queue).execute(store);
    progress.add(std::min(kChunk, count - first));
  }
}

// Postgres: ANALYZE the message table after the prefill, as the reference ceiling does
// (VACUUM ANALYZE) after its own, so both run with statistics that describe the backlog.
// Without it, statistics left by earlier (drained) runs say "almost every row is archived"
// and the planner may sort the whole backlog for each lease (measured: 5 ms per batch of
// 10 at 20k messages, against 0.2 ms). Returns whether it ran.
bool analyze_after_prefill(const pgqrs::Store& store) {
  if (store.backend_name() != "postgres") return false;
  auto tx = pgqrs::postgres::begin(store);
  tx.execute("ANALYZE \"" + store.config().schema + "\".pgqrs_messages", {});
  tx.commit();
  return true;
}

void check_lease_batch(const Options& o, const pgqrs::Store& store) {
  if (o.batch > store.config().default_max_batch_size) {
    throw UsageError("--batch: " + std::to_string(o.batch) + " exceeds default_max_batch_size (" +
                     std::to_string(store.config().default_max_batch_size) + ")");
  }
}

}  // namespace

// Prefill, then every consumer thread runs the loop a user writes to empty a queue:
//   dequeue().worker(c).batch(B).until_empty().handle_batch(fn).poll(store)
// Latency samples: per batch, the library's time between the handler returning and the next
// handler starting (archiving the last batch and leasing the next). Every message must be
// handled exactly once and archived at the end; anything else counts in `errors`.
Record run_queue_drain(const Options& o) {
  pgqrs::Store store = open_store(o, o.consumers);
  check_lease_batch(o, store);
  const std::string queue = fresh_name("drain");
  pgqrs::QueueOptions queue_options;
  if (o.key_concurrency) queue_options.key_concurrency = *o.key_concurrency;
  store.queue(queue, queue_options);
  std::unique_ptr<ConcurrentPrune> prune;  // seeded first: a bad backend fails before prefill
  if (o.prune_archived > 0) {
    Progress seeding("seed archived", o.prune_archived, !o.quiet);
    prune = std::make_unique<ConcurrentPrune>(store, o.prune_archived, seeding);
  }
  Progress progress("prefill", o.messages, !o.quiet);
  prefill(store, queue, o.messages, progress, &o);
  const bool analyzed = analyze_after_prefill(store);

  std::vector<pgqrs::Consumer> consumers;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    consumers.push_back(pgqrs::consumer(queue + "-c" + std::to_string(i), queue).create(store));
  }
  auto seen = std::make_unique<std::atomic<std::uint8_t>[]>(o.messages);
  std::atomic<std::uint64_t> processed{0}, duplicates{0}, failures{0};
  std::atomic<std::int64_t> rss_at_mark{0};
  Latencies latencies;
  progress.phase("queue.drain");
  const auto start = SteadyClock::now();
  if (prune) prune->start([&] { return processed.load(); });
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> samples;
      samples.reserve(o.messages / o.batch / o.consumers + 16);
      auto last_return = SteadyClock::now();
      try {
        auto stats = pgqrs::dequeue()
                         .worker(consumers[i])
                         .batch(o.batch)
                         .until_empty()
                         .handle_batch([&](const std::vector<pgqrs::QueueMessage>& msgs) {
                           samples.push_back(ms_between(last_return, SteadyClock::now()));
                           for (const auto& m : msgs) {
                             const auto n = m.payload.at("n").get<std::uint64_t>();
                             if (n >= o.messages || seen[n].exchange(1) != 0) ++duplicates;
                           }
                           const auto before = processed.fetch_add(msgs.size());
                           if (before < o.rss_mark && before + msgs.size() >= o.rss_mark) {
                             rss_at_mark = current_rss_kb();
                           }
                           progress.add(msgs.size());
                           last_return = SteadyClock::now();
                         })
                         .poll(store);
        failures += stats.failed + stats.lease_lost;
      } catch (const pgqrs::Error& e) {
        std::cerr << "\npgqrs-bench: consumer " << i << ": " << e.what() << "\n";
        ++failures;
      }
      latencies.merge(std::move(samples));
    });
  }
  for (auto& t : threads) t.join();
  const auto end = SteadyClock::now();
  const auto rss_end = current_rss_kb();

  const auto metrics = pgqrs::admin(store).queue_metrics(queue);
  const std::uint64_t left = metrics.pending + metrics.leased + metrics.delayed + metrics.dead;
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = o.consumers;
  r.batch = o.batch;
  r.messages = o.messages;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(processed.load()) / (r.wall_ms / 1000.0);
  r.set_latencies(latencies);
  const std::uint64_t missing = o.messages > metrics.archived ? o.messages - metrics.archived : 0;
  r.errors = duplicates + failures + missing + left;
  r.extra = {{"archived", metrics.archived},
             {"left", left},
             {"duplicates", duplicates.load()},
             {"rss_mark", o.rss_mark},
             {"rss_kb_at_mark", rss_at_mark.load()},
             {"rss_kb_end", rss_end},
             {"analyzed", analyzed},
             {"keys", o.keys},
             {"key_concurrency", o.key_concurrency ? json(*o.key_concurrency) : json(nullptr)},
             {"priorities", o.priorities}};
  if (prune) prune->finish(r.extra, start, end);
  drop_queue(store, queue, consumers);
  return r;
}

// N producer threads, each its own producer worker, enqueue their share of M messages in
// batches of B (batch_enqueue; enqueue for B = 1). Latency: one enqueue call.
Record run_queue_enqueue(const Options& o) {
  pgqrs::Store store = open_store(o, o.consumers);
  const std::string queue = fresh_name("enqueue");
  store.queue(queue);
  std::vector<pgqrs::Producer> producers;
  for (std::uint32_t i = 0; i < o.consumers; ++i) producers.push_back(store.producer(queue));
  Latencies latencies;
  std::atomic<std::uint64_t> failures{0};
  Progress progress("queue.enqueue", o.messages, !o.quiet);
  const auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    threads.emplace_back([&, i] {
      std::vector<double> samples;
      const std::uint64_t first = o.messages * i / o.consumers;
      const std::uint64_t last = o.messages * (i + 1) / o.consumers;
      try {
        for (std::uint64_t n = first; n < last; n += o.batch) {
          const auto count = std::min<std::uint64_t>(o.batch, last - n);
          const auto t0 = SteadyClock::now();
          if (count == 1) {
            producers[i].enqueue(payload(n));
          } else {
            std::vector<json> batch;
            batch.reserve(count);
            for (std::uint64_t k = 0; k < count; ++k) batch.push_back(payload(n + k));
            producers[i].batch_enqueue(batch);
          }
          samples.push_back(ms_between(t0, SteadyClock::now()));
          progress.add(count);
        }
      } catch (const pgqrs::Error& e) {
        std::cerr << "\npgqrs-bench: producer " << i << ": " << e.what() << "\n";
        ++failures;
      }
      latencies.merge(std::move(samples));
    });
  }
  for (auto& t : threads) t.join();
  const auto end = SteadyClock::now();
  const auto metrics = pgqrs::admin(store).queue_metrics(queue);
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(store.backend_name());
  r.consumers = o.consumers;
  r.batch = o.batch;
  r.messages = o.messages;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(metrics.pending) / (r.wall_ms / 1000.0);
  r.set_latencies(latencies);
  r.errors = failures + (metrics.pending == o.messages ? 0 : 1);
  r.extra = {{"producers", o.consumers}, {"stored", metrics.pending}};
  drop_queue(store, queue, {});
  return r;
}

// One producer (its own Store, so consumers are woken the way another process's enqueue
// wakes them: LISTEN/NOTIFY on Postgres, the poll interval elsewhere) enqueues one message
// at a time at a fixed rate; consumer threads run handle(fn).poll(). Latency: from the
// enqueue call returning (its commit) to the handler starting; a handler that starts before
// the producer's call has returned counts as 0.
constexpr int kProducerAttempts = 5;

Record run_queue_latency(const Options& o) {
  pgqrs::Store consumer_store = open_store(o, o.consumers);
  pgqrs::Store producer_store = open_store(o, 1);
  check_lease_batch(o, consumer_store);
  const std::string queue = fresh_name("latency");
  consumer_store.queue(queue);
  auto producer = producer_store.producer(queue);
  std::vector<pgqrs::Consumer> consumers;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    consumers.push_back(
        pgqrs::consumer(queue + "-c" + std::to_string(i), queue).create(consumer_store));
  }
  using Ns = std::int64_t;
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               SteadyClock::now().time_since_epoch())
        .count();
  };
  auto committed = std::make_unique<std::atomic<Ns>[]>(o.messages);
  auto started = std::make_unique<std::atomic<Ns>[]>(o.messages);
  for (std::uint64_t n = 0; n < o.messages; ++n) committed[n] = 0, started[n] = 0;
  std::atomic<std::uint64_t> handled{0}, duplicates{0}, failures{0};
  std::stop_source stop;
  Progress progress("queue.latency", o.messages, !o.quiet);
  std::vector<std::thread> threads;
  for (std::uint32_t i = 0; i < o.consumers; ++i) {
    threads.emplace_back([&, i] {
      try {
        pgqrs::dequeue()
            .worker(consumers[i])
            .batch(o.batch)
            .stop_token(stop.get_token())
            .handle([&](const pgqrs::QueueMessage& m) {
              const Ns t = now_ns();
              const auto n = m.payload.at("n").get<std::uint64_t>();
              Ns expected = 0;
              if (n >= o.messages || !started[n].compare_exchange_strong(expected, t)) {
                ++duplicates;
              }
              progress.add(1);
              if (++handled >= o.messages) stop.request_stop();
            })
            .poll(consumer_store);
      } catch (const pgqrs::Error& e) {
        std::cerr << "\npgqrs-bench: consumer " << i << ": " << e.what() << "\n";
        ++failures;
        stop.request_stop();
      }
    });
  }
  // Let the consumers reach their idle wait (and LISTEN) before the first message.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Latencies enqueue_latency;
  std::vector<double> enqueue_samples;
  const auto interval = std::chrono::duration<double>(1.0 / o.rate);
  const auto start = SteadyClock::now();
  for (std::uint64_t n = 0; n < o.messages && !stop.stop_requested(); ++n) {
    std::this_thread::sleep_until(start +
                                  std::chrono::duration_cast<SteadyClock::duration>(interval * n));
    const auto t0 = SteadyClock::now();
    // A retryable error (e.g. on S3, whose two stores here are two writers of one object: a
    // ConflictError after the replica's own re-runs) is retried as an application would;
    // the latency then includes the retries.
    bool enqueued = false;
    for (int attempt = 1; !enqueued; ++attempt) {
      try {
        producer.enqueue(payload(n));
        enqueued = true;
      } catch (const pgqrs::Error& e) {
        if (e.retryable() && attempt < kProducerAttempts) continue;
        std::cerr << "\npgqrs-bench: producer: " << e.what() << "\n";
        break;
      }
    }
    if (!enqueued) {
      ++failures;
      continue;
    }
    committed[n] = now_ns();
    enqueue_samples.push_back(ms_between(t0, SteadyClock::now()));
  }
  const auto produced_at = SteadyClock::now();
  // Wait for the consumers (bounded: 30 s after the last enqueue).
  while (!stop.stop_requested() && SteadyClock::now() - produced_at < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop.request_stop();
  for (auto& t : threads) t.join();
  const auto end = SteadyClock::now();

  std::vector<double> samples;
  std::uint64_t missing = 0;
  for (std::uint64_t n = 0; n < o.messages; ++n) {
    if (started[n] == 0 || committed[n] == 0) {
      ++missing;
      continue;
    }
    samples.push_back(std::max<double>(0.0, static_cast<double>(started[n] - committed[n]) / 1e6));
  }
  Latencies latencies;
  latencies.merge(std::move(samples));
  enqueue_latency.merge(std::move(enqueue_samples));
  Record r;
  r.scenario = o.scenario;
  r.backend = std::string(consumer_store.backend_name());
  r.consumers = o.consumers;
  r.batch = o.batch;
  r.messages = o.messages;
  r.wall_ms = ms_between(start, end);
  r.msgs_per_s = static_cast<double>(o.messages) / (ms_between(start, produced_at) / 1000.0);
  r.set_latencies(latencies);
  r.errors = missing + duplicates + failures;
  r.extra = {{"rate", o.rate},
             {"max_ms", latencies.quantile(1.0)},
             {"enqueue_p50_ms", enqueue_latency.quantile(0.5)},
             {"poll_interval_ms", consumer_store.config().poll_interval_ms}};
  drop_queue(consumer_store, queue, consumers);
  return r;
}

}  // namespace pgqrs_bench
