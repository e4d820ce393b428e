"""Small pieces every benchmark (benchmarks/<name>.py, benchmarks/pipeline.py) and the e2e
harness share: progress on stderr, percentiles, a process's CPU time and peak RSS from /proc, a
readiness probe, and the store's own write ceiling measured in the same run."""
from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path


def say(message: str) -> None:
    """Progress goes to stderr: stdout carries the one JSON result."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_bytes(pid: int | None) -> int | None:
    """VmHWM: the peak resident set of a process since it started (None if it is gone)."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def proc_stat(pid: int) -> tuple[float, int | None]:
    """(CPU seconds used so far, VmHWM bytes) of a process."""
    return cpu_seconds(pid), peak_rss_bytes(pid)


def http_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


async def mongo_ceiling(uri: str, database: str, docs: int = 20_000) -> int:
    """The store's own insert_many rate (batches of 500, ~200-byte documents), reported beside every
    figure that depends on it."""
    from pymongo import AsyncMongoClient

    client = AsyncMongoClient(uri)
    try:
        collection = client[database]["bench_ceiling"]
        payload = [{"_id": f"d{i}", "brand_id": "bench", "n": i, "text": "x" * 200} for i in range(docs)]
        started = time.perf_counter()
        for i in range(0, docs, 500):
            await collection.insert_many(payload[i:i + 500], ordered=False)
        rate = docs / (time.perf_counter() - started)
        await collection.drop()
        return round(rate)
    finally:
        await client.close()


def run_context(peak_rss: int | None, store_ceiling: int) -> dict:
    """The figures every benchmark reports beside its own: the process's peak RSS and what the
    machine and the store could do during the run."""
    return {"peak_rss_mb": round((peak_rss or 0) / 2**20, 1), "mongo_insert_many_docs_per_s": store_ceiling,
            "mongo_storage": "sqlite file", "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}


def self_time(collapsed: Path, top: int = 8) -> list[str]:
    """The `top` frames by self time in a py-spy collapsed-stack file, as "NN% frame"."""
    counts: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            frame = stack.split(";")[-1]
            counts[frame] = counts.get(frame, 0) + int(count)
            total += int(count)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    return [f"{100 * n / total:.0f}% {frame}" for frame, n in ranked]


def print_result(run, prefix: str) -> int:
    """Runs `run(tmp_folder)` (a coroutine function) in a fresh temporary folder and prints its
    figures, plus the wall time, as the one JSON document on stdout."""
    import asyncio
    import json
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        result = asyncio.run(run(Path(tmp)))
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))
    return 0
