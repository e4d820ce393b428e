"""What each process asks of MongoDB, seen through PyMongo's command monitoring.

Documents written, per collection (`switchboard_mongo_documents_written`): what the server answered it
inserted, matched or upserted, deleted (`n`), and one per findAndModify that found or created a
document. So an update_many over 100 documents counts 100, and a write the server refused counts
nothing. It is the store's load per event (docs/performance.md "Documents written per new
conversation"), the same for MongoDB and nx-27017 (which has no opcounters).

Slow commands are logged (`mongo_slow_command`, at or above `MONGO__SLOW_COMMAND_MS`) with their
collection and the shape of their filter (field names and operators, never values: they may be
personal data). The embedded store reads whole collections for some query forms; such a query shows
up here first, growing with the data.
"""
from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from pymongo import monitoring
from switchboard.common.logging import get_logger

log = get_logger(__name__)

DOCUMENTS_WRITTEN = Counter("switchboard_mongo_documents_written",
                            "Documents this process wrote to MongoDB (inserted, matched or upserted, deleted)",
                            ["collection"])
_WRITES = frozenset({"insert", "update", "delete", "findAndModify"})
_WATCHED = _WRITES | {"find", "aggregate", "count", "distinct", "getMore"}
_FILTERS = {"find": "filter", "count": "query", "distinct": "query", "findAndModify": "query"}


def shape(value: Any, depth: int = 0) -> Any:
    """A filter without its values: {"brand_id": {"$in": "[3]"}, "due": {"$lte": "?"}}."""
    if isinstance(value, dict) and depth < 4:
        return {k: shape(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return f"[{len(value)}]"
    return "?"


def _described(event: monitoring.CommandStartedEvent) -> dict[str, Any]:
    command, name = event.command, event.command_name
    described: dict[str, Any] = {"command": name, "collection": str(command.get(name))}
    if name in _FILTERS:
        described["filter"] = shape(command.get(_FILTERS[name]) or {})
    elif name in ("update", "delete"):
        statements = command.get("updates" if name == "update" else "deletes") or ()
        described["statements"] = len(statements)
        if statements:
            described["filter"] = shape(statements[0].get("q") or {})
    elif name == "aggregate":
        described["stages"] = [shape(stage) for stage in (command.get("pipeline") or ())[:3]]
    elif name == "insert":
        described["documents"] = len(command.get("documents") or ())
    if "sort" in command:
        described["sort"] = list(command["sort"])
    return described


class WriteCounter(monitoring.CommandListener):
    """Counts documents written, and logs commands slower than `slow_ms` (set by mongo.connect)."""

    def __init__(self) -> None:
        self.slow_ms: float | None = None
        # (connection, request id) -> (collection of a write or None, the started event if slow ones are logged)
        self._pending: dict[tuple[object, int], tuple[str | None, monitoring.CommandStartedEvent | None]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _WATCHED:
            collection = str(event.command.get(name)) if name in _WRITES else None
            if collection is not None or self.slow_ms is not None:
                self._pending[(event.connection_id, event.request_id)] = (
                    collection, event if self.slow_ms is not None else None)

    def _finished(self, event) -> str | None:
        collection, started = self._pending.pop((event.connection_id, event.request_id), (None, None))
        if started is not None and self.slow_ms is not None and event.duration_micros >= self.slow_ms * 1000:
            log.warning("mongo_slow_command", ms=round(event.duration_micros / 1000, 1), **_described(started))
        return collection

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        collection = self._finished(event)
        if collection is None:
            return
        reply = event.reply
        if event.command_name == "findAndModify":
            written = (reply.get("lastErrorObject") or {}).get("n", 1 if reply.get("value") else 0)
        else:
            written = reply.get("n", 0)
        if written:
            DOCUMENTS_WRITTEN.labels(collection).inc(int(written))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._finished(event)


WRITES = WriteCounter()
