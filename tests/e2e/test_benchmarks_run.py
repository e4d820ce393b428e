"""`make bench` keeps working: each service benchmark runs end to end at a small size and reports its
figures. Two of them had stopped working unnoticed (a config path moved, an SLA store API went away),
and a benchmark that does not run measures nothing. No figure is judged here (speed is the
benchmarks' business, not the tests'); only that each run completes, counts what it was given, and
prints the JSON object tools/bench.py reads."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from bench import run_bench  # noqa: E402 - tools/bench.py, as make bench runs each one


def run(script: str, *args: str) -> dict:
    figures = run_bench([sys.executable, str(REPO / "benchmarks" / script), *args], dict(os.environ), 240)
    assert "status" not in figures, figures  # failed / timeout, with the end of its output
    return figures


def test_the_router_benchmark_routes_every_conversation_it_publishes():
    figures = run("router.py", "--burst", "40", "--paced", "10", "--rate", "20")
    assert figures["routing"]["burst_assigned"] == 40 and figures["routing"]["paced_assigned"] == 10
    assert figures["bot_decision"]["calls"] > 0 and figures["language_detection"]


def test_the_sla_lateness_benchmark_fires_every_due_breach_once():
    figures = run("sla.py", "--lateness-run", "--open", "100", "--due", "20", "--rate", "50")
    assert figures["due_timers"] == 20 and figures["open_timers"] == 120
    assert figures["armed_before_first_deadline"] == 20


def test_the_store_queries_benchmark_times_every_query_at_both_sizes():
    figures = run("store_queries.py", "--small", "300", "--large", "600", "--repeat", "2")
    assert figures["sizes"] == [300, 600]
    assert {"router_tick", "router_history_10", "notifier_count_open", "notifier_candidates",
            "ingest_dedupe_tail"} <= figures["ms"].keys()
    assert all(v["small"] > 0 and v["large"] > 0 for v in figures["ms"].values())
