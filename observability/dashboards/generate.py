"""Generates the Switchboard Grafana dashboards (committed JSON beside this file).

    python observability/dashboards/generate.py          # rewrite the JSON files
    python observability/dashboards/generate.py --check  # fail if the committed JSON is stale

One module per dashboard (its `FILE` and `build()`), built from the panel presets in presets.py and
the shared frame (variables, links) in frame.py. Plain dictionaries, no SDK: the output is ordinary
Grafana dashboard JSON (schemaVersion 39) with a Prometheus datasource variable and `brand` /
`channel` variables (multi-select, "All" = .*). Every query is tested against a real Prometheus in
tests/e2e/test_prometheus.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the dashboard modules beside this file, however it is run

import bot_customer_experience  # noqa: E402
import platform_health  # noqa: E402
import queues_agents  # noqa: E402
import sla_overview  # noqa: E402

DASHBOARDS = (sla_overview, queues_agents, bot_customer_experience, platform_health)


def render() -> dict[str, str]:
    return {board.FILE: json.dumps(board.build(), indent=2, ensure_ascii=False) + "\n" for board in DASHBOARDS}


def main(argv: list[str]) -> int:
    stale = []
    for name, text in render().items():
        path = HERE / name
        if "--check" in argv:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        print(f"stale dashboards (run python {Path(__file__).relative_to(HERE.parents[1])}): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
