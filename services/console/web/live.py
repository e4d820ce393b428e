"""Live updates: one tail of console_activity per replica, fanned out to the browsers of each brand
as Server-Sent Events. The browser re-fetches the affected fragment; events carry ids and kinds only."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from switchboard.common.clock import Clock
from switchboard.common.logging import get_logger
from switchboard.console import metrics
from switchboard.console.adapters.activity import ActivityStore
from switchboard.console.web.context import WebDeps, require_viewer

log = get_logger(__name__)
QUEUE_SIZE = 200
# Another replica's batch may land with recorded_at a little behind what this one already read.
LOOKBACK_MS = 3000
PAGE = 2000  # activity documents read per poll


class LiveHub:
    """Browsers subscribed per brand; each gets its own bounded queue (a slow one cannot block others)."""

    def __init__(self) -> None:
        self._subscribers: dict[asyncio.Queue, tuple[str, ...]] = {}

    @property
    def count(self) -> int:
        return len(self._subscribers)

    def subscribe(self, brands: tuple[str, ...]) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers[queue] = brands
        metrics.SSE_CLIENTS.set(len(self._subscribers))
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self._subscribers.pop(queue, None)
        metrics.SSE_CLIENTS.set(len(self._subscribers))

    def resync_all(self) -> None:
        """Every browser re-fetches what it shows (after a burst too large to pass on event by event)."""
        for queue in self._subscribers:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait({"kind": "resync"})

    def publish(self, event: dict) -> None:
        for queue, brands in self._subscribers.items():
            if event.get("brand_id") not in brands:
                continue
            if queue.full():  # a stalled browser: tell it to reload what it shows instead of queueing forever
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"kind": "resync"})
            else:
                queue.put_nowait(event)
            metrics.LIVE_EVENTS.inc()


class ActivityTail:
    """Service component: every `interval` seconds one indexed query for activity recorded since last time.

    Cursor: recorded_ms (epoch ms of the writing replica's clock), read LOOKBACK behind the newest seen
    (another replica's batch may land a little late), with the ids already passed on remembered."""

    name = "live-tail"

    def __init__(self, activity: ActivityStore, hub: LiveHub, clock: Clock, interval: float) -> None:
        self._activity, self._hub, self._clock, self._interval = activity, hub, clock, interval
        self._seen: dict[str, int] = {}
        self._since = 0
        self._floor = 0  # set by a burst: never look back before it
        self.task: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def last_burst_ms(self) -> int:
        """When the tail last turned a burst into a resync (0: never); nothing before it is read again."""
        return self._floor

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    async def start(self) -> None:
        self._since = self._now_ms()
        self.task = asyncio.create_task(self._loop(), name="live-tail")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception as exc:  # the store blinked: keep tailing, browsers just see it a bit later
                log.warning("live_tail_failed", error=str(exc))
            await asyncio.sleep(self._interval)

    async def poll_once(self) -> int:
        if self._hub.count == 0:  # nobody watching: skip the query, keep the window current
            self._since = self._now_ms()
            return 0
        docs = await self._activity.recorded_since(max(self._since - LOOKBACK_MS, self._floor), limit=PAGE)
        if len(docs) == PAGE:
            # A burst (catch-up after a restart, a replay): more facts in the window than one page. Passing
            # them on one by one could never catch up; tell every browser to re-fetch, and go on from now
            # (what was recorded before is covered by that re-fetch).
            self._hub.resync_all()
            # The query reads strictly after the floor: a fact recorded later in this same millisecond
            # must still reach the browsers (one already covered by the re-fetch is merely passed on twice).
            self._since = self._floor = self._now_ms() - 1
            self._seen = {}
            return 0
        fresh = 0
        for doc in docs:
            if doc["_id"] in self._seen:
                continue
            self._seen[doc["_id"]] = doc["recorded_ms"]
            self._since = max(self._since, doc["recorded_ms"])
            self._hub.publish({"id": doc["_id"], "brand_id": doc.get("brand_id"), "kind": doc.get("kind"),
                               "conversation_id": doc.get("conversation_id"), "at": _iso(doc.get("at"))})
            fresh += 1
        horizon = self._since - 2 * LOOKBACK_MS
        self._seen = {k: v for k, v in self._seen.items() if v >= horizon}
        return fresh


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else None


def register_live(app: FastAPI, deps: WebDeps, hub: LiveHub) -> None:
    @app.get("/events", tags=["live"], summary="Server-Sent Events: activity of your brands (ids and kinds only)",
             response_class=StreamingResponse)
    async def events(request: Request) -> StreamingResponse:
        viewer = require_viewer(deps, request)
        queue = hub.subscribe(viewer.brands)
        keepalive = deps.settings.sse_keepalive_seconds

        async def stream():
            try:
                yield "retry: 2000\n\n"
                quiet = 0.0
                while not await request.is_disconnected():
                    try:  # wake every second to notice a closed browser
                        event = await asyncio.wait_for(queue.get(), timeout=1.0)
                    except TimeoutError:
                        quiet += 1.0
                        if quiet >= keepalive:
                            quiet = 0.0
                            yield ": keep-alive\n\n"
                        continue
                    quiet = 0.0
                    yield f"event: activity\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
            finally:
                hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
