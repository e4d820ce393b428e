"""`make lock`: pin requirements.lock (everything in the virtualenv: what `make setup` installs) and
requirements-runtime.lock (the closure of [project.dependencies] only: what the image installs, so
pytest, playwright, mutmut and the other dev tools never ship).

Usage: python tools/lock.py            rewrite both from the current virtualenv
       python tools/lock.py --check    exit 1 if requirements-runtime.lock is not that closure of requirements.lock
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
FULL, RUNTIME = ROOT / "requirements.lock", ROOT / "requirements-runtime.lock"
HEADER = "# The image's dependencies: the closure of [project.dependencies]. Written by `make lock` (tools/lock.py).\n"


def project_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(spec) for spec in project["dependencies"]]


def runtime_closure() -> set[str]:
    """Canonical names of the project's dependencies and theirs, as installed (markers evaluated here)."""
    seen: set[str] = set()
    pending = [(req, "") for req in project_requirements()]
    while pending:
        req, extra = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        wanted = [(name, e) for e in ("", *sorted(req.extras))]
        for _, wanted_extra in wanted:
            key = f"{name}[{wanted_extra}]"
            if key in seen:
                continue
            seen.add(key)
            for spec in metadata.requires(req.name) or []:
                pending.append((Requirement(spec), wanted_extra))
    return {key.split("[", 1)[0] for key in seen}


def pins(text: str) -> dict[str, str]:
    lines = (line.strip() for line in text.splitlines())
    return {canonicalize_name(line.split("==", 1)[0]): line for line in lines if line and not line.startswith("#")}


def runtime_lock(full_text: str) -> str:
    full = pins(full_text)
    closure = runtime_closure()
    missing = sorted(closure - full.keys())
    if missing:
        raise SystemExit(f"requirements.lock lacks {', '.join(missing)}: run `make lock` in a complete virtualenv")
    return HEADER + "".join(f"{full[name]}\n" for name in sorted(closure, key=lambda n: full[n].lower()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        expected = runtime_lock(FULL.read_text(encoding="utf-8"))
        if RUNTIME.read_text(encoding="utf-8") != expected:
            print("requirements-runtime.lock is stale: run `make lock`", file=sys.stderr)
            return 1
        return 0
    frozen = subprocess.run([sys.executable, "-m", "pip", "freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout
    full_text = "".join(line + "\n" for line in frozen.splitlines() if not line.startswith("switchboard"))
    FULL.write_text(full_text, encoding="utf-8")
    RUNTIME.write_text(runtime_lock(full_text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
