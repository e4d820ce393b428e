"""Building blocks of the Switchboard dashboards: PromQL helpers, the grid layout, and panel presets
(stat, timeseries, bargauge, gauge) carrying the common defaults, so a dashboard module says only
what differs per panel. Plain dictionaries, no SDK: ordinary Grafana dashboard JSON (schemaVersion 39).
"""

from __future__ import annotations

DS = {"type": "prometheus", "uid": "${datasource}"}
SEL = 'brand=~"$brand",channel=~"$channel"'
RI = "$__rate_interval"
# Consumer expectations (DOMAIN.md survey figures): email 2.5 h, chat 1 h, phone 9 min.
EXPECTATIONS = {"email": 9000, "chat": 3600, "phone": 540}
OBJECTIVE = 0.95

# ---------------------------------------------------------------------------------------------
# PromQL helpers


def attainment(window: str, by: str, metric: str = "first_response") -> str:
    """fulfilled / (fulfilled + breached) from the recorded rates; 0 (not "no data") when all breached."""
    base = f'switchboard:sla_events:rate{window}{{{SEL},metric=~"{metric}"'
    return (
        f'(sum by ({by}) ({base},outcome="fulfilled"}}) or 0 * sum by ({by}) ({base},outcome="breached"}}))'
        f' / sum by ({by}) ({base},outcome=~"fulfilled|breached"}})'
    )


def quantile(q: float, metric: str, by: str, window: str = RI, selector: str = SEL) -> str:
    return f"histogram_quantile({q}, sum by ({by}, le) (rate({metric}_bucket{{{selector}}}[{window}])))"


def bus_quantile(q: float, histogram: str) -> str:
    """A quantile per consumer group of a bus histogram (every service's, no brand or channel)."""
    return f"histogram_quantile({q}, sum by (group, le) (rate({histogram}_bucket[{RI}])))"


def within_expectation(window: str) -> str:
    """Share of first responses within what customers expect on the channel (bucket bound = target)."""
    parts = []
    for channel, seconds in EXPECTATIONS.items():
        sel = f'brand=~"$brand",channel="{channel}",channel=~"$channel"'
        parts.append(
            "sum by (channel) (increase(switchboard_sla_first_response_seconds_bucket"
            f'{{{sel},le=~"{seconds}|{seconds}.0"}}[{window}]))'
            f" / sum by (channel) (increase(switchboard_sla_first_response_seconds_count{{{sel}}}[{window}]))"
        )
    return "\n  or\n".join(parts)


def increase(metric: str, by: str = "", window: str = "1h", extra: str = "") -> str:
    """Increase of a counter over `window`, summed (by `by`) over the brand/channel selection;
    `extra`: more label matchers (',outcome="failed"')."""
    grouping = f" by ({by}) " if by else ""
    return f"sum{grouping}(increase({metric}{{{SEL}{extra}}}[{window}]))"


def per_minute(metric: str, by: str) -> str:
    return f"sum by ({by}) (rate({metric}{{{SEL}}}[{RI}])) * 60"


# ---------------------------------------------------------------------------------------------
# Layout and targets


class Layout:
    """Places panels left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.x = self.y = self.row_h = 0
        self.next_id = 1
        self.panels: list[dict] = []

    def add(self, panel: dict, w: int, h: int) -> None:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        panel["id"] = self.next_id
        panel["gridPos"] = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.next_id += 1
        self.x += w
        self.row_h = max(self.row_h, h)
        self.panels.append(panel)

    def row(self, title: str) -> None:
        if self.x:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": self.next_id,
                "collapsed": False,
                "panels": [],
                "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1},
            }
        )
        self.next_id += 1
        self.y += 1


def target(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> dict:
    return {
        "refId": ref,
        "datasource": DS,
        "expr": expr,
        "legendFormat": legend or "__auto",
        "range": not instant,
        "instant": instant,
    }


def now(expr: str, legend: str = "") -> dict:
    """An instant query: the value now (stat, gauge and bargauge panels)."""
    return target(expr, legend, instant=True)


def expectation_line() -> dict:
    """The channel's consumer expectation, drawn dashed (see EXPECTATION_DASHES) beside a duration."""
    return target(
        'max by (channel) (switchboard:sla_first_response_expectation:seconds{channel=~"$channel"})',
        "expected {{channel}}",
    )


def thresholds(*steps: tuple[str, float | None]) -> dict:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


PCT_STEPS = thresholds(("red", None), ("orange", 0.9), ("green", OBJECTIVE))
BLUE = thresholds(("blue", None))
EXPECTATION_DASHES = [
    {
        "matcher": {"id": "byRegexp", "options": "expected.*"},
        "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}],
    }
]
# A share of SLA clocks met: 0..100%, red below 90%, green from the objective.
ATTAINMENT = {"unit": "percentunit", "decimals": 1, "steps": PCT_STEPS, "minimum": 0, "maximum": 1}

# ---------------------------------------------------------------------------------------------
# Panels


def _field_defaults(kind: str, unit: str, decimals: int | None, steps: dict | None, minimum: float | None,
                    maximum: float | None) -> dict:
    defaults: dict = {"unit": unit, "color": {"mode": "thresholds" if steps else "palette-classic"}}
    if steps:
        defaults["thresholds"] = steps
    if decimals is not None:
        defaults["decimals"] = decimals
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 2,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": True,
        }
    return defaults


def _panel_options(kind: str, options: dict | None) -> dict:
    if kind == "timeseries":
        opts = {
            "legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        }
    else:
        opts = {
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "orientation": "auto",
            "textMode": "auto",
            "colorMode": "background",
            "graphMode": "area",
            "justifyMode": "auto",
        }
    if kind == "bargauge":
        opts.update({"displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True})
    if options:
        opts.update(options)
    return opts


def panel(
    kind: str,
    title: str,
    description: str,
    targets: list[dict],
    *,
    unit: str = "short",
    decimals: int | None = None,
    steps: dict | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    options: dict | None = None,
    overrides: list | None = None,
) -> dict:
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {
            "defaults": _field_defaults(kind, unit, decimals, steps, minimum, maximum),
            "overrides": overrides or [],
        },
        "options": _panel_options(kind, options),
    }


def stat(title: str, description: str, *targets: dict, **settings) -> dict:
    return panel("stat", title, description, list(targets), **settings)


def timeseries(title: str, description: str, *targets: dict, **settings) -> dict:
    return panel("timeseries", title, description, list(targets), **settings)


def bargauge(title: str, description: str, *targets: dict, **settings) -> dict:
    return panel("bargauge", title, description, list(targets), **settings)


def gauge(title: str, description: str, *targets: dict, **settings) -> dict:
    return panel("gauge", title, description, list(targets), **settings)
