"""Copy the chart's data files into deploy/k8s/switchboard/files/ (Helm reads only files inside a chart).

    python tools/chart_sync.py          # copy; stale copies of deleted sources are removed
    python tools/chart_sync.py --check  # exit 1 and list the drift, copy nothing

Sources (whatever exists at the time; the owners add files independently):
    proto/topics/*.yaml                -> files/topics/
    config/default/*.yaml              -> files/config/
    observability/rules/*.yaml         -> files/rules/
    observability/dashboards/*.json    -> files/dashboards/
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART_FILES = ROOT / "deploy" / "k8s" / "switchboard" / "files"

# (source folder, glob, destination folder under files/)
SOURCES: tuple[tuple[str, str, str], ...] = (
    ("proto/topics", "*.yaml", "topics"),
    ("config/default", "*.yaml", "config"),
    ("observability/rules", "*.yaml", "rules"),
    ("observability/dashboards", "*.json", "dashboards"),
)


def plan(root: Path = ROOT, chart_files: Path | None = None) -> tuple[dict[Path, bytes], list[Path]]:
    """Return (destination -> wanted bytes, stale destination files to delete)."""
    chart_files = chart_files or root / "deploy" / "k8s" / "switchboard" / "files"
    wanted: dict[Path, bytes] = {}
    stale: list[Path] = []
    for source, pattern, destination in SOURCES:
        dest_dir = chart_files / destination
        for src in sorted((root / source).glob(pattern)):
            if src.is_file():
                wanted[dest_dir / src.name] = src.read_bytes()
        if dest_dir.is_dir():
            stale.extend(p for p in sorted(dest_dir.iterdir()) if p.is_file() and p not in wanted)
    return wanted, stale


def drift(root: Path = ROOT, chart_files: Path | None = None) -> list[str]:
    """Human-readable differences between the sources and the chart's copies (empty when in sync)."""
    wanted, stale = plan(root, chart_files)
    problems = []
    for dest, data in wanted.items():
        if not dest.exists():
            problems.append(f"missing {dest.relative_to(root)}")
        elif dest.read_bytes() != data:
            problems.append(f"outdated {dest.relative_to(root)}")
    problems.extend(f"stale {p.relative_to(root)} (its source is gone)" for p in stale)
    return problems


def sync(root: Path = ROOT, chart_files: Path | None = None) -> list[str]:
    """Bring the copies in line with the sources; return what changed."""
    changes = drift(root, chart_files)
    wanted, stale = plan(root, chart_files)
    for dest, data in wanted.items():
        if not dest.exists() or dest.read_bytes() != data:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    for path in stale:
        path.unlink()
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail on drift instead of copying")
    args = parser.parse_args(argv)
    if args.check:
        problems = drift()
        if problems:
            print("chart files drifted from their sources:", *problems, sep="\n  ", file=sys.stderr)
            print("fix: python tools/chart_sync.py", file=sys.stderr)
            return 1
        print("chart files in sync")
        return 0
    changes = sync()
    print("\n".join(changes) if changes else "chart files already in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
