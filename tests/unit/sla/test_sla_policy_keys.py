"""Per-policy keys an operator sets in sla.yaml, each read as written (mutation testing found no test
reading them), and the errors that name what to fix."""
from datetime import timedelta

import pytest
from switchboard.sla.domain.policy import PolicyError, load_policy_book

BASE = {"version": 1, "default_policy": {"id": "default", "targets": {"first_response": {"within": "1h"}}}}


def policy(**keys):
    book = load_policy_book({**BASE, "policies": [{"id": "p", "channels": ["email"], **keys}]})
    return book.select(brand="acme", channel="email", priority="normal", queue="q")


def test_defaults_when_a_policy_sets_nothing():
    p = policy(targets={"first_response": {"within": "1h"}})
    assert (p.repeat_contact_threshold, p.reassignment_threshold, p.reopen) == (3, 3, "resume")
    assert p.scale_by_priority is True and p.warning_fractions == (0.75, 0.9) and p.warning_left == ()
    assert p.ack_timeout is None and p.proactive_update_after is None and p.calendar_id is None
    # by default waiting on the customer or on a third party pauses every clock, and nothing else does
    for metric in ("first_response", "next_response", "resolution"):
        assert p.pauses(metric, "waiting_on_customer") and p.pauses(metric, "waiting_on_third_party")
        assert not p.pauses(metric, "assigned") and not p.pauses(metric, "queued")


def test_thresholds_reopen_and_timers_are_read_as_written():
    p = policy(repeat_contact_threshold=5, reassignment_threshold="2", reopen="restart", scale_by_priority=False,
               warnings={"fractions": [0.5], "time_left": ["10m", "2m"]},
               escalation={"ack_timeout": "15m", "levels": [{"name": "lead", "after_breach": "5m"}]},
               proactive_update_after="4h")
    assert (p.repeat_contact_threshold, p.reassignment_threshold, p.reopen) == (5, 2, "restart")
    assert p.scale_by_priority is False and p.warning_fractions == (0.5,)
    assert p.warning_left == (timedelta(minutes=10), timedelta(minutes=2))
    assert p.ack_timeout == timedelta(minutes=15) and p.proactive_update_after == timedelta(hours=4)
    (level,) = p.escalation_levels
    assert (level.level, level.name, level.after_breach) == (1, "lead", timedelta(minutes=5))


def test_an_unnamed_escalation_level_is_named_by_its_number():
    p = policy(escalation={"levels": [{"after_breach": "0m"}, {"after_breach": "1h", "recipients": ["lead:{queue}"],
                                                               "destinations": ["slack:leads"]}]})
    assert [(lv.name, lv.recipients, lv.destinations) for lv in p.escalation_levels] == [
        ("L1", (), ()), ("L2", ("lead:{queue}",), ("slack:leads",))]


def test_pause_lists_only_the_statuses_given_and_an_empty_list_pauses_nothing():
    p = policy(pause={"resolution": ["waiting_on_third_party"], "first_response": []})
    assert p.pauses("resolution", "waiting_on_third_party")
    assert not p.pauses("resolution", "waiting_on_customer")
    assert not p.pauses("first_response", "waiting_on_customer")


@pytest.mark.parametrize(("keys", "message"), [
    ({"pause": {"first_reply": ["waiting_on_customer"]}}, r"pause: unknown metric\(s\) \['first_reply'\]"),
    ({"pause": {"first_response": ["napping"]}}, "unknown value"),
    ({"reopen": "forget"}, "reopen must be 'resume' or 'restart', not 'forget'"),
    ({"repeat_contact_threshold": "often"}, "must be integers"),
    ({"reassignment_threshold": [3]}, "must be integers"),
    ({"escalation": {"levels": ["lead"]}}, r"levels\[1\] must be a mapping"),
    ({"escalation": {"levels": [{"after_breach": "1h"}, {"after_breach": "5m"}]}}, "must not decrease"),
    ({"targets": {"first_response": {"within": "0m"}}}, "within must be positive"),
    ({"warnings": {"fractions": [0]}}, "between 0 and 1"),
])
def test_a_wrong_key_names_the_policy_and_what_to_fix(keys, message):
    with pytest.raises(PolicyError, match=message) as error:
        policy(**keys)
    assert "'p'" in str(error.value)


def test_a_policy_without_an_id_is_refused():
    with pytest.raises(PolicyError, match="needs an 'id'"):
        load_policy_book({**BASE, "policies": [{"channels": ["email"]}]})
