"""What a reopen does to first_response against next_response, and the router's reactions and provider
notices moving no clock (issue 16, items 6 and 10)."""
from switchboard.sla.domain.policy import load_policy_book
from switchboard.sla.domain.tracker import Tracker
from test_sla_tracker import CONFIG, T0, Convo, H, M, escalations, sla


def tracker() -> Tracker:
    return Tracker(load_policy_book(CONFIG))


def test_a_reopen_starts_first_response_2_and_later_messages_of_that_episode_run_next_response():
    c = Convo(tracker())
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M, status="assigned")
    c.event("conversation_resolved", T0 + H, status="resolved")
    c.event("customer_message_appended", T0 + 2 * H, status="resolved")
    out = c.event("conversation_reopened", T0 + 2 * H, status="queued")
    assert [(e.metric, e.instance) for e in sla(out, "applied")] == [("first_response", 2)]
    out = c.event("agent_replied", T0 + 2 * H + 10 * M, status="assigned")
    assert [(e.metric, e.instance) for e in sla(out, "fulfilled")] == [("first_response", 2)]
    out = c.event("customer_message_appended", T0 + 3 * H, status="assigned")  # same episode: a follow-up
    assert [(e.metric, e.instance) for e in sla(out, "applied")] == [("next_response", 1)]


def test_reactions_and_provider_notices_move_no_clock():
    c = Convo(tracker())
    c.event("conversation_opened", T0)
    c.event("agent_replied", T0 + M, status="assigned")
    contacts = c.state.contacts
    for n, kind in enumerate(["customer_reaction_added", "provider_notice_added"] * 3):
        assert c.event(kind, T0 + (n + 2) * M, status="assigned") == []
    assert c.state.contacts == contacts and c.state.awaiting_since is None
    assert "next_response" not in c.state.clocks and escalations(c.emitted) == []
    c.event("conversation_resolved", T0 + H, status="resolved")
    assert c.event("customer_reaction_added", T0 + 2 * H, status="resolved") == []
    assert not any(clock.active for clock in c.state.clocks.values())
