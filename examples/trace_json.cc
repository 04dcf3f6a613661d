// pgqrs-trace-json: tracing without an OpenTelemetry C++ package. A TraceHook turns the
// engine's events into spans and writes each finished span as one JSON line on stdout:
//
//   {"trace_id": "...", "span_id": "...", "parent_span_id": "..." | null, "name": "...",
//    "start": <unix ns>, "end": <unix ns>, "attributes": {...}}
//
// The trace: a root span "request" (the program's own work) -> "enqueue <queue>" spans
// (their context is stored with each message) -> "handle <queue>" in the consumer -> and, for
// a workflow, "run <workflow>" -> "step <name>" (a step retried after a transient failure
// shows two step spans, the first with status "error"). Any process that leases a message
// continues its producer's trace, because the context travels in the database.
//
// Usage: pgqrs-trace-json [DSN]   (default sqlite::memory:)
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

#include <pgqrs/pgqrs.h>

namespace {

using pgqrs::json;

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  while (out.size() < digits) {
    auto v = rng();
    for (int i = 0; i < 16 && out.size() < digits; ++i, v >>= 4) out.push_back(kHex[v & 15]);
  }
  if (out.find_first_not_of('0') == std::string::npos) out.back() = '1';  // never all zeros
  return out;
}

std::int64_t unix_ns(pgqrs::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

struct Span {
  std::string trace_id, span_id;
  std::optional<std::string> parent;
  std::string name;
  pgqrs::TimePoint start;
  json attributes = json::object();
};

// The hook: spans keyed by what their end event names (message id, run id, run id + step).
// Thread-safe (one mutex); writes one line per finished span.
class JsonLinesExporter : public pgqrs::TraceHook {
 public:
  explicit JsonLinesExporter(std::ostream& out) : out_(out) {}

  // The application's own span: enqueues made while it is current are its children.
  void begin_root(const std::string& name, pgqrs::TimePoint at) {
    std::lock_guard lock(mu_);
    root_ = Span{random_hex(32), random_hex(16), std::nullopt, name, at, json::object()};
  }
  void end_root(pgqrs::TimePoint at) {
    std::lock_guard lock(mu_);
    if (root_) write(*root_, at);
    root_.reset();
  }

  // Each enqueue gets its own span: its id becomes the stored traceparent's parent id.
  std::optional<pgqrs::TraceContext> current_context() override {
    std::lock_guard lock(mu_);
    const std::string trace_id = root_ ? root_->trace_id : random_hex(32);
    const std::string span_id = random_hex(16);
    pending_enqueue_[span_id] = root_ ? std::optional(root_->span_id) : std::nullopt;
    return pgqrs::TraceContext{"00-" + trace_id + "-" + span_id + "-01", std::nullopt};
  }

  void on_event(const pgqrs::TraceEvent& e) override {
    std::lock_guard lock(mu_);
    using K = pgqrs::TraceEventKind;
    switch (e.kind) {
      case K::kEnqueue:
        return on_enqueue(e);
      case K::kHandlerStart:
        return start(handlers_[*e.message_id], e, "handle " + std::string(e.queue), parent_of(e));
      case K::kRunStart:
        return start(runs_[*e.run_id], e, "run " + std::string(e.queue), parent_of(e));
      case K::kStepStart: {
        auto run = runs_.find(*e.run_id);
        auto parent = run != runs_.end()
                          ? std::optional(std::pair(run->second.trace_id, run->second.span_id))
                          : parent_of(e);
        return start(steps_[{*e.run_id, std::string(e.step)}], e, "step " + std::string(e.step),
                     parent);
      }
      case K::kHandlerEnd:
        return finish(handlers_, *e.message_id, e);
      case K::kRunEnd:
        return finish(runs_, *e.run_id, e);
      case K::kStepEnd:
      case K::kStepRetry:
        return finish(steps_, std::pair(*e.run_id, std::string(e.step)), e);
      case K::kLease:
        return;  // part of the handle / run span that follows
    }
  }

 private:
  // (trace id, span id) of the enqueue span that stored the message's context.
  static std::optional<std::pair<std::string, std::string>> parent_of(const pgqrs::TraceEvent& e) {
    if (!e.trace) return std::nullopt;
    return std::pair(std::string(e.trace->trace_id()), std::string(e.trace->parent_id()));
  }

  void on_enqueue(const pgqrs::TraceEvent& e) {
    if (!e.trace) return;
    Span s{std::string(e.trace->trace_id()),
           std::string(e.trace->parent_id()),
           std::nullopt,
           "enqueue " + std::string(e.queue),
           e.at,
           attributes(e)};
    auto it = pending_enqueue_.find(s.span_id);
    if (it != pending_enqueue_.end()) s.parent = it->second;
    // A batch shares one context: one span per message would repeat the span id, so the
    // first message's event writes it and names the batch's first id.
    if (written_enqueues_.insert(s.span_id).second) write(s, e.at);
  }

  void start(Span& s, const pgqrs::TraceEvent& e, std::string name,
             std::optional<std::pair<std::string, std::string>> parent) {
    s = Span{parent ? parent->first : random_hex(32),
             random_hex(16),
             parent ? std::optional(parent->second) : std::nullopt,
             std::move(name),
             e.at,
             attributes(e)};
  }

  template <class Map, class Key>
  void finish(Map& spans, const Key& key, const pgqrs::TraceEvent& e) {
    auto it = spans.find(key);
    if (it == spans.end()) return;
    Span s = std::move(it->second);
    spans.erase(it);
    if (e.error_type) {
      s.attributes["status"] = "error";
      s.attributes["error.type"] = *e.error_type;
      s.attributes["error.message"] = e.error_message.value_or("");
    } else {
      s.attributes["status"] = "ok";
    }
    if (!e.status.empty()) s.attributes["pgqrs.run_status"] = std::string(e.status);
    if (e.kind == pgqrs::TraceEventKind::kStepRetry) s.attributes["pgqrs.retry"] = true;
    write(s, e.at);
  }

  static json attributes(const pgqrs::TraceEvent& e) {
    json a = {{"pgqrs.queue", std::string(e.queue)}, {"pgqrs.attempt", e.attempt}};
    if (e.message_id) a["pgqrs.message_id"] = *e.message_id;
    if (e.run_id) a["pgqrs.run_id"] = *e.run_id;
    if (e.worker_id) a["pgqrs.worker_id"] = *e.worker_id;
    if (!e.step.empty()) a["pgqrs.step"] = std::string(e.step);
    return a;
  }

  void write(const Span& s, pgqrs::TimePoint end) {
    json line = {{"trace_id", s.trace_id},
                 {"span_id", s.span_id},
                 {"parent_span_id", s.parent ? json(*s.parent) : json(nullptr)},
                 {"name", s.name},
                 {"start", unix_ns(s.start)},
                 {"end", unix_ns(end)},
                 {"attributes", s.attributes}};
    out_ << line.dump() << '\n' << std::flush;
  }

  std::ostream& out_;
  std::mutex mu_;
  std::optional<Span> root_;
  std::map<std::string, std::optional<std::string>> pending_enqueue_;
  std::set<std::string> written_enqueues_;
  std::map<std::int64_t, Span> handlers_;
  std::map<std::int64_t, Span> runs_;
  std::map<std::pair<std::int64_t, std::string>, Span> steps_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dsn = argc > 1 ? argv[1] : "sqlite::memory:";
  pgqrs::Store store = pgqrs::connect(dsn);
  pgqrs::admin(store).install();
  auto exporter = std::make_shared<JsonLinesExporter>(std::cout);
  pgqrs::install_trace_hook(store, exporter);

  // Producer side: one request enqueues two jobs and triggers a workflow.
  store.queue("emails");
  pgqrs::WorkflowDef order(
      "order",
      [](pgqrs::Run& run, const json& in) {
        static int attempts = 0;
        pgqrs::workflow_step(run, "reserve", [&] {
          if (++attempts == 1) throw pgqrs::TransientStepError("inventory busy");
          return in["sku"].get<std::string>();
        });
        pgqrs::workflow_step(run, "charge", [] { return 42; });
        return json{{"ok", true}};
      },
      pgqrs::StepRetryPolicy{3, pgqrs::BackoffStrategy::fixed(std::chrono::milliseconds(0))});
  pgqrs::workflow().name(order).create(store);

  exporter->begin_root("request", store.clock().now());
  pgqrs::enqueue().message({{"to", "ada@example.com"}}).to("emails").execute(store);
  pgqrs::enqueue().message({{"to", "bob@example.com"}}).to("emails").execute(store);
  pgqrs::workflow().name(order).trigger({{"sku", "A1"}}).execute(store);
  exporter->end_root(store.clock().now());

  // Consumer side: the first email fails once (a retry continues the same trace).
  bool failed_once = false;
  pgqrs::dequeue()
      .from("emails")
      .retry_backoff({std::chrono::milliseconds(0), std::chrono::milliseconds(0), false})
      .until_empty()
      .handle([&](const pgqrs::QueueMessage& msg) {
        if (!failed_once) {
          failed_once = true;
          throw std::runtime_error("smtp timeout");
        }
        std::cerr << "sent to " << msg.payload["to"].get<std::string>() << '\n';
      })
      .poll(store);
  pgqrs::Consumer worker = store.consumer("order");
  pgqrs::workflow().name(order).consumer(worker).until_empty().poll(store);
  return 0;
}
