"""Prometheus side of analytics: counters/histograms fed with domain effects, and a collector that
reads the backlog gauges from the incrementally maintained BacklogIndex at scrape time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from switchboard.analytics.domain.backlog import BacklogIndex, SeriesMemory
from switchboard.analytics.domain.catalogue import GAUGES, METRICS
from switchboard.analytics.domain.projection import Effect, Inc
from switchboard.common.clock import Clock

SLA_OUTCOMES = ("fulfilled", "fulfilled_late", "breached", "warning")


AGENT_GAUGES = (
    "switchboard_agent_assigned_conversations",
    "switchboard_agent_working_agents",
    "switchboard_agent_occupancy_ratio",
)


class AgentSource(Protocol):
    """Who reports the per-brand agent gauges: an agent must count once across replicas."""

    @property
    def reports(self) -> bool: ...

    def assignees(self, own: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]: ...


class BacklogCollector:
    """Gauges computed on each scrape: correct right after a restart and moving with time."""

    def __init__(self, index: BacklogIndex, clock: Clock, *, agent_capacity: int):
        self._clock = clock
        self._agent_capacity = agent_capacity
        self._memory = SeriesMemory()
        self.index = index
        self.agents: AgentSource | None = None  # None: this replica holds everything

    def _snapshot(self):
        now = self._clock.now()
        if self.agents is None:
            return self._memory.fill(self.index.snapshot(now, agent_capacity=self._agent_capacity))
        reports = self.agents.reports
        assignees = self.agents.assignees(self.index.assignees()) if reports else {}
        snapshot = self._memory.fill(
            self.index.snapshot(now, agent_capacity=self._agent_capacity, assignees=assignees)
        )
        if not reports:  # another replica reports them; zeros here would spoil max/avg across replicas
            for name in AGENT_GAUGES:
                snapshot.values.pop(name, None)
        return snapshot

    def describe(self):
        return [GaugeMetricFamily(spec.name, spec.help, labels=spec.labels) for spec in GAUGES]

    def collect(self):
        snapshot = self._snapshot()
        for spec in GAUGES:
            family = GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
            for labels, value in sorted(snapshot.values.get(spec.name, {}).items()):
                family.add_metric(labels, value)
            yield family


class AnalyticsMetrics:
    """Registers analytics' metrics on start and unregisters them on stop (tests restart in-process)."""

    name = "metrics"

    def __init__(
        self, index: BacklogIndex, clock: Clock, *, agent_capacity: int = 5, registry: CollectorRegistry = REGISTRY
    ) -> None:
        self._registry = registry
        self.collectors: dict[str, Counter | Histogram] = {}
        for spec in METRICS:
            if spec.kind == "counter":
                self.collectors[spec.name] = Counter(
                    spec.name.removesuffix("_total"), spec.help, spec.labels, registry=None
                )
            elif spec.kind == "histogram":
                self.collectors[spec.name] = Histogram(
                    spec.name, spec.help, spec.labels, buckets=spec.buckets, registry=None
                )
        self.backlog = BacklogCollector(index, clock, agent_capacity=agent_capacity)
        self._sla_series_seen: set[tuple[str, ...]] = set()
        self.ready = False

    async def start(self) -> None:
        for collector in (*self.collectors.values(), self.backlog):
            self._registry.register(collector)
        self.ready = True

    async def stop(self) -> None:
        for collector in (*self.collectors.values(), self.backlog):
            try:
                self._registry.unregister(collector)
            except KeyError:
                pass
        self.ready = False

    def apply(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            child = self.collectors[effect.metric].labels(*effect.labels)
            if isinstance(effect, Inc):
                if effect.metric == "switchboard_sla_events_total":
                    self._init_outcomes(effect.labels)
                child.inc(effect.amount)
            else:
                child.observe(effect.value)

    def _init_outcomes(self, labels: tuple[str, ...]) -> None:
        # Create every outcome of a new (brand, channel, queue, priority, metric) at 0, so rate() and
        # attainment see the first breach after a fulfilment instead of a series born at 1.
        key = labels[:-1]
        if key in self._sla_series_seen:
            return
        self._sla_series_seen.add(key)
        counter = self.collectors["switchboard_sla_events_total"]
        for outcome in SLA_OUTCOMES:
            counter.labels(*key, outcome)
