// pgqrs workflow send | messages | events | event | children (pgqrs/coordination.h;
// docs/workflows.md "Messages, events and child workflows").
#include <memory>
#include <string>

#include "commands.h"
#include "duration.h"
#include "json_arg.h"
#include "pgqrs/coordination.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {
namespace {

Table run_messages_table(const std::vector<RunMessage>& messages) {
  Table t({"ID", "TOPIC", "SENT", "RECEIVED BY", "PAYLOAD"});
  for (const auto& m : messages) {
    t.add_row({std::to_string(m.id), m.topic, to_json(m)["created_at"].get<std::string>(),
               m.received_by.value_or("(unread)"), m.payload.dump()});
  }
  return t;
}

Table run_events_table(const std::vector<RunEvent>& events) {
  Table t({"ID", "KIND", "KEY", "WRITTEN", "VALUE"});
  for (const auto& e : events) {
    t.add_row({std::to_string(e.id), std::string(to_string(e.kind)), e.key,
               to_json(e)["created_at"].get<std::string>(),
               e.kind == RunEventKind::kStreamEnd ? "(end)" : e.value.dump()});
  }
  return t;
}

}  // namespace

void register_workflow_talk_commands(CLI::App& group, Context& ctx) {
  struct Options {
    std::int64_t id = 0;
    std::string topic;
    std::string payload;
    std::string key;
    std::string timeout = "0";
    std::uint32_t limit = 100;
  };
  auto o = std::make_shared<Options>();

  CLI::App* cmd = group.add_subcommand(
      "send", "Send a message to a run (a run waiting in recv on the topic wakes at once)");
  cmd->add_option("RUN_ID", o->id, "The receiving run")->required();
  cmd->add_option("TOPIC", o->topic, "Topic: 1-128 characters of A-Z a-z 0-9 _ . : -")->required();
  cmd->add_option("JSON", o->payload, "The message as JSON text, or - to read it from stdin")
      ->required()
      ->check(json_validator());
  on_run(cmd, ctx, [&ctx, o] {
    const std::int64_t id =
        pgqrs::send(ctx.store(), o->id, o->topic, read_json_argument(o->payload));
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"message_id", id}, {"run_id", o->id}, {"topic", o->topic}});
    } else {
      out.print_line("Sent message " + std::to_string(id) + " on topic '" + o->topic + "' to run " +
                     std::to_string(o->id));
    }
  });

  cmd = group.add_subcommand("messages", "List the messages sent to a run, oldest first");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  cmd->add_option("--limit,-n", o->limit, "At most this many (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  on_run(cmd, ctx, [&ctx, o] {
    ctx.admin().get_run(o->id);  // ValidationError for an unknown run
    auto messages = pgqrs::run_messages(ctx.store(), o->id, o->limit);
    Output out = ctx.output();
    if (out.json()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& m : messages) a.push_back(to_json(m));
      out.print_json(a);
    } else {
      out.print_table(run_messages_table(messages));
    }
  });

  cmd =
      group.add_subcommand("events", "List the events, stream values and stream ends a run wrote");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  cmd->add_option("--limit,-n", o->limit, "At most this many (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  on_run(cmd, ctx, [&ctx, o] {
    ctx.admin().get_run(o->id);
    auto events = pgqrs::run_events(ctx.store(), o->id, o->limit);
    Output out = ctx.output();
    if (out.json()) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& e : events) a.push_back(to_json(e));
      out.print_json(a);
    } else {
      out.print_table(run_events_table(events));
    }
  });

  cmd = group.add_subcommand("event", "Print the latest value a run published for an event key");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  cmd->add_option("KEY", o->key, "Event key")->required();
  cmd->add_option("--timeout", o->timeout,
                  "Wait up to this long for a first value (90, 30s, 5m; default 0)")
      ->check(CLI::Validator(check_duration, "DURATION", "duration"));
  on_run(cmd, ctx, [&ctx, o] {
    const auto value =
        pgqrs::get_event(ctx.store(), o->id, o->key, parse_duration_or_throw(o->timeout));
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"run_id", o->id},
                      {"key", o->key},
                      {"found", value.has_value()},
                      {"value", value.value_or(nlohmann::json())}});
    } else if (value) {
      out.print_line(value->dump());
    } else {
      out.print_line("Run " + std::to_string(o->id) + " has published no value for '" + o->key +
                     "'");
    }
  });

  cmd = group.add_subcommand("children", "List the child runs a run started, oldest first");
  cmd->add_option("RUN_ID", o->id, "Run id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    ctx.admin().get_run(o->id);
    auto runs = pgqrs::child_runs(ctx.store(), o->id);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(runs));
    } else {
      out.print_table(runs_table(runs));
    }
  });
}

}  // namespace pgqrs::cli
