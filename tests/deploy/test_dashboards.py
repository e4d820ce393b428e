"""Grafana dashboards in observability/dashboards: structure, variables, and queries that parse and
only name metrics that exist (analytics catalogue, shared bus metrics, recording rules).

That every query returns data from a real Prometheus is tested in tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "observability" / "dashboards"
FILES = sorted(DASHBOARDS.glob("*.json"))
PROMTOOL = shutil.which("promtool")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def query_panels(board: dict) -> list[dict]:
    out = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            out.extend(panel.get("panels", []))
        else:
            out.append(panel)
    return out


def expand(expr: str) -> str:
    """Grafana variables -> what "All" and the default interval mean, so Prometheus can run it."""
    return expr.replace("$__rate_interval", "1m").replace("$brand", ".*").replace("$channel", ".*")


def all_queries() -> list[tuple[str, str, str]]:
    return [
        (path.name, panel["title"], target["expr"])
        for path in FILES
        for panel in query_panels(load(path))
        for target in panel["targets"]
    ]


def test_the_four_dashboards_exist_and_are_fresh():
    titles = {load(p)["title"] for p in FILES}
    assert titles == {
        "Switchboard / SLA overview",
        "Switchboard / Queues & agents",
        "Switchboard / Bot & customer experience",
        "Switchboard / Platform health",
    }
    result = subprocess.run(
        [sys.executable, str(DASHBOARDS / "generate.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_dashboard_has_schema_and_template_variables(path):
    board = load(path)
    assert board["schemaVersion"] >= 36
    assert board["uid"] and len(board["uid"]) <= 40
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for name in ("brand", "channel"):
        var = variables[name]
        assert var["type"] == "query" and var["datasource"]["uid"] == "${datasource}"
        assert var["includeAll"] and var["multi"] and var["allValue"] == ".*"
        assert var["definition"].startswith("label_values(") and f", {name})" in var["definition"]
    assert "$brand" in variables["channel"]["definition"], "channel choices follow the chosen brand"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_panel_has_a_query_on_the_datasource_variable_and_fits_the_grid(path):
    board = load(path)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    occupied: set[tuple[int, int]] = set()
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
    panels = query_panels(board)
    assert len(panels) >= 6
    for panel in panels:
        assert panel["title"] and panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${datasource}"


def test_panels_that_can_be_filtered_by_brand_and_channel_are():
    for name, title, expr in all_queries():
        if name == "platform-health.json" or "expectation:seconds" in expr:
            continue  # bus/process metrics have no brand; expectations are per channel only
        assert "$brand" in expr, f"{name} / {title}: {expr}"


def known_metric_names() -> set[str]:
    from switchboard.analytics.domain.catalogue import METRICS
    from switchboard.common import metrics as bus
    from switchboard.router import metrics as router

    names = set()
    for spec in METRICS:
        names |= {spec.name} | (
            {f"{spec.name}_bucket", f"{spec.name}_count", f"{spec.name}_sum"} if spec.kind == "histogram" else set()
        )
    from prometheus_client.metrics import MetricWrapperBase

    for collector in [*vars(bus).values(), *vars(router).values()]:
        if not isinstance(collector, MetricWrapperBase):
            continue
        for family in collector.describe():
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
            names |= {family.name + s for s in suffixes}
    for rules in (ROOT / "observability" / "rules").glob("*.yaml"):
        for group in yaml.safe_load(rules.read_text())["groups"]:
            names |= {r["record"] for r in group["rules"] if "record" in r}
    return names


def test_queries_name_only_metrics_that_exist():
    known = known_metric_names()
    for name, title, expr in all_queries():
        for metric in re.findall(r"\bswitchboard[a-z0-9_:]*", expr):
            assert metric in known, f"{name} / {title}: unknown metric {metric}"


@pytest.mark.skipif(PROMTOOL is None, reason="promtool missing")
def test_every_query_is_valid_promql(tmp_path):
    """promtool parses each query as the expression of a throwaway recording rule."""
    queries = all_queries()
    variables = [v["definition"] for p in FILES for v in load(p)["templating"]["list"] if v["type"] == "query"]
    rules = [{"record": f"dashboard:query_{i}:check", "expr": expand(expr)} for i, (_, _, expr) in enumerate(queries)]
    rules += [
        {"record": f"dashboard:variable_{i}:check", "expr": expand(re.match(r"label_values\((.*), \w+\)$", d).group(1))}
        for i, d in enumerate(variables)
    ]
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
