"""The escalation ladder in detail (who is paged, why, with which deadline and breach time, when the
next rung comes), the once-per-episode escalations, acknowledgements, and the derived event ids:
dedupe relies on them, so they must stay the same across deploys (a golden test)."""
from datetime import timedelta

from sla_conversation import T0, Conversation, H, M, S, escalations, sla
from switchboard.common.cloudevents import derived_id
from switchboard.sla.domain import history
from switchboard.sla.domain.effects import EscalationOut, FiredTimer, SlaOut, TimerArm

MS = timedelta(milliseconds=1)
LEVELS = [
    {"name": "assignee", "after_breach": "0m", "recipients": ["{assignee}"], "destinations": ["slack:a"]},
    {"name": "team_lead", "after_breach": "2h", "recipients": ["lead:{queue}"], "destinations": ["slack:l"]},
    {"name": "manager", "after_breach": "3h", "recipients": ["manager"], "destinations": ["smtp:m"]},
]


def config(levels=LEVELS, ack_timeout="30m", **defaults) -> dict:
    escalation = {"levels": levels, **({"ack_timeout": ack_timeout} if ack_timeout else {})}
    return {"version": 1,
            "defaults": {"warnings": {"fractions": [0.75]}, "escalation": escalation,
                         "repeat_contact_threshold": 2, **defaults},
            "policies": [{"id": "email", "channels": ["email"], "targets": {
                "first_response": {"within": "2h", "hours": "calendar"},
                "resolution": {"within": "24h", "hours": "calendar"}}}],
            "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "calendar"}}}}


DEADLINE = T0 + 2 * H


def breached(cfg=None, **facts) -> Conversation:
    """First response breached at DEADLINE, noticed a minute later; the first rung is armed, not fired."""
    c = Conversation(cfg or config(), **facts)
    c.event("conversation_opened", T0)
    c.event("conversation_assigned", T0 + M, status="assigned", assignee="agent-7")
    c.run_until(DEADLINE - S)
    assert sla(c.fire(c.timers.pop(f"{c.state.conversation_id}|first_response|1|breach|0"), DEADLINE + M), "breached")
    return c


def armed(c: Conversation) -> list[TimerArm]:
    """The first-response timers the last decision armed."""
    return [a for a in c.last.arm if a.metric == "first_response"]


def rung(c: Conversation, level: int) -> FiredTimer:
    return c.timers[f"c1|first_response|1|escalate|{level}"]


def test_each_rung_pages_its_people_with_the_deadline_the_breach_time_and_why():
    c = breached()
    (first,) = escalations(c.run_until(DEADLINE))
    assert first == EscalationOut(
        escalation_id="c1:first_response:1:1", level=1, level_name="assignee", reason="sla_breached",
        metric="first_response", instance=1, deadline=DEADLINE, breached_at=DEADLINE + M, raised_at=DEADLINE + M,
        recipients=("agent-7",), destinations=("slack:a",), detail="first response overdue by 60 s",
        target_seconds=7200, id_parts=("escalation", "c1:first_response:1:1"))
    # not acknowledged within 30 minutes: the team lead is paged before the ladder's 2 hours
    assert c.last.arm == [TimerArm("c1|first_response|1|escalate|2", "c1", "escalate", "first_response", 1, 2,
                                   DEADLINE + 31 * M, "not_acknowledged")]
    (second,) = escalations(c.run_until(DEADLINE + 31 * M))
    assert (second.level_name, second.reason, second.recipients, second.raised_at) == (
        "team_lead", "not_acknowledged", ("lead:billing",), DEADLINE + 32 * M)
    assert second.detail == "first response overdue by 1920 s; previous level not acknowledged"
    assert (second.deadline, second.breached_at, second.instance) == (DEADLINE, DEADLINE + M, 1)
    assert c.last.arm[0].due == DEADLINE + 62 * M and c.last.arm[0].reason == "not_acknowledged"
    (third,) = escalations(c.run_until(DEADLINE + 62 * M))
    assert (third.level, third.recipients, third.destinations) == (3, ("manager",), ("smtp:m",))
    assert c.last.arm == [] and c.timers_of("first_response") == []  # the top of the ladder


def test_without_an_ack_timeout_the_next_rung_comes_at_the_ladders_own_time():
    c = breached(config(ack_timeout=None))
    c.run_until(DEADLINE)
    assert c.last.arm == [TimerArm("c1|first_response|1|escalate|2", "c1", "escalate", "first_response", 1, 2,
                                   DEADLINE + 2 * H, "sla_breached")]
    (second,) = escalations(c.run_until(DEADLINE + 2 * H, late=0 * S))
    assert (second.reason, second.detail) == ("sla_breached", "first response overdue by 7200 s")


def test_an_ack_timeout_ending_exactly_at_the_next_rung_keeps_the_ladders_reason():
    levels = [LEVELS[0], {**LEVELS[1], "after_breach": "30m"}]
    c = breached(config(levels))
    c.fire(c.timers.pop("c1|first_response|1|escalate|1"), DEADLINE)  # raised right at the deadline
    assert [(a.due, a.reason) for a in c.last.arm] == [(DEADLINE + 30 * M, "sla_breached")]
    # a rung reloaded from the store up to 10 ms early is still the ladder's own timer
    reloaded = FiredTimer("c1|first_response|1|escalate|2", "escalate", "first_response", 1, 2,
                          DEADLINE + 30 * M - 10 * MS)
    (second,) = escalations(c.fire(reloaded, DEADLINE + 30 * M))
    assert (second.reason, second.detail) == ("sla_breached", "first response overdue by 1800 s")


def test_a_redelivered_or_premature_escalation_timer_pages_nobody():
    c = breached()
    level_one = rung(c, 1)
    assert escalations(c.run_until(DEADLINE))
    assert c.fire(level_one, DEADLINE + 2 * M) == [] and c.last.arm == []   # the same rung twice
    fresh = Conversation(config())
    fresh.event("conversation_opened", T0)
    early = FiredTimer("c1|first_response|1|escalate|1", "escalate", "first_response", 1, 1, T0 + M)
    assert fresh.fire(early, T0 + M) == []                                   # not breached
    gone = FiredTimer("c1|next_response|1|escalate|1", "escalate", "next_response", 1, 1, T0 + M)
    assert fresh.fire(gone, T0 + M) == []                                    # no such clock
    odd = FiredTimer("c1|first_response|1|snooze|1", "snooze", "first_response", 1, 1, T0 + M)
    assert fresh.fire(odd, T0 + M) == [] and fresh.last.arm == []            # a kind this version lacks


def test_an_acknowledgement_stops_the_ladder_even_if_its_timer_fires_anyway():
    c = breached()
    c.run_until(DEADLINE)
    next_rung = rung(c, 2)
    c.event("escalation_acknowledged", DEADLINE + 5 * M, escalation_id="c1:first_response:1:1", agent_id="lead-1")
    assert c.last.cancel == ["c1|first_response|1|escalate|2"] and c.state.clocks["first_response"].acknowledged
    assert c.fire(next_rung, next_rung.due) == []
    # paused and resumed after the acknowledgement: nothing more to arm for the ladder
    c.event("conversation_assigned", DEADLINE + 6 * M, status="waiting_on_customer")
    c.event("conversation_assigned", DEADLINE + 7 * M, status="assigned")
    assert sla(c.last.emits, "resumed") and armed(c) == []
    assert c.state.escalations == [{
        "escalation_id": "c1:first_response:1:1", "level": 1, "level_name": "assignee", "reason": "sla_breached",
        "metric": "first_response", "instance": 1, "raised_at": DEADLINE + M, "acknowledged": True,
        "acknowledged_by": "lead-1", "acknowledged_at": DEADLINE + 5 * M}]


def test_a_breached_clock_resumed_after_a_pause_re_arms_its_next_rung():
    c = breached()
    c.run_until(DEADLINE)
    c.event("conversation_assigned", DEADLINE + 5 * M, status="waiting_on_customer")
    c.event("conversation_assigned", DEADLINE + 65 * M, status="assigned")
    clock = c.state.clocks["first_response"]
    assert clock.deadline == DEADLINE + 60 * M  # the pause moved it
    assert armed(c) == [TimerArm("c1|first_response|1|escalate|2", "c1", "escalate", "first_response", 1, 2,
                                 clock.deadline + 2 * H, "sla_breached")]


def test_a_clock_at_the_top_of_its_ladder_arms_nothing_after_a_pause():
    c = breached(config(LEVELS[:1]))
    assert escalations(c.run_until(DEADLINE)) and c.last.arm == []
    c.event("conversation_assigned", DEADLINE + 5 * M, status="waiting_on_customer")
    c.event("conversation_assigned", DEADLINE + 6 * M, status="assigned")
    assert sla(c.last.emits, "resumed") and armed(c) == []


def test_an_acknowledgement_is_read_right_to_left_and_only_for_this_clock_instance():
    c = breached(conversation_id="shop:42")
    c.run_until(DEADLINE)
    assert c.event("escalation_acknowledged", DEADLINE + 2 * M, escalation_id="other:first_response:1:1") == []
    assert c.last.cancel == [] and not c.state.clocks["first_response"].acknowledged
    c.event("escalation_acknowledged", DEADLINE + 3 * M, escalation_id="c1:first_response:1:1")
    assert c.last.cancel == []  # another conversation's escalation
    c.event("escalation_acknowledged", DEADLINE + 4 * M, escalation_id="shop:42:first_response:2:1")
    assert c.last.cancel == []  # another instance of the clock
    c.event("escalation_acknowledged", DEADLINE + 5 * M, escalation_id="shop:42:repeat_contact:1:2")
    assert c.last.cancel == []  # a once-per-episode escalation has no ladder to stop
    c.event("escalation_acknowledged", DEADLINE + 6 * M, escalation_id="shop:42:first_response:1:1")
    assert c.last.cancel == ["shop:42|first_response|1|escalate|2"]


def test_history_keeps_each_escalation_once_and_an_unknown_acknowledgement_changes_nothing():
    c = breached()
    c.run_until(DEADLINE)
    raised = [e for e in c.state.escalations]
    assert [(e["acknowledged"], e["acknowledged_by"], e["acknowledged_at"]) for e in raised] == [(False, "", None)]
    history.record(c.state, c.last)  # the same decisions recorded again (a retried write)
    assert c.state.escalations == raised and len(raised) == 1
    assert history.acknowledge(c.state, "c1:first_response:1:1", "lead-1", DEADLINE + M) is True
    assert history.acknowledge(c.state, "c1:first_response:1:9", "lead-1", DEADLINE + M) is False


def test_a_warning_of_an_earlier_clock_instance_is_not_kept_on_the_current_one():
    c = Conversation(config())
    c.event("conversation_opened", T0)
    clock = c.state.clocks["first_response"]
    c.run_until(T0 + 90 * M)
    assert clock.warnings == [{"fraction": 0.75, "at": T0 + 91 * M}]
    old = SlaOut("warning", "first_response", 0, "email", DEADLINE, 7200, False, "24x7",
                 {"fraction_elapsed": 0.5, "detected_at": T0 + 92 * M}, ())
    history.record(c.state, type(c.last)(emits=[old]))
    assert clock.warnings == [{"fraction": 0.75, "at": T0 + 91 * M}]


# --- once-per-episode escalations -----------------------------------------------------------
def once(cfg=None) -> Conversation:
    c = Conversation(cfg or config())
    c.event("conversation_opened", T0)
    return c


def test_repeat_contact_pages_the_second_rung_once_per_episode():
    c = once()
    (page,) = escalations(c.event("repeat_contact_detected", T0 + M))
    assert page == EscalationOut(
        escalation_id="c1:repeat_contact:1:2", level=2, level_name="team_lead", reason="repeat_contact", metric="",
        instance=1, deadline=None, breached_at=None, raised_at=T0 + M, recipients=("lead:billing",),
        destinations=("slack:l",), detail="router detected repeat contacts without a resolution",
        target_seconds=0, id_parts=("escalation", "c1:repeat_contact:1:2"))
    assert escalations(c.event("repeat_contact_detected", T0 + 2 * M)) == []
    one_rung = once(config(LEVELS[:1]))
    (page,) = escalations(one_rung.event("repeat_contact_detected", T0 + M, assignee=""))
    assert (page.level, page.level_name, page.recipients) == (1, "assignee", ("unassigned",))
    assert escalations(once(config([])).event("repeat_contact_detected", T0 + M)) == []
    (page,) = escalations(once(config(LEVELS[:2])).event("repeat_contact_detected", T0 + M))
    assert (page.level, page.level_name) == (2, "team_lead")


def test_customer_contacts_count_again_from_zero_after_a_resolution():
    c = once()  # contact 1
    c.event("agent_replied", T0 + M)
    (page,) = escalations(c.event("customer_message_appended", T0 + 2 * M))  # contact 2: the threshold
    assert (page.reason, page.detail) == ("repeat_contact", "customer contacted 2 times without a resolution")
    assert page.raised_at == T0 + 2 * M
    c.event("conversation_resolved", T0 + 3 * M, status="resolved")
    assert escalations(c.event("customer_message_appended", T0 + 4 * M)) == []  # contact 1 of a new count
    c.event("conversation_reopened", T0 + 5 * M, status="queued")
    c.event("agent_replied", T0 + 6 * M)
    (again,) = escalations(c.event("customer_message_appended", T0 + 7 * M))
    assert again.escalation_id == "c1:repeat_contact:2:2"  # the new episode may page again


def test_reassignment_and_an_unavailable_assignee_page_with_what_happened():
    c = once()
    assert escalations(c.event("conversation_assigned", T0 + M, reassignment_count=2)) == []
    (page,) = escalations(c.event("conversation_assigned", T0 + 2 * M, reassignment_count=3, queue=""))
    assert (page.escalation_id, page.reason, page.detail) == ("c1:reassigned:1:2", "reassigned_too_often",
                                                              "reassigned 3 times")
    assert (page.raised_at, page.recipients) == (T0 + 2 * M, ("lead:-",))
    assert escalations(c.event("assignee_unavailable", T0 + 3 * M, reason="sick")) == []  # someone else took it
    (page,) = escalations(c.event("assignee_unavailable", T0 + 4 * M, reason="sick", escalate=True))
    assert (page.escalation_id, page.reason, page.raised_at) == (
        "c1:assignee_unavailable:1:2", "assignee_unavailable", T0 + 4 * M)
    assert page.detail == "assignee - unavailable (sick) and nobody else eligible"


# --- derived event ids ------------------------------------------------------------------------
def test_derived_event_ids_stay_the_same_across_deploys():
    c = Conversation(config(proactive_update_after="4h"))
    out = c.event("conversation_opened", T0)
    out += c.event("conversation_queued", T0 + 10 * M, priority="high")
    out += c.event("conversation_assigned", T0 + 20 * M, status="waiting_on_customer")
    out += c.event("conversation_assigned", T0 + 30 * M, status="assigned")
    out += c.run_until(T0 + 2 * H)
    out += c.event("agent_replied", T0 + 2 * H, status="waiting_on_third_party")
    out += c.run_until(T0 + 6 * H + M)
    out += c.event("order_linked", T0 + 7 * H, order_kind="delayed", order_id="o-1", reason="carrier")
    out += c.event("conversation_resolved", T0 + 8 * H, status="resolved")
    assert [(getattr(e, "event", type(e).__name__), e.id_parts) for e in out] == [
        ("applied", ("e1", "applied", "first_response", 1)),
        ("applied", ("e1", "applied", "resolution", 1)),
        ("reapplied", ("e2", "reapplied", "first_response", 1)),
        ("reapplied", ("e2", "reapplied", "resolution", 1)),
        ("paused", ("e3", "paused", "first_response", 1)),
        ("paused", ("e3", "paused", "resolution", 1)),
        ("resumed", ("e4", "resumed", "first_response", 1)),
        ("resumed", ("e4", "resumed", "resolution", 1)),
        ("warning", ("c1|first_response|1|warn|1", 1795427700000)),   # the timer and its due time (ms)
        ("breached", ("c1|first_response|1|breach|0", 1795428600000)),
        ("EscalationOut", ("escalation", "c1:first_response:1:1")),
        ("EscalationOut", ("escalation", "c1:first_response:1:2")),
        ("fulfilled", ("e5", "fulfilled", "first_response", 1)),
        ("paused", ("e5", "paused", "resolution", 1)),
        ("ProactiveOut", ("c1|proactive|1|proactive|0", 1795446000000)),
        ("ProactiveOut", ("e6", "proactive", "order_delayed")),
        ("fulfilled", ("e7", "fulfilled", "resolution", 1)),
    ]
    # the ids themselves (uuid5 of the parts): a change here re-keys events already published
    assert [derived_id(*e.id_parts) for e in out] == [
        "f961d496-eadd-5104-84ae-b2d4d5b467e7", "c099b81f-22ee-5100-8cee-2a5fa2568915",
        "537745af-0b43-537e-8187-b1b9296c9c71", "7aa361eb-46b4-5eea-9379-ce9ca2d6c9ec",
        "2b6c1af3-2659-524e-9124-06a91d7dee3b", "c183cb9e-dca4-5822-8d55-cef815e5bae3",
        "bf76b1ae-a799-57f6-9071-b63c3fe7c429", "1d92ff9c-3738-52d9-872c-ae6a618055c1",
        "d8742158-fc06-5add-b974-457c3ea576a3", "42af9b74-5cb0-55e4-86a4-40aebcb04d55",
        "1ccb5cd2-8737-544a-a5b4-62971a602d4b", "c0b9ffaf-6803-553d-af81-9c2b855236dc",
        "405b7b64-b2e0-574e-9cbb-8c38cd77f689", "2190d182-7829-5f67-b2b8-20348f151b6c",
        "83bf084e-8459-514d-9b3b-69db7409a1cc", "8b037847-1213-5138-bdd7-7d21f8b2e83d",
        "1901babc-6484-511f-9554-e5b649477e33"]


def test_every_cause_names_the_event_that_started_or_stopped_a_clock():
    cfg = config()
    cfg["policies"] = [
        {"id": "email", "channels": ["email"], "targets": {
            "first_response": {"within": "2h"}, "next_response": {"within": "2h"}, "resolution": {"within": "24h"}}},
        {"id": "phone", "channels": ["phone"], "targets": {"phone_answer": {"within": "9m"}}},
        {"id": "forms", "channels": ["web_form"], "reopen": "restart", "targets": {"resolution": {"within": "24h"}}}]
    c = Conversation(cfg)
    out = c.event("conversation_opened", T0, status="bot")
    out += c.event("conversation_handed_off", T0 + M, status="queued")
    out += c.event("agent_replied", T0 + 2 * M)
    out += c.event("customer_message_appended", T0 + 3 * M)
    out += c.event("conversation_resolved", T0 + 4 * M, status="resolved")
    out += c.event("conversation_reopened", T0 + 5 * M, status="queued")
    assert [(e.event, e.metric, e.id_parts) for e in sla(out)] == [
        ("applied", "first_response", ("e1", "applied", "first_response", 1)),
        ("applied", "resolution", ("e1", "applied", "resolution", 1)),
        ("applied", "agent_first_response", ("e2", "applied", "agent_first_response", 1)),
        ("fulfilled", "first_response", ("e3", "fulfilled", "first_response", 1)),
        ("fulfilled", "agent_first_response", ("e3", "fulfilled", "agent_first_response", 1)),
        ("applied", "next_response", ("e4", "applied", "next_response", 1)),
        ("fulfilled", "resolution", ("e5", "fulfilled", "resolution", 1)),
        ("cancelled", "next_response", ("e5", "cancelled", "next_response", 1)),
        ("resumed", "resolution", ("e6", "resumed", "resolution", 1)),
        ("applied", "first_response", ("e6", "applied", "first_response", 2)),
    ]
    forms = Conversation(cfg, channel="web_form")
    forms.event("conversation_opened", T0)
    forms.event("conversation_resolved", T0 + M, status="resolved")
    restarted = sla(forms.event("conversation_reopened", T0 + 2 * M, status="queued"), "applied", "resolution")
    assert [e.id_parts for e in restarted] == [("e3", "applied", "resolution", 2)]
    ringing = sla(Conversation(cfg, channel="phone").event("conversation_opened", T0), "applied")
    assert [e.id_parts for e in ringing] == [("e1", "applied", "phone_answer", 1)]
