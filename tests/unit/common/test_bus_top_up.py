"""The consumer's top-up: records that arrived while the previous batch was handled join this batch."""
from __future__ import annotations

from types import SimpleNamespace

from aiokafka import TopicPartition
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.rebalance import RebalanceListener
from switchboard.common.settings import ConsumerSettings, KafkaSettings

P0, P1 = TopicPartition("t", 0), TopicPartition("t", 1)


def record(tp: TopicPartition, offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset)


class FetchedLater:
    """Stands in for the Kafka client: hands out what its fetcher got after the first take."""

    def __init__(self, later: dict) -> None:
        self.later = later
        self.asked: list[tuple[int, int]] = []

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        self.asked.append((timeout_ms, max_records))
        return self.later


def runner(**consumer) -> ConsumerRunner:
    return ConsumerRunner(name="t", kafka=KafkaSettings(), consumer=ConsumerSettings(**consumer), topics=["t"],
                          group_id="g", handler=None, producer=None)  # type: ignore[arg-type]


async def test_records_fetched_after_the_take_join_the_batch_in_offset_order():
    r = runner(top_up_ms=5, max_batch_records=10)
    r._consumer = FetchedLater({P0: [record(P0, 3), record(P0, 4)], P1: [record(P1, 7)]})
    batch = {P0: [record(P0, 1), record(P0, 2)]}
    await r._top_up(batch)
    assert [x.offset for x in batch[P0]] == [1, 2, 3, 4]
    assert [x.offset for x in batch[P1]] == [7]
    assert r._consumer.asked == [(5, 8)]  # waits top_up_ms at most, for no more than the batch has room for


async def test_a_full_batch_is_not_topped_up():
    r = runner(top_up_ms=5, max_batch_records=2)
    r._consumer = FetchedLater({P0: [record(P0, 3)]})
    batch = {P0: [record(P0, 1), record(P0, 2)]}
    await r._top_up(batch)
    assert [x.offset for x in batch[P0]] == [1, 2]
    assert r._consumer.asked == []


class RevokedDuringTopUp:
    """The Kafka client, with a rebalance that revokes every partition while the runner tops its batch up
    (the processing lock is free then), as aiokafka's coordinator does; then the runner is stopped."""

    def __init__(self, runner: ConsumerRunner, first: dict) -> None:
        self.runner, self.first, self.takes = runner, first, 0
        self.committed: list[dict] = []
        self.positions: dict[TopicPartition, int] = {}
        self.reassign: set = set()  # given back to this member by the same rebalance, during the fetch

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        self.takes += 1
        if self.takes == 1:
            return self.first
        if self.takes == 2:  # the top-up: the group rebalances meanwhile
            await RebalanceListener(self.runner).on_partitions_revoked(set(self.runner.assigned))
            await RebalanceListener(self.runner).on_partitions_assigned(set(self.reassign))
            return {}
        self.runner._stopping.set()
        return {}

    async def commit(self, offsets: dict) -> None:
        self.committed.append(offsets)

    def assignment(self) -> set:
        return set(self.runner.assigned)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset


class SameSession:
    epoch = 0

    def mark(self):
        return (0, (1, "member"))

    def unchanged_since(self, mark) -> bool:
        return True


async def run_through_a_rebalance(first: dict, reassign: set) -> tuple[ConsumerRunner, RevokedDuringTopUp, list]:
    """A runner owning P0 and P1 takes `first`; the group rebalances during the top-up and gives this
    member `reassign` back; then the runner stops. Returns the runner, its client and what it handled."""
    handled: list = []

    async def handler(batch):
        handled.extend(batch)

    r = ConsumerRunner(name="t", kafka=KafkaSettings(), consumer=ConsumerSettings(top_up_ms=5), topics=["t"],
                       group_id="g", handler=handler, producer=None)  # type: ignore[arg-type]
    r.assigned = {P0, P1}
    client = RevokedDuringTopUp(r, first)
    client.reassign = reassign
    r._consumer, r._session = client, SameSession()
    await r._run()
    return r, client, handled


async def test_a_batch_fetched_before_a_revocation_is_neither_handled_nor_committed():
    r, client, handled = await run_through_a_rebalance({P0: [record(P0, 1), record(P0, 2)]}, reassign=set())
    # The partitions' next owner reads them from the committed offset: a commit here (the group accepts
    # the old generation's until the rejoin completes) would lose what this replica did not apply.
    assert handled == [] and client.committed == []
    assert r.revocations == 1 and r.assigned == set()
    assert client.positions == {}  # nothing of it is this member's any more: nothing to seek


async def test_a_dropped_batch_of_partitions_assigned_here_again_is_read_again_from_its_first_offset():
    """The rebalance may complete while the batch is fetched: the position is then past the dropped
    records, and only a seek back keeps them from being skipped."""
    r, client, handled = await run_through_a_rebalance(
        {P0: [record(P0, 5), record(P0, 6)], P1: [record(P1, 9)]}, reassign={P0})
    assert handled == [] and client.committed == []
    assert r.assigned == {P0} and client.positions == {P0: 5}  # P1 moved: its new owner starts from the commits
