// pgqrs s3 state | snapshot | sync: explicit replication control of an s3:// store
// (docs/s3.md). These commands do not snapshot on start or sync afterwards by themselves.
#include "commands.h"
#include "pgqrs/s3.h"

namespace pgqrs::cli {
namespace {

void print_state(Context& ctx, const S3Store& s3, const char* done) {
  const std::string state(to_string(s3.state()));
  Output out = ctx.output();
  if (out.json()) {
    nlohmann::json j = {{"dsn", ctx.redacted_dsn()}, {"state", state}};
    if (done != nullptr) j["ok"] = true;
    out.print_json(j);
  } else {
    if (done != nullptr) out.print_line(std::string(done) + " " + ctx.redacted_dsn());
    out.print_line("state: " + state);
  }
}

}  // namespace

void register_s3_commands(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("s3", "S3 stores: compare, pull or publish the local cache");
  group->require_subcommand(1);

  on_run(group->add_subcommand("state", "How the local cache relates to the S3 object"), ctx,
         [&ctx] {
           ctx.set_s3_auto_sync(false);
           print_state(ctx, as_s3(ctx.store()), nullptr);
         });
  on_run(group->add_subcommand("snapshot",
                               "Replace the local cache with the S3 object (refused while the "
                               "cache has unsynced writes)"),
         ctx, [&ctx] {
           ctx.set_s3_auto_sync(false);
           S3Store s3 = as_s3(ctx.store());
           s3.snapshot();
           print_state(ctx, s3, "Snapshot of");
         });
  on_run(group->add_subcommand("sync",
                               "Publish the cache's unsynced writes to the S3 object (refused "
                               "when the object changed meanwhile)"),
         ctx, [&ctx] {
           ctx.set_s3_auto_sync(false);
           S3Store s3 = as_s3(ctx.store());
           s3.sync();
           print_state(ctx, s3, "Synced");
         });
}

}  // namespace pgqrs::cli
