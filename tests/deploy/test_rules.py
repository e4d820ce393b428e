"""Prometheus rule files in observability/rules: valid, unit-tested, documented, PrometheusRule-ready.

Runs the real promtool (Debian `prometheus` package): `promtool check rules` on every rule file and
`promtool test rules` on every test file, and checks that every alert has a firing and a silent
case in those tests, a summary, a description and a runbook that exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "observability" / "rules"
RULE_FILES = sorted(RULES.glob("*.yaml"))
TEST_FILES = sorted((RULES / "tests").glob("*.yaml"))
PROMTOOL = shutil.which("promtool")

needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: apt-get install prometheus")


def rules_of(kind: str) -> list[dict]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if kind in rule
    ]


def test_rule_files_exist():
    assert {p.name for p in RULE_FILES} >= {
        "switchboard-sla.yaml",
        "switchboard-sla-alerts.yaml",
        "switchboard-backlog.yaml",
        "switchboard-platform.yaml",
    }


@needs_promtool
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path):
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_test_rules(path):
    result = subprocess.run([PROMTOOL, "test", "rules", path.name], capture_output=True, text=True, cwd=path.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_silent():
    cases: dict[str, set[str]] = {}
    for path in TEST_FILES:
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                cases.setdefault(case["alertname"], set()).add("fires" if case.get("exp_alerts") else "silent")
    for alert in rules_of("alert"):
        assert cases.get(alert["alert"]) == {"fires", "silent"}, f"{alert['alert']} needs a firing and a silent case"


def test_every_alert_has_summary_description_severity_and_an_existing_runbook():
    for alert in rules_of("alert"):
        annotations = alert.get("annotations", {})
        assert annotations.get("summary") and annotations.get("description"), alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, alert["alert"]
        runbook = annotations.get("runbook_url", "")
        assert runbook.startswith("docs/runbooks/"), alert["alert"]
        assert (ROOT / runbook).is_file(), f"{alert['alert']}: {runbook} missing"


def test_recording_rules_follow_the_level_metric_operation_convention_and_are_unique():
    records = [rule["record"] for rule in rules_of("record")]
    for name in records:
        assert name.startswith("switchboard:") and name.count(":") == 2, name
    objectives = [r for r in rules_of("record") if r["record"] == "switchboard:sla_attainment_objective:ratio"]
    assert len({r["labels"]["channel"] for r in objectives}) == len(objectives) >= 10
    exprs = [(rule["record"], str(rule.get("labels"))) for rule in rules_of("record")]
    assert len(exprs) == len(set(exprs)), "duplicate recording rule"


def test_attainment_is_recorded_per_channel_over_1h_and_1d():
    records = {rule["record"]: rule["expr"] for rule in rules_of("record")}
    for window in ("1h", "1d"):
        expr = records[f"switchboard:sla_attainment:ratio_rate{window}"]
        assert "channel" in expr and f"[{window}]" in expr


def test_rule_groups_load_as_a_prometheus_operator_prometheusrule():
    from cloudcoil.models.prometheus_operator import v1

    groups = [group for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]]
    rule = v1.PrometheusRule.model_validate(
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": {"name": "switchboard"},
            "spec": {"groups": groups},
        }
    )
    assert len(rule.spec.groups) == len(groups)
    assert sum(len(g.rules) for g in rule.spec.groups) == len(rules_of("alert")) + len(rules_of("record"))
