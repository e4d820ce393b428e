"""Readiness answers are bounded and cached; brand labels stay within the configured brands."""
from __future__ import annotations

import asyncio

from switchboard.common import metrics
from switchboard.common.health import CachedReadiness, bounded


async def test_a_probe_that_hangs_or_raises_reads_not_ready_within_its_bound():
    async def hangs() -> bool:
        await asyncio.Event().wait()  # a store that never answers
        return True

    async def raises() -> bool:
        raise ConnectionError("store away")

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bounded(hangs, timeout=0.05) is False
    assert loop.time() - started < 1.0
    assert await bounded(raises) is False


async def test_readiness_is_checked_at_most_once_per_ttl_and_concurrent_probes_share_one_check():
    calls = []

    async def checks() -> dict[str, bool]:
        calls.append(1)
        await asyncio.sleep(0.01)
        return {"MongoComponent": len(calls) > 1}

    cached = CachedReadiness(checks, ttl=0.2)
    answers = await asyncio.gather(*(cached.get() for _ in range(5)))
    assert answers == [{"MongoComponent": False}] * 5 and len(calls) == 1
    assert await cached.get() == {"MongoComponent": False} and len(calls) == 1  # still fresh
    await asyncio.sleep(0.25)
    assert await cached.get() == {"MongoComponent": True} and len(calls) == 2  # the outage ended


async def test_synchronous_readiness_callables_still_work():
    assert await CachedReadiness(lambda: {"x": True}).get() == {"x": True}


def test_brand_labels_are_the_configured_brands_or_other(tmp_path):
    (tmp_path / "routing.yaml").write_text("brands:\n  acme: {}\n  globex: {}\n  '*': {}\n")
    assert metrics.brands_from_config(tmp_path) == ["acme", "globex"]
    metrics.use_brands(metrics.brands_from_config(tmp_path))
    try:
        assert [metrics.brand_label(b) for b in ("acme", "globex", "attacker-123", "", None)] == [
            "acme", "globex", "other", "other", "other"]
    finally:
        metrics.use_brands(())
    assert metrics.brands_from_config(tmp_path / "missing") == []
