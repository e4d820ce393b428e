"""The Prometheus adapter: effects become samples; gauges come from the backlog index at scrape time."""

from datetime import timedelta

from analytics_events import T0, conversation, decoded, fulfilled, sla
from prometheus_client import CollectorRegistry
from switchboard.analytics.adapters.metrics import AnalyticsMetrics
from switchboard.analytics.domain.backlog import BacklogIndex
from switchboard.analytics.domain.catalogue import METRICS
from switchboard.analytics.domain.projection import Projection
from switchboard.common.clock import ManualClock


async def started(clock):
    projection = Projection()
    index = BacklogIndex(projection.labeller)
    projection.on_change = index.update
    registry = CollectorRegistry()
    metrics = AnalyticsMetrics(index, clock, registry=registry)
    await metrics.start()
    return projection, metrics, registry


def feed(projection, metrics, *events):
    result = projection.apply_batch(decoded(events))
    projection.commit(result)
    metrics.apply(result.effects)


async def test_first_sla_outcome_creates_every_outcome_series_at_zero_so_rate_sees_the_next_one():
    projection, metrics, registry = await started(ManualClock(T0))
    feed(projection, metrics, fulfilled("c1", 60))
    common = dict(brand="acme", channel="email", queue="general", priority="normal")
    labels = {**common, "metric": "first_response"}
    assert registry.get_sample_value("switchboard_sla_events_total", {**labels, "outcome": "fulfilled"}) == 1
    assert registry.get_sample_value("switchboard_sla_events_total", {**labels, "outcome": "breached"}) == 0
    assert registry.get_sample_value("switchboard_sla_first_response_seconds_bucket", {**common, "le": "60.0"}) == 1
    assert registry.get_sample_value("switchboard_sla_first_response_seconds_bucket", {**common, "le": "30.0"}) == 0


async def test_gauges_move_with_the_clock_between_events():
    clock = ManualClock(T0)
    projection, metrics, registry = await started(clock)
    feed(
        projection,
        metrics,
        conversation("conversation_opened", "c1", T0),
        sla("sla_applied", "c1", deadline=T0 + timedelta(hours=1), target_seconds=3600),
    )
    labels = dict(brand="acme", channel="email", queue="general", priority="normal")
    assert registry.get_sample_value("switchboard_backlog_at_risk_conversations", labels) == 0
    await clock.advance(timedelta(minutes=50))
    assert registry.get_sample_value("switchboard_backlog_at_risk_conversations", labels) == 1
    assert registry.get_sample_value("switchboard_backlog_oldest_waiting_seconds", labels) == 3000


async def test_every_catalogued_metric_is_exported_and_stop_unregisters_them():
    projection, metrics, registry = await started(ManualClock(T0))
    exported = {family.name for family in registry.collect()}
    for spec in METRICS:
        assert spec.name.removesuffix("_total") in exported, spec.name
    await metrics.stop()
    assert list(registry.collect()) == []
