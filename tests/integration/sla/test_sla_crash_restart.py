"""kill -9 of the SLA service with 10,000 open timers, then a restart: every timer fires once.

"Once" as a consumer sees it: each timer's breach carries a deterministic event id, so a batch
that was published but not yet marked fired when the process died is re-published with the SAME
ids; consumers dedupe by id. The test checks that no timer is lost, no timer produces two
different ids, and reports how many same-id re-publishes the crash caused and how long a new owner
takes to load the 10,000 pending timers (they live in their conversations' documents).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sla_kit import conversation_event
from switchboard.common.testing import read_topic, wait_for, wait_ready
from switchboard.common.testing.plugin import settings_env
from switchboard.sla.adapters.store import MongoStateStore
from switchboard.sla.domain.effects import EPOCH
from switchboard.sla.settings import SlaSettings

TIMERS = 10_000
POLICY = """\
version: 1
defaults: {warnings: {fractions: []}}
policies: []
default_policy:
  targets:
    first_response: {within: 40s, hours: calendar}
"""


def start_service(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen([sys.executable, "-m", "switchboard.sla"], env=env, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.slow
async def test_kill_9_with_10000_open_timers_loses_none_and_fires_none_twice(
        service_settings, bus_topics, producer, mongo_db, kafka_bootstrap, tmp_path):
    (tmp_path / "sla.yaml").write_text(POLICY)
    settings = service_settings(SlaSettings, config_dir=tmp_path, log_level="WARNING")
    env = {**os.environ, **settings_env(settings)}
    conversations = mongo_db["sla_conversations"]  # one per conversation, its one pending timer inside

    # Deadlines spread over 20 s, starting 75 s from now, so all timers are armed before the first
    # fires even on a loaded machine (nx-27017 takes ~1.5k-3k upserts/s; each event costs one).
    first_deadline = datetime.now(UTC) + timedelta(seconds=75)
    for i in range(TIMERS):
        deadline = first_deadline + timedelta(milliseconds=2 * i)
        event = conversation_event(f"k-{i}", "conversation_opened", deadline - timedelta(seconds=40))
        await producer.publish(bus_topics.conversations, event, key=f"k-{i}", event_id=f"k-{i}-opened")
    await producer.drain()

    proc = start_service(env, tmp_path / "sla-1.log")
    try:
        try:
            await wait_for(lambda: _pending_at_least(conversations, TIMERS), timeout=75, message="10,000 timers armed")
        except AssertionError:
            print((tmp_path / "sla-1.log").read_text()[-3000:], await conversations.count_documents({}))
            raise
        assert await _pending(conversations) == TIMERS, "every timer was armed before any came due"
        load_seconds = await _time_loading(mongo_db, TIMERS)
        ops = f"http://127.0.0.1:{settings.http.port}"
        async with httpx.AsyncClient(timeout=5) as http:
            await wait_ready(http, f"{ops}/readyz")
            assert f"switchboard_sla_open_timers {float(TIMERS)}" in (await http.get(f"{ops}/metrics")).text
        await wait_for(lambda: _fired_at_least(conversations, 3000), timeout=90, message="3,000 fired")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # kill -9 in the middle of firing
        proc.wait()
    fired_at_kill = TIMERS - await _pending(conversations)
    assert 0 < fired_at_kill < TIMERS

    restarted = start_service(env, tmp_path / "sla-2.log")
    started = time.monotonic()
    try:
        await wait_for(lambda: _fired_at_least(conversations, TIMERS), timeout=120, message="all timers fired")
        recovery_seconds = time.monotonic() - started
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(30)

    records = [e for e in await read_topic(kafka_bootstrap, bus_topics.sla, 2 * TIMERS, timeout=60)
               if e.case == "sla_breached"]
    ids_by_conversation: dict[str, set[str]] = defaultdict(set)
    for env_ in records:
        ids_by_conversation[env_.subject].add(env_.id)
    assert len(ids_by_conversation) == TIMERS, "no timer lost"
    assert all(len(ids) == 1 for ids in ids_by_conversation.values()), "no timer fired twice"
    assert await _pending(conversations) == 0
    lateness = sorted(e.payload.sla_breached.late_by_ms for e in records)
    print(json.dumps({"timers": TIMERS, "fired_before_kill": fired_at_kill,
                      "breach_records": len(records), "same_id_republished": len(records) - TIMERS,
                      "recovery_seconds": round(recovery_seconds, 1), "load_10000_pending_seconds": load_seconds,
                      "late_by_ms_p50": lateness[len(lateness) // 2],
                      "late_by_ms_p99_including_crash_gap": lateness[int(len(lateness) * 0.99)]}))


async def _pending(conversations) -> int:
    return await conversations.count_documents({"next_due": {"$gt": EPOCH}})  # holding a pending timer


async def _pending_at_least(conversations, count: int) -> bool:
    return await _pending(conversations) >= count


async def _fired_at_least(conversations, count: int) -> bool:
    return TIMERS - await _pending(conversations) >= count


async def _time_loading(db, expected: int) -> float:
    """What a new owner of every partition does on assignment: the indexed query, streamed."""
    started = time.monotonic()
    loaded = [entry async for entry in MongoStateStore(db).pending(range(12))]
    assert len(loaded) == expected
    return round(time.monotonic() - started, 2)
