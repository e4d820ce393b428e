"""A Delta (domain/delta.py) on the wire: the contact stage -> the routing stage, as a ContactDelta
(proto/switchboard/events/v1/routing.proto).

The steps travel as one BSON document: they carry the domain's own snapshot/effect dicts, which become
ConversationEvent/Notification protobufs only where the routing stage publishes them, and both stages
are the same release. What BSON cannot say exactly is tagged, a one-key document whose key starts with
"$" (a domain dict with such keys is itself tagged, so decoding is unambiguous):

- datetimes: {"$dt": ISO 8601}. BSON datetimes keep milliseconds, but input times come from protobuf
  Timestamps and carry microseconds; effects and conversation fields must come back equal.
- tuples: {"$tuple": [...]} (BSON has lists only; the domain compares tuples and lists unequal).
- dicts with a key BSON cannot hold as is (not a str, or "$..."): {"$dict": [[key, value], ...]}.
- ConversationRef: {"$conversation": id}; EmitterSpec: {"$emitter": {...}}.
- the few domain values effects carry as objects (an order_linked event's OrderIn and its Handles):
  {"$value": [class name, {field: value}]}. Anything else is refused with a ValueError naming its type.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from functools import cache

import bson
from bson.codec_options import CodecOptions
from bson.errors import BSONError
from switchboard.events.v1 import routing_pb2
from switchboard.router.domain.delta import ConversationRef, Delta, EmitterSpec
from switchboard.router.domain.inputs import OrderIn
from switchboard.router.domain.model import Handle
from switchboard.router.domain.workspace import EMITTED, Effect

_TZ_AWARE = CodecOptions(tz_aware=True)
_EFFECT_FIELDS = tuple(f.name for f in fields(Effect))
_PLAIN = (str, bool, int, float, bytes, type(None))
# Domain values effects carry as they are (an order_linked event's order): by class name, field by field.
_VALUES = {cls.__name__: cls for cls in (OrderIn, Handle)}


def encode(d: Delta) -> routing_pb2.ContactDelta:
    last: dict[str, dict] = {}  # each conversation's view as last encoded: an unchanged one is sent as a reference
    steps = [_step(i, s, last) for i, s in enumerate(d.steps)]
    return routing_pb2.ContactDelta(input_id=d.input_id, brand_id=d.brand_id, steps=bson.encode({"steps": steps}))


def decode(msg: routing_pb2.ContactDelta) -> Delta:
    """Raises ValueError, naming what is wrong, for steps this release cannot have written."""
    try:
        doc = bson.decode(msg.steps, codec_options=_TZ_AWARE)
    except (BSONError, ValueError, TypeError) as e:
        raise ValueError(f"ContactDelta {msg.input_id!r}: steps are not a BSON document ({e})") from e
    steps = doc.get("steps")
    if not isinstance(steps, list):
        raise ValueError(f"ContactDelta {msg.input_id!r}: steps hold no 'steps' list")
    out = []
    seen: dict[str, dict] = {}
    for i, step in enumerate(steps):
        try:
            out.append(_unstep(step, seen))
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"ContactDelta {msg.input_id!r}: step {i} is malformed ({e!r})") from e
    return Delta(msg.input_id, msg.brand_id, out)


# ------------------------------------------------------------------ steps
def _step(i: int, step: tuple, last: dict[str, dict]) -> dict:
    try:
        if step[0] == EMITTED:
            _, effect, conv_id, view = step
            if not isinstance(effect, Effect):
                raise ValueError(f"an emitted step carries {type(effect).__name__}, not an Effect")
            return {
                "emitted": {name: _value(getattr(effect, name)) for name in _EFFECT_FIELDS},
                "conversation_id": conv_id,
                "view": _view(conv_id, view, last),
            }
        name, args, views = step
        return {"op": name, "args": [_value(a) for a in args],
                "views": {_key(c): _view(c, v, last) for c, v in views.items()}}
    except ValueError as e:
        raise ValueError(f"delta step {i} ({step[0]!r}) cannot be encoded: {e}") from e


def _view(conv_id: str, view: dict, last: dict[str, dict]) -> object:
    """A step's view of a conversation; {"$same": id} when no field changed since the delta's last step
    that carried it (most steps of one input: the view is a third of a delta's bytes otherwise)."""
    if last.get(conv_id) == view:
        return {"$same": conv_id}
    last[conv_id] = view
    return _value(view)


def _unview(conv_id: str, encoded, seen: dict[str, dict]) -> dict:
    if isinstance(encoded, dict) and len(encoded) == 1 and "$same" in encoded:
        return seen[encoded["$same"]]
    view = seen[conv_id] = _loaded(encoded)
    return view


def _key(conv_id: str) -> str:
    if not isinstance(conv_id, str) or conv_id.startswith("$") or "\0" in conv_id:
        raise ValueError(f"a view is keyed by {conv_id!r}, not a conversation id")
    return conv_id


def _unstep(step: dict, seen: dict[str, dict]) -> tuple:
    if "emitted" in step:
        effect = step["emitted"]
        return (
            EMITTED,
            Effect(**{name: _loaded(effect[name]) for name in _EFFECT_FIELDS}),
            step["conversation_id"],
            _unview(step["conversation_id"], step["view"], seen),
        )
    name = step["op"]
    if not isinstance(name, str):
        raise ValueError(f"op name {name!r} is not a string")
    return name, tuple(_loaded(a) for a in step["args"]), {c: _unview(c, v, seen) for c, v in step["views"].items()}


# ------------------------------------------------------------------ values
def _value(v):
    if isinstance(v, _PLAIN):
        return v
    if isinstance(v, datetime):
        return {"$dt": v.isoformat()}
    if isinstance(v, list):
        return [_value(x) for x in v]
    if isinstance(v, tuple):
        return {"$tuple": [_value(x) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) and not k.startswith("$") and "\0" not in k for k in v):
            return {k: _value(x) for k, x in v.items()}
        return {"$dict": [[_value(k), _value(x)] for k, x in v.items()]}
    if isinstance(v, ConversationRef):
        return {"$conversation": v.id}
    if type(v).__name__ in _VALUES and isinstance(v, _VALUES[type(v).__name__]):
        return {"$value": [type(v).__name__, {name: _value(getattr(v, name)) for name in _field_names(type(v))}]}
    if isinstance(v, EmitterSpec):
        return {
            "$emitter": {
                "input_id": v.input_id,
                "brand_id": v.brand_id,
                "at": _value(v.at),
                "counts": [[[_value(p) for p in key], n] for key, n in v.counts],
            }
        }
    raise ValueError(f"a {type(v).__module__}.{type(v).__qualname__} has no wire form: {v!r:.80}")


def _loaded(v):
    if isinstance(v, list):
        return [_loaded(x) for x in v]
    if not isinstance(v, dict):
        return v
    tag = next(iter(v), "")
    if not tag.startswith("$"):
        return {k: _loaded(x) for k, x in v.items()}
    if len(v) != 1:
        raise ValueError(f"a tagged value has more than one key: {sorted(v)}")
    body = v[tag]
    if tag == "$dt":
        return datetime.fromisoformat(body)
    if tag == "$tuple":
        return tuple(_loaded(x) for x in body)
    if tag == "$dict":
        return {_loaded(k): _loaded(x) for k, x in body}
    if tag == "$conversation":
        return ConversationRef(body)
    if tag == "$emitter":
        return EmitterSpec(
            body["input_id"],
            body["brand_id"],
            _loaded(body["at"]),
            tuple((tuple(_loaded(p) for p in key), n) for key, n in body["counts"]),
        )
    if tag == "$value":
        name, values = body
        if name not in _VALUES:
            raise ValueError(f"unknown value type {name!r}")
        return _VALUES[name](**{k: _loaded(x) for k, x in values.items()})
    raise ValueError(f"unknown tag {tag!r}")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))
