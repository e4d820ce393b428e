"""Generate Python code for proto/ (`make proto`) or fail on drift (`make proto-check`).

Generated files live beside their .proto sources so `switchboard.events.v1` imports them.
"""
from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
PACKAGE = PROTO / "switchboard" / "events" / "v1"
GENERATED = ("_pb2.py", "_pb2.pyi")


def generate(into: Path) -> list[Path]:
    sources = sorted(PACKAGE.glob("*.proto"))
    cmd = [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO}", f"--python_out={into}", f"--pyi_out={into}",
           *[str(s) for s in sources]]
    subprocess.run(cmd, check=True)
    return sorted((into / "switchboard" / "events" / "v1").glob("*_pb2.py*"))


def existing() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if p.name.endswith(GENERATED))


def main(mode: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(Path(tmp))
        if mode == "write":
            for old in existing():
                old.unlink()
            for f in fresh:
                shutil.copy2(f, PACKAGE / f.name)
            print(f"generated {len(fresh)} files into {PACKAGE.relative_to(ROOT)}")
            return 0
        drift = sorted({f.name for f in fresh} ^ {f.name for f in existing()})
        drift += [f.name for f in fresh if (PACKAGE / f.name).exists()
                  and not filecmp.cmp(f, PACKAGE / f.name, shallow=False)]
        if drift:
            print("generated code is out of date with proto/ (run `make proto`): " + ", ".join(drift))
            return 1
        print(f"proto-check: {len(fresh)} generated files match their .proto sources")
        return 0


if __name__ == "__main__":
    sys.exit(main("check" if "--check" in sys.argv else "write"))
