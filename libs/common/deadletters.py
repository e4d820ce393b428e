"""Dead letters: the one builder of a `<topic>.dlq` record's headers, used by everything that dead-letters.

A DLQ record keeps the original key, value and CloudEvents headers (so `switchboard-admin replay-dlq`
can put it back) and adds why and where it failed:
  dlq_reason     rejected (bad input) / undecodable / failed (retries exhausted) / delivery_failed ...
  dlq_error      the error text, masked (emails, phones) and cut to 1000 characters
  dlq_topic, dlq_partition, dlq_offset   where the original record was read
  dlq_group      the consumer group that gave up on it
plus the caller's own `extra` headers (e.g. dlq_field, dlq_destination). Earlier dlq_* headers of a
replayed record are dropped, so a record that fails again carries only its latest failure.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from switchboard.common.logging import mask_string

MAX_ERROR_CHARS = 1000


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def dead_letter_headers(original: Iterable[tuple[str, bytes]], *, reason: str, error: str, topic: str,
                        partition: int, offset: int, group: str,
                        extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, bytes]]:
    kept = [(name, bytes(value or b"")) for name, value in original if not name.startswith("dlq_")]
    failure = [("dlq_reason", reason), ("dlq_error", mask_string(error)[:MAX_ERROR_CHARS]), ("dlq_topic", topic),
               ("dlq_partition", str(partition)), ("dlq_offset", str(offset)), ("dlq_group", group), *extra]
    return kept + [(name, value.encode()) for name, value in failure]
