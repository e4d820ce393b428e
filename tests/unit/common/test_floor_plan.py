"""The floor plan (docs/CONTRIBUTING.md), checked on the source of every service, statically (`ast`,
nothing is imported):

- domain/ is pure: no wire code (protobuf, switchboard.events), no store, broker or web library, and
  nothing from its own service's adapters, handlers or bootstrap;
- handlers reach the store and the broker through ports, never pymongo or aiokafka directly;
- handlers and HTTP routes leave protobuf to adapters/codec.py, the one wire translation;
- no room over 400 lines in services/ or libs/ (generated *_pb2 aside), no function over 60 lines.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SERVICES = REPO / "services"
SERVICE_NAMES = ("ingest", "router", "sla", "notifier", "analytics", "console")
DOMAIN_BANNED = ("google.protobuf", "switchboard.events", "pymongo", "aiokafka", "httpx", "fastapi", "starlette")
HANDLER_BANNED = ("pymongo", "aiokafka")
OUTER_LAYERS = ("adapters", "handlers", "bootstrap")  # what the domain must not reach into
HTTP_ROUTES = {"ingest": "api", "console": "web"}  # the HTTP layer of the services that have one
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts) if folder.is_dir() else []


def module_package(path: Path, services: Path) -> list[str]:
    """services/sla/domain/x.py -> ["switchboard", "sla", "domain"] (setup.py's mapping)."""
    return ["switchboard", *path.parent.relative_to(services).parts]


def imported_modules(path: Path, services: Path = SERVICES) -> set[str]:
    """Every module a file imports, relative imports made absolute, `from a import b` as a and a.b."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module_package(path, services)
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, node.module] if node.module else package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def is_protobuf(name: str) -> bool:
    return within(name, ("google.protobuf", "switchboard.events")) or any(
        part.endswith("_pb2") or part.endswith("_pb2_grpc") for part in name.split("."))


def label(path: Path) -> str:
    return str(path.relative_to(REPO))


def domain_modules() -> list[Path]:
    return [p for name in SERVICE_NAMES for p in python_files(SERVICES / name / "domain")]


def handler_modules() -> list[Path]:
    return [p for name in SERVICE_NAMES
            for p in [SERVICES / name / "handlers.py", *python_files(SERVICES / name / "handlers")] if p.exists()]


def route_modules() -> list[Path]:
    return [p for name, folder in HTTP_ROUTES.items() for p in python_files(SERVICES / name / folder)]


def test_every_service_has_the_rooms_these_checks_read():
    for name in SERVICE_NAMES:
        assert python_files(SERVICES / name / "domain"), f"services/{name}/domain/ has no module"
        assert any(label(p).startswith(f"services/{name}/handlers") for p in handler_modules()), name
    assert {label(p).split("/")[1] for p in route_modules()} == set(HTTP_ROUTES)


def test_relative_and_from_imports_resolve_to_the_modules_the_rules_name(tmp_path):
    module = tmp_path / "sla" / "domain" / "rules.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ..adapters import store\nfrom . import policy\nimport pymongo.errors\n"
                      "from switchboard.events.v1 import sla_pb2\n", encoding="utf-8")
    names = imported_modules(module, services=tmp_path)
    assert {"switchboard.sla.adapters.store", "switchboard.sla.domain.policy", "pymongo.errors"} <= names
    assert within("switchboard.sla.adapters.store", ("switchboard.sla.adapters",))
    assert within("pymongo.errors", DOMAIN_BANNED) and not within("pymongo_extras", DOMAIN_BANNED)
    assert is_protobuf("switchboard.events.v1.sla_pb2") and not is_protobuf("switchboard.sla.domain.policy")


@pytest.mark.parametrize("path", domain_modules(), ids=label)
def test_domain_imports_no_wire_store_broker_or_web_library(path):
    bad = sorted(name for name in imported_modules(path) if within(name, DOMAIN_BANNED) or is_protobuf(name))
    assert not bad, f"{label(path)} imports {bad}: the domain sees plain dataclasses; move this to adapters/"


@pytest.mark.parametrize("path", domain_modules(), ids=label)
def test_domain_imports_nothing_from_its_service_outer_layers(path):
    service = path.relative_to(SERVICES).parts[0]
    outer = tuple(f"switchboard.{service}.{layer}" for layer in OUTER_LAYERS)
    bad = sorted(name for name in imported_modules(path) if within(name, outer))
    assert not bad, f"{label(path)} imports {bad}: dependencies point inward (adapters -> domain, never back)"


@pytest.mark.parametrize("path", handler_modules(), ids=label)
def test_handlers_reach_store_and_broker_through_ports(path):
    bad = sorted(name for name in imported_modules(path) if within(name, HANDLER_BANNED))
    assert not bad, f"{label(path)} imports {bad}: depend on a Protocol in adapters/ports.py instead"


@pytest.mark.parametrize("path", handler_modules() + route_modules(), ids=label)
def test_handlers_and_http_routes_leave_protobuf_to_the_codec(path):
    bad = sorted(name for name in imported_modules(path) if is_protobuf(name))
    assert not bad, f"{label(path)} imports {bad}: adapters/codec.py is the one wire translation"


def source_files() -> Iterator[Path]:
    for top in (REPO / "services", REPO / "libs"):
        for path in sorted(top.rglob("*")):
            generated = "_pb2" in path.name
            if path.is_file() and "__pycache__" not in path.parts and not generated:
                yield path


def line_count(path: Path) -> int | None:
    try:
        return len(path.read_text(encoding="utf-8").splitlines())
    except UnicodeDecodeError:  # images and other binaries have no lines to count
        return None


def test_no_file_in_services_or_libs_is_over_400_lines():
    long = {label(p): n for p in source_files() if (n := line_count(p) or 0) > MAX_FILE_LINES}
    assert not long, f"split by concern: {long}"


def test_no_function_in_services_or_libs_is_over_60_lines():
    long = {}
    for path in source_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if (n := node.end_lineno - first + 1) > MAX_FUNCTION_LINES:
                    long[f"{label(path)}:{node.lineno} {node.name}"] = n
    assert not long, f"split by step: {long}"
