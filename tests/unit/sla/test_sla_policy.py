"""Policy YAML: selection (first match wins, default), priority scaling, warnings, clear errors."""
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from switchboard.sla.domain.policy import PolicyError, load_policy_book, parse_duration

ROOT = Path(__file__).resolve().parents[3]
DEFAULT = load_policy_book(yaml.safe_load((ROOT / "config/default/sla.yaml").read_text()))


def target(book, channel, priority, metric="first_response"):
    policy = book.select(brand="acme", channel=channel, priority=priority, queue="q")
    return policy.id, policy.target(metric, priority, book.multipliers)


@pytest.mark.parametrize(("channel", "policy_id", "minutes", "business"), [
    ("email", "email", 150, True), ("chat", "chat", 60, False), ("whatsapp", "messaging", 60, False),
    ("telegram", "messaging", 60, False), ("vk", "messaging", 60, False), ("web_form", "web-form", 150, True),
])
def test_research_defaults_per_channel(channel, policy_id, minutes, business):
    pid, t = target(DEFAULT, channel, "normal")
    assert pid == policy_id and t.duration == timedelta(minutes=minutes) and t.business_hours is business


def test_phone_speed_of_answer_is_nine_minutes_and_has_no_first_response():
    assert target(DEFAULT, "phone", "normal", "phone_answer")[1].duration == timedelta(minutes=9)
    assert target(DEFAULT, "phone", "normal")[1] is None


@pytest.mark.parametrize(("priority", "minutes"), [("urgent", 37.5), ("high", 75), ("normal", 150), ("low", 300)])
def test_priorities_scale_targets(priority, minutes):
    assert target(DEFAULT, "email", priority)[1].duration == timedelta(minutes=minutes)


def test_first_match_wins_and_default_catches_the_rest():
    book = load_policy_book({"version": 1, "policies": [
        {"id": "vip-urgent", "brands": ["acme"], "priorities": ["urgent"], "scale_by_priority": False,
         "targets": {"first_response": {"within": "5m", "hours": "calendar"}}},
        {"id": "acme", "brands": ["acme"], "targets": {"first_response": {"within": "1h", "hours": "calendar"}}},
    ], "default_policy": {"targets": {"first_response": {"within": "2h", "hours": "calendar"}}}})
    assert target(book, "email", "urgent") == ("vip-urgent", target(book, "email", "urgent")[1])
    assert target(book, "email", "urgent")[1].duration == timedelta(minutes=5)  # not scaled again
    assert target(book, "chat", "normal")[0] == "acme"
    assert book.select(brand="other", channel="chat", priority="normal", queue="q").id == "default"


def test_agent_first_response_falls_back_to_first_response_target():
    assert target(DEFAULT, "email", "normal", "agent_first_response")[1].duration == timedelta(minutes=150)


def test_warnings_by_fraction_and_time_left():
    book = load_policy_book({"version": 1, "defaults": {"warnings": {"fractions": [0.75], "time_left": ["10m"]}},
                             "default_policy": {"targets": {"resolution": {"within": "1h", "hours": "calendar"}}}})
    assert book.default.warnings_left(timedelta(hours=1)) == (timedelta(minutes=15), timedelta(minutes=10))


@pytest.mark.parametrize(("text", "seconds"), [("2h30m", 9000), ("9m", 540), ("45s", 45), ("1d", 86400),
                                              ("1.5h", 5400), (90, 90)])
def test_durations(text, seconds):
    assert parse_duration(text, "x") == timedelta(seconds=seconds)


@pytest.mark.parametrize(("config", "message"), [
    ({"version": 2}, "version"),
    ({"version": 1, "policies": []}, "default_policy"),
    ({"version": 1, "default_policy": {"targets": {"first_reply": {"within": "1h"}}}}, "unknown target"),
    ({"version": 1, "default_policy": {"targets": {"first_response": {"within": "soon"}}}}, "not a duration"),
    ({"version": 1, "default_policy": {"targets": {"first_response": {"within": "1h", "hours": "office"}}}},
     "business' or 'calendar"),
    ({"version": 1, "policies": [{"id": "x", "channels": ["fax"]}], "default_policy": {}}, "unknown value"),
    ({"version": 1, "policies": [{"id": "x", "color": "red"}], "default_policy": {"targets": {}}}, "unknown key"),
    ({"version": 1, "default_policy": {"calendar": "nope", "targets": {}}}, "unknown calendar"),
    ({"version": 1, "default_policy": {"warnings": {"fractions": [1.5]}, "targets": {}}}, "between 0 and 1"),
])
def test_invalid_configuration_names_what_to_fix(config, message):
    with pytest.raises(PolicyError, match=message):
        load_policy_book(config)


def test_demo_config_is_valid_and_fast():
    demo = load_policy_book(yaml.safe_load((ROOT / "config/demo/sla.yaml").read_text()))
    assert target(demo, "email", "normal")[1].duration == timedelta(seconds=20)
    assert [lv.name for lv in demo.default.escalation_levels] == ["assignee", "team_lead", "manager"]
