"""ctest bench_render: docs/benchmarks.md's drain figures from a grid run in rounds. A ratio
is the median of the rounds' own ratios (each pair from one round), a rate the median round's,
errors add up over every round, a failed ceiling round drops only that round's pair, and a
run before rounds (records without the tag) still renders.
Usage: python3 render_test.py  (no third-party modules: the chart is not drawn)"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import render  # noqa: E402


def drain(backend, consumers, batch, rate, round_=None, errors=0, p50=1.0):
    r = {"scenario": "queue.drain", "backend": backend, "consumers": consumers, "batch": batch,
         "messages": 1000, "msgs_per_s": rate, "p50_ms": p50, "p95_ms": 2.0, "p99_ms": 3.0,
         "errors": errors, "peak_rss_kb": 2048, "label": "grid"}
    if round_ is not None:
        r["round"] = round_
    return r


def ceiling(consumers, batch, rate, round_):
    return {"scenario": "ceiling.drain", "backend": "postgres", "consumers": consumers,
            "batch": batch, "messages": 1000, "msgs_per_s": rate, "left": 0, "round": round_}


def target(targets, prefix):
    found = [t for t in targets if t[0].startswith(prefix)]
    assert len(found) == 1, (prefix, targets)
    return found[0]


class DrainRoundsTest(unittest.TestCase):
    def test_ratio_is_the_median_of_per_round_ratios(self):
        # Round ratios 0.5, 1.2, 1.1: median 1.1. The ratio of the median rates would be
        # 200 / 200 = 1.0, which is not what any round measured side by side.
        records = [ceiling(1, 10, 400, 1), drain("postgres", 1, 10, 200, 1, p50=9.0),
                   ceiling(1, 10, 100, 2), drain("postgres", 1, 10, 120, 2, p50=7.0),
                   ceiling(1, 10, 200, 3), drain("postgres", 1, 10, 220, 3, errors=1, p50=5.0)]
        targets = []
        text = render.drain_section(records, "postgres", targets)
        name, measured, ok = target(targets, "postgres queue.drain 1x10")
        self.assertEqual(measured, "1.10")
        self.assertTrue(ok)
        row = [line for line in text.splitlines() if line.startswith("| 1 | 10 |")][0]
        cells = [c.strip() for c in row.strip("|").split("|")]
        self.assertEqual(cells[3], "200")        # the median round's rate (round 1)
        self.assertEqual(cells[4], "200")        # the ceiling's median round
        self.assertIn("9.000", cells)            # latencies of the median round (round 1)
        self.assertIn("0.50, 1.20, 1.10", cells)  # every round's ratio, in round order
        self.assertEqual(cells[header_index(text, "errors")], "1")  # summed over rounds

    def test_a_failed_ceiling_round_drops_only_its_pair(self):
        records = [ceiling(2, 50, 100, 1), drain("postgres", 2, 50, 90, 1),
                   drain("postgres", 2, 50, 10, 2),  # round 2: the ceiling failed
                   ceiling(2, 50, 100, 3), drain("postgres", 2, 50, 80, 3)]
        targets = []
        render.drain_section(records, "postgres", targets)
        _, measured, ok = target(targets, "postgres queue.drain 2x50")
        self.assertEqual(measured, "0.85")       # median of 0.90 and 0.80
        self.assertFalse(ok)

    def test_four_consumers_against_one_is_paired_by_round(self):
        # 4 vs 1 per round: 1.5, 0.5, 1.2 -> 1.2 (met); the medians alone give 150 / 150.
        records = []
        for rnd, one, four in ((1, 100, 150), (2, 300, 150), (3, 150, 180)):
            records += [drain("sqlite", 1, 10, one, rnd), drain("sqlite", 4, 10, four, rnd)]
        targets = []
        render.drain_section(records, "sqlite", targets)
        _, measured, ok = target(targets, "sqlite queue.drain 4 consumers ≥ 1 consumer (batch 10)")
        self.assertTrue(measured.startswith("1.20×"), measured)
        self.assertIn("1.50, 0.50, 1.20", measured)
        self.assertTrue(ok)

    def test_a_run_before_rounds_still_renders(self):
        records = [{"scenario": "ceiling.drain", "backend": "postgres", "consumers": 1,
                    "batch": 1, "messages": 1000, "msgs_per_s": 100.0, "left": 0},
                   drain("postgres", 1, 1, 150)]
        targets = []
        text = render.drain_section(records, "postgres", targets)
        _, measured, ok = target(targets, "postgres queue.drain 1x1")
        self.assertEqual(measured, "1.50")
        self.assertTrue(ok)
        self.assertNotIn("per round", text)
        self.assertEqual(render.drain_rates(records, "queue.drain", "postgres"), {(1, 1): 150})


def header_index(text, name):
    header = [line for line in text.splitlines() if line.startswith("| consumers")][0]
    return [c.strip() for c in header.strip("|").split("|")].index(name)


if __name__ == "__main__":
    unittest.main()
