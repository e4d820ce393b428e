"""What every Switchboard dashboard shares around its panels: tags and links, the annotation
source, and the variables (Prometheus datasource; multi-select `brand` and `channel`, "All" = .*)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from presets import DS, Layout

# The series the brand and channel variables read their values from.
VARIABLE_SOURCE = "switchboard_backlog_conversations"

LINKS = [
    {
        "title": "Switchboard dashboards",
        "type": "dashboards",
        "tags": ["switchboard"],
        "asDropdown": True,
        "includeVars": True,
        "keepTime": True,
    }
]
ANNOTATIONS = {
    "list": [
        {
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True,
            "hide": True,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard",
        }
    ]
}
DATASOURCE_VARIABLE = {
    "name": "datasource",
    "label": "Data source",
    "type": "datasource",
    "query": "prometheus",
    "refresh": 1,
    "regex": "",
    "hide": 0,
    "current": {},
    "options": [],
}


def query_variable(name: str, query: str, label: str) -> dict:
    """A multi-select variable over label values, "All" meaning any value (.*)."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": {"query": query, "refId": f"{name}-variable", "qryType": 1},
        "definition": query,
        "refresh": 2,
        "includeAll": True,
        "multi": True,
        "allValue": ".*",
        "sort": 1,
        "regex": "",
        "hide": 0,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
    }


def dashboard(uid: str, title: str, description: str, sections: Iterable[Callable[[Layout], None]]) -> dict:
    """The dashboard JSON: each section adds its row and panels to one grid, top to bottom."""
    grid = Layout()
    for section in sections:
        section(grid)
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["switchboard"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "graphTooltip": 1,
        "timezone": "utc",
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "fiscalYearStartMonth": 0,
        "links": LINKS,
        "annotations": ANNOTATIONS,
        "templating": {
            "list": [
                DATASOURCE_VARIABLE,
                query_variable("brand", f"label_values({VARIABLE_SOURCE}, brand)", "Brand"),
                query_variable("channel", f'label_values({VARIABLE_SOURCE}{{brand=~"$brand"}}, channel)', "Channel"),
            ]
        },
        "panels": grid.panels,
    }
