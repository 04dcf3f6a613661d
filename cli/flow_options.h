// Flow-control flags of the CLI (issue 14): queue options on `queue create|update` and
// message fields on `queue enqueue`. Values are parsed after CLI11 so that a bad limit is the
// engine's typed ValidationError naming the field, exactly as from C++ or Python.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "pgqrs/queue_options.h"

namespace pgqrs::cli {

// The queue option flags as given. On update, "none" clears an option.
struct QueueOptionFlags {
  std::optional<std::string> concurrency, worker_concurrency, key_concurrency, rate_limit,
      retain_archived, retain_dead;
  bool any() const {
    return concurrency || worker_concurrency || key_concurrency || rate_limit || retain_archived ||
           retain_dead;
  }
};

// Adds --concurrency, --worker-concurrency, --key-concurrency, --rate-limit N/DURATION,
// --retain-archived DURATION, --retain-dead DURATION to `cmd`. `clearable`: "none" allowed.
void add_queue_option_flags(CLI::App* cmd, const std::shared_ptr<QueueOptionFlags>& flags,
                            bool clearable);
// Applies the given flags to `options`. UsageError for a malformed number or duration.
void apply_queue_option_flags(const QueueOptionFlags& flags, QueueOptions& options);

struct MessageFlags {
  std::optional<std::int32_t> priority;
  std::optional<std::string> dedup_key, concurrency_key;
};
// Adds --priority, --dedup-key, --concurrency-key to `cmd`.
void add_message_flags(CLI::App* cmd, const std::shared_ptr<MessageFlags>& flags);
MessageOptions message_options(const MessageFlags& flags);

// `pgqrs queue update QUEUE [option flags]` under the `queue` group.
class Context;
void register_queue_update_command(CLI::App* group, Context& ctx);

}  // namespace pgqrs::cli
