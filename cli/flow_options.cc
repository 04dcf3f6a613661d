#include "flow_options.h"

#include <charconv>

#include "commands.h"
#include "context.h"
#include "duration.h"
#include "records_json.h"
#include "records_table.h"

namespace pgqrs::cli {
namespace {

constexpr char kNone[] = "none";

std::int64_t parse_int(const std::string& text, const char* flag) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    throw UsageError(std::string(flag) + ": '" + text + "' is not a whole number");
  }
  return v;
}

Duration parse_span(const std::string& text, const char* flag) {
  auto d = parse_duration(text);
  if (!d) throw UsageError(std::string(flag) + ": " + check_duration(text));
  return *d;
}

// Sets `field` from `given` ("none" clears it) with `parse`.
template <class T, class Parse>
void apply(const std::optional<std::string>& given, std::optional<T>& field, Parse parse) {
  if (!given) return;
  if (*given == kNone) {
    field.reset();
  } else {
    field = parse(*given);
  }
}

}  // namespace

void add_queue_option_flags(CLI::App* cmd, const std::shared_ptr<QueueOptionFlags>& f,
                            bool clearable) {
  const std::string clear = clearable ? " ('none' removes it)" : "";
  cmd->add_option("--concurrency", f->concurrency,
                  "At most N messages of the queue leased at once" + clear);
  cmd->add_option("--worker-concurrency", f->worker_concurrency,
                  "At most N messages leased at once by one worker" + clear);
  cmd->add_option("--key-concurrency", f->key_concurrency,
                  "At most N messages leased at once per concurrency key" + clear);
  cmd->add_option("--rate-limit", f->rate_limit,
                  "At most N leases per period, as N/DURATION (e.g. 100/1s)" + clear);
  cmd->add_option("--retain-archived", f->retain_archived,
                  "Keep archived messages this long (e.g. 7d)" + clear);
  cmd->add_option("--retain-dead", f->retain_dead,
                  "Keep dead letters this long (e.g. 30d)" + clear);
}

void apply_queue_option_flags(const QueueOptionFlags& f, QueueOptions& o) {
  apply(f.concurrency, o.concurrency,
        [](const std::string& t) { return parse_int(t, "--concurrency"); });
  apply(f.worker_concurrency, o.worker_concurrency,
        [](const std::string& t) { return parse_int(t, "--worker-concurrency"); });
  apply(f.key_concurrency, o.key_concurrency,
        [](const std::string& t) { return parse_int(t, "--key-concurrency"); });
  apply(f.rate_limit, o.rate_limit, [](const std::string& t) {
    const auto slash = t.find('/');
    if (slash == std::string::npos) {
      throw UsageError("--rate-limit: '" + t + "' is not N/DURATION (e.g. 100/1s)");
    }
    return RateLimit{parse_int(t.substr(0, slash), "--rate-limit"),
                     parse_span(t.substr(slash + 1), "--rate-limit")};
  });
  apply(f.retain_archived, o.retain_archived,
        [](const std::string& t) { return parse_span(t, "--retain-archived"); });
  apply(f.retain_dead, o.retain_dead,
        [](const std::string& t) { return parse_span(t, "--retain-dead"); });
}

void add_message_flags(CLI::App* cmd, const std::shared_ptr<MessageFlags>& f) {
  cmd->add_option("--priority", f->priority,
                  "Smaller is delivered first (default 0, negatives allowed)");
  cmd->add_option("--dedup-key", f->dedup_key,
                  "Store nothing while a live message of the queue has this key");
  cmd->add_option("--concurrency-key", f->concurrency_key,
                  "The key the queue's --key-concurrency counts by");
}

MessageOptions message_options(const MessageFlags& f) {
  MessageOptions o;
  if (f.priority) o.priority = *f.priority;
  o.dedup_key = f.dedup_key;
  o.concurrency_key = f.concurrency_key;
  return o;
}

void register_queue_update_command(CLI::App* group, Context& ctx) {
  struct Args {
    std::string queue;
    std::shared_ptr<QueueOptionFlags> flags = std::make_shared<QueueOptionFlags>();
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = group->add_subcommand("update", "Change a queue's flow-control options");
  cmd->add_option("QUEUE", a->queue, "Queue name")->required();
  add_queue_option_flags(cmd, a->flags, /*clearable=*/true);
  on_run(cmd, ctx, [&ctx, a] {
    if (!a->flags->any()) throw UsageError("queue update: give at least one option to change");
    const QueueInfo q = ctx.admin().update_queue(
        a->queue, [&](QueueOptions& o) { apply_queue_option_flags(*a->flags, o); });
    Output out = ctx.output();
    if (out.json()) {
      out.print_json({{"ok", true}, {"queue", to_json(q)}});
    } else {
      out.print_fields(queue_fields(q));
    }
  });
}

}  // namespace pgqrs::cli
