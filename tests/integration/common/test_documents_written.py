"""The documents-written counter on the real store (nx-27017): it counts what the server says it wrote,
so an update_many over many documents counts each one and a refused write counts nothing. The
pipeline benchmark's "documents per new conversation" is read from it."""
from __future__ import annotations

import pytest
from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError
from switchboard.common.mongo import connect
from switchboard.common.mongo_writes import DOCUMENTS_WRITTEN
from switchboard.common.settings import MongoSettings


def written(collection: str) -> float:
    return DOCUMENTS_WRITTEN.labels(collection)._value.get()


async def test_each_document_the_server_wrote_counts_once(mongo_uri, namespace):
    client = connect(MongoSettings(uri=mongo_uri, database=namespace))
    docs = client[namespace][f"{namespace}_docs"]
    try:
        before = written(docs.name)
        await docs.insert_many([{"_id": i, "n": 0} for i in range(5)])
        assert written(docs.name) - before == 5
        await docs.update_many({"_id": {"$in": [0, 1, 2]}}, {"$set": {"n": 1}})
        assert written(docs.name) - before == 8  # three documents, one statement
        await docs.bulk_write([UpdateOne({"_id": 9}, {"$set": {"n": 1}}, upsert=True),
                               UpdateOne({"_id": 99}, {"$set": {"n": 1}})])  # upserted; matched nothing
        assert written(docs.name) - before == 9
        await docs.find_one_and_update({"_id": 4}, {"$inc": {"n": 1}})
        await docs.find_one_and_update({"_id": 77}, {"$inc": {"n": 1}})  # no such document
        assert written(docs.name) - before == 10
        with pytest.raises(DuplicateKeyError):
            await docs.insert_one({"_id": 0})
        await docs.delete_many({"_id": {"$in": [3, 4]}})
        assert written(docs.name) - before == 12
    finally:
        await client.close()


async def test_a_slow_command_is_logged_with_the_shape_of_its_filter_and_none_of_its_values(mongo_uri, namespace,
                                                                                            capsys):
    import json

    from switchboard.common.logging import configure_logging
    from switchboard.common.mongo_writes import WRITES

    configure_logging("router", "INFO")
    client = connect(MongoSettings(uri=mongo_uri, database=namespace, slow_command_ms=0.001))  # everything is slow
    try:
        docs = client[namespace][f"{namespace}_docs"]
        await docs.find({"email": "jane.doe@example.com", "at": {"$lte": 5}, "_id": {"$in": ["a", "b"]}}).to_list()
    finally:
        WRITES.slow_ms = None
        await client.close()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "mongo_slow_command" in line]
    finds = [line for line in lines if line["command"] == "find"]
    assert finds and finds[0]["collection"] == f"{namespace}_docs"
    assert finds[0]["filter"] == {"email": "?", "at": {"$lte": "?"}, "_id": {"$in": "[2]"}}
    assert "jane.doe" not in json.dumps(lines)
