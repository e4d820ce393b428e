"""The SLA service's own metrics never share a name with analytics' (the recording rules sum by name
across every scraped service, so one name with two label sets would be added together)."""
from prometheus_client.metrics import MetricWrapperBase
from switchboard.analytics.domain.catalogue import METRICS as ANALYTICS
from switchboard.sla import metrics as sla


def exported_names(module) -> set[str]:
    names = set()
    for collector in vars(module).values():
        if isinstance(collector, MetricWrapperBase):
            names |= {family.name for family in collector.describe()}
    return names


def test_no_sla_service_metric_shares_a_name_with_an_analytics_metric():
    ours = exported_names(sla)
    theirs = {spec.name.removesuffix("_total") for spec in ANALYTICS}
    assert "switchboard_sla_clock_events" in ours
    assert "switchboard_sla_events" in theirs  # analytics' SLA outcome counter keeps its name
    assert ours & theirs == set()

