"""Render the Switchboard chart offline (Helm's Go engine through helm-python-sdk) and manage the goldens.

Regenerate the committed golden manifests after an intended change:

    python tools/chart_sync.py                      # chart files/ <- topics, config, rules, dashboards
    python tests/deploy/chart_render.py --update-golden
"""
from __future__ import annotations

import argparse
import functools
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "k8s" / "switchboard"
CI_DIR = CHART / "ci"
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
RELEASE = "switchboard"
NAMESPACE = "switchboard"
REGENERATE = "python tools/chart_sync.py && python tests/deploy/chart_render.py --update-golden"


def scenarios() -> list[str]:
    """The value sets under ci/ (`<scenario>-values.yaml`), as chart-testing would use them."""
    return sorted(p.name.removesuffix("-values.yaml") for p in CI_DIR.glob("*-values.yaml"))


def scenario_values(scenario: str) -> dict[str, Any]:
    return yaml.safe_load((CI_DIR / f"{scenario}-values.yaml").read_text()) or {}


@functools.lru_cache(maxsize=1)
def _chart() -> Any:
    import helm_python as helm

    return helm.Chart.load(CHART)


def render_raw(values: dict[str, Any], *, name: str = RELEASE, namespace: str = NAMESPACE) -> dict[str, str]:
    """{template path: rendered text}, NOTES.txt included."""
    return _chart().render(values, name=name, namespace=namespace)


def render(values: dict[str, Any], *, name: str = RELEASE, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """Every rendered Kubernetes object, in template order."""
    docs: list[dict[str, Any]] = []
    for path, text in sorted(render_raw(values, name=name, namespace=namespace).items()):
        if path.endswith("NOTES.txt"):
            continue
        docs.extend(d for d in yaml.safe_load_all(text) if d)
    return docs


def notes(values: dict[str, Any]) -> str:
    rendered = render_raw(values)
    return next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {[d['metadata']['name'] for d in find(docs, kind)]}"
    return found[0]


GENERATED = "<generated at install>"


def mask_generated_secrets(path: str, text: str) -> str:
    """The console Secret's values are random per install (kept across upgrades by lookup): the
    golden file pins their keys, not their bytes."""
    if not path.endswith("templates/console-secret.yaml"):
        return text
    head, sep, data = text.partition("\ndata:\n")
    masked = re.sub(r'^(  [-._a-zA-Z0-9]+: ).+$', lambda m: f'{m.group(1)}"{GENERATED}"', data, flags=re.MULTILINE)
    return head + sep + masked


def golden_text(scenario: str) -> str:
    """The manifests `helm template` would print for a scenario: each template under a Source comment."""
    parts = []
    for path, text in sorted(render_raw(scenario_values(scenario)).items()):
        if path.endswith("NOTES.txt") or not text.strip():
            continue
        body = mask_generated_secrets(path, text).strip("\n")
        if not body.startswith("---"):
            body = "---\n" + body
        parts.append(f"# Source: {path}\n{body}\n")
    return "".join(parts)


def golden_path(scenario: str) -> Path:
    return GOLDEN_DIR / f"{scenario}.yaml"


def update_goldens() -> list[str]:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario in scenarios():
        path = golden_path(scenario)
        text = golden_text(scenario)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(str(path.relative_to(ROOT)))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update-golden", action="store_true", help="rewrite tests/deploy/golden/<scenario>.yaml")
    parser.add_argument("--scenario", help="print the rendered manifests of one ci/ scenario")
    args = parser.parse_args(argv)
    if args.update_golden:
        written = update_goldens()
        print("\n".join(written) if written else "goldens already up to date")
        return 0
    if args.scenario:
        sys.stdout.write(golden_text(args.scenario))
        return 0
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
