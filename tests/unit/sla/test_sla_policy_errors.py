"""sla.yaml as an operator writes it: every error names where to look, word for word, and the keys
that are easy to get subtly wrong are read as written. Plus the id and time helpers the tracker's
decisions rely on (timer ids are parsed back after a restart; times are exact)."""
from datetime import UTC, datetime, timedelta

import pytest
from switchboard.sla.domain.effects import (
    TimerArm,
    epoch_ms,
    from_epoch_ms,
    micros,
    parse_timer_id,
    timer_id,
    whole_seconds,
)
from switchboard.sla.domain.policy import PolicyError, load_policy_book

DURATION = "is not a duration like '2h30m', '9m', '45s' or seconds"
BASE = {"version": 1, "default_policy": {"targets": {"first_response": {"within": "1h"}}}}


def book(**top):
    return load_policy_book({**BASE, **top})


def policy(**keys):
    return book(policies=[{"id": "p", **keys}]).by_id("p")


def refused(build) -> str:
    with pytest.raises(PolicyError) as error:
        build()
    return str(error.value)


@pytest.mark.parametrize(("top", "message"), [
    ({"version": 2}, "sla.yaml: 'version' must be 1, got 2"),
    ({"calendars": [{"weekly": {"mon": ["09:00-17:00"]}}]}, "sla.yaml calendars: a calendar needs an 'id'"),
    ({"priority_multipliers": {"critical": 0.1}}, "sla.yaml priority_multipliers: unknown priority ['critical']"),
    ({"policies": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}, "sla.yaml: duplicate policy ids ['a']"),
    ({"default_policy": None}, "sla.yaml: 'default_policy' is required (used when no policy matches)"),
    ({"policies": [{"id": "a", "calendar": "office"}]}, "policy 'a' names unknown calendar 'office'"),
])
def test_a_wrong_top_level_key_is_named_word_for_word(top, message):
    assert refused(lambda: book(**top)) == message


def test_sla_yaml_must_be_a_mapping():
    assert refused(lambda: load_policy_book([BASE])) == "sla.yaml must be a mapping"


def test_an_unknown_key_names_the_policy_by_its_place_before_it_has_an_id():
    assert refused(lambda: book(policies=[{"id": "a"}, {"id": "b", "colour": "red"}])).startswith(
        "policies[1]: unknown key(s) ['colour']; allowed: ['brands', 'calendar', 'channels', ")
    assert refused(lambda: book(default_policy={"colour": "red"})).startswith(
        "default_policy: unknown key(s) ['colour']; allowed: [")


@pytest.mark.parametrize(("keys", "message"), [
    ({"channels": ["fax"]}, "policy 'p'.channels: unknown value(s) ['fax']; allowed: ['email', "),
    ({"priorities": ["critical"]}, "policy 'p'.priorities: unknown value(s) ['critical']; allowed: ['low', "),
    ({"targets": {"first_response": {"hours": "business"}}},
     "policy 'p'.targets.first_response: needs 'within' (e.g. 2h30m) and 'hours' (business|calendar)"),
    ({"targets": {"first_response": {"within": True}}},
     "policy 'p'.targets.first_response.within: True is not a duration"),
    ({"targets": {"first_response": {"within": -5}}},
     "policy 'p'.targets.first_response.within: duration must not be negative"),
    ({"warnings": {"time_left": ["soon"]}}, f"policy 'p'.warnings.time_left: 'soon' {DURATION}"),
    ({"warnings": {"fractions": [1]}}, "policy 'p'.warnings.fractions must be between 0 and 1 (exclusive): (1.0,)"),
    ({"escalation": {"ack_timeout": "never"}}, f"policy 'p'.escalation.ack_timeout: 'never' {DURATION}"),
    ({"escalation": {"levels": [{"after_breach": "later"}]}},
     f"policy 'p'.escalation.levels[1].after_breach: 'later' {DURATION}"),
    ({"proactive_update_after": "daily"}, f"policy 'p'.proactive_update_after: 'daily' {DURATION}"),
])
def test_a_wrong_policy_key_says_which_policy_and_which_key(keys, message):
    assert refused(lambda: policy(**keys)).startswith(message)


def test_keys_read_as_written():
    p = policy(channels="email", priorities=["*"],
               targets={"first_response": None, "resolution": {"within": "8h", "hours": "business"}},
               escalation={"levels": [{"name": "a"}, {"name": "b", "after_breach": "0m"}]})
    assert p.channels == ("email",) and p.priorities == ("*",)      # a single value; the wildcard
    assert p.targets.keys() == {"resolution"} and p.targets["resolution"].business_hours
    assert [lv.after_breach for lv in p.escalation_levels] == [timedelta(0), timedelta(0)]  # equal is allowed


def test_a_policy_calendar_and_the_calendar_rules_come_from_the_configuration():
    office = {"id": "office", "timezone": "Europe/Berlin", "weekly": {"mon": ["09:00-17:00"]}}
    b = book(calendars=[office], calendar_rules=[{"queue": "vip", "calendar": "office"}],
             policies=[{"id": "own", "channels": ["phone"], "calendar": "office"}])
    facts = {"brand": "acme", "region": "eu", "channel": "chat"}
    assert b.calendar_for(b.by_id("own"), **facts, queue="q", business_hours=True).id == "office"
    assert b.calendar_for(b.default, **facts, queue="vip", business_hours=True).id == "office"
    assert b.calendar_for(b.default, **facts, queue="q", business_hours=True).id == "24x7"
    assert b.calendar_for(b.by_id("own"), **facts, queue="q", business_hours=False).id == "24x7"


def test_priority_multipliers_from_the_configuration_scale_the_targets():
    b = book(priority_multipliers={"urgent": 0.5}, policies=[{"id": "p", "targets": {"first_response": {
        "within": "2h"}}}])
    assert b.by_id("p").target("first_response", "urgent", b.multipliers).duration == timedelta(hours=1)
    assert b.by_id("p").target("first_response", "high", b.multipliers).duration == timedelta(hours=1)  # default 0.5
    assert b.by_id("p").target("first_response", "unknown", b.multipliers).duration == timedelta(hours=2)


def test_policies_are_found_by_id_and_the_default_by_its_own():
    b = book(policies=[{"id": "a"}, {"id": "b"}])
    assert (b.by_id("a").id, b.by_id("b").id, b.by_id("default").id, b.by_id("gone")) == ("a", "b", "default", None)


def test_warnings_never_fire_at_the_start_or_at_the_deadline_itself():
    p = policy(warnings={"fractions": [0.9], "time_left": ["1h", "30m"]})
    # 1h left of a 1h target is no time elapsed yet: no warning for it
    assert p.warnings_left(timedelta(hours=1)) == (timedelta(minutes=30), timedelta(minutes=6))
    assert p.warnings_left(timedelta(seconds=2)) == ()                      # 10% of 2 s rounds to nothing
    assert not p.pauses("no_such_metric", "waiting_on_customer")


# --- ids and time ------------------------------------------------------------------------------
def test_timer_ids_read_back_even_when_the_conversation_id_holds_the_separator():
    assert timer_id("c1", "first_response", 1, "breach") == "c1|first_response|1|breach|0"
    assert parse_timer_id(timer_id("shop|42", "first_response", 3, "warn", 2)) == ("shop|42", "first_response", 3,
                                                                                 "warn", 2)


def test_a_timer_is_due_on_a_whole_millisecond_as_the_store_keeps_it():
    due = datetime(2026, 11, 23, 9, 0, 0, 123_999, tzinfo=UTC)
    arm = TimerArm("t", "c1", "breach", "first_response", 1, 0, due)
    assert arm.due == datetime(2026, 11, 23, 9, 0, 0, 123_000, tzinfo=UTC)
    assert epoch_ms(arm.due) == 1795424400123 and from_epoch_ms(1795424400123) == arm.due


def test_whole_seconds_truncate_toward_zero_exactly_even_for_the_longest_durations():
    assert [whole_seconds(us) for us in (1_999_999, -1_999_999, -1_000_000, 0)] == [1, -1, -1, 0]
    longest = micros(timedelta.max)
    assert whole_seconds(longest) == 86_399_999_999_999 and whole_seconds(-longest) == -86_399_999_999_999
