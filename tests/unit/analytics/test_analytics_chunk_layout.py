"""The chunk layout of analytics_open_conversations (adapters/layout.py, pure) and the relayout of a slot
loaded from another layout (domain/ownership.py)."""

from __future__ import annotations

from analytics_events import T0, conversation, decoded
from switchboard.analytics.adapters.layout import (
    OPEN,
    chunk_of,
    chunk_updates,
    decode_key,
    encode_key,
    home_of,
    read_partition,
    to_document,
    whole_chunks,
)
from switchboard.analytics.domain.ownership import Slot, SlotClaim
from switchboard.analytics.domain.projection import Projection

K = 16
P = 3


def open_conversation(cid: str):
    projection = Projection()
    projection.commit(projection.apply_batch(decoded([conversation("conversation_opened", cid, T0)])))
    return projection.open[cid]


def chunk(c: int, epoch: int, ids: list[str], chunks: int = K) -> dict:
    return {"_id": f"{P}:{c}", "partition": P, "epoch": epoch, "chunks": chunks,
            "conversations": {encode_key(cid): {"status": "queued"} for cid in ids}}


def test_any_conversation_id_is_a_safe_field_name_and_decodes_back():
    for cid in ("plain-123", "a.b.c", "$where", "x$y.z", "100%", "%2E", "", "nul\x00byte", "ünï.cødé"):
        key = encode_key(cid)
        assert "." not in key and not key.startswith("$") and "\x00" not in key and key
        assert decode_key(key) == cid
    assert encode_key("conv-42") == "conv-42"  # ordinary ids stay readable


def test_chunks_spread_one_partitions_conversations_over_all_k():
    # Every id here lands on the same Kafka partition; the chunk hash must not follow Kafka's.
    from switchboard.analytics.adapters.store import kafka_partition

    ids = [f"conv-{n}" for n in range(5000) if kafka_partition(f"conv-{n}", 12) == P]
    assert {chunk_of(cid, K) for cid in ids} == set(range(K))


def test_a_checkpoint_updates_each_changed_chunk_once():
    changes = {f"c{i}": open_conversation(f"c{i}") for i in range(100)} | {"gone.1": None}
    updates = chunk_updates(P, 7, changes, K)
    assert len(updates) <= K
    assert set(updates) == {home_of(P, cid, K) for cid in changes}
    gone = updates[home_of(P, "gone.1", K)]
    assert gone["$unset"] == {"conversations.gone%2E1": ""}
    for update in updates.values():
        assert update["$set"]["epoch"] == 7 and update["$set"]["partition"] == P and update["$set"]["chunks"] == K
    assert sum(len(u["$set"]) - 3 for u in updates.values()) == 100


def test_a_relayout_writes_every_chunk_even_empty_ones():
    built = whole_chunks(P, 2, {"c1": open_conversation("c1")}, 4)
    assert set(built) == {f"{P}:{c}" for c in range(4)}
    assert sum(len(doc["conversations"]) for doc in built.values()) == 1
    assert built[home_of(P, "c1", 4)]["conversations"]["c1"] == to_document(open_conversation("c1"))


def test_reading_current_chunks_needs_no_relayout():
    ids = ["a", "b", "c", "d"]
    docs = [chunk(c, 5, [cid for cid in ids if chunk_of(cid, K) == c]) for c in {chunk_of(cid, K) for cid in ids}]
    stored = read_partition(P, docs, K)
    assert set(stored.open) == set(ids) and not stored.relayout


def test_a_chunk_created_by_removals_alone_holds_no_conversation():
    """A conversation opened and resolved between two checkpoints: the chunk's first write is an $unset,
    whose upsert creates the chunk without a `conversations` field. It is an empty chunk, not a
    conversation of the old layout."""
    (update,) = chunk_updates(P, 3, {"gone": None}, K).values()
    created = {"_id": home_of(P, "gone", K), **update["$set"]}  # what the upsert leaves: no conversations
    stored = read_partition(P, [created, chunk(chunk_of("a", K), 3, ["a"])], K)
    assert set(stored.open) == {"a"} and not stored.relayout


def test_old_one_per_conversation_documents_are_read_and_ask_for_a_relayout():
    docs = [{"_id": "old-1", "partition": P, "epoch": 2, "state": OPEN, "status": "queued"},
            {"_id": "old-2", "partition": P, "epoch": 2, "state": "resolved"}]
    stored = read_partition(P, docs, K)
    assert set(stored.open) == {"old-1"} and stored.relayout


def test_the_newest_copy_wins_and_a_current_chunk_lacking_a_conversation_says_resolved():
    home = chunk_of("x", K)
    # A copy left under the old layout (epoch 2) and x's current chunk written later without it (epoch 4).
    docs = [{"_id": "x", "partition": P, "epoch": 2, "state": OPEN}, chunk(home, 4, [])]
    assert read_partition(P, docs, K).open == {}
    # The old layout written under a newer epoch than the chunk (a downgraded owner): its copy wins.
    docs = [{"_id": "x", "partition": P, "epoch": 5, "state": OPEN, "status": "assigned"}, chunk(home, 4, ["x"])]
    assert read_partition(P, docs, K).open["x"]["status"] == "assigned"
    # Chunks of another count are read (and ask for a relayout); no current chunk of x: the copy stands.
    docs = [chunk(chunk_of("x", 4), 3, ["x"], chunks=4)]
    stored = read_partition(P, docs, K)
    assert set(stored.open) == {"x"} and stored.relayout


def test_a_relayout_claim_checkpoints_every_open_conversation_once_then_only_changes():
    claim = SlotClaim(Slot("conversations", P), epoch=3, relayout=True)
    open_now = {"a": open_conversation("a"), "b": open_conversation("b")}
    claim.changed(["gone"], [])
    first = claim.take(open_now)
    assert first.relayout and first.changes == {"a": open_now["a"], "b": open_now["b"], "gone": None}
    claim.give_back(first)  # a failed write: the relayout waits for the next checkpoint
    assert claim.take(open_now).relayout
    claim.stored_as(first)
    assert not claim.relayout and claim.take(open_now) is None
