"""The analytics floor plan holds: the domain is pure (no wire, store, broker or web types and no
clock), and only the codec speaks protobuf to it."""

import ast
from pathlib import Path

SERVICE = Path(__file__).resolve().parents[3] / "services" / "analytics"
BANNED_IN_DOMAIN = ("google.protobuf", "pymongo", "motor", "aiokafka", "httpx", "fastapi", "switchboard.events",
                    "switchboard.common", "switchboard.analytics.adapters", "switchboard.analytics.handlers")


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_domain_imports_no_wire_store_broker_or_web_code():
    offences = {
        f"{path.name}: {name}"
        for path in sorted((SERVICE / "domain").glob("*.py"))
        for name in imported(path)
        if name.startswith(BANNED_IN_DOMAIN) or name.endswith("_pb2")
    }
    assert not offences, f"domain modules must stay pure: {sorted(offences)}"


def test_only_the_codec_translates_protobuf_for_the_handlers():
    speaking_protobuf = {
        str(path.relative_to(SERVICE))
        for path in SERVICE.rglob("*.py")
        if path.name != "bench.py" and any(n.startswith("switchboard.events") for n in imported(path))
    }
    assert speaking_protobuf == {"adapters/codec.py"}
