// Messages to a run (pgqrs/coordination.h): pgqrs::send from outside, Run::send and the
// durable Run::recv inside a workflow.
#include "core/run_state.h"
#include "core/time_format.h"
#include "core/validation.h"
#include "pgqrs/coordination.h"

namespace pgqrs {
namespace {

std::string run_label(std::int64_t run_id) { return "run " + std::to_string(run_id); }

// The stored form of a message to `run_id` (ValidationError for a bad topic or payload).
std::string checked_payload(const detail::StoreState& s, std::int64_t run_id,
                            std::string_view topic, const json& payload) {
  core::validate_name(topic, "topic");
  return core::validate_payload(
      payload, s.config.validation,
      "message on topic '" + std::string(topic) + "' to " + run_label(run_id));
}

[[noreturn]] void throw_unknown_run(std::int64_t run_id) {
  throw ValidationError("cannot send to " + run_label(run_id) + ": no such workflow run");
}

}  // namespace

std::int64_t send(const Store& store, std::int64_t run_id, std::string_view topic,
                  const json& payload) {
  auto& s = *StoreAccess::state(store);
  const std::string text = checked_payload(s, run_id, topic, payload);
  auto sent = s.backend->send_to_run(run_id, topic, text, std::nullopt, s.now());
  if (!sent) throw_unknown_run(run_id);
  s.activity.notify(sent->queue);  // this store's idle pollers of the run's workflow, at once
  return sent->id;
}

std::vector<RunMessage> run_messages(const Store& store, std::int64_t run_id, std::uint32_t limit) {
  return StoreAccess::state(store)->backend->list_run_messages(run_id, limit);
}

std::int64_t Run::send(std::int64_t run_id, std::string_view topic, const json& payload) {
  auto& s = *state_;
  const std::string text = checked_payload(*s.store, run_id, topic, payload);
  const std::string name = detail::next_call_step(s, "send");
  const auto step = detail::enter_step(s, name);
  if (step.status == WorkflowStatus::kSuccess && step.output) {
    return step.output->at("message_id").get<std::int64_t>();
  }
  // The send key makes a send repeated after a crash (before the step's success was
  // recorded) store nothing: the first message's id comes back.
  const std::string key = std::to_string(s.run_id) + ":" + name;
  const auto sent = s.store->backend->send_to_run(run_id, topic, text, key, s.now());
  if (!sent) {
    fail_step(name, json{{"message", "no such workflow run"}, {"run_id", run_id}});
    throw_unknown_run(run_id);
  }
  s.store->activity.notify(sent->queue);
  complete_step(name, json{{"message_id", sent->id}, {"run_id", run_id}, {"topic", topic}});
  return sent->id;
}

// Step "recv:<n>": PAUSED with retry_at = the deadline while it waits; SUCCESS with the
// message ({"topic", "message_id", "payload"}) or with {"topic", "timed_out": true}.
std::optional<json> Run::recv(std::string_view topic, std::chrono::milliseconds timeout) {
  auto& s = *state_;
  core::validate_name(topic, "topic");
  if (timeout.count() < 0) {
    throw ValidationError(run_label(s.run_id) + ": recv timeout must not be negative");
  }
  const std::string name = detail::next_call_step(s, "recv");
  const auto step = detail::enter_step(s, name);
  if (step.status == WorkflowStatus::kSuccess) {
    const json out = step.output.value_or(json::object());
    if (out.is_object() && out.contains("payload")) return out.at("payload");
    return std::nullopt;
  }
  auto& be = *s.store->backend;
  const auto now = s.now();
  if (auto m = be.receive_run_message(s.run_id, topic, name, now)) {
    complete_step(name, json{{"topic", topic}, {"message_id", m->id}, {"payload", m->payload}});
    return m->payload;
  }
  TimePoint deadline;
  if (step.status == WorkflowStatus::kPaused && step.retry_at) {
    deadline = *step.retry_at;
  } else {
    deadline = now + timeout;
    backend::Backend::StepUpdate u;
    u.status = WorkflowStatus::kPaused;
    u.output = json{{"topic", topic}, {"waiting", true}}.dump();
    u.retry_at = deadline;
    be.update_step(s.run_id, name, u, now);
  }
  if (deadline <= now) {
    complete_step(name, json{{"topic", topic}, {"timed_out", true}});
    return std::nullopt;
  }
  backend::RunWait wait;
  wait.run_id = s.run_id;
  wait.topic = std::string(topic);
  detail::suspend(s, std::move(wait), deadline,
                  "waits for a message on topic '" + std::string(topic) + "'");
}

}  // namespace pgqrs
