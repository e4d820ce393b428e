"""In-memory fakes shared by the handler tiers (tests/handlers/<service>/): no broker, no store.

Service-specific fakes (a service's stores) live beside its handler tests; generic ones here."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from switchboard.common.cloudevents import Envelope


@dataclass(frozen=True, slots=True)
class Published:
    topic: str
    payload: Any
    key: str | bytes | None
    event_id: str | None
    cause: Envelope | None
    time: datetime | None
    subject: str | None


class RecordingPublisher:
    """Stands in for `EventProducer.publish`/`drain`: records every publish in order. Each publish and
    each drain is also appended to `journal` (shared with other fakes) so a test can assert the order
    of effects, e.g. publish -> drain -> save. `fail_drain` makes the next drain raise, like a broker
    that did not acknowledge."""

    def __init__(self, journal: list | None = None) -> None:
        self.journal = journal if journal is not None else []
        self.published: list[Published] = []
        self.fail_drain: BaseException | None = None

    async def publish(self, topic: str, payload: Any, *, key: str | bytes | None, cause: Envelope | None = None,
                      event_id: str | None = None, time: datetime | None = None, subject: str | None = None,
                      **_: Any) -> asyncio.Future:
        self.published.append(Published(topic, payload, key, event_id, cause, time, subject))
        self.journal.append(("publish", topic, event_id))
        done: asyncio.Future = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def drain(self) -> None:
        if self.fail_drain is not None:
            error, self.fail_drain = self.fail_drain, None
            raise error
        self.journal.append(("drain",))

    def on(self, topic: str) -> list[Published]:
        return [p for p in self.published if p.topic == topic]
