"""The console in the chart: one more `services` entry, wired to its peers by the release's service
names, with its own Secret, Ingress, auth-proxy mode and network reachability; links point at it."""
from __future__ import annotations

from typing import Any

import chart_render as chart
import pytest
from test_chart import env_of, render_error, values

CONSOLE = "switchboard-console"


def container(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return chart.one(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


@pytest.fixture(scope="module")
def minimal() -> list[dict[str, Any]]:
    return chart.render(chart.scenario_values("minimal"))


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    return chart.render(chart.scenario_values("production"))


def test_console_reads_router_and_sla_and_acts_through_ingest_by_the_release_service_names():
    docs = chart.render(chart.scenario_values("minimal"), name="cs")
    env = env_of(container(docs, "cs-switchboard-console"))
    assert env["SWITCHBOARD_ROUTER_URL"] == "http://cs-switchboard-router:8080"
    assert env["SWITCHBOARD_SLA_URL"] == "http://cs-switchboard-sla:8080"
    assert env["SWITCHBOARD_INGEST_URL"] == "http://cs-switchboard-ingest:8080"
    assert env["SWITCHBOARD_AUTH__MODE"] == "password"
    assert env["SWITCHBOARD_COOKIE_SECURE"] == "true"  # session cookies never travel over plain HTTP
    for name in ("cs-switchboard-router", "cs-switchboard-ingest"):
        assert chart.one(docs, "Service", name)["spec"]["ports"][0]["port"] == 8080


def test_generated_secret_holds_the_session_key_and_the_token_router_and_sla_require(minimal):
    secret = chart.one(minimal, "Secret", CONSOLE)
    assert set(secret["data"]) == {"session-secret", "read-api-token"}
    assert all(len(v) >= 48 for v in secret["data"].values())
    token = {"secretKeyRef": {"name": CONSOLE, "key": "read-api-token"}}
    assert env_of(container(minimal, CONSOLE))["SWITCHBOARD_SESSION_SECRET"] == {
        "secretKeyRef": {"name": CONSOLE, "key": "session-secret"}}
    for name in ("switchboard-console", "switchboard-router", "switchboard-sla"):
        assert env_of(container(minimal, name))["SWITCHBOARD_READ_API_TOKEN"] == token
    for name in ("switchboard-ingest", "switchboard-notifier", "switchboard-analytics"):
        assert "SWITCHBOARD_READ_API_TOKEN" not in env_of(container(minimal, name))


def test_an_existing_secret_replaces_the_generated_one(production):
    assert not [d for d in production if d["kind"] == "Secret"]
    env = env_of(container(production, "switchboard-router"))
    assert env["SWITCHBOARD_READ_API_TOKEN"] == {"secretKeyRef": {"name": "switchboard-console",
                                                                   "key": "read-api-token"}}
    docs = chart.render(values("minimal", **{"console.existingSecret": "ops-console", "console.readApiTokenKey": "t"}))
    assert not chart.find(docs, "Secret")
    assert env_of(container(docs, "switchboard-sla"))["SWITCHBOARD_READ_API_TOKEN"] == {
        "secretKeyRef": {"name": "ops-console", "key": "t"}}


@pytest.mark.parametrize(("overrides", "link"), [
    ({}, "http://switchboard-console:8080"),
    ({"console.publicUrl": "https://desk.acme.example/"}, "https://desk.acme.example"),
    ({"console.ingress.enabled": True}, "http://console.example.com"),
    ({"console.ingress.enabled": True, "console.ingress.tls": [{"secretName": "t", "hosts": ["console.example.com"]}]},
     "https://console.example.com"),
])
def test_notifier_links_point_at_the_console(overrides, link):
    docs = chart.render(values("minimal", **overrides))
    assert env_of(container(docs, "switchboard-notifier"))["SWITCHBOARD_CONSOLE_BASE_URL"] == link


def test_production_puts_the_console_behind_oauth2_proxy_on_its_own_host(production):
    env = env_of(container(production, CONSOLE))
    assert env["SWITCHBOARD_AUTH__MODE"] == "header"
    assert env["SWITCHBOARD_AUTH__IDENTITY_HEADER"] == "X-Auth-Request-Email"
    ingress = chart.one(production, "Ingress", CONSOLE)
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"] == "https://$host/oauth2/auth"
    assert annotations["nginx.ingress.kubernetes.io/auth-response-headers"] == "X-Auth-Request-Email"
    rule = ingress["spec"]["rules"][0]
    assert rule["host"] == "console.example.com"
    assert rule["http"]["paths"][0]["backend"]["service"] == {"name": CONSOLE, "port": {"name": "http"}}
    assert env_of(container(production, "switchboard-notifier"))["SWITCHBOARD_CONSOLE_BASE_URL"] == \
        "https://console.example.com"
    assert "Header mode trusts X-Auth-Request-Email" in chart.notes(chart.scenario_values("production"))


def test_network_policies_let_only_the_console_and_the_named_peers_in(production):
    console_pods = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "switchboard",
                                                    "app.kubernetes.io/instance": "switchboard",
                                                    "app.kubernetes.io/component": "console"}}}
    peers = {d["metadata"]["name"]: d["spec"]["ingress"][0]["from"] for d in chart.find(production, "NetworkPolicy")}
    for name in ("switchboard-router", "switchboard-sla", "switchboard-ingest"):
        assert console_pods in peers[name], name
    for name in ("switchboard-notifier", "switchboard-analytics"):
        assert console_pods not in peers[name], name
    namespaces = [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers[CONSOLE]]
    assert namespaces == ["ingress-nginx", "monitoring"]


def test_console_consumes_by_partition_ownership_and_scales_up_to_its_partitions(production):
    hpa = chart.one(production, "HorizontalPodAutoscaler", CONSOLE)["spec"]
    assert hpa["maxReplicas"] == 12 and hpa["minReplicas"] == 3


def test_a_disabled_console_leaves_no_object_token_or_link_behind():
    docs = chart.render(values("production", **{"services.console.enabled": False}))
    assert not [d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "console"]
    assert "SWITCHBOARD_READ_API_TOKEN" not in env_of(container(docs, "switchboard-router"))
    assert "SWITCHBOARD_CONSOLE_BASE_URL" not in env_of(container(docs, "switchboard-notifier"))
    console_pods = [p for d in chart.find(docs, "NetworkPolicy") for p in d["spec"]["ingress"][0]["from"]
                    if "podSelector" in p]
    assert console_pods == []


def test_a_console_without_the_router_is_refused_with_the_reason():
    message = render_error(values("minimal", **{"services.router.enabled": False}))
    assert "services.console needs services.router" in message


@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"console.auth.mode": "oidc"}, "/console/auth/mode"),
    ({"console.publicUrl": "console.example.com"}, "/console/publicUrl"),
    ({"console.ingress.service": "ingest"}, "additional properties 'service' not allowed"),
])
def test_console_values_are_checked(overrides, complaint):
    import helm_python as helm

    with pytest.raises(helm.HelmValuesError) as caught:
        chart.render(values("minimal", **overrides))
    assert complaint in str(caught.value)
