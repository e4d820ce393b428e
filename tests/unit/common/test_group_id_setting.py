"""Every service reads its consumer group under one spelling (SWITCHBOARD_GROUP_ID), still honours the
older SWITCHBOARD_CONSUMER_GROUP, and never mistakes an unprefixed variable for it."""
from __future__ import annotations

import pytest
from switchboard.analytics.settings import AnalyticsSettings
from switchboard.console.settings import ConsoleSettings
from switchboard.notifier.settings import NotifierSettings
from switchboard.router.settings import RouterSettings
from switchboard.sla.settings import SlaSettings

DEFAULTS = {RouterSettings: "switchboard-router", SlaSettings: "sla", NotifierSettings: "notifier",
            AnalyticsSettings: "analytics", ConsoleSettings: "console"}
SERVICES = pytest.mark.parametrize("settings_class", list(DEFAULTS), ids=lambda c: c.__name__)


@SERVICES
@pytest.mark.parametrize("variable", ["SWITCHBOARD_GROUP_ID", "SWITCHBOARD_CONSUMER_GROUP"])
def test_the_consumer_group_is_read_from_the_new_and_the_old_variable(monkeypatch, settings_class, variable):
    monkeypatch.setenv(variable, "blue")
    assert settings_class().group_id == "blue"


@SERVICES
def test_the_new_variable_wins_when_both_are_set(monkeypatch, settings_class):
    monkeypatch.setenv("SWITCHBOARD_CONSUMER_GROUP", "old")
    monkeypatch.setenv("SWITCHBOARD_GROUP_ID", "new")
    assert settings_class().group_id == "new"


@SERVICES
def test_an_unprefixed_variable_is_not_mistaken_for_the_consumer_group(monkeypatch, settings_class):
    monkeypatch.setenv("GROUP_ID", "someone-elses")
    monkeypatch.setenv("CONSUMER_GROUP", "someone-elses")
    assert settings_class().group_id == DEFAULTS[settings_class]
    assert settings_class(group_id="explicit").group_id == "explicit"
