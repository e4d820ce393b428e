"""How the projection lies in analytics_open_conversations: a few chunk documents per slot. No I/O.

A slot (Kafka partition p) keeps its open conversations in `chunks` (K) documents,
`{_id: "<p>:<c>", partition, epoch, chunks: K, conversations: {<key>: <conversation>}}`, with
c = crc32(conversation id) mod K. crc32, not Kafka's murmur2: the partition already fixes murmur2
mod the partition count, so murmur2 mod K would fill only gcd(partitions, K) of the chunks.
Keys are the conversation id with "%", ".", "$" and NUL percent-encoded (always, so any id is a
safe field name) and decoded on load.

Older layouts are read too: documents of one conversation each (`_id` = id, `state` open/resolved,
before issue 15's chunks) and chunks of another K. A slot that still holds any is *relaid out* by
its next checkpoint (every chunk replaced from memory, then the other documents deleted). On load,
when copies of a conversation disagree, the one written under the newest epoch wins; a chunk of the
current layout that should hold a conversation and does not says "resolved" as of its epoch.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from switchboard.analytics.domain.labels import UNKNOWN, word
from switchboard.analytics.domain.model import OpenConversation, SlaClock

OPEN = "open"
_UNSAFE = str.maketrans({"%": "%25", ".": "%2E", "$": "%24", "\x00": "%00"})
_EMPTY = "%"  # the key of "" (an encoded id never is a lone "%": "%" itself is "%25")


def encode_key(conversation_id: str) -> str:
    return conversation_id.translate(_UNSAFE) if conversation_id else _EMPTY


def decode_key(key: str) -> str:
    return "" if key == _EMPTY else unquote(key)


def chunk_of(conversation_id: str, chunks: int) -> int:
    return zlib.crc32(conversation_id.encode()) % chunks


def chunk_id(partition: int, chunk: int) -> str:
    return f"{partition}:{chunk}"


def home_of(partition: int, conversation_id: str, chunks: int) -> str:
    return chunk_id(partition, chunk_of(conversation_id, chunks))


def to_document(conv: OpenConversation) -> dict[str, Any]:
    """One conversation as stored (inside its chunk, under its key): enums as words."""
    running = [c.deadline for c in conv.clocks.values() if not c.paused and c.deadline is not None]
    return {
        "brand_id": conv.brand_id,
        "channel": word(conv.channel),
        "queue": conv.queue,
        "priority": word(conv.priority),
        "status": word(conv.status),
        "opened_at": conv.opened_at,
        "waiting_since": conv.waiting_since,
        "queued_since": conv.queued_since,
        "assignee_id": conv.assignee_id,
        "human_involved": conv.human_involved,
        "handed_off": conv.handed_off,
        "sla_next_deadline": min(running) if running else None,
        "sla": [
            {"metric": word(c.metric), "instance": c.instance, "deadline": c.deadline,
             "target_seconds": c.target_seconds, "paused": c.paused, "breached": c.breached}
            for c in conv.clocks.values()
        ],
    }


def _stored_word(value: Any) -> str:
    """A stored enum word back to the domain's: "unknown" (or missing) is unset."""
    return "" if value in (None, UNKNOWN) else str(value)


def from_document(conversation_id: str, doc: dict[str, Any]) -> OpenConversation:
    clocks = {}
    for item in doc.get("sla") or ():
        metric = _stored_word(item.get("metric"))
        clocks[metric] = SlaClock(
            metric=metric,
            instance=int(item.get("instance", 1)),
            deadline=item.get("deadline"),
            target_seconds=int(item.get("target_seconds", 0)),
            paused=bool(item.get("paused")),
            breached=bool(item.get("breached")),
        )
    return OpenConversation(
        conversation_id=conversation_id,
        brand_id=doc.get("brand_id", ""),
        channel=_stored_word(doc.get("channel")),
        queue=doc.get("queue", ""),
        priority=_stored_word(doc.get("priority")),
        status=_stored_word(doc.get("status")),
        opened_at=doc.get("opened_at"),
        waiting_since=doc.get("waiting_since"),
        queued_since=doc.get("queued_since"),
        assignee_id=doc.get("assignee_id", ""),
        human_involved=bool(doc.get("human_involved")),
        handed_off=bool(doc.get("handed_off")),
        clocks=clocks,
    )


@dataclass
class StoredPartition:
    """A partition's documents read back: its open conversations (as stored) and whether any document
    is of another layout (the next checkpoint then rewrites the slot)."""

    open: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversation id -> stored conversation
    relayout: bool = False


def read_partition(partition: int, docs: list[dict[str, Any]], chunks: int) -> StoredPartition:
    """Merges every document of one partition (any layout) into its open conversations."""
    best: dict[str, tuple[tuple[int, int], dict[str, Any] | None]] = {}

    def offer(cid: str, rank: tuple[int, int], doc: dict[str, Any] | None) -> None:
        if cid not in best or rank > best[cid][0]:
            best[cid] = (rank, doc)

    current: dict[str, dict[str, Any]] = {}
    relayout = False
    for doc in docs:
        epoch = int(doc.get("epoch", 0))
        if "chunks" not in doc:  # one conversation per document: the layout before chunks
            relayout = True
            offer(str(doc["_id"]), (epoch, 0), doc if doc.get("state", OPEN) == OPEN else None)
            continue
        # A chunk whose first write only removed conversations (opened and resolved between two
        # checkpoints) was created by that upsert without a `conversations` field: it holds none.
        held = doc.get("conversations") or {}
        is_current = doc.get("chunks") == chunks and str(doc["_id"]).startswith(f"{partition}:")
        if is_current:
            current[str(doc["_id"])] = doc
        for key, conversation in held.items():
            cid = decode_key(key)
            at_home = is_current and home_of(partition, cid, chunks) == doc["_id"]
            relayout = relayout or not at_home
            offer(cid, (epoch, int(at_home)), conversation)
    for cid in list(best):  # a current chunk that lacks a conversation it would hold: resolved then
        home = current.get(home_of(partition, cid, chunks))
        if home is not None and encode_key(cid) not in (home.get("conversations") or {}):
            offer(cid, (int(home.get("epoch", 0)), 1), None)
    return StoredPartition({cid: doc for cid, (_, doc) in best.items() if doc is not None}, relayout)


def chunk_updates(partition: int, epoch: int, changes: dict[str, OpenConversation | None],
                  chunks: int) -> dict[str, dict[str, Any]]:
    """Per changed chunk of a slot in the current layout: the update writing its changed conversations
    ($set) and removing its resolved ones ($unset)."""
    updates: dict[str, dict[str, Any]] = {}
    for cid, state in changes.items():
        update = updates.setdefault(home_of(partition, cid, chunks), {
            "$set": {"partition": partition, "epoch": epoch, "chunks": chunks}})
        path = f"conversations.{encode_key(cid)}"
        if state is None:
            update.setdefault("$unset", {})[path] = ""
        else:
            update["$set"][path] = to_document(state)
    return updates


def whole_chunks(partition: int, epoch: int, open_now: dict[str, OpenConversation],
                 chunks: int) -> dict[str, dict[str, Any]]:
    """Every chunk of a slot in the current layout, empty ones too, built from all its open conversations
    (a relayout: a chunk of this id written under another layout must lose what it held)."""
    built = {chunk_id(partition, c): {"_id": chunk_id(partition, c), "partition": partition, "epoch": epoch,
                                      "chunks": chunks, "conversations": {}} for c in range(chunks)}
    for cid, state in open_now.items():
        built[home_of(partition, cid, chunks)]["conversations"][encode_key(cid)] = to_document(state)
    return built
