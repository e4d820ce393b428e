"""A fresh nx-27017 per test for analytics' integration tests.

nx-27017 0.8.1 with a file database does not isolate databases: a collection of the same name is
shared by every database on the server (reproduced: insert into dbA.coll, dbB.coll sees it). The
shared session server therefore cannot isolate tests by database name; analytics' restart test
needs a store nobody else writes to, so each test gets its own server (~0.7 s).
"""

from __future__ import annotations

import pytest
from switchboard.common import processes


@pytest.fixture
def mongo_uri(tmp_path):
    server = processes.mongo(processes.free_port(), tmp_path / "analytics.db", tmp_path).start()
    yield processes.mongo_uri(server.port)
    server.stop()


@pytest.fixture
def stored_open(mongo_db):
    """What analytics_open_conversations holds, decoded whatever its layout: conversation id -> stored
    conversation, of one partition or (None) of all."""
    from switchboard.analytics.adapters.store import MongoOpenConversationStore

    async def read(partition: int | None = None) -> dict:
        store = MongoOpenConversationStore(mongo_db)
        query = {} if partition is None else {"partition": partition}
        return {cid: doc for p in (await store.read(query)).values() for cid, doc in p.open.items()}

    return read
