"""BrokerSession: whether a consumer's broker session is still the one that fetched a batch (so its
offsets may be committed), and whether the consumer is in its group (readiness). See consumer.py."""
from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from aiokafka.conn import CloseReason

Mark = tuple[int, tuple[int, str] | None]


class BrokerSession:
    """Whether the consumer's broker session is still the one that fetched a batch, and whether the
    consumer is in its group. aiokafka has no public hook for either, so this reads its client's
    connection-closed callback and its group coordinator (kept private by aiokafka, stable for years)."""

    BREAKS = (CloseReason.CONNECTION_BROKEN, CloseReason.CONNECTION_TIMEOUT, CloseReason.OUT_OF_SYNC)

    def __init__(self, consumer: AIOKafkaConsumer, join_grace_seconds: float) -> None:
        self.epoch = 0  # +1 whenever a connection to the broker broke (not on idle close or shutdown)
        self._consumer = consumer
        self._join_grace = join_grace_seconds
        self._out_of_group_since: float | None = None
        client = consumer._client
        original = client._on_connection_closed

        def closed(conn, reason) -> None:
            if reason in self.BREAKS:
                self.epoch += 1
            original(conn, reason)

        client._on_connection_closed = closed  # read by the client each time it opens a connection

    def _membership(self) -> tuple[int, str] | None:
        coordinator = getattr(self._consumer, "_coordinator", None)
        return (coordinator.generation, coordinator.member_id) if coordinator is not None else None

    def mark(self) -> Mark:
        return self.epoch, self._membership()

    def unchanged_since(self, mark: Mark) -> bool:
        return mark == self.mark()

    def in_group(self, now: float) -> bool:
        """A member of a generation (maybe with no partitions: more replicas than partitions is fine),
        or joining for less than the grace (a rebalance must not mark every replica unready)."""
        coordinator = getattr(self._consumer, "_coordinator", None)
        joined = (coordinator is not None and coordinator.coordinator_id is not None
                  and bool(coordinator.member_id) and coordinator.generation >= 0)
        if joined:
            self._out_of_group_since = None
            return True
        if self._out_of_group_since is None:
            self._out_of_group_since = now
        return now - self._out_of_group_since < self._join_grace
