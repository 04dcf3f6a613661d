#include "serve/api.h"

#include <charconv>
#include <optional>
#include <vector>

#include "pgqrs/coordination.h"
#include "pgqrs/fork.h"
#include "pgqrs/schedule.h"
#include "records_json.h"

namespace pgqrs::cli::serve {
namespace {

using nlohmann::json;

// Rows of each of a run's messages, events and children panels.
constexpr std::uint32_t kRunPanelRows = 100;

constexpr std::uint32_t kDefaultLimit = 50;
constexpr std::uint32_t kMaxLimit = 500;

std::optional<std::string_view> param(const Query& q, std::string_view key) {
  auto it = q.find(key);
  if (it == q.end() || it->second.empty()) return std::nullopt;
  return std::string_view(it->second);
}

template <typename F>
auto not_found_as_404(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const QueueNotFoundError& e) {
    throw HttpError(404, "queue_not_found", e.what());
  } catch (const MessageNotFoundError& e) {
    throw HttpError(404, "message_not_found", e.what());
  } catch (const ValidationError& e) {
    throw HttpError(400, "validation", e.what());
  }
}

}  // namespace

namespace {

std::int64_t parse_positive(std::string_view text, std::string_view what, const char* code) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value <= 0) {
    std::string shown(text.substr(0, 40));
    throw HttpError(400, code,
                    std::string(what) + " must be a positive integer, got '" + shown +
                        (text.size() > 40 ? "...'" : "'"));
  }
  return value;
}

// Keyset paging: the caller fetched one row more than `limit` to learn whether an older page
// exists; this trims `rows` to `limit` and returns the next page's before_id: the last row's
// id (the smallest id of the page for messages; for runs, the last in the list's created_at
// order), or null on the last page.
template <typename Record>
json trim_page(std::vector<Record>& rows, std::uint32_t limit) {
  if (rows.size() <= limit) return nullptr;
  rows.resize(limit);
  return rows.back().id;
}

}  // namespace

std::int64_t parse_id(std::string_view text, std::string_view what) {
  return parse_positive(text, what, "bad_id");
}

std::optional<std::int64_t> parse_before_id(const Query& q) {
  auto it = q.find("before_id");
  if (it == q.end()) return std::nullopt;
  return parse_positive(it->second, "before_id", "bad_before_id");
}

std::uint32_t parse_limit(const Query& q) {
  auto text = param(q, "limit");
  if (!text) return kDefaultLimit;
  std::uint32_t value = 0;
  const auto* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || value == 0 || value > kMaxLimit) {
    throw HttpError(400, "bad_limit",
                    "limit must be 1.." + std::to_string(kMaxLimit) + ", got '" +
                        std::string(text->substr(0, 20)) + "'");
  }
  return value;
}

json Api::overview() const {
  return not_found_as_404([&] {
    json out = to_json(admin_.system_stats());
    out["dsn"] = redacted_dsn_;
    return out;
  });
}

json Api::queues() const {
  return not_found_as_404([&] { return to_json_array(admin_.all_queues_metrics()); });
}

json Api::queue(std::string_view name) const {
  return not_found_as_404([&] {
    json out = to_json(admin_.get_queue(name));
    out["metrics"] = to_json(admin_.queue_metrics(name));
    out["workers"] = to_json(admin_.worker_stats(name));
    return out;
  });
}

json Api::queue_messages(std::string_view name, const Query& q) const {
  const std::uint32_t limit = parse_limit(q);
  const auto before_id = parse_before_id(q);
  const bool archived = param(q, "archived").value_or("0") == "1";
  return not_found_as_404([&] {
    admin_.get_queue(name);  // 400 for a malformed name, 404 for an unknown one
    auto rows = admin_.list_messages(name, limit + 1, archived, before_id);
    json next = trim_page(rows, limit);
    return json{{"queue", std::string(name)},
                {"limit", limit},
                {"messages", to_json_array(rows)},
                {"next_before_id", std::move(next)}};
  });
}

json Api::message(std::string_view id) const {
  const std::int64_t mid = parse_id(id, "message id");
  return not_found_as_404([&] { return to_json(admin_.get_message(mid)); });
}

json Api::dead_letters(const Query& q) const {
  const auto queue = param(q, "queue");
  const std::uint32_t limit = parse_limit(q);
  const auto before_id = parse_before_id(q);
  return not_found_as_404([&] {
    if (queue) admin_.get_queue(*queue);
    auto rows = admin_.dlq(queue, limit + 1, before_id);
    json next = trim_page(rows, limit);
    const bool truncated = !next.is_null();  // older dead letters exist
    return json{{"limit", limit},
                {"truncated", truncated},
                {"messages", to_json_array(rows)},
                {"next_before_id", std::move(next)}};
  });
}

json Api::workers(const Query& q) const {
  const auto queue = param(q, "queue");
  return not_found_as_404([&] {
    if (queue) admin_.get_queue(*queue);
    json out = json::array();
    const auto health = admin_.worker_health(std::chrono::seconds(60));
    for (const auto& w : admin_.list_workers(queue)) {
      json j = to_json(w);
      j["healthy"] = nullptr;
      j["since_heartbeat_ms"] = nullptr;  // stopped workers have no heartbeat age
      for (const auto& h : health) {
        if (h.worker.id == w.id) j = to_json(h);
      }
      out.push_back(std::move(j));
    }
    return out;
  });
}

json Api::workflows() const {
  return not_found_as_404([&] { return to_json_array(admin_.list_workflows()); });
}

json Api::runs(const Query& q) const {
  RunFilter filter;
  const std::uint32_t limit = parse_limit(q);
  filter.limit = limit + 1;
  filter.before_id = parse_before_id(q);
  if (auto wf = param(q, "workflow")) filter.workflow = std::string(*wf);
  if (auto status = param(q, "status")) {
    auto parsed = parse_workflow_status(*status);
    if (!parsed) {
      throw HttpError(400, "bad_status",
                      "status must be one of QUEUED, RUNNING, PAUSED, CANCELLING, CANCELLED, "
                      "SUCCESS, ERROR; got '" +
                          std::string(status->substr(0, 20)) + "'");
    }
    filter.status = *parsed;
  }
  return not_found_as_404([&] {
    auto rows = admin_.list_runs(filter);
    json next = trim_page(rows, limit);
    return json{
        {"limit", limit}, {"runs", to_json_array(rows)}, {"next_before_id", std::move(next)}};
  });
}

json Api::run(std::string_view id) const {
  const std::int64_t rid = parse_id(id, "run id");
  try {
    json out = to_json(admin_.get_run(rid));
    out["steps"] = to_json_array(admin_.run_steps(rid));
    // What the run talked with (issue 15), at most kRunPanelRows of each, oldest first;
    // "<name>_truncated" says more exist (the CLI's workflow messages|events|children
    // show them all).
    auto panel = [&out](const char* name, auto rows) {
      const bool truncated = rows.size() > kRunPanelRows;
      if (truncated) rows.resize(kRunPanelRows);
      out[name] = to_json_array(rows);
      out[std::string(name) + "_truncated"] = truncated;
    };
    panel("messages", run_messages(admin_.store(), rid, kRunPanelRows + 1));
    panel("events", run_events(admin_.store(), rid, kRunPanelRows + 1));
    panel("children", child_runs(admin_.store(), rid));
    return out;
  } catch (const ValidationError&) {
    throw HttpError(404, "run_not_found", "run " + std::to_string(rid) + " not found");
  }
}

// Schedules with their next fire times and how late each is (the /metrics lag).
json Api::schedules() const {
  constexpr std::size_t kShownFireTimes = 3;
  return not_found_as_404([&] {
    const Store& store = admin_.store();
    const TimePoint now = store.clock().now();
    json out = json::array();
    for (const auto& s : list_schedules(store)) {
      json j = to_json(s, kShownFireTimes);
      j["lag_seconds"] = std::chrono::duration<double>(schedule_lag(s, now)).count();
      out.push_back(std::move(j));
    }
    return out;
  });
}

namespace {

// A schedule action: 404 for an unknown schedule (the library's ValidationError), 400 for a
// malformed name.
template <typename F>
json schedule_action(const Admin& admin, std::string_view name, F&& f) {
  bool exists = false;
  for (const auto& s : list_schedules(admin.store())) exists = exists || s.name == name;
  if (!exists) {
    throw HttpError(404, "schedule_not_found",
                    "schedule '" + std::string(name.substr(0, 100)) + "' does not exist");
  }
  return not_found_as_404([&] { return to_json(f(), 3); });
}

}  // namespace

json Api::pause_schedule(std::string_view name) const {
  return schedule_action(admin_, name, [&] { return pgqrs::pause_schedule(admin_.store(), name); });
}

json Api::resume_schedule(std::string_view name) const {
  return schedule_action(admin_, name,
                         [&] { return pgqrs::resume_schedule(admin_.store(), name); });
}

// The new run of a rerun or fork: its id and message.
static json new_run_json(const Admin& admin, const QueueMessage& m) {
  const auto record = run().message(m).store(admin.store()).record();
  return {{"run_id", record.id}, {"message_id", m.id}};
}

json Api::rerun_run(std::string_view id) const {
  const std::int64_t rid = parse_id(id, "run id");
  try {
    admin_.get_run(rid);
  } catch (const ValidationError&) {
    throw HttpError(404, "run_not_found", "run " + std::to_string(rid) + " not found");
  }
  return not_found_as_404([&] { return new_run_json(admin_, rerun(admin_.store(), rid)); });
}

json Api::fork_run(std::string_view id, std::string_view from_step) const {
  const std::int64_t rid = parse_id(id, "run id");
  try {
    admin_.get_run(rid);
  } catch (const ValidationError&) {
    throw HttpError(404, "run_not_found", "run " + std::to_string(rid) + " not found");
  }
  // A step that is not the run's: 400 naming the run's steps (the library's message).
  return not_found_as_404(
      [&] { return new_run_json(admin_, fork(admin_.store(), rid, from_step)); });
}

json Api::replay_dead_letter(std::string_view id) const {
  const std::int64_t mid = parse_id(id, "message id");
  return not_found_as_404([&] {
    const bool replayed = admin_.replay_dlq(mid);
    if (!replayed) {
      throw HttpError(409, "not_a_dead_letter",
                      "message " + std::to_string(mid) + " is not a dead letter");
    }
    return json{{"id", mid}, {"replayed", true}};
  });
}

json Api::resume_run(std::string_view id) const {
  const std::int64_t rid = parse_id(id, "run id");
  bool applied = false;
  try {
    applied = admin_.resume_run(rid);
  } catch (const ValidationError&) {
    throw HttpError(404, "run_not_found", "run " + std::to_string(rid) + " not found");
  }
  if (!applied) {
    throw HttpError(409, "run_not_paused", "run " + std::to_string(rid) + " is not paused");
  }
  return json{{"id", rid}, {"resumed", true}};
}

json Api::cancel_run(std::string_view id) const {
  const std::int64_t rid = parse_id(id, "run id");
  bool applied = false;
  try {
    applied = admin_.cancel_run(rid);
  } catch (const ValidationError&) {
    throw HttpError(404, "run_not_found", "run " + std::to_string(rid) + " not found");
  }
  if (!applied) {
    throw HttpError(409, "run_not_cancellable",
                    "run " + std::to_string(rid) + " is already finished or cancelling");
  }
  return json{{"id", rid}, {"cancel_requested", true}};
}

json Api::purge_queue(std::string_view name, std::string_view confirm) const {
  if (confirm != name) {
    throw HttpError(400, "confirmation_required",
                    "purging queue '" + std::string(name) +
                        "' needs confirm=<the queue name> in the request body");
  }
  return not_found_as_404([&] {
    return json{{"queue", std::string(name)}, {"purged", admin_.purge_queue(name)}};
  });
}

}  // namespace pgqrs::cli::serve
