"""Runs a service's components until SIGTERM/SIGINT, then stops them in reverse order."""
from __future__ import annotations

import asyncio
import signal
from typing import Protocol

from switchboard.common.health import bounded
from switchboard.common.logging import get_logger

log = get_logger(__name__)


class Component(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Service:
    def __init__(self, name: str, components: list[Component]) -> None:
        self.name = name
        self.components = components
        self._stop = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def readiness(self) -> dict[str, bool]:
        """Start-up flags only (cheap, synchronous): every component finished starting."""
        return {self._check_name(c): bool(getattr(c, "ready", True)) for c in self.components}

    async def check_readiness(self) -> dict[str, bool]:
        """What /readyz answers: the start-up flags, then each component's live probe (bounded), at once."""
        async def check(component) -> bool:
            if not getattr(component, "ready", True):
                return False
            probe = getattr(component, "probe", None)
            return await bounded(probe) if probe is not None else True

        results = await asyncio.gather(*(check(c) for c in self.components))
        return {self._check_name(c): ok for c, ok in zip(self.components, results, strict=True)}

    @staticmethod
    def _check_name(component) -> str:
        return type(component).__name__ + (f":{component.name}" if hasattr(component, "name") else "")

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        started: list[Component] = []
        exit_code = 0
        try:
            for component in self.components:
                await component.start()
                started.append(component)
            log.info("service_started", components=len(started))
            watched = [t for c in started if (t := getattr(c, "task", None)) is not None]
            stop_wait = asyncio.create_task(self._stop.wait())
            done, _ = await asyncio.wait([stop_wait, *watched], return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            for task in done:
                if task is not stop_wait:
                    log.error("component_stopped_unexpectedly", task=task.get_name())
                    exit_code = 1
        except Exception as exc:
            log.error("service_start_failed", error=str(exc))
            exit_code = 1
        finally:
            for component in reversed(started):
                try:
                    await component.stop()
                except Exception as exc:
                    log.warning("component_stop_failed", component=type(component).__name__, error=str(exc))
            log.info("service_stopped", exit_code=exit_code)
        return exit_code


class Task:
    """A component wrapping one long-running coroutine (schedulers, pollers)."""

    def __init__(self, name: str, factory) -> None:
        self.name = name
        self._factory = factory
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self._factory(), name=self.name)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):
                pass

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()
