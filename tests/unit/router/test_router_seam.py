"""The seam between the router's contact side and its routing side (domain/routing_ops.py): contact-side
code reaches agents, queues and capacity only through RoutingOps, the steps the contact stage sends the
routing stage (docs/router.md "The stage keyed by customer"). Read from the source (ast):
a new shortcut past the seam fails here, before it makes the split harder."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

from switchboard.router.domain import routing_ops, workspace
from switchboard.router.domain.model import Conversation
from switchboard.router.domain.routing_ops import CONTACT_FIELDS_ROUTING_READS, RoutingOps
from switchboard.router.domain.scope_routing import ScopeRouting

DOMAIN = Path(routing_ops.__file__).parent
CONTACT_SIDE = ("contact.py", "bot_turn.py", "bot.py", "orders.py", "lifecycle.py", "commands.py", "queue_exit.py",
                "receipts.py", "signals.py", "transcript.py", "identity.py", "threads.py")
ROUTING_STATE = {"agents", "queue", "lines", "stats"}  # Workspace fields only the routing side touches
PRIVATE_STEPS = {name for name, _ in inspect.getmembers(ScopeRouting, inspect.isfunction) if name.startswith("_")}
OPERATIONS = {name for name, value in vars(RoutingOps).items()
              if inspect.isfunction(value) and not name.startswith("_")} - {"replay"}  # (the engine's, not an ask)


def _crossings(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute):
            continue
        if isinstance(node.value, ast.Name) and node.value.id == "ws" and node.attr in ROUTING_STATE:
            found.append(f"line {node.lineno}: ws.{node.attr}")
        elif node.attr in PRIVATE_STEPS:
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


# Conversation fields only the routing side decides (workspace.ROUTING_FIELDS), and `status`, derived from
# them and the contact side's `phase`: the contact side reads its phase (or `is_open`), never the status.
ROUTING_FIELDS = {*workspace.ROUTING_FIELDS, "status"}
# Reads still to move, each named in the plan: whether a message may answer a queue-exit offer, and which
# options it offered (hard case 1; queue_exit.py also holds the routing side's offer, which writes it).
KNOWN_READS = {("contact.py", "people_status"), ("queue_exit.py", "queue_exit_offer")}
ROUTING_SIDE = ("scope_routing.py", "reassignment.py", "position_updates.py")


def _fields_used(name: str, fields: set[str]) -> set[tuple[str, str]]:
    tree = ast.parse((DOMAIN / name).read_text())
    return {(name, node.attr) for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == "conv" and node.attr in fields}


def _routing_fields_used(name: str) -> set[tuple[str, str]]:
    return _fields_used(name, ROUTING_FIELDS)


def _uses(source: str) -> set[str]:
    return {node.attr for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Attribute)}


def test_contact_side_code_reaches_routing_only_through_the_operations():
    crossings = {name: _crossings((DOMAIN / name).read_text()) for name in CONTACT_SIDE}
    assert {name: found for name, found in crossings.items() if found} == {}


def test_the_check_finds_a_shortcut_past_the_seam():
    shortcut = "def f(self, ws, conv, emit):\n    ws.queue.get(conv.brand_id)\n    self._enqueue(ws, conv, emit)\n"
    assert sorted(_crossings(shortcut)) == ["line 2: ws.queue", "line 3: ._enqueue"]


def test_every_operation_is_one_the_contact_side_asks_for():
    """The seam is the list of what crosses it: an operation nobody on the contact side uses is not part
    of it (routing-side helpers such as `eta` and `release` are used by reassignment and positions)."""
    asked = set().union(*(_uses((DOMAIN / name).read_text()) for name in CONTACT_SIDE))
    routing_side = set().union(*(_uses((DOMAIN / name).read_text())
                                 for name in ("reassignment.py", "position_updates.py")))
    assert OPERATIONS - asked - routing_side == set()
    assert "enqueue" in OPERATIONS & asked and "route" in OPERATIONS & asked


def test_contact_side_code_leaves_routing_fields_to_the_routing_side():
    used = set().union(*(_routing_fields_used(name) for name in CONTACT_SIDE))
    assert used - KNOWN_READS == set()
    assert KNOWN_READS <= used  # a read moved behind the seam: take it off the list


def test_the_routing_side_leaves_the_phase_to_the_contact_side():
    assert set().union(*(_fields_used(name, {"phase", "set_phase"}) for name in ROUTING_SIDE)) == set()


def test_the_status_is_only_ever_derived():
    """Written by nobody but the two setters (model.py), so it always agrees with phase and people_status."""
    writes = [(path.name, node.lineno) for path in sorted(DOMAIN.glob("*.py")) if path.name != "model.py"
              for node in ast.walk(ast.parse(path.read_text()))
              if isinstance(node, ast.Attribute) and node.attr == "status" and isinstance(node.ctx, ast.Store)]
    assert writes == []


def test_a_status_stored_before_the_split_reads_as_phase_and_people_status_and_derives_back():
    def stored(status: str) -> Conversation:
        return Conversation.from_doc({"_id": "c1", "brand_id": "acme", "customer_id": "k1", "opened_at": None,
                                      "channel": "email", "status": status})

    assert [(c.phase, c.people_status) for c in map(stored, ("bot", "waiting_on_customer", "resolved"))] == [
        ("bot", ""), ("people", "waiting_on_customer"), ("resolved", "")]
    conv = stored("assigned")
    conv.set_people_status("")  # resolved by routing first (capacity freed) ...
    assert conv.status == "queued" and conv.is_open
    conv.set_phase("resolved")  # ... then by the contact side
    assert conv.status == "resolved" and not conv.is_open
    conv.set_phase("people")  # reopened for people: waiting until routing queues it
    assert conv.status == "queued"


# Routing-side code: modules, and the routing functions of the two modules that hold both sides.
ROUTING_CODE = {"scope_routing.py": None, "reassignment.py": None, "position_updates.py": None,
                "assignment_notice.py": None, "waiting_line.py": None, "routing.py": None,
                "queue_exit.py": {"offer", "options", "due", "render_offer"},
                "routing_ops.py": {"replay", "_assign_step", "_call_answered_step", "_replied_step",
                                   "_reprioritize_step", "_resolved_step", "_back_to_people_step",
                                   "_customer_replied_step", "_set_status_step", "_set_presence_step",
                                   "_keep_place_step"}}
ROUTING_OWNED = ROUTING_FIELDS | {"timer_due_at", "updated_at"}


def test_a_delta_carries_every_contact_field_the_routing_side_reads():
    conversation_fields = {f.name for f in dataclasses.fields(Conversation)}
    read = set()
    for name, functions in ROUTING_CODE.items():
        tree = ast.parse((DOMAIN / name).read_text())
        scopes = [tree] if functions is None else [
            node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name in functions]
        assert functions is None or {f.name for f in scopes} == functions, f"{name}: a listed function is gone"
        read |= {node.attr for scope in scopes for node in ast.walk(scope) if isinstance(node, ast.Attribute)
                 and isinstance(node.value, ast.Name) and node.value.id == "conv"}
    assert (read & conversation_fields) - ROUTING_OWNED == CONTACT_FIELDS_ROUTING_READS
