"""Kafka administration: topic creation (`ensure_topics`, used by the start-up `topics_step`) and the
`switchboard-admin` command (the Helm pre-install Job runs `create-topics`)."""
from __future__ import annotations

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from switchboard.common.dlq_replay import add_replay_parser, run_replay
from switchboard.common.settings import KafkaSettings, ServiceSettings, connection_options
from switchboard.common.topics import TopicNames, registry


async def ensure_topics(kafka: KafkaSettings, names: TopicNames) -> list[str]:
    """Creates registry topics (and their DLQs) that do not exist yet. Returns the created names."""
    admin = AIOKafkaAdminClient(**connection_options(kafka))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(name, spec.partitions, kafka.replication_factor,
                           topic_configs={"retention.ms": str(spec.retention_ms)})
                  for name, spec in names.all_topics() if name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:  # another service won the race
                pass
        return [t.name for t in wanted]
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard-admin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create-topics", help="create every registry topic and DLQ that does not exist yet")
    sub.add_parser("list-topics", help="print the registry: topic, partitions, key, producers -> consumers")
    add_replay_parser(sub)
    args = parser.parse_args(argv)
    settings = ServiceSettings()
    if args.command == "replay-dlq":
        return run_replay(args, settings.kafka)
    names = TopicNames(settings.kafka.topic_prefix)
    if args.command == "list-topics":
        for logical, spec in registry().items():
            print(f"{names.of(logical):45} {spec.partitions:3}  key={spec.key}  "
                  f"{','.join(spec.producers)} -> {','.join(spec.consumers)}")
        return 0
    created = asyncio.run(ensure_topics(settings.kafka, names))
    print(f"created {len(created)} topics" + (": " + ", ".join(created) if created else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
