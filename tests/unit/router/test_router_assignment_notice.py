"""An agent is told when the router gives them a conversation (NotificationRequested AGENT_ASSIGNED),
not when they took it themself; the notice's intent id is stable under replay."""

from __future__ import annotations

import copy

from router_unit_kit import agents_for, command, message
from switchboard.events.v1 import common_pb2, notification_pb2
from switchboard.router.adapters.codec import notification
from switchboard.router.domain.engine import Workspace
from switchboard.router.domain.model import Handle

ANN = Handle("email", "ann@example.com")


def notices(ws: Workspace) -> list:
    return [e for e in ws.effects if e.topic == "notifications" and e.case == "agent_assigned"]


def online_ws(config, *agents: str) -> Workspace:
    ws = Workspace()
    ws.agents["acme"] = agents_for(config, online=agents)
    return ws


def test_routing_a_conversation_to_an_agent_tells_that_agent_with_the_routing_explanation(engine, config):
    ws = online_ws(config, "alice")
    engine.apply(ws, message("I need a human please", sender=ANN))
    (notice,) = notices(ws)
    (assigned,) = [e for e in ws.effects if e.case == "conversation_assigned"]
    conv = next(iter(ws.conversations.values()))
    assert notice.key == conv.id and notice.snapshot["assignee_id"] == "alice"
    assert notice.data["assignment"] == {"agent_id": "alice", "agent_name": "alice", "rule": assigned.data["rule"],
                                         "explanation": assigned.data["explanation"], "previous_agent_id": ""}
    # For the agent, not the customer: no customer address or channel rides along.
    request = notification(notice, notice.occurred_at)
    assert request.kind == notification_pb2.NOTIFICATION_KIND_AGENT_ASSIGNED
    assert request.assignment.agent_id == "alice" and request.assignment.explanation
    assert not request.recipient.value and request.channel == common_pb2.CHANNEL_UNSPECIFIED
    assert request.intent_id == notice.event_id and request.conversation.conversation_id == conv.id


def test_replaying_the_input_requests_the_same_notice_id(engine, config):
    ws = online_ws(config, "alice")
    before = copy.deepcopy(ws)
    inp = message("I need a human please", sender=ANN, event_id="in-replayed")
    engine.apply(ws, inp)
    engine.apply(before, inp)
    assert [n.event_id for n in notices(ws)] == [n.event_id for n in notices(before)] != []


def test_a_supervisor_assigning_someone_else_tells_them_but_taking_it_yourself_does_not(engine, config):
    ws = online_ws(config)  # nobody online: the conversation waits in the queue
    engine.apply(ws, message("I need a human please", sender=ANN))
    conv = next(iter(ws.conversations.values()))
    assert notices(ws) == []
    engine.apply(ws, command("assign_conversation", agent_id="sam", conversation_id=conv.id, assignee_id="bob"))
    (to_bob,) = notices(ws)
    assert to_bob.data["assignment"]["agent_id"] == "bob" and to_bob.data["assignment"]["rule"] == "manual"
    engine.apply(ws, command("assign_conversation", agent_id="alice", conversation_id=conv.id, assignee_id="alice"))
    assert conv.assignee_id == "alice"
    assert len(notices(ws)) == 1, "alice assigned it to herself: no notice"


def test_an_agent_who_replies_to_a_waiting_conversation_gets_no_notice(engine, config):
    ws = online_ws(config)
    engine.apply(ws, message("I need a human please", sender=ANN))
    conv = next(iter(ws.conversations.values()))
    engine.apply(ws, command("reply_to_conversation", agent_id="bob", conversation_id=conv.id, text="On it!"))
    assert conv.assignee_id == "bob"
    assert notices(ws) == []
