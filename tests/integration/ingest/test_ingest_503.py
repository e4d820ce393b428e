"""What a 503 promises: "not stored yet, retry". The Kafka client cannot cleanly take back a record
it already queued, so an event answered 503 may still reach the topic once the broker answers again;
it carries the same deterministic event id as the provider's retry, so consumers keep one."""
from __future__ import annotations

import os
import signal

import ingest_requests as p
import pytest
from ingest_requests import post, records
from switchboard.common import processes
from switchboard.common.cloudevents import decode
from switchboard.common.testing.helpers import wait_for
from switchboard.ingest.handlers import event_id
from switchboard.ingest.settings import IngestConfig


@pytest.fixture
def own_broker(tmp_path):
    broker = processes.broker(processes.free_port(), tmp_path).start()
    yield broker
    os.kill(broker.proc.pid, signal.SIGCONT)
    broker.stop()


async def test_an_event_answered_503_may_still_arrive_and_carries_the_retrys_event_id(ingest_factory, own_broker):
    bootstrap = f"127.0.0.1:{own_broker.port}"
    svc = await ingest_factory(IngestConfig(publish_timeout_seconds=1.0, retry_after_seconds=1),
                               kafka={"bootstrap_servers": bootstrap})
    assert (await post(svc, p.telegram_message("before", 1))).status_code == 200

    os.kill(own_broker.proc.pid, signal.SIGSTOP)  # the broker stops answering (a long GC pause, a partition)
    req = p.telegram_message("sent while the broker hung", 2)
    during = await post(svc, req)
    assert during.status_code == 503 and during.headers["Retry-After"] == "1"
    os.kill(own_broker.proc.pid, signal.SIGCONT)

    async def retried_ok() -> bool:
        return (await post(svc, req)).status_code == 200

    await wait_for(retried_ok, timeout=30, interval=0.5)
    expected = event_id(p.BRAND, "telegram:1111111:2")

    before = event_id(p.BRAND, "telegram:1111111:1")
    stored = await records(bootstrap, svc.names.inbound, min_count=3, timeout=5.0)
    ids = [decode(r.value, r.headers).id for r in stored]
    ids = [i for i in ids if i != before]
    # The queued record of the 503'd request arrived too (the API documents this), and every copy has
    # the retry's event id: the router's dedupe keeps one.
    assert len(ids) >= 1 and set(ids) == {expected}, ids
    print(f"\ncopies of the 503'd event on the topic: {len(ids)}")


def test_the_api_description_says_a_503_event_may_still_arrive(ingest_factory):
    from switchboard.ingest.api.schemas import ERRORS

    assert "may still arrive" in ERRORS[503]["description"]
