"""Console live-update latency: a customer's webhook answered 2xx by ingest -> the new conversation's row
visible in a supervisor's open inbox in a real browser (Server-Sent Events), on an idle stack.

Own Tansu broker and nx-27017 store; ingest, router, sla, notifier, analytics and the console as
processes (tests/e2e/harness.py); Debian's /usr/bin/chromium through Playwright. Each sample is one
Mailgun-signed email from a new customer, sent only after the previous row showed. The browser stamps
the moment the row appears (MutationObserver, wall clock) and the sample is that minus the wall-clock
time of the webhook's 2xx. Prints one JSON object last (tools/bench.py reads it).

Usage: python benchmarks/console_live.py [--samples 20] [--warmup 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import console_browser_kit as kit  # noqa: E402
from switchboard.common import processes  # noqa: E402


def measure(samples: int, warmup: int) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = processes.broker(processes.free_port(), work).start()
        store = processes.mongo(processes.free_port(), "memory", work).start()
        cs = None
        try:
            started = time.perf_counter()
            cs = kit.start_console_stack(f"127.0.0.1:{broker.port}", processes.mongo_uri(store.port), work)
            stack_up = time.perf_counter() - started
            with sync_playwright() as playwright:
                browser = kit.launch(playwright)
                page = kit.login(kit.new_context(browser), cs.console, "sam")
                page.goto(f"{cs.console}/inbox?view=all&status=any")
                kit.wait_live(page)
                customers = kit.Customers(cs.ingest, "acme", cs.secrets("acme"))
                kit.live_update_latency(page, customers, "warmup", warmup)
                values = kit.live_update_latency(page, customers, "bench", samples)
                browser.close()
        finally:
            if cs is not None:
                cs.stop()
            store.stop()
            broker.stop()
    ms = [round(v * 1000, 1) for v in values]
    return {"samples": len(ms), "p50_ms": kit.percentile(ms, 50), "p95_ms": kit.percentile(ms, 95),
            "max_ms": max(ms), "target_ms": 1000, "stack_start_s": round(stack_up, 1), "latency_runs": ms,
            "note": "ingest webhook 2xx -> row visible in an open console inbox (SSE), idle stack, "
                    "Chromium + 6 service processes on this machine"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    if not Path(kit.CHROMIUM).exists():
        print(json.dumps({"status": "skipped", "detail": f"{kit.CHROMIUM} missing (make system-deps)"}))
        return 0
    print(json.dumps(measure(args.samples, args.warmup)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
