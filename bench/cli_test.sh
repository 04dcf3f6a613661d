#!/usr/bin/env bash
# ctest pgqrs_bench_cli: every bad command line exits 2 with a message naming the flag, and
# small real runs on SQLite (drain with 2 consumers, enqueue, workflow.steps) exit 0 with
# errors = 0 and write the JSONL / table output they were asked for.
#   cli_test.sh PGQRS_BENCH_BINARY
set -u
bin=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
db="sqlite://$tmp/bench.db"

expect_usage() {  # expect_usage WORD-IN-MESSAGE ARGS...
  local want=$1
  shift
  local out rc
  out=$("$bin" "$@" 2>&1)
  rc=$?
  if [[ $rc != 2 || $out != *"$want"* ]]; then
    echo "FAIL: pgqrs-bench $* -> exit $rc (want 2, message with '$want'): $out" | head -n 3
    fail=1
  fi
}

expect_usage "--scenario is required"
expect_usage "--dsn is required" --scenario queue.drain
expect_usage "unknown scenario" --scenario queue.nope --dsn "$db"
expect_usage "--consumers" --scenario queue.drain --dsn "$db" --consumers 0
expect_usage "--consumers" --scenario queue.drain --dsn "$db" --consumers 1000
expect_usage "--batch" --scenario queue.drain --dsn "$db" --batch abc
expect_usage "--batch" --scenario queue.drain --dsn "$db" --batch 10x
expect_usage "--messages" --scenario queue.drain --dsn "$db" --messages -5
expect_usage "--rate" --scenario queue.latency --dsn "$db" --rate 0
expect_usage "--rate" --scenario queue.latency --dsn "$db" --rate nan
expect_usage "--steps" --scenario workflow.steps --dsn "$db" --steps 0
expect_usage "--lease" --scenario queue.drain --dsn "$db" --lease 0
expect_usage "--rss-mark" --scenario queue.drain --dsn "$db" --rss-mark x
expect_usage "--format" --scenario queue.drain --dsn "$db" --format xml
expect_usage "--output" --scenario queue.drain --dsn "$db" --output ""
expect_usage "missing value" --scenario queue.drain --dsn
expect_usage "unknown flag" --scenario queue.drain --dsn "$db" --bogus 1
expect_usage "unexpected argument" queue.drain
expect_usage "--worker-child" --scenario queue.drain --dsn "$db" --worker-child x
expect_usage "--prune-archived" --scenario queue.drain --dsn "$db" --prune-archived 0
expect_usage "only for queue.drain" --scenario queue.enqueue --dsn "$db" --prune-archived 10
expect_usage "Postgres only" --scenario queue.drain --dsn "$db" --prune-archived 10 --messages 10
# Checked against the store's configuration after connecting: still a usage error.
expect_usage "default_max_batch_size" --scenario queue.drain --dsn "$db" --batch 500 --messages 10

# check_record FILE SCENARIO: one JSON line with errors 0 and the BENCHMARKS.md fields.
check_record() {
  python3 - "$1" "$2" <<'PY' || fail=1
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 1, f"{len(lines)} records"
r = json.loads(lines[0])
for k in ("scenario", "backend", "consumers", "batch", "messages", "msgs_per_s", "wall_ms",
          "p50_ms", "p95_ms", "p99_ms", "errors", "git_rev", "host", "peak_rss_kb"):
    assert k in r, f"missing {k}"
assert r["scenario"] == sys.argv[2] and r["backend"] == "sqlite", r
assert r["errors"] == 0 and r["msgs_per_s"] > 0, r
PY
}

if "$bin" --scenario queue.drain --dsn "$db" --consumers 2 --batch 10 --messages 500 \
  --output "$tmp/drain.jsonl" >"$tmp/stdout" 2>"$tmp/stderr"; then
  check_record "$tmp/drain.jsonl" queue.drain
  cmp -s "$tmp/drain.jsonl" "$tmp/stdout" || { echo "FAIL: stdout differs from --output"; fail=1; }
  grep -q "queue.drain 500/500" "$tmp/stderr" || { echo "FAIL: no progress line"; fail=1; }
else
  echo "FAIL: drain run: $(cat "$tmp/stderr")"
  fail=1
fi
if "$bin" --scenario queue.enqueue --dsn "$db" --consumers 2 --batch 7 --messages 100 --quiet \
  --format table >"$tmp/table" 2>"$tmp/stderr"; then
  grep -Eq '^errors +0$' "$tmp/table" || { echo "FAIL: table output: $(cat "$tmp/table")"; fail=1; }
  [[ ! -s $tmp/stderr ]] || { echo "FAIL: --quiet printed: $(cat "$tmp/stderr")"; fail=1; }
else
  echo "FAIL: enqueue run: $(cat "$tmp/stderr")"
  fail=1
fi
if "$bin" --scenario workflow.steps --dsn "$db" --consumers 2 --messages 20 --steps 3 --quiet \
  >"$tmp/steps.jsonl" 2>"$tmp/stderr"; then
  check_record "$tmp/steps.jsonl" workflow.steps
else
  echo "FAIL: workflow.steps run: $(cat "$tmp/stderr")"
  fail=1
fi
exit $fail
