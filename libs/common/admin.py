"""`switchboard-admin`: operational commands (the Helm pre-install Job runs `create-topics`)."""
from __future__ import annotations

import argparse
import asyncio
import sys

from switchboard.common.bus import ensure_topics
from switchboard.common.settings import ServiceSettings
from switchboard.common.topics import TopicNames, registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchboard-admin")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create-topics", help="create every registry topic and DLQ that does not exist yet")
    sub.add_parser("list-topics", help="print the registry: topic, partitions, key, producers -> consumers")
    args = parser.parse_args(argv)
    settings = ServiceSettings()
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
