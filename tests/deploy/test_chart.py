"""The Helm chart in deploy/k8s/switchboard, rendered offline with Helm's Go engine.

Scenarios are the value sets in deploy/k8s/switchboard/ci/ (minimal, production, everything-off).
When a golden test fails after an intended change, regenerate with:
    python tools/chart_sync.py && python tests/deploy/chart_render.py --update-golden
"""
from __future__ import annotations

import copy
import difflib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import chart_render as chart
import chart_validate
import helm_python as helm
import pytest
import yaml
from switchboard.common.topics import TopicNames, registry

ROOT = chart.ROOT
SCENARIOS = chart.scenarios()
SERVICES = ["analytics", "console", "contact", "ingest", "notifier", "router", "routing", "sla"]
# The router's contact and routing stages: each its own Deployment, the router's program.
STAGE_OF = {"contact": "router", "routing": "router"}


def values(scenario: str, **overrides: Any) -> dict[str, Any]:
    """A scenario's values with dotted-path overrides, e.g. values("minimal", **{"ingress.enabled": True})."""
    result = copy.deepcopy(chart.scenario_values(scenario))
    for dotted, value in overrides.items():
        node = result
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return result


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {scenario: chart.render(chart.scenario_values(scenario)) for scenario in SCENARIOS}


def pod_specs(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
            for d in docs if d["kind"] in ("Deployment", "Job")]


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def render_error(vals: dict[str, Any]) -> str:
    with pytest.raises(helm.HelmError) as caught:
        chart.render(vals)
    return str(caught.value)


# --- the chart as shipped --------------------------------------------------------------------------

def test_scenarios_cover_minimal_production_and_everything_off():
    assert {"minimal", "production", "everything-off"} <= set(SCENARIOS)


def test_chart_files_match_their_sources():
    sys.path.insert(0, str(ROOT / "tools"))
    import chart_sync

    assert chart_sync.drift() == [], "chart files/ drifted; run: python tools/chart_sync.py"


def test_chart_sync_copies_whatever_exists_reports_drift_and_removes_stale_copies(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import chart_sync

    (tmp_path / "proto" / "topics").mkdir(parents=True)
    (tmp_path / "proto" / "topics" / "inbound.yaml").write_text("name: a\n")
    (tmp_path / "observability" / "dashboards").mkdir(parents=True)
    (tmp_path / "observability" / "dashboards" / "sla.json").write_text("{}")
    (tmp_path / "observability" / "dashboards" / "generate.py").write_text("# not a dashboard")
    files = tmp_path / "chart" / "files"
    assert chart_sync.drift(tmp_path, files) == ["missing chart/files/topics/inbound.yaml",
                                                 "missing chart/files/dashboards/sla.json"]
    chart_sync.sync(tmp_path, files)
    assert chart_sync.drift(tmp_path, files) == []
    assert sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file()) == [
        "dashboards/sla.json", "topics/inbound.yaml"]
    (tmp_path / "proto" / "topics" / "inbound.yaml").write_text("name: b\n")
    (tmp_path / "observability" / "dashboards" / "sla.json").unlink()
    assert chart_sync.drift(tmp_path, files) == ["outdated chart/files/topics/inbound.yaml",
                                                 "stale chart/files/dashboards/sla.json (its source is gone)"]
    chart_sync.sync(tmp_path, files)
    assert (files / "topics" / "inbound.yaml").read_text() == "name: b\n"
    assert not (files / "dashboards" / "sla.json").exists()


def test_readme_values_table_is_generated_from_the_schema():
    sys.path.insert(0, str(ROOT / "tools"))
    import chart_docs

    current, fresh = chart_docs.rendered_readme()
    assert current == fresh, "chart README values table is stale; run: python tools/chart_docs.py"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_is_clean_in_strict_mode(scenario):
    report = helm.lint(chart.CHART, chart.scenario_values(scenario), strict=True, kube_version="v1.30.0")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 1] == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(rendered, scenario):
    problems = {f"{d['kind']}/{d['metadata']['name']}": chart_validate.errors(d) for d in rendered[scenario]}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rendered_manifests_match_the_golden_files(scenario):
    golden = chart.golden_path(scenario)
    assert golden.exists(), f"missing {golden}; run: {chart.REGENERATE}"
    diff = list(difflib.unified_diff(golden.read_text().splitlines(), chart.golden_text(scenario).splitlines(),
                                     "golden", "rendered", lineterm="", n=2))
    assert not diff, (f"rendered {scenario} differs from {golden.relative_to(ROOT)}; if intended, run: "
                      f"{chart.REGENERATE}\n" + "\n".join(diff[:60]))


def test_validator_catches_unknown_fields_in_builtin_and_operator_objects(rendered):
    deployment = copy.deepcopy(chart.find(rendered["production"], "Deployment")[0])
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFs"] = True
    monitor = copy.deepcopy(chart.find(rendered["production"], "ServiceMonitor")[0])
    monitor["spec"]["endpoints"][0]["scrapeEvery"] = "5s"
    topic = copy.deepcopy(chart.find(rendered["production"], "KafkaTopic")[0])
    topic["spec"]["partitions"] = "twelve"
    assert any("readOnlyRootFs" in e for e in chart_validate.errors(deployment))
    assert chart_validate.errors(monitor) == ["unknown field spec.endpoints[0].scrapeEvery"]
    assert any("twelve" in e for e in chart_validate.errors(topic))


# --- values schema --------------------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"replicaCount": 3}, "additional properties 'replicaCount' not allowed"),
    ({"services.ingest.replica": 3}, "additional properties 'replica' not allowed"),
    ({"workloadDefaults.autoscaling.maxReplica": 3}, "additional properties 'maxReplica' not allowed"),
    ({"kafka.sasl.pasword": "x"}, "additional properties 'pasword' not allowed"),
    ({"services.ingest.replicas": "three"}, "/services/ingest"),
    ({"kafka.tls.enabled": "yes"}, "got string, want boolean"),
    ({"logLevel": "TRACE"}, "/logLevel"),
    ({"topics.management": "manual"}, "/topics/management"),
    ({"topics.replicationFactor": 0}, "/topics/replicationFactor"),
    ({"workloadDefaults.podAntiAffinity": "always"}, "/workloadDefaults/podAntiAffinity"),
    ({"services.Bad_Name": {}}, "invalid propertyName 'Bad_Name'"),
    ({"secrets.brands": {"acme": {"key": "x"}}}, "at '/secrets/brands/acme': missing property 'existingSecret'"),
])
def test_schema_rejects_unknown_keys_and_wrong_types(overrides, complaint):
    vals = values("minimal", **overrides)
    with pytest.raises(helm.HelmValuesError) as caught:
        chart.render(vals)
    assert complaint in str(caught.value)
    assert helm.lint(chart.CHART, vals, strict=True)["errors"], "lint must report the bad value too"


def test_every_value_in_values_yaml_is_documented_in_the_schema():
    sys.path.insert(0, str(ROOT / "tools"))
    import chart_docs

    schema = json.loads((chart.CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((chart.CHART / "values.yaml").read_text())
    keys = {row[0] for row in chart_docs.rows(schema, defaults, schema)}
    assert {"kafka.bootstrapServers", "workloadDefaults.autoscaling.maxReplicas", "services.ingest",
            "metrics.dashboards.labels", "topics.management"} <= keys
    helm.Chart.load(chart.CHART).validate_schema(defaults)


# --- clear errors for missing connection settings ------------------------------------------------

def test_defaults_alone_fail_with_a_message_naming_kafka_bootstrap_servers():
    assert "kafka.bootstrapServers is required" in render_error({})


@pytest.mark.parametrize(("overrides", "complaint"), [
    ({"mongo.existingSecret": ""}, "mongo.existingSecret is required"),
    ({"kafka.sasl.enabled": True}, "kafka.sasl.existingSecret is required"),
    ({"kafka.sasl.enabled": True, "kafka.sasl.existingSecret": "s"}, "kafka.sasl.username"),
    ({"topics.management": "strimzi"}, "topics.strimzi.clusterName is required"),
    ({"ingress.enabled": True, "ingress.service": "billing"}, "ingress.service=billing is not an enabled entry"),
])
def test_incomplete_settings_fail_with_a_message_naming_the_value(overrides, complaint):
    assert complaint in render_error(values("minimal", **overrides))


# --- one name per service -------------------------------------------------------------------------

def test_each_service_has_one_name_everywhere(rendered):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    docs = rendered["production"]
    for name in SERVICES:
        full = f"switchboard-{name}"
        program = STAGE_OF.get(name, name)  # a stage runs its service's program (SWITCHBOARD_ROUTER_STAGE)
        deployment = chart.one(docs, "Deployment", full)
        pod = deployment["spec"]["template"]
        container = pod["spec"]["containers"][0]
        assert container["name"] == name
        assert container["command"] == [f"switchboard-{program}"]
        assert f"switchboard-{program}" in scripts, f"no console script switchboard-{program} in pyproject.toml"
        assert scripts[f"switchboard-{program}"].startswith(f"switchboard.{program}."), "runs services/<program>"
        assert (ROOT / "services" / program).is_dir()
        assert pod["metadata"]["labels"]["app.kubernetes.io/component"] == name
        assert pod["spec"]["serviceAccountName"] == full
        for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor"):
            assert chart.one(docs, kind, full)["metadata"]["labels"]["app.kubernetes.io/component"] == name


def test_release_name_without_switchboard_prefixes_objects_with_release_and_chart():
    docs = chart.render(chart.scenario_values("minimal"), name="cs")
    assert sorted(d["metadata"]["name"] for d in chart.find(docs, "Deployment")) == [
        f"cs-switchboard-{name}" for name in SERVICES]


def test_a_new_service_is_one_values_entry_and_a_disabled_one_leaves_nothing_behind():
    vals = values("production", **{"services.billing": {"consumer": False, "autoscaling": {"maxReplicas": 4}},
                                   "services.analytics.enabled": False})
    docs = chart.render(vals)
    billing = chart.one(docs, "Deployment", "switchboard-billing")
    assert billing["spec"]["template"]["spec"]["containers"][0]["command"] == ["switchboard-billing"]
    for kind in ("Service", "ServiceAccount", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                 "NetworkPolicy", "ServiceMonitor"):
        assert chart.find(docs, kind, "switchboard-billing"), kind
    assert not [d for d in docs if d["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "analytics"]


def test_services_select_exactly_their_own_pods(rendered):
    for scenario, docs in rendered.items():
        for deployment in chart.find(docs, "Deployment"):
            name = deployment["metadata"]["name"]
            pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
            selector = deployment["spec"]["selector"]["matchLabels"]
            assert selector.items() <= pod_labels.items()
            service = chart.one(docs, "Service", name)
            assert service["spec"]["selector"] == selector, scenario
            assert service["spec"]["ports"][0]["targetPort"] == "http"
            for pdb in chart.find(docs, "PodDisruptionBudget", name):
                assert pdb["spec"]["selector"]["matchLabels"] == selector


# --- pods: security, probes, shutdown --------------------------------------------------------------

@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_pod_runs_with_secure_defaults(rendered, scenario):
    specs = pod_specs(rendered[scenario])
    assert specs
    for where, spec in specs:
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == 10001, where
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for init in spec.get("initContainers", []):
            assert init["securityContext"] == spec["containers"][0]["securityContext"], where
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in container["volumeMounts"]), where
            assert "resources" in container and container["resources"]["requests"], where
    for sa in chart.find(rendered[scenario], "ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_probes_hit_healthz_and_readyz_on_the_http_port(rendered, scenario):
    for deployment in chart.find(rendered[scenario], "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert env_of(container)["SWITCHBOARD_HTTP__PORT"] == "8080"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_grace_period_outlasts_the_consumer_drain(rendered, scenario):
    for deployment in chart.find(rendered[scenario], "Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        drain = float(env_of(container)["SWITCHBOARD_CONSUMER__SHUTDOWN_TIMEOUT_SECONDS"])
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        assert spec["terminationGracePeriodSeconds"] > drain + pre_stop, deployment["metadata"]["name"]


def test_a_grace_period_shorter_than_the_drain_is_refused():
    message = render_error(values("minimal", **{"services.sla.terminationGracePeriodSeconds": 20}))
    assert "services.sla.terminationGracePeriodSeconds=20 must exceed consumer.shutdownTimeoutSeconds (20)" in message


def test_rollouts_never_drop_below_the_desired_replicas(rendered):
    for deployment in chart.find(rendered["minimal"], "Deployment"):
        if deployment["metadata"]["name"] in ("switchboard-analytics", "switchboard-router"):
            continue
        assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_every_consumer_runs_two_replicas_rolling_with_a_disruption_budget_by_default(rendered):
    # No single point of failure: each consumer scales by partition ownership (docs/architecture.md);
    # the router's contact stage fences a revoked owner by a per-partition epoch, its routing stage
    # by a per-brand epoch (docs/router.md).
    docs = rendered["minimal"]
    for name in ("analytics", "notifier", "router", "contact", "routing", "sla"):
        spec = chart.one(docs, "Deployment", f"switchboard-{name}")["spec"]
        assert spec["replicas"] == 2, name
        assert spec["strategy"]["type"] == "RollingUpdate", name
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, name
        assert chart.one(docs, "PodDisruptionBudget", f"switchboard-{name}")["spec"]["maxUnavailable"] == 1


def test_the_router_runs_as_three_stages_of_one_image(rendered):
    docs = rendered["minimal"]
    for name, stage in (("router", "intake"), ("contact", "contact"), ("routing", "routing")):
        container = chart.one(docs, "Deployment", f"switchboard-{name}")["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["switchboard-router"]
        stages = [e["value"] for e in container["env"] if e["name"] == "SWITCHBOARD_ROUTER_STAGE"]
        assert stages == [stage], name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_contact_stage_gets_the_routing_stages_store_kafka_and_secrets(rendered, scenario):
    # Both stages write MongoDB and talk Kafka the same way: only the stage differs.
    docs = rendered[scenario]
    pods = {name: chart.one(docs, "Deployment", f"switchboard-{name}")["spec"]["template"]["spec"]
            for name in ("contact", "routing")}
    envs = {name: [e for e in pod["containers"][0]["env"] if e["name"] != "SWITCHBOARD_ROUTER_STAGE"]
            for name, pod in pods.items()}
    assert envs["contact"] == envs["routing"]
    assert env_of(pods["contact"]["containers"][0])["SWITCHBOARD_MONGO__URI"]["secretKeyRef"]["name"] == \
        "switchboard-mongo"
    for key in ("volumes", "initContainers", "securityContext"):
        assert pods["contact"].get(key) == pods["routing"].get(key), key
    assert pods["contact"]["containers"][0]["volumeMounts"] == pods["routing"]["containers"][0]["volumeMounts"]


def test_spread_over_nodes_and_zones_is_on_by_default_and_can_be_hard(rendered):
    spec = chart.one(rendered["minimal"], "Deployment", "switchboard-sla")["spec"]["template"]["spec"]
    term = spec["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["podAffinityTerm"]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "sla"
    assert spec["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    hard = chart.render(values("minimal", **{"workloadDefaults.podAntiAffinity": "hard"}))
    spec = chart.one(hard, "Deployment", "switchboard-sla")["spec"]["template"]["spec"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" in spec["affinity"]["podAntiAffinity"]
    off = chart.one(rendered["everything-off"], "Deployment", "switchboard-sla")["spec"]["template"]["spec"]
    assert "affinity" not in off and "topologySpreadConstraints" not in off


# --- connection settings --------------------------------------------------------------------------

def test_minimal_install_talks_plaintext_and_reads_mongo_uri_from_the_secret(rendered):
    router = chart.one(rendered["minimal"], "Deployment", "switchboard-router")
    container = router["spec"]["template"]["spec"]["containers"][0]
    env = env_of(container)
    assert env["SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS"] == "kafka.kafka.svc:9092"
    assert env["SWITCHBOARD_KAFKA__SECURITY_PROTOCOL"] == "PLAINTEXT"
    assert env["SWITCHBOARD_KAFKA__IDEMPOTENT_PRODUCER"] == "true"
    assert env["SWITCHBOARD_MONGO__URI"] == {"secretKeyRef": {"name": "switchboard-mongo", "key": "uri"}}
    assert env["SWITCHBOARD_CONFIG_DIR"] == "/etc/switchboard/config"
    assert env["SWITCHBOARD_SECRETS_FILE"] == "/etc/switchboard/secrets/secrets.yaml"
    assert not any(k.startswith("SWITCHBOARD_KAFKA__SASL") for k in env)


def test_production_uses_sasl_ssl_with_scram_from_secrets_and_a_mounted_ca(rendered):
    spec = chart.one(rendered["production"], "Deployment", "switchboard-sla")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = env_of(container)
    assert env["SWITCHBOARD_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env["SWITCHBOARD_KAFKA__SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env["SWITCHBOARD_KAFKA__SASL_USERNAME"] == "switchboard"
    assert env["SWITCHBOARD_KAFKA__SASL_PASSWORD"] == {
        "secretKeyRef": {"name": "switchboard-kafka-user", "key": "password"}}
    ca_file = Path(env["SWITCHBOARD_KAFKA__SSL_CAFILE"])
    mount = next(m for m in container["volumeMounts"] if m["name"] == "kafka-ca")
    volume = next(v for v in spec["volumes"] if v["name"] == "kafka-ca")
    assert ca_file.parent == Path(mount["mountPath"])
    assert volume["secret"]["secretName"] == "events-cluster-ca-cert"
    assert volume["secret"]["items"] == [{"key": "ca.crt", "path": ca_file.name}]
    assert env["SWITCHBOARD_KAFKA__TOPIC_PREFIX"] == "prod."
    assert env["SWITCHBOARD_KAFKA__CREATE_TOPICS"] == "false"


def test_sasl_username_can_come_from_the_secret_too():
    docs = chart.render(values("production", **{"kafka.sasl.usernameKey": "user"}))
    env = env_of(chart.one(docs, "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]["containers"][0])
    assert env["SWITCHBOARD_KAFKA__SASL_USERNAME"] == {
        "secretKeyRef": {"name": "switchboard-kafka-user", "key": "user"}}


@pytest.mark.parametrize(("tls", "sasl", "protocol"), [
    (False, False, "PLAINTEXT"), (True, False, "SSL"), (False, True, "SASL_PLAINTEXT"), (True, True, "SASL_SSL")])
def test_security_protocol_follows_tls_and_sasl(tls, sasl, protocol):
    vals = values("minimal", **{"kafka.tls.enabled": tls, "kafka.sasl.enabled": sasl,
                                "kafka.sasl.existingSecret": "k", "kafka.sasl.username": "u"})
    env = env_of(chart.find(chart.render(vals), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0])
    assert env["SWITCHBOARD_KAFKA__SECURITY_PROTOCOL"] == protocol
    assert "SWITCHBOARD_KAFKA__SSL_CAFILE" not in env  # no caSecret: the image's system CAs


# --- topics ---------------------------------------------------------------------------------------

def test_strimzi_topics_mirror_the_registry_with_prefix_partitions_retention_and_dlqs(rendered):
    topics = {t["spec"]["topicName"]: t for t in chart.find(rendered["production"], "KafkaTopic")}
    expected = dict(TopicNames("prod.").all_topics())
    assert set(topics) == set(expected)
    for name, spec in expected.items():
        topic = topics[name]
        assert topic["spec"]["partitions"] == spec.partitions, name
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"]["config"]["retention.ms"] == spec.retention_ms
        assert topic["spec"]["config"]["min.insync.replicas"] == "2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "events"
        assert topic["metadata"]["namespace"] == "kafka"
        assert topic["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    assert not chart.find(rendered["production"], "Job")


def test_topic_job_is_a_pre_install_hook_running_switchboard_admin(rendered):
    (job,) = chart.find(rendered["minimal"], "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["switchboard-admin", "create-topics"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "switchboard-admin" in scripts, "the Job's command must be a console script of the image"
    env = env_of(container)
    assert env["SWITCHBOARD_KAFKA__BOOTSTRAP_SERVERS"] == "kafka.kafka.svc:9092"
    assert env["SWITCHBOARD_KAFKA__REPLICATION_FACTOR"] == "3"
    assert not chart.find(rendered["minimal"], "KafkaTopic")
    deployment = chart.find(rendered["minimal"], "Deployment")[0]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert env_of(container)["SWITCHBOARD_KAFKA__CREATE_TOPICS"] == "false"


def test_services_create_topics_only_when_told_to(rendered):
    docs = chart.render(values("minimal", **{"topics.management": "services"}))
    assert not chart.find(docs, "Job") and not chart.find(docs, "KafkaTopic")
    for deployment in chart.find(docs, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert env_of(container)["SWITCHBOARD_KAFKA__CREATE_TOPICS"] == "true"
    off = rendered["everything-off"]
    assert not chart.find(off, "Job") and not chart.find(off, "KafkaTopic")


# --- autoscaling ----------------------------------------------------------------------------------

def partition_bound(service: str) -> int:
    return max(spec.partitions for spec in registry().values() if service in spec.consumers)


def test_consumer_hpas_are_bounded_by_the_partitions_they_consume(rendered):
    hpas = {h["metadata"]["name"]: h["spec"] for h in chart.find(rendered["production"], "HorizontalPodAutoscaler")}
    assert set(hpas) == {"switchboard-ingest", "switchboard-router", "switchboard-contact", "switchboard-routing",
                         "switchboard-sla", "switchboard-notifier", "switchboard-console"}
    for name in ("router", "contact", "routing", "sla", "notifier", "console"):
        assert hpas[f"switchboard-{name}"]["maxReplicas"] == partition_bound(name)
    # The contact stage reads only the contacts topic (keyed by customer id), the routing stage only
    # the routing topic (keyed by brand): each is bounded by its own topic's partitions.
    contacts, routing = registry()["contacts"], registry()["routing"]
    assert contacts.consumers == ("contact",) and routing.consumers == ("routing",)
    assert hpas["switchboard-contact"]["maxReplicas"] == contacts.partitions
    assert hpas["switchboard-routing"]["maxReplicas"] == routing.partitions
    for deployment in chart.find(rendered["production"], "Deployment"):
        has_hpa = deployment["metadata"]["name"] in hpas
        assert ("replicas" in deployment["spec"]) != has_hpa


def test_more_consumer_replicas_than_partitions_is_refused():
    bound = partition_bound("sla")
    message = render_error(values("production", **{"services.sla.autoscaling.maxReplicas": bound + 1}))
    assert f"services.sla.autoscaling.maxReplicas={bound + 1} exceeds {bound}" in message


def test_ingest_scales_on_cpu_and_requests_per_second(rendered):
    hpa = chart.one(rendered["production"], "HorizontalPodAutoscaler", "switchboard-ingest")["spec"]
    assert hpa["maxReplicas"] == 20 and hpa["minReplicas"] == 3
    metrics = {m["type"]: m for m in hpa["metrics"]}
    assert metrics["Resource"]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    assert metrics["Pods"]["pods"]["metric"]["name"] == "switchboard_ingest_requests_per_second"
    assert metrics["Pods"]["pods"]["target"] == {"type": "AverageValue", "averageValue": "300"}
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300


# --- configuration --------------------------------------------------------------------------------

def config_map(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return chart.one(docs, "ConfigMap", "switchboard-config")


def checksum(docs: list[dict[str, Any]], name: str) -> str:
    return chart.one(docs, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]["checksum/config"]


def test_configmap_carries_every_default_config_file(rendered):
    data = config_map(rendered["minimal"]).get("data") or {}
    defaults = {p.name: p.read_text() for p in sorted((ROOT / "config" / "default").glob("*.yaml"))}
    assert {name: yaml.safe_load(text) for name, text in data.items()} == {
        name: yaml.safe_load(text) for name, text in defaults.items()}
    volume = chart.one(rendered["minimal"], "Deployment", "switchboard-sla")["spec"]["template"]["spec"]["volumes"][0]
    assert volume == {"name": "config", "configMap": {"name": "switchboard-config"}}


def test_a_config_override_changes_the_file_and_rolls_the_pods(rendered):
    override = {"version": 1, "default_calendar": "na-office"}
    docs = chart.render(values("minimal", **{"config.files": {"sla.yaml": override}}))
    sla_file = yaml.safe_load(config_map(docs)["data"]["sla.yaml"])
    assert sla_file["default_calendar"] == "na-office"
    default = ROOT / "config" / "default" / "sla.yaml"
    if default.exists():  # the deep merge keeps every other default section as it was
        default_doc = yaml.safe_load(default.read_text())
        assert {k: v for k, v in sla_file.items() if k != "default_calendar"} == {
            k: v for k, v in default_doc.items() if k != "default_calendar"}
    replaced = chart.render(values("minimal", **{"config.files": {"sla.yaml": override},
                                                 "config.mergeWithDefaults": False}))
    assert yaml.safe_load(config_map(replaced)["data"]["sla.yaml"]) == override
    for name in SERVICES:
        assert checksum(docs, f"switchboard-{name}") != checksum(rendered["minimal"], f"switchboard-{name}")


def test_a_raw_string_config_file_is_taken_verbatim():
    raw = "version: 1\n# ops-owned\nqueues: []\n"
    docs = chart.render(values("minimal", **{"config.files": {"routing.yaml": raw}}))
    assert config_map(docs)["data"]["routing.yaml"] == raw


def test_an_existing_configmap_replaces_the_charts():
    docs = chart.render(values("minimal", **{"config.existingConfigMap": "my-switchboard-config"}))
    assert not chart.find(docs, "ConfigMap", "switchboard-config")
    spec = chart.one(docs, "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    assert spec["volumes"][0] == {"name": "config", "configMap": {"name": "my-switchboard-config"}}


def test_provider_secrets_file_is_mounted_from_the_named_secret(rendered):
    spec = chart.one(rendered["minimal"], "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
    assert volume["secret"] == {"secretName": "switchboard-secrets",
                                "items": [{"key": "secrets.yaml", "path": "secrets.yaml"}]}
    off = chart.one(rendered["everything-off"], "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    assert not any(v["name"] == "secrets" for v in off["volumes"])
    assert "SWITCHBOARD_SECRETS_FILE" not in env_of(off["containers"][0])
    assert "WARNING: secrets.existingSecret is empty" in chart.notes(chart.scenario_values("everything-off"))


def secrets_merge(spec: dict[str, Any], tmp_path: Path, contents: dict[str, str]) -> subprocess.CompletedProcess:
    """Lay out the projected volume as the kubelet would (Secret key -> item path), run the init container."""
    (init,) = spec["initContainers"]
    sources_volume = next(v for v in spec["volumes"] if v["name"] == "secret-sources")
    sources = tmp_path / "secret-sources"
    for source in sources_volume["projected"]["sources"]:
        for item in source["secret"]["items"]:
            target = sources / item["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(contents[source["secret"]["name"]])
    (tmp_path / "secrets").mkdir()
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env["SWITCHBOARD_SECRETS_FILE"].startswith(next(
        m["mountPath"] for m in init["volumeMounts"] if m["name"] == "secrets"))
    command = [sys.executable if part == "python" else part for part in init["command"]]
    return subprocess.run(command, check=False, capture_output=True, text=True, timeout=60,
                          env={"SECRETS_SOURCES": str(sources),
                               "SWITCHBOARD_SECRETS_FILE": str(tmp_path / "secrets" / "secrets.yaml")})


def test_per_brand_secrets_are_merged_into_the_one_file_the_services_read(rendered, tmp_path):
    from switchboard.common.config import Secrets

    spec = chart.one(rendered["production"], "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    container = spec["containers"][0]
    assert env_of(container)["SWITCHBOARD_SECRETS_FILE"] == "/etc/switchboard/secrets/secrets.yaml"
    secrets_volume = next(v for v in spec["volumes"] if v["name"] == "secrets")
    assert secrets_volume["emptyDir"]["medium"] == "Memory"
    result = secrets_merge(spec, tmp_path, {
        "switchboard-secrets": yaml.safe_dump({"brands": {"acme": {"meta_app_secret": "old", "vk_secret": "v"},
                                                          "initech": {"twilio_auth_token": "t"}},
                                               "global": {"slack_webhook_url": "https://hooks.example/x"}}),
        "switchboard-brand-acme": "meta_app_secret: from-acme-secret\n",
        "globex-provider-secrets": "shopify_webhook_secret: s3cret\nagent_api_keys: [k1, k2]\n",
    })
    assert result.returncode == 0, result.stderr
    secrets = Secrets.load(tmp_path / "secrets" / "secrets.yaml")
    assert secrets.brands() == ["acme", "globex", "initech"]
    assert secrets.brand("acme", "meta_app_secret") == "from-acme-secret"  # the brand's own Secret wins
    assert secrets.brand("acme", "vk_secret") == "v"
    assert secrets.brand("globex", "agent_api_keys") == ["k1", "k2"]
    assert secrets.brand("initech", "twilio_auth_token") == "t"
    assert secrets.global_("slack_webhook_url") == "https://hooks.example/x"


def test_a_brand_secret_that_is_not_a_mapping_stops_the_pod_with_its_name(rendered, tmp_path):
    spec = chart.one(rendered["production"], "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    result = secrets_merge(spec, tmp_path, {"switchboard-secrets": "brands: {}\n",
                                            "switchboard-brand-acme": "just-a-token\n",
                                            "globex-provider-secrets": "{}\n"})
    assert result.returncode != 0
    assert "acme.yaml: expected a mapping of secret names to values" in result.stderr


def test_without_per_brand_secrets_the_file_is_mounted_directly(rendered):
    spec = chart.one(rendered["minimal"], "Deployment", "switchboard-ingest")["spec"]["template"]["spec"]
    assert "initContainers" not in spec


# --- observability --------------------------------------------------------------------------------

def source_rule_groups() -> list[dict[str, Any]]:
    groups = []
    for path in sorted((ROOT / "observability" / "rules").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        groups.extend(doc.get("groups", []))
    return groups


def test_service_monitors_scrape_metrics_on_the_http_port_of_each_service(rendered):
    docs = rendered["production"]
    monitors = chart.find(docs, "ServiceMonitor")
    assert len(monitors) == len(SERVICES)
    for monitor in monitors:
        service = chart.one(docs, "Service", monitor["metadata"]["name"])
        assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"][0]["port"] in [p["name"] for p in service["spec"]["ports"]]
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_prometheus_rule_carries_every_rule_group_of_the_analytics_rules(rendered):
    (rule,) = chart.find(rendered["production"], "PrometheusRule")
    assert rule["spec"]["groups"] == source_rule_groups()
    names = [g["name"] for g in rule["spec"]["groups"]]
    assert len(names) == len(set(names)), "rule group names must be unique in one PrometheusRule"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (Debian package prometheus)")
def test_prometheus_rule_groups_pass_promtool(rendered, tmp_path):
    (rule,) = chart.find(rendered["production"], "PrometheusRule")
    if not rule["spec"]["groups"]:
        pytest.skip("observability/rules has no rule groups yet")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    result = subprocess.run(["promtool", "check", "rules", str(path)], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_become_sidecar_configmaps_with_the_json_unchanged(rendered):
    sources = sorted((ROOT / "observability" / "dashboards").glob("*.json"))
    for scenario, namespace in (("minimal", "switchboard"), ("production", "monitoring")):
        maps = [d for d in chart.find(rendered[scenario], "ConfigMap")
                if "grafana_dashboard" in d["metadata"]["labels"]]
        assert len(maps) == len(sources)
        by_file = {next(iter(m["data"])): m for m in maps}
        for source in sources:
            dashboard = by_file[source.name]
            assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
            assert dashboard["metadata"]["namespace"] == namespace
            assert dashboard["metadata"]["annotations"]["grafana_folder"] == "Switchboard"
            assert json.loads(dashboard["data"][source.name]) == json.loads(source.read_text())


def test_monitoring_objects_are_switchable(rendered):
    off = rendered["everything-off"]
    assert not chart.find(off, "ServiceMonitor") and not chart.find(off, "PrometheusRule")
    assert [d["metadata"]["name"] for d in chart.find(off, "ConfigMap")] == ["switchboard-config"]


# --- exposure -------------------------------------------------------------------------------------

def test_ingress_is_off_by_default_and_routes_to_ingest_with_tls_when_on(rendered):
    assert not chart.find(rendered["minimal"], "Ingress")
    ingress = chart.one(rendered["production"], "Ingress", "switchboard-ingest")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"secretName": "switchboard-tls", "hosts": ["switchboard.example.com"]}]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "switchboard-ingest", "port": {"name": "http"}}


def test_network_policies_open_only_the_http_port_to_the_named_peers(rendered):
    docs = rendered["production"]
    ingest = chart.one(docs, "NetworkPolicy", "switchboard-ingest")["spec"]
    sla = chart.one(docs, "NetworkPolicy", "switchboard-sla")["spec"]
    assert ingest["ingress"][0]["ports"] == [{"port": "http", "protocol": "TCP"}]
    assert ingest["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "ingress-nginx"}
    assert sla["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"}
    assert sla["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "sla"
    assert not chart.find(rendered["minimal"], "NetworkPolicy")


def test_notes_say_when_dashboards_are_off_and_topics_are_external():
    off = chart.notes(chart.scenario_values("everything-off"))
    assert "Off (metrics.dashboards.enabled=false)" in off
    assert "managed outside this chart" in off


def test_notes_tell_how_to_reach_ingest_and_the_dashboards():
    minimal = chart.notes(chart.scenario_values("minimal"))
    assert "kubectl -n switchboard port-forward svc/switchboard-ingest 8080:http" in minimal
    assert "grafana_dashboard=1" in minimal
    production = chart.notes(chart.scenario_values("production"))
    assert "https://switchboard.example.com/" in production
    assert "Strimzi KafkaTopic resources" in production


# --- the README walk from helm install to a first webhook stays true ------------------------------

def readme_walk() -> str:
    text = (chart.CHART / "README.md").read_text()
    return text.split("## From `helm install` to a first webhook", 1)[1].split("## What the chart sets up", 1)[0]


def test_readme_install_command_is_the_minimal_scenario_and_renders():
    command = re.search(r"helm install switchboard deploy/k8s/switchboard.*?\n\n", readme_walk() + "\n\n", re.DOTALL)
    assert command, "the README lost its helm install command"
    vals: dict[str, Any] = {}
    for expression in re.findall(r"--set (\S+)", command.group(0)):
        for key, value in helm.parse_set_string(expression).items():
            vals.setdefault(key, {}).update(value)
    assert vals == chart.scenario_values("minimal"), "README says its install equals ci/minimal-values.yaml"
    assert chart.find(chart.render(vals), "Deployment")


def test_readme_webhook_is_signed_the_way_ingest_verifies_it():
    from switchboard.ingest.adapters.providers.registry import PROVIDERS
    from switchboard.ingest.domain.signatures import verify_hub_signature_256

    walk = readme_walk()
    secrets = yaml.safe_load(re.search(r"cat > secrets.yaml <<'EOF'\n(.*?)\nEOF", walk, re.DOTALL).group(1))
    secret = re.search(r"SECRET='([^']+)'", walk).group(1)
    body = re.search(r"BODY='([^']+)'", walk).group(1)
    assert secrets["brands"]["acme"]["meta_app_secret"] == secret
    sign = re.search(r"SIG=\$\((.*)\)\n", walk).group(1)
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    signed = subprocess.run(["sh", "-c", sign], check=True, capture_output=True, text=True, timeout=30,
                            env={"PATH": "/usr/bin:/bin", "SECRET": secret, "BODY": body})
    verify_hub_signature_256(body.encode(), f"sha256={signed.stdout.strip()}", secret)  # raises on a mismatch
    provider = re.search(r"http://127\.0\.0\.1:8080/v1/brands/acme/webhooks/(\w+)", walk).group(1)
    assert provider in PROVIDERS
    assert PROVIDERS[provider].normalize  # the provider named in the README is a real adapter
