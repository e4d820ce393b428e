"""Maps the repository's folders onto one import namespace, `switchboard.*`.

services/<name>  -> switchboard.<name>     (one name per service everywhere)
libs/common      -> switchboard.common     (shared plumbing, no domain logic)
proto/switchboard/events -> switchboard.events (generated protobuf code)
proto/topics     -> switchboard.topics     (topic registry YAML, read at run time)
"""
from pathlib import Path

from setuptools import setup

ROOTS = {
    "switchboard.common": "libs/common",
    "switchboard.events": "proto/switchboard/events",
    "switchboard.topics": "proto/topics",
}
ROOTS.update({f"switchboard.{p.name}": f"services/{p.name}" for p in sorted(Path("services").iterdir())
              if (p / "__init__.py").exists()})


def subpackages(package: str, folder: str) -> list[str]:
    base = Path(folder)
    return [package] + [
        package + "." + ".".join(init.parent.relative_to(base).parts)
        for init in sorted(base.rglob("__init__.py")) if init.parent != base
    ]


setup(
    package_dir=ROOTS,
    packages=[sub for pkg, folder in ROOTS.items() for sub in subpackages(pkg, folder)],
    package_data={pkg: ["*.yaml", "**/*.yaml", "*.j2", "**/*.j2", "*.json", "**/*.css", "**/*.js"] for pkg in ROOTS},
)
