"""Consumed batch -> projection -> one MongoDB bulk_write -> commit to memory -> metrics.

The order matters: the projection change is persisted before it is committed in memory and before
any counter moves, so a failed write (retried by the ConsumerRunner) never counts anything twice,
and the gauges rebuilt at start-up match what was counted.
"""

from __future__ import annotations

from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.adapters.store import OpenConversationStore
from switchboard.analytics.domain.projection import Projection
from switchboard.common.bus import PermanentError
from switchboard.common.cloudevents import Envelope
from switchboard.common.logging import get_logger
from switchboard.events.v1 import conversation_pb2, escalation_pb2, notification_pb2, sla_pb2

log = get_logger(__name__)

ACCEPTED = (
    conversation_pb2.ConversationEvent,
    sla_pb2.SlaEvent,
    escalation_pb2.EscalationRaised,
    notification_pb2.DeliveryRecorded,
)


class AnalyticsHandler:
    def __init__(self, projection: Projection, store: OpenConversationStore, metrics: AnalyticsMetrics) -> None:
        self.projection = projection
        self.store = store
        self.metrics = metrics
        self.batches = 0

    async def handle(self, batch: list[Envelope]) -> None:
        payloads = []
        for env in batch:
            if not isinstance(env.payload, ACCEPTED):
                raise PermanentError(
                    f"analytics does not consume {env.payload.DESCRIPTOR.full_name} (event {env.id} on {env.topic})"
                )
            payloads.append(env.payload)
        try:
            result = self.projection.apply_batch(payloads)
        except (ValueError, TypeError) as exc:
            # One bad event fails the batch; the runner then replays it record by record and only the
            # bad one reaches the DLQ.
            raise PermanentError(str(exc)) from exc
        # Events that changed nothing the projection keeps (warnings, messages mid-wait ...) cost no write.
        current = self.projection.open
        writes = {
            cid: state
            for cid, state in result.changes.items()
            if (state != current.get(cid) if state is not None else cid in current)
        }
        await self.store.apply(writes)
        self.projection.commit(result)
        self.metrics.apply(result.effects)
        self.batches += 1


class ProjectionLoader:
    """Start-up component: indexes, then the open conversations from MongoDB, before consuming."""

    name = "projection"

    def __init__(self, projection: Projection, store: OpenConversationStore) -> None:
        self._projection = projection
        self._store = store
        self.ready = False

    async def start(self) -> None:
        await self._store.ensure_indexes()
        conversations = await self._store.load_all()
        self._projection.load(conversations)
        log.info("projection_loaded", open_conversations=len(conversations))
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
