"""`make proto-check` passes on main and fails when a .proto changes without regeneration."""
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def run_check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "tools" / "proto.py"), "--check"], capture_output=True,
                          text=True)


def test_generated_code_matches_the_proto_sources():
    result = run_check(REPO)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_proto_changed_without_regeneration_fails_the_check(tmp_path):
    shutil.copytree(REPO / "proto", tmp_path / "proto", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tools").mkdir()
    shutil.copy(REPO / "tools" / "proto.py", tmp_path / "tools" / "proto.py")
    sla = tmp_path / "proto" / "switchboard" / "events" / "v1" / "sla.proto"
    sla.write_text(sla.read_text().replace("message SlaCancelled {", "message SlaCancelled {\n  string note = 9;"))
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "sla_pb2.py" in result.stdout and "make proto" in result.stdout
