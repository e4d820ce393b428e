"""The routing choice, pinned where `make mutation` found it loose (docs/mutation.md): product lines
and the any-language agent in eligibility, the explanation each rule gives, the idle clock that
decides the next tie, and the last steps of the queue position messages."""

from __future__ import annotations

from datetime import timedelta

from router_unit_kit import T0
from switchboard.router.domain import routing
from switchboard.router.domain.model import NORMAL, Agent, QueueEntry


def agent(agent_id: str, *, spare=3, idle_min=0, languages=("en",), product_lines=()) -> Agent:
    return Agent(id=f"acme/{agent_id}", brand_id="acme", agent_id=agent_id, queues=["q"], languages=list(languages),
                 channels=["chat", "email"], capacity={"chat": 4, "email": 10}, load={"chat": 4 - spare},
                 presence="online", product_lines=list(product_lines),
                 idle_since=T0 - timedelta(minutes=idle_min))


def entry(cid: str, *, language="en", product_line="", preferred="", excluded="") -> QueueEntry:
    return QueueEntry(id=cid, brand_id="acme", queue="q", priority=NORMAL, channel="chat", capacity_class="chat",
                      language=language, enqueued_at=T0, product_line=product_line, preferred_agent=preferred,
                      excluded_agent=excluded)


def test_product_lines_limit_who_may_take_it_and_an_agent_without_any_covers_them_all():
    hardware = entry("c", product_line="hardware")
    assert routing.ineligibility(agent("hw", product_lines=("hardware", "repairs")), hardware) is None
    assert routing.ineligibility(agent("generalist"), hardware) is None
    assert routing.ineligibility(agent("sw", product_lines=("software",)), hardware) == "does not cover hardware"
    assert routing.ineligibility(agent("sw", product_lines=("software",)), entry("d")) is None  # none asked for
    software_only, hardware_only = agent("sw", spare=4, product_lines=("software",)), agent("hw", spare=1,
                                                                                          product_lines=("hardware",))
    choice = routing.choose_agent(hardware, [software_only, hardware_only])
    assert (choice.agent_id, choice.rule) == ("hw", routing.ONLY_ELIGIBLE)


def test_an_agent_marked_for_every_language_takes_any_language_and_the_silent_assignee_is_skipped():
    assert routing.ineligibility(agent("poly", languages=("*",)), entry("c", language="ja")) is None
    assert routing.ineligibility(agent("en"), entry("c", language="ja")) == "does not speak ja"
    assert routing.ineligibility(agent("a"), entry("c", excluded="a")) == "left it unanswered (reassigned for silence)"


def test_each_rule_explains_the_choice_with_the_slots_it_counted():
    sticky = routing.choose_agent(entry("c", preferred="a"), [agent("a", spare=1), agent("b", spare=3)])
    assert sticky.explanation == "previous agent a is online with 1 spare chat slot(s)"
    only = routing.choose_agent(entry("c"), [agent("a", spare=2)])
    assert only.explanation == "a is the only eligible agent in queue q (2 spare chat slot(s))"
    most = routing.choose_agent(entry("c"), [agent("a", spare=1), agent("b", spare=3), agent("d", spare=2)])
    assert most.explanation == "b has the most spare chat capacity (3 of 4) among 3 eligible agents in queue q"
    tie = routing.choose_agent(entry("c"), [agent("a", spare=2, idle_min=5), agent("b", spare=2, idle_min=9),
                                            agent("d", spare=1, idle_min=60)])
    assert tie.explanation == "2 agents tie at 2 spare chat slot(s); b has been idle longest"


def test_taking_a_conversation_restarts_the_idle_clock_so_the_next_tie_goes_to_the_other_agent():
    a, b = agent("a", spare=2, idle_min=30), agent("b", spare=2, idle_min=10)
    assert routing.choose_agent(entry("c1"), [a, b]).agent_id == "a"
    routing.take(a, entry("c1"), "c1", T0)
    assert a.idle_since == T0 and a.active == ["c1"] and a.spare("chat") == 1
    routing.release(a, "chat", "c1")
    assert a.spare("chat") == 2 and a.active == []
    assert routing.choose_agent(entry("c2"), [a, b]).agent_id == "b"  # a took one a moment ago


def test_position_messages_with_a_step_of_one_follow_every_move_and_the_first_place_counts():
    assert routing.should_notify(5, 4, 1) and routing.should_notify(5, 4, 0)  # a step below 1 means 1
    assert not routing.should_notify(5, 5, 1)
    assert not routing.should_notify(1, 1, 3)  # first place, told already: nothing new to say
    assert routing.should_notify(1, 2, 3)      # pushed back from the front by a priority change
