"""Readiness: what a service needs right now, checked on demand, bounded and cached.

A component takes part by having `ready` (a start-up flag) and optionally `async probe() -> bool`
(a live check: the store answers a ping, the broker answers a metadata request, the consumer is in
its group). Every probe is bounded by PROBE_TIMEOUT_SECONDS and /readyz answers from a cache at most
CACHE_SECONDS old, so a kubelet probing every second costs one ping and one metadata request per
component per second at most. Liveness (/healthz) never runs these: a store outage must take a pod
out of the load balancer, not restart it.
"""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping

PROBE_TIMEOUT_SECONDS = 1.0
CACHE_SECONDS = 1.0

Checks = Callable[[], Mapping[str, bool] | Awaitable[Mapping[str, bool]]]


async def bounded(probe: Callable[[], Awaitable[bool]], timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """A probe's answer, False when it raised or did not answer within `timeout`."""
    try:
        async with asyncio.timeout(timeout):
            return bool(await probe())
    except Exception:  # noqa: BLE001 - any failure of a probe means "not ready", never a 500
        return False


async def broker_reachable(client) -> bool:
    """One metadata request for no topics (cheap on any cluster size) to a known broker, over an
    aiokafka client's own connections; raises when the broker cannot be reached."""
    from aiokafka.protocol.metadata import MetadataRequest

    node = client.get_random_node()
    if node is None:
        return False
    await client.send(node, MetadataRequest([]))
    return True


class CachedReadiness:
    """Runs the checks at most once per `ttl` seconds; concurrent callers share one run."""

    def __init__(self, checks: Checks, ttl: float = CACHE_SECONDS) -> None:
        self._checks = checks
        self._ttl = ttl
        self._value: dict[str, bool] | None = None
        self._at = 0.0
        self._running: asyncio.Task | None = None

    async def get(self) -> dict[str, bool]:
        if self._value is not None and time.monotonic() - self._at < self._ttl:
            return self._value
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(self._run())
        return await asyncio.shield(self._running)

    async def _run(self) -> dict[str, bool]:
        result = self._checks()
        if inspect.isawaitable(result):
            result = await result
        self._value, self._at = dict(result), time.monotonic()
        return self._value
