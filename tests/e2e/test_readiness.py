"""Honest readiness: /readyz of every service turns 503 within 5 s of the store or the broker going
away and 200 within 5 s of its return, while /healthz (liveness) stays 200 throughout, so an
outage takes pods out of the load balancer but never restarts them.

The five services run as real processes against a broker and a store of this test's own, which it
kills (-9) and starts again: the store on the same file (its data survives), the broker empty (the
embedded broker keeps its log in memory; see docs/operations.md).
"""
from __future__ import annotations

import time
import urllib.request

import harness
import pytest
from switchboard.common import processes

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

BOUND_S = 5.0


def status(port: int, path: str) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def time_until_all(stack: harness.Stack, wanted: int, since: float, timeout: float = 20.0) -> dict[str, float]:
    """Seconds from `since` until each service's /readyz answered `wanted`; /healthz must stay 200."""
    reached: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(reached) < len(stack.services) and time.monotonic() < deadline:
        for name, service in stack.services.items():
            assert service.running, f"{name} exited: {stack.tail(name)}"
            assert status(service.port, "/healthz") == 200, f"{name} liveness failed during the outage"
            if name not in reached and status(service.port, "/readyz") == wanted:
                reached[name] = round(time.monotonic() - since, 2)
        time.sleep(0.1)
    missing = sorted(set(stack.services) - set(reached))
    assert not missing, f"/readyz of {missing} never answered {wanted} within {timeout}s (others: {reached})"
    return reached


@pytest.fixture
def peers(tmp_path):
    broker = processes.broker(processes.free_port(), tmp_path / "peers").start()
    store = processes.mongo(processes.free_port(), tmp_path / "store.db", tmp_path / "peers").start()
    yield broker, store
    for peer in (store, broker):
        peer.stop()


@pytest.fixture
def stack(peers, namespace, tmp_path):
    broker, store = peers
    config = harness.prepare_config(tmp_path / "config")
    s = harness.Stack(f"127.0.0.1:{broker.port}", processes.mongo_uri(store.port), namespace, config,
                      tmp_path / "logs", service_env={"router": {"SWITCHBOARD_DETECT_LANGUAGE": "false"}})
    s.start()
    yield s
    s.stop()


def test_readyz_follows_the_store_and_the_broker_within_5s_and_liveness_never_fails(stack, peers):
    broker, store = peers
    figures = {}
    deadline = time.monotonic() + 15  # each probe is bounded by 1 s: a loaded machine may miss one
    while not all(status(s.port, "/readyz") == 200 for s in stack.services.values()):
        assert time.monotonic() < deadline, "every service ready before the faults"
        time.sleep(0.2)

    store.kill()
    figures["store down -> 503"] = time_until_all(stack, 503, time.monotonic())
    store.start()
    figures["store back -> 200"] = time_until_all(stack, 200, time.monotonic())

    broker.kill()
    figures["broker down -> 503"] = time_until_all(stack, 503, time.monotonic())
    broker.start()
    figures["broker back -> 200"] = time_until_all(stack, 200, time.monotonic())

    print("\nseconds until /readyz changed, per service:")
    for what, per_service in figures.items():
        print(f"  {what:20} {per_service}")
    for what, per_service in figures.items():
        slow = {name: s for name, s in per_service.items() if s > BOUND_S}
        assert not slow, f"{what}: slower than {BOUND_S}s: {slow}"
    # The body names what failed, so an operator knows which dependency to look at.
    store.kill()
    deadline = time.monotonic() + BOUND_S
    while status(stack.services["router"].port, "/readyz") != 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(f"http://127.0.0.1:{stack.services['router'].port}/readyz", timeout=2)
    import json

    checks = json.loads(answer.value.read())["checks"]
    assert checks["MongoComponent"] is False and any(v for k, v in checks.items() if "Consumer" in k)
    store.start()
