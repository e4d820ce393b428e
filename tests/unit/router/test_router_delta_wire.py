"""The contact stage -> routing stage delta on the wire (adapters/delta_wire.py): every golden scenario's
deltas come back from a ContactDelta equal to what was sent, datetimes to the microsecond; what this
release cannot have written is refused with a ValueError that names it. (split_kit.py also puts every
split-mode engine test's deltas through the codec.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bson
import pytest
import test_router_effect_sequences as sequences
from router_unit_kit import T0, derive
from split_kit import SplitEngine
from switchboard.events.v1 import routing_pb2
from switchboard.router.adapters import delta_wire
from switchboard.router.domain import delta
from switchboard.router.domain.delta import ConversationRef, Delta, EmitterSpec
from switchboard.router.domain.engine import Engine, Workspace
from switchboard.router.domain.inputs import OrderIn
from switchboard.router.domain.model import Handle
from switchboard.router.domain.workspace import CONVERSATIONS, EMITTED, Effect

US = timedelta(microseconds=123457)


def _deltas(config, scenario) -> list[Delta]:
    engine = SplitEngine(config, derive)
    scenario(engine, config)
    return engine.sent


def _over_the_wire(d: Delta) -> Delta:
    """Encoded, serialized inside a RoutingRequest as the contact stage would publish it, parsed, decoded."""
    request = routing_pb2.RoutingRequest(brand_id=d.brand_id, delta=delta_wire.encode(d))
    parsed = routing_pb2.RoutingRequest.FromString(request.SerializeToString())
    assert parsed.WhichOneof("event") == "delta"
    return delta_wire.decode(parsed.delta)


def _values(x):
    """Every value inside x (steps, args, effects, dicts, tuples)."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield k
            yield from _values(v)
    elif isinstance(x, list | tuple):
        for v in x:
            yield from _values(v)
    elif isinstance(x, Effect):
        yield x
        yield from _values([x.occurred_at, x.snapshot, x.data])
    elif isinstance(x, EmitterSpec):
        yield x
        yield from _values([x.at, x.counts])
    else:
        yield x


@pytest.mark.parametrize("name", list(sequences.SCENARIOS))
def test_every_delta_of_a_golden_scenario_comes_back_equal(config, name):
    deltas = _deltas(config, sequences.SCENARIOS[name])
    assert deltas and any(s[0] != EMITTED for d in deltas for s in d.steps)
    for d in deltas:
        back = _over_the_wire(d)
        assert back == d
        assert (back.input_id, back.brand_id) == (d.input_id, d.brand_id)
        for sent, received in zip(d.steps, back.steps, strict=True):
            assert type(received) is tuple and len(received) == len(sent)
            if sent[0] != EMITTED:
                assert type(received[1]) is tuple  # args as the op is called with them
        # Equal is not enough where the domain tells types apart: same types throughout, datetimes aware.
        assert [type(v) for v in _values(back.steps)] == [type(v) for v in _values(d.steps)]
        assert all(v.tzinfo is not None for v in _values(back.steps) if isinstance(v, datetime))


def test_the_deltas_name_their_conversations_and_carry_emitters_as_specs(config):
    deltas = _deltas(config, sequences.SCENARIOS["faq_then_handoff_queued_then_assigned"])
    handoff = next(d for d in deltas if d.input_id == "s1-human")
    ops = [s for s in handoff.steps if s[0] != EMITTED]
    assert [s[0] for s in ops][:1] == ["_enqueue"]
    refs = {a.id for s in ops for a in s[1] if isinstance(a, ConversationRef)}
    specs = [a for s in ops for a in s[1] if isinstance(a, EmitterSpec)]
    assert refs and handoff.conversation_ids() == refs | {s[2] for s in handoff.steps if s[0] == EMITTED}
    assert specs and all(s is specs[0] for s in specs)  # one Emitter, one spec
    assert specs[0].input_id == "s1-human" and dict(specs[0].counts)  # the contact side's ids so far
    presence = next(d for d in deltas if d.input_id == "s1-online")
    assert presence.conversation_ids() == set() and presence.steps[0][0] == "_set_presence_step"


def test_microseconds_survive_which_bson_datetimes_would_drop(config):
    """Input times come from protobuf Timestamps (microseconds): a BSON datetime keeps milliseconds."""
    at = T0 + US
    engine = SplitEngine(config, derive)
    ws = sequences._ws(config, online=("alice",))
    engine.apply(ws, sequences._msg("us-human", "human please", at=at))
    [sent] = engine.sent
    assert [e.occurred_at for e in ws.effects] == [at] * len(ws.effects)
    back = _over_the_wire(sent)
    spec = next(a for s in back.steps if s[0] != EMITTED for a in s[1] if isinstance(a, EmitterSpec))
    assert spec.at == at and spec.at.microsecond == 123457
    assert all(s[1].occurred_at == at for s in back.steps if s[0] == EMITTED)
    lossy = bson.decode(bson.encode({"at": at}), codec_options=bson.CodecOptions(tz_aware=True))["at"]
    assert lossy != at  # why datetimes travel as ISO strings


def test_a_decoded_delta_replays_like_the_in_line_engine(config):
    """The routing stage replays the decoded delta on a workspace of its own: the same effects as one
    engine applying the input in line."""
    inp = OrderIn("wire-order", "acme", "o-1", "delayed", T0 + US, handles=(sequences.ANN,), reason="customs")
    inputs = (sequences._msg("wire-human", "agent please"), inp)
    in_line, ws_a = Engine(config, derive), sequences._ws(config)
    for i in inputs:
        in_line.apply(ws_a, i)

    contact, routing = Engine(config, derive, deferred_routing=True), Engine(config, derive)
    ws_b, rws = sequences._ws(config), Workspace()
    rws.agents = ws_b.agents
    for i in inputs:
        d = delta.from_recording(i.event_id, i.brand_id, contact.record(ws_b, i))
        carried = delta.replay(routing, rws, delta_wire.decode(delta_wire.encode(d)))
        assert carried == d.conversation_ids() and carried <= set(rws.conversations)
    assert rws.effects == ws_a.effects
    linked = next(e for e in rws.effects if e.case == "order_linked")
    assert linked.data["order"] == inp and type(linked.data["order"].handles) is tuple


def test_values_bson_cannot_hold_as_they_are_come_back():
    at = datetime(2026, 1, 5, 9, 0, 0, 1, tzinfo=UTC)
    effect = Effect(
        CONVERSATIONS,
        "x",
        "e1",
        "c1",
        "acme",
        at,
        {"opened_at": at, "tags": ["a"]},
        {
            "$set": 1,
            2: "two",
            ("a", 1): (1, [2, (3,)]),
            "nested": {"$dt": "not a date"},
            "handle": Handle("email", "a@x.com"),
            "empty": {},
            "none": None,
            "blob": b"\x00\x01",
        },
        "in-1",
    )
    spec = EmitterSpec("in-1", "acme", at, ((("queued", "c1"), 1), (("notify", "queue_position", "c1"), 2)))
    d = Delta(
        "in-1",
        "acme",
        [
            (EMITTED, effect, "c1", {"conversation_id": "c1", "phase": "bot", "opened_at": at}),
            ("_route", ("acme", spec), {}),
            ("_enqueue", (ConversationRef("c1"), spec), {"c1": {"conversation_id": "c1"}}),
            (EMITTED, effect, "", {"conversation_id": ""}),
        ],
    )
    back = delta_wire.decode(delta_wire.encode(d))
    assert back == d
    assert back.steps[1][1][1] == back.steps[2][1][1]  # equal specs: replay gives them one Emitter


def test_a_value_with_no_wire_form_is_named():
    effect = Effect(CONVERSATIONS, "x", "e1", "c1", "acme", T0, {}, {"wait": timedelta(seconds=5)}, "in-1")
    with pytest.raises(ValueError, match=r"step 0 \('emitted'\).*datetime\.timedelta"):
        delta_wire.encode(Delta("in-1", "acme", [(EMITTED, effect, "c1", {})]))
    with pytest.raises(ValueError, match=r"step 0 \('_route'\).*builtins\.object"):
        delta_wire.encode(Delta("in-1", "acme", [("_route", ("acme", object()), {})]))


@pytest.mark.parametrize(
    ("steps", "error"),
    [
        (b"not bson at all", "steps are not a BSON document"),
        (b"", "steps are not a BSON document"),
        (bson.encode({"other": 1}), "no 'steps' list"),
        (bson.encode({"steps": [{"op": "_route", "args": [{"$nope": 1}], "views": {}}]}), "step 0.*'\\$nope'"),
        (bson.encode({"steps": [{"op": 7, "args": [], "views": {}}]}), "step 0.*op name 7"),
        (bson.encode({"steps": [{"emitted": {"topic": "x"}}]}), "step 0.*case"),
        (
            bson.encode({"steps": [{"op": "_route", "args": [{"$value": ["Customer", {}]}], "views": {}}]}),
            "step 0.*unknown value type 'Customer'",
        ),
    ],
)
def test_a_malformed_delta_is_refused_with_what_is_wrong(steps, error):
    with pytest.raises(ValueError, match=error):
        delta_wire.decode(routing_pb2.ContactDelta(input_id="in-9", brand_id="acme", steps=steps))
