"""Documents each process asks MongoDB to write, per collection (`switchboard_mongo_documents_written`):
inserts count their documents, updates and deletes their statements, findAndModify one. It is the
store's load per event (docs/performance.md "Documents written per new conversation"), counted from
PyMongo's command monitoring, so it holds for MongoDB and nx-27017 alike (nx-27017 has no opcounters)."""
from __future__ import annotations

from prometheus_client import Counter
from pymongo import monitoring

DOCUMENTS_WRITTEN = Counter("switchboard_mongo_documents_written",
                            "Documents this process sent to MongoDB to write (inserted, updated, deleted)",
                            ["collection"])
_ARRAYS = {"insert": "documents", "update": "updates", "delete": "deletes"}


class WriteCounter(monitoring.CommandListener):
    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in _ARRAYS:
            docs = event.command.get(_ARRAYS[name]) or ()
            DOCUMENTS_WRITTEN.labels(str(event.command.get(name))).inc(len(docs))
        elif name == "findAndModify":
            DOCUMENTS_WRITTEN.labels(str(event.command.get(name))).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


WRITES = WriteCounter()
