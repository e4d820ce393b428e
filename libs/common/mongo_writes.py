"""Documents each process wrote to MongoDB, per collection (`switchboard_mongo_documents_written`):
what the server answered it inserted, matched or upserted, deleted (`n`), and one per findAndModify
that found or created a document. So an update_many over 100 documents counts 100, and a write the
server refused counts nothing. It is the store's load per event (docs/performance.md "Documents
written per new conversation"), counted from PyMongo's command monitoring, so it holds for MongoDB
and nx-27017 alike (nx-27017 has no opcounters)."""
from __future__ import annotations

from prometheus_client import Counter
from pymongo import monitoring

DOCUMENTS_WRITTEN = Counter("switchboard_mongo_documents_written",
                            "Documents this process wrote to MongoDB (inserted, matched or upserted, deleted)",
                            ["collection"])
_WRITES = frozenset({"insert", "update", "delete", "findAndModify"})


class WriteCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self._pending: dict[tuple[object, int], str] = {}  # (connection, request id) -> collection

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _WRITES:
            self._pending[(event.connection_id, event.request_id)] = str(event.command.get(name))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        collection = self._pending.pop((event.connection_id, event.request_id), None)
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
        self._pending.pop((event.connection_id, event.request_id), None)


WRITES = WriteCounter()
