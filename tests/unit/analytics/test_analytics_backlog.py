"""Backlog gauges at an instant: status counts, at-risk (<25% budget left), overdue, oldest waiting."""

from datetime import timedelta

from analytics_events import T0, conversation, decoded, fulfilled, sla
from switchboard.analytics.adapters.layout import from_document, to_document
from switchboard.analytics.domain.backlog import SeriesMemory, compute_backlog
from switchboard.analytics.domain.catalogue import GAUGES
from switchboard.analytics.domain.projection import Projection
from switchboard.events.v1 import common_pb2

EMAIL = ("acme", "email", "general", "normal")
Q, A = common_pb2.CONVERSATION_STATUS_QUEUED, common_pb2.CONVERSATION_STATUS_ASSIGNED


def build(*events):
    p = Projection()
    p.commit(p.apply_batch(decoded(events)))
    return p


def backlog(p, now, **kw):
    return compute_backlog(p.open.values(), now, p.labeller, **kw).values


def test_backlog_counts_open_conversations_by_status_and_queue_depth():
    p = build(
        conversation("conversation_opened", "c1", T0, status=Q),
        conversation("conversation_opened", "c2", T0, status=Q),
        conversation("conversation_opened", "c3", T0, status=A, assignee_id="a1"),
    )
    values = backlog(p, T0)
    assert values["switchboard_backlog_conversations"] == {(*EMAIL, "queued"): 2, (*EMAIL, "assigned"): 1}
    assert values["switchboard_queue_depth"] == {EMAIL: 2}


def test_at_risk_means_less_than_a_quarter_of_the_budget_left_and_overdue_is_separate():
    # 2.5 h email budget, deadline at T0 + 2.5 h
    p = build(
        conversation("conversation_opened", "c1", T0),
        sla("sla_applied", "c1", deadline=T0 + timedelta(hours=2.5), target_seconds=9000),
    )
    at = lambda minutes: backlog(p, T0 + timedelta(minutes=minutes))  # noqa: E731
    assert at(110)["switchboard_backlog_at_risk_conversations"][EMAIL] == 0  # 40 min of 150 left
    assert at(115)["switchboard_backlog_at_risk_conversations"][EMAIL] == 1  # 35 min < 37.5 min
    assert at(149)["switchboard_backlog_overdue_conversations"][EMAIL] == 0
    late = at(151)
    assert late["switchboard_backlog_overdue_conversations"][EMAIL] == 1
    assert late["switchboard_backlog_at_risk_conversations"][EMAIL] == 0


def test_paused_clock_is_never_at_risk():
    p = build(
        conversation("conversation_opened", "c1", T0),
        sla("sla_applied", "c1", deadline=T0 + timedelta(hours=1), target_seconds=3600),
        sla("sla_paused", "c1", deadline=T0 + timedelta(hours=1), target_seconds=3600),
    )
    values = backlog(p, T0 + timedelta(minutes=59))
    assert values["switchboard_backlog_at_risk_conversations"][EMAIL] == 0


def test_oldest_waiting_is_the_age_of_the_oldest_unanswered_customer_message():
    p = build(
        conversation("conversation_opened", "c1", T0),
        conversation("conversation_opened", "c2", T0 + timedelta(minutes=30)),
        conversation("conversation_opened", "c3", T0 - timedelta(hours=5), status=A),
        conversation("agent_replied", "c3", T0, status=A),
    )
    values = backlog(p, T0 + timedelta(hours=1))
    assert values["switchboard_backlog_oldest_waiting_seconds"][EMAIL] == 3600


def test_occupancy_is_assigned_conversations_over_working_agent_capacity():
    p = build(*[conversation("conversation_opened", f"c{i}", T0, status=A, assignee_id=f"a{i % 2}") for i in range(6)])
    values = backlog(p, T0, agent_capacity=4)
    assert values["switchboard_agent_occupancy_ratio"][("acme",)] == 6 / 8
    assert values["switchboard_agent_working_agents"][("acme",)] == 2


def test_emptied_backlog_reads_zero_instead_of_disappearing():
    memory = SeriesMemory()
    p = build(conversation("conversation_opened", "c1", T0, status=Q))
    memory.fill(compute_backlog(p.open.values(), T0, p.labeller))
    p.commit(
        p.apply_batch(
            decoded([conversation("conversation_resolved", "c1", T0, status=common_pb2.CONVERSATION_STATUS_RESOLVED)])
        )
    )
    values = memory.fill(compute_backlog(p.open.values(), T0, p.labeller)).values
    assert values["switchboard_backlog_conversations"] == {(*EMAIL, "queued"): 0}
    assert values["switchboard_queue_depth"] == {EMAIL: 0}


def test_document_round_trip_keeps_everything_the_gauges_need():
    p = build(
        conversation("conversation_opened", "c1", T0, status=Q),
        sla("sla_applied", "c1", deadline=T0 + timedelta(hours=1), target_seconds=3600),
    )
    doc = to_document(p.open["c1"])
    assert doc["status"] == "queued" and doc["channel"] == "email" and doc["brand_id"] == "acme"
    assert doc["sla_next_deadline"] == T0 + timedelta(hours=1)
    assert from_document("c1", doc) == p.open["c1"]


def test_every_gauge_in_the_catalogue_is_computed():
    p = build(conversation("conversation_opened", "c1", T0, status=A, assignee_id="a1"))
    assert {g.name for g in GAUGES} <= set(backlog(p, T0))


def _zeroless(values):
    return {name: {k: v for k, v in series.items() if v} for name, series in values.items() if name in GAUGE_NAMES}


GAUGE_NAMES = {g.name for g in GAUGES}


def test_incremental_index_agrees_with_a_full_recount_through_a_random_history():
    """The scrape-time index (O(label sets)) must say exactly what a full recount says."""
    import random

    from switchboard.analytics.domain.backlog import BacklogIndex

    rng = random.Random(7)
    p = Projection()
    index = BacklogIndex(p.labeller)
    p.on_change = index.update
    statuses = [
        Q,
        A,
        common_pb2.CONVERSATION_STATUS_BOT,
        common_pb2.CONVERSATION_STATUS_WAITING_ON_CUSTOMER,
        common_pb2.CONVERSATION_STATUS_RESOLVED,
    ]
    now = T0
    seen: set[str] = set()
    for step in range(60):
        batch = []
        for _ in range(20):
            cid = f"c{rng.randrange(40)}"
            kw = dict(
                channel=rng.choice([common_pb2.CHANNEL_EMAIL, common_pb2.CHANNEL_CHAT]),
                queue=rng.choice(["general", "vip"]),
                status=rng.choice(statuses),
                assignee_id=rng.choice(["", "a1", "a2"]),
            )
            kind = rng.choice(
                [
                    "conversation_opened",
                    "customer_message_appended",
                    "agent_replied",
                    "status_changed",
                    "sla",
                    "sla_paused",
                    "sla_breached",
                    "fulfilled",
                ]
            )
            at = now + timedelta(minutes=rng.randrange(60))
            if kind == "sla":
                batch.append(
                    sla(
                        "sla_applied",
                        cid,
                        metric=rng.choice([1, 2, 3]),
                        deadline=at + timedelta(hours=1),
                        target_seconds=rng.choice([600, 3600, 9000]),
                        **kw,
                    )
                )
            elif kind in ("sla_paused", "sla_breached"):
                batch.append(sla(kind, cid, metric=rng.choice([1, 2, 3]), deadline=at, **kw))
            elif kind == "fulfilled":
                batch.append(fulfilled(cid, 60, metric=rng.choice([1, 2, 3]), **kw))
            else:
                batch.append(conversation(kind, cid, at, **kw))
        p.commit(p.apply_batch(decoded(batch)))
        now += timedelta(minutes=rng.randrange(30))
        expected = compute_backlog(p.open.values(), now, p.labeller, agent_capacity=3).values
        assert _zeroless(index.snapshot(now, agent_capacity=3).values) == _zeroless(expected), f"step {step}"
        seen |= {name for name, series in _zeroless(expected).items() if series}
    assert seen == GAUGE_NAMES  # the history exercised every gauge (at risk, overdue, oldest ...)
    rebuilt = BacklogIndex(p.labeller)
    rebuilt.rebuild(p.open.values())
    assert _zeroless(rebuilt.snapshot(now).values) == _zeroless(index.snapshot(now).values)
    assert len(rebuilt) == len(p.open)
