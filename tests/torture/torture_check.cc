#include "torture/torture_check.h"

#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "torture/torture_plan.h"

namespace pgqrs_torture {
namespace {

using pgqrs::json;

struct LogEvent {
  std::string kind;  // body, fail or done
  std::string token;
  std::size_t line = 0;
};
using StepKey = std::pair<std::int64_t, std::string>;

std::map<StepKey, std::vector<LogEvent>> ParseLog(const std::filesystem::path& log,
                                                  CheckResult& r) {
  std::map<StepKey, std::vector<LogEvent>> out;
  std::ifstream in(log);
  std::string text;
  std::size_t n = 0;
  while (std::getline(in, text)) {
    ++n;
    std::istringstream ls(text);
    std::string kind, step, token, extra;
    std::int64_t run = 0;
    if (!(ls >> kind >> run >> step >> token) || (ls >> extra) ||
        (kind != "body" && kind != "fail" && kind != "done")) {
      r.problems.push_back("log line " + std::to_string(n) + " is malformed: '" + text + "'");
      continue;
    }
    out[{run, step}].push_back(LogEvent{kind, token, n});
  }
  return out;
}

std::string Where(std::int64_t run, const std::string& step = "") {
  return "run " + std::to_string(run) + (step.empty() ? "" : " step " + step) + ": ";
}

// Check 1 for one run (its record) and check 2 (its steps); returns the recorded token of
// each s<i>, empty when the run is not fit for the log check.
std::map<std::string, std::string> CheckRun(const pgqrs::Admin& admin, const pgqrs::RunRecord& run,
                                            const json& input, CheckResult& r) {
  std::map<std::string, std::string> tokens;
  if (run.status != pgqrs::WorkflowStatus::kSuccess || !run.output) {
    ++r.lost;
    r.problems.push_back(Where(run.id) + "not SUCCESS but " +
                         std::string(pgqrs::to_string(run.status)) +
                         (run.error ? " " + run.error->dump() : ""));
    return tokens;
  }
  const json& plan = input.at("steps");
  const json& out = *run.output;
  bool good = out.value("n", -1) == input.at("n").get<int>() &&
              out.value("total", -1) == ExpectedTotal(input) && out.contains("by") &&
              out.at("by").size() == plan.size();
  if (!good) r.problems.push_back(Where(run.id) + "wrong output " + out.dump());
  std::map<std::string, int> seen;
  for (const auto& s : admin.run_steps(run.id)) {
    ++seen[s.step_name];
    if (s.status != pgqrs::WorkflowStatus::kSuccess) {
      r.problems.push_back(Where(run.id, s.step_name) + "recorded " +
                           std::string(pgqrs::to_string(s.status)));
      continue;
    }
    if (s.step_name.rfind("nap", 0) == 0) continue;
    const int i = std::stoi(s.step_name.substr(1));
    if (i < 1 || static_cast<std::size_t>(i) > plan.size() || !s.output) {
      r.problems.push_back(Where(run.id, s.step_name) + "unexpected step");
      continue;
    }
    ++r.steps;
    const json& planned = plan[static_cast<std::size_t>(i - 1)];
    const std::string token = s.output->value("by", "");
    tokens[s.step_name] = token;
    if (s.output->value("v", -1) != StepValue(input.at("n").get<int>(), i)) {
      r.problems.push_back(Where(run.id, s.step_name) + "wrong output " + s.output->dump());
    }
    if (s.retry_count != planned.at("failures").get<int>()) {
      r.problems.push_back(Where(run.id, s.step_name) + "retry_count " +
                           std::to_string(s.retry_count) + ", planned failures " +
                           planned.at("failures").dump());
    }
    if (good && out.at("by").at(static_cast<std::size_t>(i - 1)) != token) {
      r.problems.push_back(Where(run.id, s.step_name) +
                           "run output does not use the recorded step output");
    }
  }
  for (std::size_t k = 0; k < plan.size(); ++k) {
    const std::string i = std::to_string(k + 1);
    const int naps = plan[k].at("sleep_ms").get<int>() > 0 ? 1 : 0;
    if (seen["s" + i] != 1 || seen["nap" + i] != naps) {
      r.problems.push_back(Where(run.id, "s" + i) + std::to_string(seen["s" + i]) +
                           " records and " + std::to_string(seen["nap" + i]) +
                           " sleep records, expected 1 and " + std::to_string(naps));
    }
    seen.erase("s" + i);
    seen.erase("nap" + i);
  }
  for (const auto& [name, count] : seen) {
    if (count > 0) r.problems.push_back(Where(run.id, name) + "a step the plan does not have");
  }
  if (good) ++r.runs;
  return tokens;
}

// Check 3 for one recorded step.
void CheckLog(std::int64_t run, const std::string& step, const std::string& token,
              const std::vector<LogEvent>& events, CheckResult& r) {
  const LogEvent* last_body = nullptr;
  std::vector<const LogEvent*> dones;
  std::uint64_t bodies = 0, fails = 0;
  for (const auto& e : events) {
    if (e.kind == "body") {
      last_body = &e;
      ++bodies;
    } else if (e.kind == "fail") {
      ++fails;
    } else {
      dones.push_back(&e);
    }
  }
  if (last_body == nullptr) {
    r.problems.push_back(Where(run, step) + "recorded output " + token + " has no body line");
    return;
  }
  if (bodies > fails + 1) r.reexecuted_bodies += bodies - 1 - fails;
  bool duplicated = false;
  if (last_body->token != token) {
    duplicated = true;
    r.problems.push_back(Where(run, step) + "body " + last_body->token + " (log line " +
                         std::to_string(last_body->line) + ") ran after the recorded execution " +
                         token);
  }
  if (dones.size() > 1) {
    duplicated = true;
    r.problems.push_back(Where(run, step) + std::to_string(dones.size()) +
                         " fresh outputs returned");
  }
  for (const auto* d : dones) {
    if (d->token != token || d->line < last_body->line) {
      duplicated = true;
      r.problems.push_back(Where(run, step) + "'done' at log line " + std::to_string(d->line) +
                           " for " + d->token + " does not follow the recorded body " + token);
    }
  }
  if (duplicated) ++r.duplicated_steps;
}

}  // namespace

CheckResult Check(const pgqrs::Store& store, const std::map<std::int64_t, json>& inputs,
                  const std::filesystem::path& log) {
  CheckResult r;
  pgqrs::Admin admin = pgqrs::admin(store);
  pgqrs::RunFilter all;
  all.workflow = kWorkflow;
  all.limit = 10000000;
  std::set<std::int64_t> found;
  std::map<StepKey, std::string> recorded;
  for (const auto& run : admin.list_runs(all)) {
    found.insert(run.id);
    auto it = inputs.find(run.id);
    if (it == inputs.end()) {
      r.problems.push_back(Where(run.id) + "a run nobody triggered");
      continue;
    }
    for (const auto& [step, token] : CheckRun(admin, run, it->second, r)) {
      recorded[{run.id, step}] = token;
    }
  }
  for (const auto& [id, input] : inputs) {
    if (found.count(id) == 0) {
      ++r.lost;
      r.problems.push_back(Where(id) + "missing");
    }
  }
  const pgqrs::QueueMetrics m = admin.queue_metrics(kWorkflow);
  if (m.archived != inputs.size() || m.pending + m.leased + m.delayed + m.dead != 0) {
    r.lost += inputs.size() > m.archived ? inputs.size() - m.archived : 0;
    r.problems.push_back("queue " + std::string(kWorkflow) + ": archived " +
                         std::to_string(m.archived) + " of " + std::to_string(inputs.size()) +
                         ", pending " + std::to_string(m.pending) + ", leased " +
                         std::to_string(m.leased) + ", delayed " + std::to_string(m.delayed) +
                         ", dead " + std::to_string(m.dead));
  }
  for (const auto& [key, events] : ParseLog(log, r)) {
    auto it = recorded.find(key);
    if (it == recorded.end()) {
      r.problems.push_back(Where(key.first, key.second) +
                           "log lines for a step that was never recorded");
      continue;
    }
    CheckLog(key.first, key.second, it->second, events, r);
    recorded.erase(it);
  }
  for (const auto& [key, token] : recorded) {
    r.problems.push_back(Where(key.first, key.second) + "recorded output " + token +
                         " has no log line");
  }
  return r;
}

}  // namespace pgqrs_torture
