// Flow control (issue 14) for the native module: queue options on create/update and the
// per-message fields on enqueue. The Python layer (pgqrs/_flow.py) passes plain values;
// validation (typed errors naming the field) is the engine's.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pgqrs/pgqrs.h>

#include "bindings.h"
#include "convert.h"

#include <nanobind/stl/pair.h>

namespace pgqrs_py {
namespace {

using OptInt = std::optional<std::int64_t>;
using OptDouble = std::optional<double>;
using OptStr = std::optional<std::string>;

pgqrs::Duration from_seconds(double s) {
  return std::chrono::duration_cast<pgqrs::Duration>(std::chrono::duration<double>(s));
}

// Applies the entries of `changes` to `o`: key present = set it (None clears). Keys:
// concurrency, worker_concurrency, key_concurrency (int), rate_limit ((count, seconds)),
// retain_archived, retain_dead (seconds). Unknown keys: ValidationError.
void apply_changes(const nb::dict& changes, pgqrs::QueueOptions& o) {
  for (auto [k, v] : changes) {
    const std::string key = nb::cast<std::string>(k);
    const bool none = v.is_none();
    if (key == "concurrency") {
      o.concurrency = none ? OptInt() : OptInt(nb::cast<std::int64_t>(v));
    } else if (key == "worker_concurrency") {
      o.worker_concurrency = none ? OptInt() : OptInt(nb::cast<std::int64_t>(v));
    } else if (key == "key_concurrency") {
      o.key_concurrency = none ? OptInt() : OptInt(nb::cast<std::int64_t>(v));
    } else if (key == "rate_limit") {
      if (none) {
        o.rate_limit.reset();
      } else {
        auto pair = nb::cast<std::pair<std::int64_t, double>>(v);
        o.rate_limit = pgqrs::RateLimit{pair.first, from_seconds(pair.second)};
      }
    } else if (key == "retain_archived") {
      o.retain_archived =
          none ? std::optional<pgqrs::Duration>() : from_seconds(nb::cast<double>(v));
    } else if (key == "retain_dead") {
      o.retain_dead = none ? std::optional<pgqrs::Duration>() : from_seconds(nb::cast<double>(v));
    } else {
      throw pgqrs::ValidationError("unknown queue option '" + key + "'");
    }
  }
}

std::vector<pgqrs::json> payload_list(nb::handle items) {
  std::vector<pgqrs::json> out;
  std::size_t i = 0;
  for (nb::handle item : items) {
    out.push_back(to_json(item, "payloads[" + std::to_string(i++) + "]"));
  }
  return out;
}

pgqrs::MessageOptions message_options(std::optional<std::int32_t> priority, OptStr dedup_key,
                                      OptStr concurrency_key) {
  pgqrs::MessageOptions o;
  if (priority) o.priority = *priority;
  o.dedup_key = std::move(dedup_key);
  o.concurrency_key = std::move(concurrency_key);
  return o;
}

}  // namespace

void bind_flow(nb::module_& m) {
  m.def(
      "create_queue_with_options",
      [](const pgqrs::Store& s, const std::string& name, const nb::dict& options) {
        pgqrs::QueueOptions o;
        apply_changes(options, o);
        return to_py(unlocked([&] { return pgqrs::admin(s).create_queue(name, o); }));
      },
      nb::arg("store"), nb::arg("name"), nb::arg("options"));
  m.def(
      "update_queue_options",
      [](const pgqrs::Store& s, const std::string& name, const nb::dict& changes) {
        // Validate the keys and values under the GIL, then apply them in the transaction.
        pgqrs::QueueOptions given;
        apply_changes(changes, given);
        std::vector<std::string> keys;
        for (auto [k, v] : changes) keys.push_back(nb::cast<std::string>(k));
        return to_py(unlocked([&] {
          return pgqrs::admin(s).update_queue(name, [&](pgqrs::QueueOptions& o) {
            for (const std::string& key : keys) {
              if (key == "concurrency") o.concurrency = given.concurrency;
              if (key == "worker_concurrency") o.worker_concurrency = given.worker_concurrency;
              if (key == "key_concurrency") o.key_concurrency = given.key_concurrency;
              if (key == "rate_limit") o.rate_limit = given.rate_limit;
              if (key == "retain_archived") o.retain_archived = given.retain_archived;
              if (key == "retain_dead") o.retain_dead = given.retain_dead;
            }
          });
        }));
      },
      nb::arg("store"), nb::arg("name"), nb::arg("changes"));
  // pgqrs::enqueue() with flow fields for every payload (a dedup key on a batch of several
  // is the engine's ValidationError).
  m.def(
      "enqueue_flow",
      [](const pgqrs::Store& s, std::string queue, nb::handle payloads, OptInt delay_ms,
         std::optional<pgqrs::Producer> producer, std::optional<std::int32_t> priority,
         OptStr dedup_key, OptStr concurrency_key, OptStr traceparent, OptStr tracestate) {
        auto b = pgqrs::enqueue();
        for (auto& j : payload_list(payloads)) {
          b.message(std::move(j), message_options(priority, dedup_key, concurrency_key));
        }
        b.to(std::move(queue));
        if (delay_ms) b.delay(std::chrono::milliseconds(*delay_ms));
        if (producer) b.worker(*producer);
        if (traceparent) b.trace_context({std::move(*traceparent), std::move(tracestate)});
        return unlocked([&] { return b.execute(s); });
      },
      nb::arg("store"), nb::arg("queue"), nb::arg("payloads"), nb::arg("delay_ms").none(),
      nb::arg("producer").none(), nb::arg("priority").none(), nb::arg("dedup_key").none(),
      nb::arg("concurrency_key").none(), nb::arg("traceparent").none() = nb::none(),
      nb::arg("tracestate").none() = nb::none());
  m.def(
      "workflow_trigger_flow",
      [](const pgqrs::Store& s, std::string name, nb::handle input,
         std::optional<std::int32_t> priority, OptStr dedup_key, OptStr concurrency_key,
         OptStr traceparent, OptStr tracestate) {
        auto j = to_json(input, "input");
        auto b = pgqrs::workflow();
        b.name(std::move(name)).trigger(std::move(j));
        if (priority) b.priority(*priority);
        if (dedup_key) b.dedup_key(*dedup_key);
        if (concurrency_key) b.concurrency_key(*concurrency_key);
        if (traceparent) b.trace_context({std::move(*traceparent), std::move(tracestate)});
        return to_py(unlocked([&] { return b.execute(s); }));
      },
      nb::arg("store"), nb::arg("name"), nb::arg("input"), nb::arg("priority").none(),
      nb::arg("dedup_key").none(), nb::arg("concurrency_key").none(),
      nb::arg("traceparent").none() = nb::none(), nb::arg("tracestate").none() = nb::none());
  m.def(
      "producer_enqueue_flow",
      [](const pgqrs::Producer& p, nb::handle payload, std::optional<std::int32_t> priority,
         OptStr dedup_key, OptStr concurrency_key, OptInt delay_ms, OptStr traceparent,
         OptStr tracestate) {
        auto j = to_json(payload, "payload");
        auto o = message_options(priority, std::move(dedup_key), std::move(concurrency_key));
        if (!traceparent) {
          return unlocked(
              [&] { return p.enqueue(j, o, std::chrono::milliseconds(delay_ms.value_or(0))); });
        }
        auto b = pgqrs::enqueue();
        b.message(std::move(j), o).worker(p).delay(std::chrono::milliseconds(delay_ms.value_or(0)));
        b.trace_context({std::move(*traceparent), std::move(tracestate)});
        return unlocked([&] { return b.execute(p.store()).front(); });
      },
      nb::arg("producer"), nb::arg("payload"), nb::arg("priority").none(),
      nb::arg("dedup_key").none(), nb::arg("concurrency_key").none(), nb::arg("delay_ms").none(),
      nb::arg("traceparent").none() = nb::none(), nb::arg("tracestate").none() = nb::none());
}

}  // namespace pgqrs_py
