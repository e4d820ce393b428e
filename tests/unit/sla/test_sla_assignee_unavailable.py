"""The router's AssigneeUnavailable event (issue 17): escalated only when nobody else could take the
conversation (escalate true), never for a warning; the response clocks keep their deadlines (pure)."""

from datetime import timedelta

from test_sla_tracker import T0, Convo, escalations, sla, tracker  # noqa: F401 (tracker is a fixture)

M = timedelta(minutes=1)


def test_a_wait_nobody_else_can_take_is_escalated_and_a_warning_is_not(tracker):  # noqa: F811
    c = Convo(tracker, channel="chat")
    c.event("conversation_opened", T0)
    c.event("conversation_assigned", T0 + M, status="assigned", assignee="alice")
    deadline = sla(c.emitted, "applied", "first_response")[0].deadline
    assert escalations(c.event("assignee_unavailable", T0 + 2 * M, agent_id="alice", reason="agent_silent")) == []
    (esc,) = escalations(c.event("assignee_unavailable", T0 + 3 * M, agent_id="alice", reason="agent_offline",
                                 escalate=True))
    assert esc.reason == "assignee_unavailable" and "alice" in esc.detail and "agent_offline" in esc.detail
    assert sla(c.emitted, "reapplied") == [] and sla(c.emitted, "applied", "first_response")[0].deadline == deadline
