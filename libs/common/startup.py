"""The one start-up component every service uses: named async steps run once, in order, before the
components after it start (topics, indexes, seed data). Not ready until every step has finished,
so /readyz stays 503 while a service prepares."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from switchboard.common.admin import ensure_topics
from switchboard.common.logging import get_logger
from switchboard.common.settings import KafkaSettings
from switchboard.common.topics import TopicNames

log = get_logger(__name__)

Step = tuple[str, Callable[[], Awaitable[object]]]


class Startup:
    name = "startup"

    def __init__(self, *steps: Step) -> None:
        self.steps: list[Step] = list(steps)
        self.ready = False

    def then(self, name: str, step: Callable[[], Awaitable[object]]) -> Startup:
        self.steps.append((name, step))
        return self

    async def start(self) -> None:
        for name, step in self.steps:
            await step()
            log.info("startup_step_done", step=name)
        self.ready = True

    async def stop(self) -> None:
        self.ready = False


def topics_step(kafka: KafkaSettings, names: TopicNames) -> Step:
    """Creates the registry's topics when SWITCHBOARD_KAFKA__CREATE_TOPICS is on (off for clusters
    that forbid it: the Helm Job or Strimzi creates them there)."""
    async def create() -> None:
        if kafka.create_topics:
            created = await ensure_topics(kafka, names)
            if created:
                log.info("topics_created", count=len(created))
    return ("topics", create)
