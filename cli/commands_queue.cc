// pgqrs queue create | list | get | messages | delete | purge | metrics | dlq | replay-dlq |
// enqueue
#include <memory>

#include "commands.h"
#include "duration.h"
#include "flow_options.h"
#include "json_arg.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {

namespace {

void print_messages(Context& ctx, const std::vector<QueueMessage>& messages) {
  Output out = ctx.output();
  if (out.json()) {
    out.print_json(to_json_array(messages));
  } else {
    out.print_table(messages_table(messages, ctx.store().clock().now()));
  }
}

}  // namespace

void register_queue_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("queue", "Queues, their messages and dead letters");
  group->require_subcommand(1);

  struct Options {
    std::string queue;
    std::uint32_t limit = 100;
    std::int64_t before_id = 0;
    bool archived = false;
    std::int64_t id = 0;
    std::string payload;
    std::string delay;
  };
  auto o = std::make_shared<Options>();

  CLI::App* cmd = group->add_subcommand("create", "Create a queue");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  auto create_flags = std::make_shared<QueueOptionFlags>();
  add_queue_option_flags(cmd, create_flags, /*clearable=*/false);
  on_run(cmd, ctx, [&ctx, o, create_flags] {
    QueueOptions options;
    apply_queue_option_flags(*create_flags, options);
    QueueInfo q = ctx.admin().create_queue(o->queue, options);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"queue", to_json(q)}});
    } else {
      out.print_line("Created queue '" + q.queue_name + "' (id " + std::to_string(q.id) + ")");
    }
  });

  on_run(group->add_subcommand("list", "List queues"), ctx, [&ctx] {
    auto queues = ctx.admin().list_queues();
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json_array(queues));
    } else {
      out.print_table(queues_table(queues));
    }
  });

  cmd = group->add_subcommand("get", "Show one queue");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  on_run(cmd, ctx, [&ctx, o] {
    QueueInfo q = ctx.admin().get_queue(o->queue);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json(to_json(q));
    } else {
      out.print_fields(queue_fields(q));
    }
  });

  cmd = group->add_subcommand("messages", "List a queue's messages, newest first");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  cmd->add_option("--limit,-n", o->limit, "At most this many messages (default 100)")
      ->check(CLI::Range(1u, 1'000'000u));
  cmd->add_flag("--archived", o->archived, "Include archived messages");
  CLI::Option* messages_before = add_before_id_option(cmd, o->before_id, "messages");
  on_run(cmd, ctx, [&ctx, o, messages_before] {
    std::optional<std::int64_t> before;
    if (messages_before->count() > 0) before = o->before_id;
    print_messages(ctx, ctx.admin().list_messages(o->queue, o->limit, o->archived, before));
  });

  cmd = group->add_subcommand("delete", "Delete an empty queue with no live workers");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  on_run(cmd, ctx, [&ctx, o] {
    ctx.admin().delete_queue(o->queue);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"queue", o->queue}});
    } else {
      out.print_line("Deleted queue '" + o->queue + "'");
    }
  });

  cmd = group->add_subcommand("purge", "Delete every message of a queue");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  on_run(cmd, ctx, [&ctx, o] {
    std::uint64_t purged = ctx.admin().purge_queue(o->queue);
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"queue", o->queue}, {"purged", purged}});
    } else {
      out.print_line("Purged " + std::to_string(purged) + " message(s) from '" + o->queue + "'");
    }
  });

  cmd = group->add_subcommand("metrics", "Message counts by state, for one queue or all");
  CLI::Option* metrics_queue = cmd->add_option("QUEUE", o->queue, "Queue name (default: all)");
  on_run(cmd, ctx, [&ctx, o, metrics_queue] {
    Output out = ctx.output();
    if (metrics_queue->count() > 0) {
      QueueMetrics m = ctx.admin().queue_metrics(o->queue);
      if (out.json()) {
        out.print_json(to_json(m));
      } else {
        out.print_fields(metrics_fields(m));
      }
    } else {
      auto all = ctx.admin().all_queues_metrics();
      if (out.json()) {
        out.print_json(to_json_array(all));
      } else {
        out.print_table(metrics_table(all));
      }
    }
  });

  cmd = group->add_subcommand("dlq", "List dead-lettered messages, of one queue or all");
  CLI::Option* dlq_queue = cmd->add_option("QUEUE", o->queue, "Queue name (default: all)");
  CLI::Option* dlq_limit =
      cmd->add_option("--limit,-n", o->limit, "At most this many dead letters (default: all)")
          ->check(CLI::Range(1u, 1'000'000u));
  CLI::Option* dlq_before = add_before_id_option(cmd, o->before_id, "dead letters");
  on_run(cmd, ctx, [&ctx, o, dlq_queue, dlq_limit, dlq_before] {
    std::optional<std::string_view> queue;
    if (dlq_queue->count() > 0) queue = o->queue;
    std::optional<std::uint32_t> limit;
    if (dlq_limit->count() > 0) limit = o->limit;
    std::optional<std::int64_t> before;
    if (dlq_before->count() > 0) before = o->before_id;
    print_messages(ctx, ctx.admin().dlq(queue, limit, before));
  });

  cmd = group->add_subcommand("replay-dlq", "Make a dead letter deliverable again");
  cmd->add_option("ID", o->id, "Message id")->required();
  on_run(cmd, ctx, [&ctx, o] {
    Admin admin = ctx.admin();
    if (!admin.replay_dlq(o->id)) {
      (void)admin.get_message(o->id);  // MessageNotFoundError when there is no such message
      throw ConflictError("message " + std::to_string(o->id) + " is not a dead letter");
    }
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"id", o->id}});
    } else {
      out.print_line("Replayed dead letter " + std::to_string(o->id));
    }
  });

  cmd = group->add_subcommand("enqueue", "Enqueue one message");
  cmd->add_option("QUEUE", o->queue, "Queue name")->required();
  cmd->add_option("JSON", o->payload, "Payload as JSON text, or - to read it from stdin")
      ->required()
      ->check(json_validator());
  cmd->add_option("--delay", o->delay, "Make the message visible after this long (e.g. 30s, 5m)")
      ->check(duration_validator());
  auto message_flags = std::make_shared<MessageFlags>();
  add_message_flags(cmd, message_flags);
  on_run(cmd, ctx, [&ctx, o, message_flags] {
    nlohmann::json payload = read_json_argument(o->payload);
    auto builder = pgqrs::enqueue();
    builder.message(std::move(payload), message_options(*message_flags)).to(o->queue);
    if (!o->delay.empty()) builder.delay(parse_duration_or_throw(o->delay));
    std::vector<std::int64_t> ids = builder.execute(ctx.store());
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ids", ids}});
    } else {
      for (auto id : ids) {
        out.print_line("Enqueued message " + std::to_string(id) + " to '" + o->queue + "'");
      }
    }
  });

  register_queue_update_command(group, ctx);
}

}  // namespace pgqrs::cli
