// Events and streams from a run (pgqrs/coordination.h): Run::set_event / write_stream /
// close_stream inside a workflow; get_event and StreamReader outside.
#include <algorithm>

#include "core/run_state.h"
#include "core/run_watch.h"
#include "core/validation.h"
#include "pgqrs/coordination.h"

namespace pgqrs {
namespace {

std::string run_label(std::int64_t run_id) { return "run " + std::to_string(run_id); }

// ValidationError for an unknown run.
RunRecord require_run(detail::StoreState& s, std::int64_t run_id) {
  auto run = s.backend->get_run(run_id);
  if (!run) throw ValidationError(run_label(run_id) + " not found");
  return *run;
}

// One recorded write (step "<step_kind>:<n>"): the entry is stored with the step's name as
// its write key, so a write repeated after a crash stores nothing more.
void write_entry(Run& run, detail::RunState& s, RunEventKind kind, std::string_view step_kind,
                 std::string_view key, const std::optional<json>& value) {
  core::validate_name(key, kind == RunEventKind::kEvent ? "event key" : "stream key");
  std::optional<std::string> text;
  if (value) {
    text = core::validate_payload(
        *value, s.store->config.validation,
        std::string(to_string(kind)) + " '" + std::string(key) + "' of " + run_label(s.run_id));
  }
  const std::string name = detail::next_call_step(s, step_kind);
  if (detail::enter_step(s, name).status == WorkflowStatus::kSuccess) return;
  s.store->backend->write_run_event(s.run_id, kind, key, text, name, s.now());
  run.complete_step(name, json{{"key", key}});
  s.store->activity.notify_run_finished();  // get_event / StreamReader waits re-read at once
}

}  // namespace

std::string_view to_string(RunEventKind k) noexcept {
  switch (k) {
    case RunEventKind::kEvent:
      return "event";
    case RunEventKind::kStream:
      return "stream";
    case RunEventKind::kStreamEnd:
      return "stream_end";
  }
  return "event";
}

std::optional<RunEventKind> parse_run_event_kind(std::string_view text) noexcept {
  if (text == "event") return RunEventKind::kEvent;
  if (text == "stream") return RunEventKind::kStream;
  if (text == "stream_end") return RunEventKind::kStreamEnd;
  return std::nullopt;
}

void Run::set_event(std::string_view key, const json& value) {
  write_entry(*this, *state_, RunEventKind::kEvent, "event", key, value);
}

void Run::write_stream(std::string_view key, const json& value) {
  write_entry(*this, *state_, RunEventKind::kStream, "stream", key, value);
}

void Run::close_stream(std::string_view key) {
  write_entry(*this, *state_, RunEventKind::kStreamEnd, "stream-end", key, std::nullopt);
}

std::optional<json> get_event(const Store& store, std::int64_t run_id, std::string_view key,
                              std::chrono::milliseconds timeout) {
  auto& s = *StoreAccess::state(store);
  core::validate_name(key, "event key");
  if (timeout.count() < 0) throw ValidationError("get_event: timeout must not be negative");
  require_run(s, run_id);
  std::optional<json> value;
  core::watch_runs(s, s.now() + timeout, [&] {
    if (auto e = s.backend->latest_run_event(run_id, key)) value = e->value;
    return value.has_value();
  });
  return value;
}

std::vector<RunEvent> run_events(const Store& store, std::int64_t run_id, std::uint32_t limit) {
  return StoreAccess::state(store)->backend->read_run_events(run_id, std::nullopt, 0, limit);
}

StreamReader::StreamReader(Store store, std::int64_t run_id, std::string key)
    : store_(std::move(store)), run_id_(run_id), key_(std::move(key)) {
  core::validate_name(key_, "stream key");
  require_run(*StoreAccess::state(store_), run_id_);
}

std::optional<json> StreamReader::next(std::chrono::milliseconds timeout) {
  if (timeout.count() < 0)
    throw ValidationError("StreamReader::next: timeout must not be negative");
  auto& s = *StoreAccess::state(store_);
  constexpr std::uint32_t kPage = 100;
  // The next stream entry, reading a page when the buffer is empty; nullopt when none is
  // stored yet. Entries of an event with the same key are skipped.
  auto next_entry = [&]() -> std::optional<RunEvent> {
    while (true) {
      while (pos_ < buffered_.size()) {
        const RunEvent& e = buffered_[pos_++];
        after_id_ = e.id;
        if (e.kind != RunEventKind::kEvent) return e;
      }
      buffered_ = s.backend->read_run_events(run_id_, key_, after_id_, kPage);
      pos_ = 0;
      if (buffered_.empty()) return std::nullopt;
    }
  };
  if (ended_) return std::nullopt;
  std::optional<RunEvent> entry;
  const bool got = core::watch_runs(s, s.now() + timeout, [&] {
    entry = next_entry();
    if (entry) return true;
    // A finished run writes nothing more: once it is finished and nothing is left (read
    // after seeing it finished), the stream has ended.
    if (is_terminal(require_run(s, run_id_).status)) {
      entry = next_entry();
      if (!entry) ended_ = true;
      return true;
    }
    return false;
  });
  if (!got) {
    throw TimeoutError("stream '" + key_ + "' of " + run_label(run_id_) + ": nothing new within " +
                       std::to_string(timeout.count()) + " ms");
  }
  if (!entry || entry->kind == RunEventKind::kStreamEnd) {
    ended_ = true;
    return std::nullopt;
  }
  return entry->value;
}

}  // namespace pgqrs
