"""How messages are stored in `conversation_messages`: a bot answer decided in the same batch as the
customer message it answers is stored inside that message's document (`bot_reply`), one insert
instead of two (issue 15, documents written per new conversation). Every reader goes through
`unfold`, which gives the two messages back as before; documents stored before this (a separate bot
document) read unchanged.

An unfolded answer carries `_in` (its parent's id): a later change of it (a delivery receipt) is
written as a $set of the parent's embedded field (`changes`). `_in` is private: the read API and
the transcript never show it, and it is never stored.
"""
from __future__ import annotations

from collections.abc import Iterable

BOT_REPLY = "bot_reply"  # the embedded answer: the bot's message document, whole
PARENT = "_in"  # on an unfolded answer: the _id of the document holding it


def fold(new_messages: list[dict]) -> list[dict]:
    """The batch's new messages as documents to insert: each bot answer whose question is new in the
    same batch goes into the question's document; every other message stays a document of its own.
    Builds new dicts (the batch's history keeps the unfolded ones)."""
    ids = {d["_id"] for d in new_messages}
    replies: dict[str, dict] = {}
    for d in new_messages:
        question = d.get("answers")
        if d.get("author") == "bot" and question in ids and question not in replies:
            replies[question] = d
    folded = {id(d) for d in replies.values()}
    out = []
    for d in new_messages:
        if id(d) in folded:
            continue
        reply = replies.get(d["_id"])
        out.append({**d, BOT_REPLY: reply} if reply is not None else d)
    return out


def unfold(docs: Iterable[dict]) -> list[dict]:
    """Stored documents -> messages: a document holding an answer gives the question, then the answer
    (marked with its parent's id). Others are passed through."""
    out = []
    for d in docs:
        reply = d.get(BOT_REPLY)
        if reply is None:
            out.append(d)
            continue
        out.append({k: v for k, v in d.items() if k != BOT_REPLY})
        out.append({**reply, PARENT: d["_id"]})
    return out


def changes(changed: Iterable[dict]) -> list[dict]:
    """Stored messages that changed -> set-field writes ({_id, set}): an embedded answer as the parent's
    embedded field; a document of its own by its fields, so an answer embedded in it is kept."""
    out = []
    for d in changed:
        fields = {k: v for k, v in d.items() if k not in ("_id", PARENT)}
        if PARENT in d:
            out.append({"_id": d[PARENT], "set": {BOT_REPLY: {"_id": d["_id"], **fields}}})
        elif fields:
            out.append({"_id": d["_id"], "set": fields})
    return out
