"""Renders docs/benchmarks.md and the chart from the JSONL written by bench/run.

Usage: render.py --results R.jsonl --machine M.json --notes N.txt --narrative bench/notes.md
                 --markdown OUT.md --chart OUT.png
Every figure in the page comes from R.jsonl (one run); the narrative (what was optimised and
what it gained) is copied from bench/notes.md.
"""
import argparse
import json
import os
import statistics
from collections import defaultdict


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fmt(v, digits=0):
    if v is None:
        return "–"
    if isinstance(v, float) or digits:
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---:" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def by(records, scenario, backend=None, label="grid"):
    return [r for r in records if r["scenario"] == scenario
            and (backend is None or r["backend"] == backend)
            and r.get("label", "grid") == label]


def mark(ok):
    return "yes" if ok else "**no**"


def rounds(records, scenario, backend):
    """{(consumers, batch): {round: record}} of a drain grid. bench/run repeats the whole grid
    BENCH_DRAIN_ROUNDS times and tags each record with its round; a record without the tag (a
    run before rounds) is numbered by its order among the point's records."""
    out = defaultdict(dict)
    for r in by(records, scenario, backend):
        point = out[(r["consumers"], r["batch"])]
        point[r.get("round", len(point) + 1)] = r
    return out


def median_ratio(tops, bottoms):
    """The median over rounds of top / bottom (msgs_per_s of two {round: record} maps, paired
    by round: each pair was measured in the same round), with the per-round ratios in round
    order; (None, []) when no round has both."""
    ratios = [tops[k]["msgs_per_s"] / bottoms[k]["msgs_per_s"] for k in sorted(tops)
              if k in bottoms and bottoms[k]["msgs_per_s"]]
    return (statistics.median(ratios) if ratios else None), ratios


def median_record(point):
    """The round with the median rate (the lower middle one for an even count): its rate,
    latencies and RSS stand for the point."""
    ordered = sorted(point.values(), key=lambda r: r["msgs_per_s"])
    return ordered[(len(ordered) - 1) // 2]


def drain_rates(records, scenario, backend):
    """{(consumers, batch): the median round's msgs_per_s}."""
    return {k: median_record(v)["msgs_per_s"] for k, v in rounds(records, scenario, backend).items()}


def drain_section(records, backend, targets):
    ours = rounds(records, "queue.drain", backend)
    if not ours:
        return ""
    ceil = rounds(records, "ceiling.drain", backend)
    has_ceiling = bool(ceil)
    n_rounds = max(len(v) for v in ours.values())
    header = ["consumers", "batch", "messages", "pgqrs msg/s"]
    if has_ceiling:
        header += ["ceiling msg/s", "ratio"]
    header += ["vs batch 1", "vs 1 consumer", "p50 ms", "p95 ms", "p99 ms", "errors",
               "peak RSS MiB"]
    if n_rounds > 1:
        header += ["per round" + (" (ratio to ceiling)" if has_ceiling else " (msg/s)")]
    body = []
    for key in sorted(ours):
        rs = ours[key]
        r = median_record(rs)
        line = [key[0], key[1], fmt(r["messages"]), fmt(r["msgs_per_s"])]
        ratio, per_round = median_ratio(rs, ceil.get(key, {}))
        if has_ceiling:
            c = ceil.get(key)
            line += [fmt(median_record(c)["msgs_per_s"]) if c else "–",
                     f"**{ratio:.2f}**" if ratio is not None and ratio < 1.0 else fmt(ratio, 2)]
            if ratio is not None:
                targets.append((f"{backend} queue.drain {key[0]}x{key[1]} ≥ 1.0 × ceiling",
                                f"{ratio:.2f}", ratio >= 1.0))
        vs_b1, _ = median_ratio(rs, ours.get((key[0], 1), {}))
        vs_c1, _ = median_ratio(rs, ours.get((1, key[1]), {}))
        line += [fmt(vs_b1, 1) + "×" if vs_b1 is not None else "–",
                 fmt(vs_c1, 2) + "×" if vs_c1 is not None else "–",
                 fmt(r["p50_ms"], 3), fmt(r["p95_ms"], 3), fmt(r["p99_ms"], 3),
                 sum(x["errors"] for x in rs.values()), fmt(r.get("peak_rss_kb", 0) / 1024, 1)]
        if n_rounds > 1:
            line.append(", ".join(fmt(x, 2) for x in per_round) if has_ceiling
                        else ", ".join(fmt(rs[k]["msgs_per_s"]) for k in sorted(rs)))
        body.append(line)
    if backend != "postgres":
        b50_vs_b1, _ = median_ratio(ours.get((1, 50), {}), ours.get((1, 1), {}))
        if b50_vs_b1 is not None:
            targets.append((f"{backend} queue.drain batch 50 ≥ 30 × batch 1 (1 consumer)",
                            f"{b50_vs_b1:.1f}×", b50_vs_b1 >= 30))
        for batch in (1, 10, 50):
            c4_vs_c1, per_round = median_ratio(ours.get((4, batch), {}),
                                               ours.get((1, batch), {}))
            if c4_vs_c1 is not None:
                rounds_text = (" (rounds: " + ", ".join(f"{x:.2f}" for x in per_round) + ")"
                               if len(per_round) > 1 else "")
                targets.append((f"{backend} queue.drain 4 consumers ≥ 1 consumer (batch {batch})",
                                f"{c4_vs_c1:.2f}×{rounds_text}", c4_vs_c1 >= 1.0))
    text = f"### {backend}\n\n" + table(header, body) + "\n"
    if not has_ceiling and backend == "postgres":
        text += "\nNo ceiling in this run (pg-ceiling not found): no ratio column.\n"
    return text


def simple_section(records, scenario, columns, title):
    rows = by(records, scenario)
    if not rows:
        return ""
    header = ["backend"] + [c[0] for c in columns]
    body = []
    for r in sorted(rows, key=lambda r: (r["backend"], r["consumers"], r["batch"],
                                        r.get("rate", 0))):
        body.append([r["backend"]] + [c[1](r) for c in columns])
    return f"## {title}\n\n" + table(header, body) + "\n"


def python_section(records, targets):
    """The side-by-side users switching from the original Python package look for."""
    py = [r for r in records if r["scenario"] == "python.drain"]
    if not py:
        return ""
    rate = {(r["package"], r["consumers"], r["batch"]): r for r in py}
    cpp = drain_rates(records, "queue.drain", "postgres")
    header = ["consumers", "batch", "original 0.15.3 msg/s", "ours (Python) msg/s",
              "ours / original", "ours (C++ pgqrs-bench) msg/s", "errors"]
    body = []
    for consumers, batch in sorted({(r["consumers"], r["batch"]) for r in py}):
        o, u = rate.get(("original", consumers, batch)), rate.get(("ours", consumers, batch))
        ratio = u["msgs_per_s"] / o["msgs_per_s"] if o and u else None
        if ratio is not None:
            targets.append((f"postgres python.drain {consumers}x{batch}: ours ≥ original",
                            f"{ratio:.2f}×", ratio >= 1.0))
        body.append([consumers, batch, fmt(o and o["msgs_per_s"]), fmt(u and u["msgs_per_s"]),
                     fmt(ratio, 2) + "×" if ratio is not None else "–",
                     fmt(cpp.get((consumers, batch))),
                     sum(r["errors"] for r in (o, u) if r)])
    m = py[0]["messages"]
    return ("## Python: side by side with the original pgqrs (PostgreSQL)\n\n"
            f"`bench/python_drain.py`, the same script for both packages (each installed in its "
            f"own venv, each in its own database on the same server): prefill {m:,} messages, "
            "then N asyncio consumers loop `await consumer.dequeue(batch_size=B)` + "
            "`await consumer.archive_many(ids)` until the queue is empty. The C++ column is "
            "the queue.drain grid above at the same point (its median round).\n\n"
            + table(header, body) + "\n")


def flow_section(records, targets):
    """Postgres flow control: each variant against the unlimited baseline run just before it
    (bench/run repeats base, keys, base, priorities, base, prune for BENCH_FLOW_ROUNDS
    rounds at 4 consumers, batch 10). A variant's ratio is the median of its rounds' ratios
    (variant / the baseline just before it): one drain varies by about +-13% between runs,
    and now and then one stalls to a fifth of its rate; the median of three rounds is moved
    by neither."""
    rows = [r for r in records if r["scenario"] == "queue.drain" and r["backend"] == "postgres"
            and str(r.get("label", "")).startswith("flow-")]
    if not rows:
        return None
    wanted = {"flow-keys": ("1,000 keys, key_concurrency 1", 0.7),
              "flow-priorities": ("10 priorities", 0.9),
              "flow-prune": ("prune of archived rows during the drain", 0.8)}
    pairs, base = {}, None  # label -> [(baseline, variant)], in run order
    for r in rows:
        if r["label"] == "flow-base":
            base = r
        elif base is not None:
            pairs.setdefault(r["label"], []).append((base, r))
    body = []
    for label, runs in pairs.items():
        what, floor = wanted.get(label, (label, None))
        last = runs[-1][1]
        if label == "flow-prune":
            what = f"prune of {last.get('prune_rows', 0):,} archived rows during the drain"
        base_mean = sum(b["msgs_per_s"] for b, _ in runs) / len(runs)
        mean = sum(v["msgs_per_s"] for _, v in runs) / len(runs)
        ratios = [v["msgs_per_s"] / b["msgs_per_s"] for b, v in runs if b["msgs_per_s"]]
        ratio = statistics.median(ratios) if ratios else None
        errors = sum(v["errors"] for _, v in runs)
        notes = ["rounds: " + ", ".join(fmt(r, 2) for r in ratios)]
        if label == "flow-prune":
            under = all(v.get("msgs_per_s_during_prune") is None for _, v in runs)
            notes.append("prunes took " + ", ".join(fmt(v.get("prune_ms")) for _, v in runs)
                         + f" ms, deleted {fmt(last.get('prune_deleted'))} each; "
                         + ("every drain ran entirely under its prune" if under else
                            "some prunes ended before their drain (msgs_per_s_during_prune in "
                            "the jsonl)"))
        body.append([what, len(runs), fmt(base_mean), fmt(mean), fmt(ratio, 2) if ratio else "—",
                     f"≥ {floor}" if floor else "", errors, "; ".join(notes)])
        if floor and ratio:
            targets.append((f"postgres flow control: {what} ≥ {floor}× the unlimited drain",
                            f"{ratio:.2f}×", ratio >= floor and errors == 0))
    return "\n".join(["## Flow control (PostgreSQL, 4 consumers, batch 10)", "",
                      "Each variant runs right after an unlimited drain of the same size on the "
                      "same server; the pairs repeat for several rounds (BENCH_FLOW_ROUNDS). "
                      "The ratio is the median of the rounds' ratios (each round's in the "
                      "notes); the rates are means over the rounds.", "",
                      table(["variant", "rounds", "baseline msg/s (mean)", "msg/s (mean)",
                             "ratio (median)", "target", "errors", "notes"], body), ""])


def chart(records, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    backends = [b for b in ("postgres", "sqlite", "turso", "s3")
                if by(records, "queue.drain", b)]
    if not backends:
        return
    fig, axes = plt.subplots(1, len(backends), figsize=(6 * len(backends), 4.5), squeeze=False)
    for ax, backend in zip(axes[0], backends):
        rows = drain_rates(records, "queue.drain", backend)
        ceil = drain_rates(records, "ceiling.drain", backend)
        batches = [1, 10, 50]
        width = 0.25
        for k, consumers in enumerate((1, 2, 4)):
            xs = [i + (k - 1) * width for i in range(len(batches))]
            ys = [rows.get((consumers, b), 0) for b in batches]
            ax.bar(xs, ys, width, label=f"pgqrs, {consumers} consumer(s)")
            if ceil:
                cy = [ceil.get((consumers, b)) for b in batches]
                ax.scatter(xs, [c if c else float("nan") for c in cy], color="black",
                           marker="_", s=300, linewidths=2,
                           label="ceiling (pgbench)" if k == 0 else None)
        ax.set_xticks(range(len(batches)))
        ax.set_xticklabels([f"batch {b}" for b in batches])
        ax.set_yscale("log")
        ax.set_ylabel("messages / s (log)")
        ax.set_title(f"queue.drain on {backend}")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    for a in ("results", "machine", "notes", "narrative", "markdown", "chart"):
        ap.add_argument("--" + a, required=True)
    args = ap.parse_args()
    records = load(args.results)
    with open(args.machine) as f:
        machine = json.load(f)
    notes = open(args.notes).read().strip() if os.path.exists(args.notes) else ""
    narrative = open(args.narrative).read().strip() if os.path.exists(args.narrative) else ""
    targets = []

    out = ["# Benchmarks", "",
           "Generated by `bench/run` (`make bench`) from one run: every ratio below compares "
           "figures measured in that run, on the same machine and, for Postgres, the same "
           "server. Harness and targets: `../shared/docs/BENCHMARKS.md`; the harness is "
           "`pgqrs-bench` (bench/). Do not edit by hand: run `make bench`.", "",
           "## Run", "",
           f"- command: `{machine['command']}` (release preset), {machine['date']}, "
           f"git {machine['git_rev']}",
           f"- machine: {machine['cpu']}, {machine['cores']} cores (shared with other work), "
           f"{machine['memory_gib']} GiB, {machine['os']}, Linux {machine['kernel']}",
           f"- PostgreSQL {machine['postgres']} ({machine['postgres_settings']}), throwaway "
           "server from scripts/pg-test-server; SQLite " + machine["sqlite"],
           f"- reference ceiling: `{machine['ceiling']}`",
           f"- sizes: queue.drain / queue.enqueue M = {machine['messages']:,} "
           f"(BENCH_MESSAGES), memory run {machine['memory_messages']:,} "
           f"(BENCH_MEMORY_MESSAGES), workflow.steps W = {machine['runs']:,} (BENCH_RUNS)",
           "- one pgqrs-bench command per row, e.g. `pgqrs-bench --scenario queue.drain --dsn "
           "DSN --consumers 4 --batch 50 --messages M`; the raw records are in "
           "`docs/benchmarks.jsonl`", ""]
    if notes:
        out += ["Skipped or failed in this run:", ""] + [f"- {n}" for n in notes.splitlines()] + [""]

    out += ["## queue.drain", "",
            "Prefill M messages, then N consumer threads (each its own consumer worker) run "
            "`dequeue().worker(c).batch(B).until_empty().handle_batch(fn).poll(store)` until "
            "the queue is empty. Latencies: per batch, the library's time between the handler "
            "returning and the next handler starting (acknowledge + lease). `errors` counts "
            "messages lost, delivered twice or left unarchived (must be 0). The ratio is "
            "pgqrs / ceiling at the same point, measured right after the ceiling on the same "
            "server (`pg-ceiling DSN N B M`: pgbench, one leasing and one archiving "
            "transaction per batch, no library). The whole grid runs in rounds "
            "(BENCH_DRAIN_ROUNDS): a point drained once swung by a third between runs of the "
            "same code on this shared host. A rate is the median round's, and a ratio (to the "
            "ceiling, to batch 1, to 1 consumer) is the median of the rounds' ratios, each "
            "taken within one round; `errors` adds up every round.", "",
            "![queue.drain](benchmarks.png)", ""]
    for backend in ("postgres", "sqlite", "turso", "s3"):
        s = drain_section(records, backend, targets)
        if s:
            out += [s]

    out.append(simple_section(records, "queue.enqueue", [
        ("producers", lambda r: r["consumers"]), ("batch", lambda r: r["batch"]),
        ("msg/s", lambda r: fmt(r["msgs_per_s"])), ("p50 ms", lambda r: fmt(r["p50_ms"], 3)),
        ("p99 ms", lambda r: fmt(r["p99_ms"], 3)), ("errors", lambda r: r["errors"])],
        "queue.enqueue"))
    lat = by(records, "queue.latency")
    for r in lat:
        if r["backend"] == "postgres" and r.get("rate") == 1000:
            targets.append(("postgres queue.latency p50 < 5 ms at 1,000 msg/s",
                            f"{r['p50_ms']:.2f} ms", r["p50_ms"] < 5))
            targets.append(("postgres queue.latency p99 < 20 ms at 1,000 msg/s",
                            f"{r['p99_ms']:.2f} ms", r["p99_ms"] < 20))
        # Issue 17: the file databases' wake-ups across stores (inotify), at every rate run.
        if r["backend"] in ("sqlite", "turso") and r.get("rate"):
            at = f"at {r['rate']:,.0f} msg/s"
            targets.append((f"{r['backend']} queue.latency p50 < 5 ms {at}",
                            f"{r['p50_ms']:.2f} ms", r["p50_ms"] < 5))
            targets.append((f"{r['backend']} queue.latency p99 < 25 ms {at}",
                            f"{r['p99_ms']:.2f} ms", r["p99_ms"] < 25))
    out.append(simple_section(records, "queue.latency", [
        ("rate/s", lambda r: fmt(r.get("rate"))), ("achieved/s", lambda r: fmt(r["msgs_per_s"])),
        ("p50 ms", lambda r: fmt(r["p50_ms"], 2)), ("p95 ms", lambda r: fmt(r["p95_ms"], 2)),
        ("p99 ms", lambda r: fmt(r["p99_ms"], 2)), ("max ms", lambda r: fmt(r.get("max_ms"), 2)),
        ("poll interval ms", lambda r: r.get("poll_interval_ms")),
        ("errors", lambda r: r["errors"])],
        "queue.latency (enqueue commit → handler start; the producer uses its own Store)"))
    out.append(python_section(records, targets))
    out.append(flow_section(records, targets))
    for r in by(records, "workflow.steps"):
        if r["backend"] == "postgres":
            one_thread = r.get("step_overhead_vs_one_thread_commit")
            versus = f" ({one_thread:.2f}× one thread's)" if r["consumers"] > 1 and one_thread else ""
            timed = ("; commits timed with as many threads" if "commit_ms_one_thread" in r
                     else "")  # records from before B9 timed one thread's commits
            targets.append((f"postgres workflow step overhead ≤ 2 × one commit ({r['consumers']} "
                            f"worker(s){timed})",
                            f"{r.get('step_overhead_vs_commit', 0):.2f}×{versus}",
                            r.get("step_overhead_vs_commit", 99) <= 2))
    out.append(simple_section(records, "workflow.steps", [
        ("workers", lambda r: r["consumers"]), ("runs", lambda r: fmt(r["messages"])),
        ("steps/run", lambda r: r.get("steps")), ("runs/s", lambda r: fmt(r["msgs_per_s"])),
        ("steps/s", lambda r: fmt(r.get("steps_per_s"))),
        ("step p50 ms", lambda r: fmt(r["p50_ms"], 3)), ("step p99 ms", lambda r: fmt(r["p99_ms"], 3)),
        ("one commit ms", lambda r: fmt(r.get("commit_ms"), 3)),
        ("step / commit", lambda r: fmt(r.get("step_overhead_vs_commit"), 2)),
        ("one thread's commit ms", lambda r: fmt(r.get("commit_ms_one_thread", r.get("commit_ms")), 3)),
        ("step / one thread's commit", lambda r: fmt(r.get("step_overhead_vs_one_thread_commit",
                                                           r.get("step_overhead_vs_commit")), 2)),
        ("errors", lambda r: r["errors"])],
        "workflow.steps (step latency = one workflow_step call with a no-op body; one commit = "
        "p50 of single-message enqueues on the same store, by as many threads at once as there "
        "are workers (decision B9); one thread's commit = the same with one thread)"))
    for r in by(records, "workflow.recovery"):
        targets.append((f"{r['backend']} workflow.recovery: finished steps re-executed = 0",
                        str(r.get("reexecuted_finished_steps")),
                        r.get("reexecuted_finished_steps") == 0 and r["errors"] == 0))
    out.append(simple_section(records, "workflow.recovery", [
        ("runs", lambda r: r["messages"]), ("steps/run", lambda r: r.get("steps")),
        ("lease s", lambda r: r.get("lease_s")), ("done at kill", lambda r: r.get("runs_done_at_kill")),
        ("kill → all done ms", lambda r: fmt(r.get("recovery_ms"))),
        ("finished steps re-run", lambda r: r.get("reexecuted_finished_steps")),
        ("interrupted steps re-run", lambda r: r.get("rerun_interrupted_steps")),
        ("errors", lambda r: r["errors"])],
        "workflow.recovery (a worker process SIGKILLed after a third of the runs, then a new one)"))

    mem = by(records, "queue.drain", label="memory")
    if mem:
        header = ["backend", "messages", "RSS at 10k MiB", "RSS at end MiB", "growth MiB",
                  "peak RSS MiB", "msg/s", "errors"]
        body = []
        for r in mem:
            grow = (r["rss_kb_end"] - r["rss_kb_at_mark"]) / 1024
            body.append([r["backend"], fmt(r["messages"]), fmt(r["rss_kb_at_mark"] / 1024, 1),
                         fmt(r["rss_kb_end"] / 1024, 1), fmt(grow, 1),
                         fmt(r["peak_rss_kb"] / 1024, 1), fmt(r["msgs_per_s"]), r["errors"]])
            targets.append((f"{r['backend']} consumer memory after {r['messages']:,} ≤ after 10k "
                            "(flat: ±0.5 MiB)", f"{grow:+.1f} MiB", abs(grow) <= 0.5))
        out += ["## Memory", "",
                "One consumer drains a long queue (batch 50); resident memory of the bench "
                "process is sampled when 10,000 messages have been processed and again at the "
                "end, in the same run.", "", table(header, body), ""]

    if targets:
        out += ["## Targets", "", table(["target", "measured", "met"],
                                        [[t, m, mark(ok)] for t, m, ok in targets]), ""]
    if narrative:
        out += [narrative, ""]
    with open(args.markdown, "w") as f:
        f.write("\n".join(x for x in out if x is not None).rstrip() + "\n")
    chart(records, args.chart)


if __name__ == "__main__":
    main()
