"""A consumer run as its own process so a test can kill -9 it in the middle of a batch."""
import asyncio
import os

from pymongo import AsyncMongoClient
from switchboard.common.consumer import ConsumerRunner
from switchboard.common.producer import EventProducer
from switchboard.common.settings import ServiceSettings


async def main() -> None:
    settings = ServiceSettings(consumer={"max_batch_records": 1, "poll_timeout_ms": 50})
    client = AsyncMongoClient(settings.mongo.uri.get_secret_value())
    handled = client[settings.mongo.database].handled
    producer = EventProducer(settings.kafka, source="/tests/consumer-process")
    await producer.start()

    async def handle(batch) -> None:
        for env in batch:
            await handled.insert_one({"_id": env.id})
            if env.id == os.environ["HANG_ON"]:
                await asyncio.Event().wait()  # stuck before the commit, until killed

    runner = ConsumerRunner(name="killable", kafka=settings.kafka, consumer=settings.consumer,
                            topics=[os.environ["TOPIC"]], group_id=os.environ["CONSUMER_GROUP"], handler=handle,
                            producer=producer)
    await runner.start()
    await runner.task


asyncio.run(main())
