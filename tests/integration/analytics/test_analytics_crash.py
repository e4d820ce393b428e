"""kill -9 in the middle of a stream: after restart and catch-up the gauges are exact.

The service runs as a real process (console entrypoint). It is killed while it is still working
through a backlog of events, so records may be applied and committed but not checkpointed; the
restarted process reads again from the last checkpoint and must neither lose nor double-count
conversations.
"""

from __future__ import annotations

import re
import sys
import urllib.request
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "analytics"))
from analytics_events import T0, conversation  # noqa: E402
from switchboard.analytics.settings import AnalyticsSettings  # noqa: E402
from switchboard.common import processes  # noqa: E402
from switchboard.common.testing import wait_for  # noqa: E402
from switchboard.common.testing.benchkit import http_ready as ready  # noqa: E402
from switchboard.common.testing.plugin import settings_env  # noqa: E402
from switchboard.events.v1 import common_pb2  # noqa: E402

Q, A, RES = (
    common_pb2.CONVERSATION_STATUS_QUEUED,
    common_pb2.CONVERSATION_STATUS_ASSIGNED,
    common_pb2.CONVERSATION_STATUS_RESOLVED,
)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def sample_sum(page: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in page.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if all(found.get(k) == v for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def backlog(page: str) -> Counter:
    counts: Counter = Counter()
    for line in page.splitlines():
        if line.startswith("switchboard_backlog_conversations{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if float(line.rsplit(" ", 1)[1]):
                counts[(found["queue"], found["status"])] += float(line.rsplit(" ", 1)[1])
    return counts


async def test_gauges_are_exact_after_kill_9_mid_stream(service_settings, producer, topics, tmp_path):
    settings = service_settings(AnalyticsSettings, consumer={"max_batch_records": 50})
    port = settings.http.port
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings)}

    def serving() -> bool:
        try:
            return bool(scrape(port))
        except OSError:
            return False

    def start(until=lambda: ready(port)) -> processes.ManagedProcess:
        proc = processes.ManagedProcess(
            "analytics",
            [sys.executable, "-m", "switchboard.analytics.entrypoint"],
            port,
            tmp_path / "analytics.log",
            env=env,
        )
        return proc.start(timeout=60, ready=until)

    # 600 conversations: all opened and queued, every other one assigned, every third resolved.
    truth: Counter = Counter()
    total = 0
    for i in range(600):
        cid, queue = f"k{i}", ("general", "vip", "returns")[i % 3]
        events = [conversation("conversation_opened", cid, T0, status=Q, queue=queue)]
        final = "queued"
        if i % 2 == 0:
            events.append(
                conversation(
                    "conversation_assigned",
                    cid,
                    T0 + timedelta(minutes=2),
                    status=A,
                    queue=queue,
                    assignee_id=f"a{i % 9}",
                )
            )
            final = "assigned"
        if i % 3 == 0:
            events.append(
                conversation("conversation_resolved", cid, T0 + timedelta(minutes=9), status=RES, queue=queue)
            )
            final = None
        for event in events:
            await producer.publish(topics.conversations, event, key=cid)
            total += 1
        if final:
            truth[(queue, final)] += 1
    await producer.drain()

    # Watched from its first /metrics page on: /readyz waits for the partitions to be loaded, and
    # from then on this small stream takes less than one readiness poll.
    first = start(until=serving)
    try:
        consumed = await wait_for(
            lambda: (
                sample_sum(scrape(port), "switchboard_bus_records_consumed_total") >= 100
                and sample_sum(scrape(port), "switchboard_bus_records_consumed_total")
            ),
            timeout=60,
            interval=0.02,
            message="part of the stream consumed",
        )
        first.kill()  # SIGKILL mid-stream: no shutdown, no final commit
        assert consumed < total, "killed only after the whole stream was consumed: not a mid-stream crash"
    finally:
        first.kill()
    second = start()
    try:
        opened = lambda: sample_sum(scrape(port), "switchboard_conversation_opened_total")  # noqa: E731
        await wait_for(
            lambda: backlog(scrape(port)) == truth,
            timeout=90,
            interval=0.2,
            message="gauges equal the true open counts after catch-up",
        )
        page = scrape(port)
        assert sample_sum(page, "switchboard_queue_depth") == sum(v for (q, s), v in truth.items() if s == "queued")
        assert sample_sum(page, "switchboard_agent_assigned_conversations") == sum(
            v for (q, s), v in truth.items() if s == "assigned"
        )
        # counters are per process: the second one counts what it consumed since the first one's last
        # checkpoint (at its own checkpoints), never more
        await wait_for(lambda: opened() > 0, timeout=30, interval=0.2, message="counted at a checkpoint")
        assert opened() <= 600
    finally:
        second.stop()
