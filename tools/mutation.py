"""`make mutation`: mutmut 3 on the code that decides (SLA calendar and tracker, the router's routing
choice), with the unit and handler tiers, and the report docs/mutation.md.

mutmut names a mutant by its file path and finds it at run time by module name; setup.py maps
services/<name> onto switchboard.<name>, so in the checkout the two never agree. This tool stages a
copy in build/mutation/ laid out as mutmut expects (src/switchboard/<name>/, plus tests/, config/ and
pyproject.toml), runs mutmut there, and reads its results. Mutants only ever exist in that copy: the
working tree, and anyone running tests on it, never sees one.

The targets, test selection and pytest arguments are [tool.mutmut] in pyproject.toml (one place).
Usage: python tools/mutation.py [--workers 2] [--timeout 3600] [--report docs/mutation.md]
       python tools/mutation.py --retest-survivors tests/unit/x/test_new.py ...   (after writing tests)
"""
from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
KILLED = {"killed", "timeout"}  # a mutant that hangs the tests is caught too (mutmut's own scoring)
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}
TARGET_SHARE = 0.90
HISTORY = "## Notes"  # the report's hand-written section (reading the survivors), kept when it is rewritten


def package_roots() -> dict[str, Path]:
    """switchboard.<name> -> folder, as setup.py's ROOTS maps them."""
    roots = {"common": ROOT / "libs/common", "events": ROOT / "proto/switchboard/events",
             "topics": ROOT / "proto/topics"}
    roots.update({p.name: p for p in sorted((ROOT / "services").iterdir()) if (p / "__init__.py").exists()})
    return roots


def mutmut_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]


def repo_path(staged: str) -> str:
    """src/switchboard/sla/domain/x.py -> services/sla/domain/x.py (what a reader finds in the tree)."""
    parts = Path(staged).parts
    if parts[:2] != ("src", "switchboard") or len(parts) < 3:
        return staged
    root = package_roots().get(parts[2])
    rest = Path(*parts[3:]) if len(parts) > 3 else Path()
    return str((root / rest).relative_to(ROOT)) if root else staged


def git_head() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()


def stage() -> list[str]:
    """A fresh copy: packages under src/switchboard/, the tests, config/ and pyproject.toml.
    Returns the selected test folders that do not exist (yet)."""
    shutil.rmtree(STAGE, ignore_errors=True)
    for name, folder in package_roots().items():
        shutil.copytree(folder, STAGE / "src" / "switchboard" / name, ignore=IGNORE)
    for name in ("tests", "config"):
        shutil.copytree(ROOT / name, STAGE / name, ignore=IGNORE)
    shutil.copy2(ROOT / "pyproject.toml", STAGE / "pyproject.toml")
    absent = []
    for selected in mutmut_config().get("pytest_add_cli_args_test_selection", []):
        if not (STAGE / selected).exists():  # e.g. a handler tier not written yet
            print(f"mutation: {selected} does not exist, nothing to run there", flush=True)
            (STAGE / selected).mkdir(parents=True)
            absent.append(selected)
    return absent


def add_tests(files: list[Path]) -> list[str]:
    """New test files, copied into the stage. The rest of the stage's tests keep their staged version:
    they belong to the staged code (the working tree may have moved on since the full run)."""
    added = []
    for path in files:
        path = path.resolve()
        staged = STAGE / path.relative_to(ROOT)
        staged.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staged)
        added.append(str(path.relative_to(ROOT)))
    return added


def run_mutmut(workers: int, timeout: float, log: Path, names: list[str] = ()) -> tuple[int | None, float]:
    """mutmut run in the stage, bounded in time; returns (exit code or None on time-out, seconds).
    With `names`, only those mutants are run again (mutmut keeps every other verdict)."""
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen([str(mutmut), "run", "--max-children", str(workers), *names], cwd=STAGE,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            code = None
    return code, time.monotonic() - started


@dataclass
class Target:
    pattern: str
    statuses: Counter = field(default_factory=Counter)
    survivors: list[tuple[str, str]] = field(default_factory=list)  # (mutant name, staged path)

    @property
    def label(self) -> str:
        return repo_path(self.pattern)

    @property
    def checked(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in NOT_RUN)

    @property
    def killed(self) -> int:
        return sum(self.statuses[s] for s in KILLED)

    @property
    def share(self) -> float | None:
        return self.killed / self.checked if self.checked else None


def collect(targets: list[Target]) -> None:
    """Each mutated module's .meta (mutmut's verdict per mutant) counted toward its first target."""
    from mutmut.stats import status_by_exit_code

    for meta in sorted((STAGE / "mutants").rglob("*.py.meta")):
        staged = str(meta.relative_to(STAGE / "mutants"))[: -len(".meta")]
        target = next((t for t in targets if fnmatch.fnmatch(staged, t.pattern)), None)
        if target is None:
            continue
        verdicts = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in sorted(verdicts.items()):
            status = status_by_exit_code[code]
            target.statuses[status] += 1
            if status not in KILLED and status not in NOT_RUN:
                target.survivors.append((name, staged))


def diff_of(name: str, staged: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        with contextlib.chdir(STAGE):  # mutmut resolves mutants/... against the working directory
            diff = get_diff_for_mutant(name, path=staged)
    except Exception as exc:  # a report line, not a crash, if mutmut cannot rebuild one diff
        return f"(no diff: {exc})"
    return "\n".join(line for line in diff.splitlines() if not line.startswith(("---", "+++")))


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.1%}"


def summary_table(targets: list[Target]) -> list[str]:
    rows = ["| target | mutants | killed (timeouts incl.) | survived | no tests | suspicious | not run "
            "| killed share | ≥ 90% |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |"]
    for t in targets:
        s = t.statuses
        met = "—" if t.share is None else ("yes" if t.share >= TARGET_SHARE else "**no**")
        rows.append(f"| `{t.label}` | {sum(s.values())} | {t.killed} ({s['timeout']}) | {s['survived']} "
                    f"| {s['no tests']} | {s['suspicious'] + s['segfault']} | {sum(s[x] for x in NOT_RUN)} "
                    f"| {percent(t.share)} | {met} |")
    return rows


def function_of(mutant: str) -> str:
    """switchboard.sla.domain.alerts.xǁAlertsǁfire__mutmut_3 -> Alerts.fire (x_f -> f)."""
    mangled = mutant.partition("__mutmut_")[0].rpartition(".")[2]
    return mangled.removeprefix("x_") if mangled.startswith("x_") else ".".join(mangled.split("ǁ")[1:])


def survivor_sections(targets: list[Target]) -> list[str]:
    lines: list[str] = []
    for t in targets:
        lines += ["", f"### `{t.label}`: {len(t.survivors)} surviving", ""]
        by_function = Counter(function_of(name) for name, _ in t.survivors)
        if by_function:
            lines += ["By function: " + ", ".join(f"`{f}` {n}" for f, n in by_function.most_common()), ""]
        for name, staged in t.survivors:
            lines += [f"- `{name}` ({repo_path(staged)})", "", "  ```diff"]
            lines += [f"  {line}" for line in diff_of(name, staged).splitlines() if line[:1] in "+-"]
            lines += ["  ```"]
    return lines


def retest_lines(targets: list[Target], run: dict) -> list[str]:
    """Before/after, when the survivors were run again against tests added since the full run."""
    if "retest" not in run:
        return []
    again = run["retest"]
    lines = ["", f"The figures above include a re-test ({again['finished']} UTC, {again['seconds'] / 60:.0f} min, "
             f"mutmut exit {again['code']}) of the full run's {again['survivors']} survivors with the test files "
             f"added since ({', '.join(again['added'])}), on the same staged code and tests "
             "(`python tools/mutation.py --retest-survivors FILE...`):", "",
             "| target | killed share before | after |", "| --- | ---: | ---: |"]
    for t in targets:
        killed, checked = run["before"].get(t.label, (0, 0))
        lines.append(f"| `{t.label}` | {percent(killed / checked if checked else None)} ({killed}/{checked}) "
                     f"| {percent(t.share)} ({t.killed}/{t.checked}) |")
    return lines


def write_report(report: Path, targets: list[Target], run: dict) -> None:
    from importlib.metadata import version

    code = run["code"]
    absent = f"; absent at run time: {', '.join(run['absent'])}" if run.get("absent") else ""
    outcome = ("completed" if code == 0 else
               "stopped at the time bound: mutants not run are counted as such" if code is None else
               f"mutmut exited {code}: see build/mutation/mutmut.log")
    config = mutmut_config()
    lines = [
        "# Mutation testing (`make mutation`)",
        "",
        "Mutation testing changes one thing in the code (a comparison, a constant, a returned value) and "
        "runs the tests: a test that fails *kills* the mutant; a mutant that *survives* is behaviour no "
        "test pins down. `make mutation` (tools/mutation.py, mutmut "
        f"{version('mutmut')}) runs it on the code that decides: the SLA calendar, the SLA tracker (the "
        "rest of the SLA domain) and the router's routing choice, with the unit and handler tiers "
        f"({', '.join(config.get('pytest_add_cli_args_test_selection', []))}{absent}): fast, no broker, no store. "
        "It is not part of `make test`. Targets and test selection: `[tool.mutmut]` in pyproject.toml.",
        "",
        "Killed share = (killed + timed out) / mutants run; a mutant with no test reaching it counts as "
        f"surviving. Target: ≥ {TARGET_SHARE:.0%} per target.",
        "",
        f"Last run: {run['finished']} UTC, staged from commit {run.get('commit', '?')} plus the uncommitted changes "
        "of the working tree, "
        f"{run['workers']} workers on {os.cpu_count()} cores, {run['seconds'] / 60:.0f} min, {outcome}.",
        "",
        *summary_table(targets),
        *retest_lines(targets, run),
    ]
    survivors = [
        "## Surviving mutants",
        "",
        "Each is named `module.function__mutmut_N`; `cd build/mutation && ../../.venv/bin/mutmut show NAME` "
        "prints it whole (after a run). Only the changed lines are shown here.",
        *survivor_sections(targets),
    ]
    old = report.read_text(encoding="utf-8") if report.exists() else ""
    if HISTORY in old:  # hand-written, kept across runs, up to the generated survivors list
        kept = old[old.index(HISTORY):].split(survivors[0])[0].rstrip("\n")
        lines += ["", *kept.splitlines()]
    report.write_text("\n".join([*lines, "", *survivors]) + "\n", encoding="utf-8")


def save_run(run: dict) -> None:
    run["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    (STAGE / "run.json").write_text(json.dumps(run))


def verdicts() -> list[Target]:
    targets = [Target(pattern) for pattern in mutmut_config()["only_mutate"]]
    with contextlib.chdir(STAGE):  # as in diff_of
        collect(targets)
    return targets


def retest(files: list[Path], workers: int, timeout: float) -> None:
    full = json.loads((STAGE / "run.json").read_text())
    before = verdicts()
    names = [name for t in before for name, _ in t.survivors]
    added = add_tests(files)
    print(f"mutation: re-testing {len(names)} survivors with the tests added since: {added}", flush=True)
    code, seconds = run_mutmut(workers, timeout, STAGE / "mutmut-retest.log", names)
    full.setdefault("before", {t.label: [t.killed, t.checked] for t in before})
    full["retest"] = {"code": code, "seconds": seconds, "survivors": len(names), "added": added,
                      "finished": f"{datetime.now(UTC):%Y-%m-%d %H:%M}"}
    (STAGE / "run.json").write_text(json.dumps(full))


def main() -> int:
    parser = argparse.ArgumentParser(description="mutation testing of the code that decides -> docs/mutation.md")
    parser.add_argument("--workers", type=int, default=2, help="parallel mutants (default 2: the cores are shared)")
    parser.add_argument("--timeout", type=float, default=3600, help="time bound for the whole run, seconds")
    parser.add_argument("--report", type=Path, default=ROOT / "docs" / "mutation.md")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the last run")
    parser.add_argument("--retest-survivors", nargs="+", type=Path, metavar="TEST_FILE",
                        help="after writing these test files: run only the last run's survivors again, "
                             "on the same staged code and tests")
    args = parser.parse_args()
    report = args.report.resolve()
    if args.retest_survivors:
        retest(args.retest_survivors, args.workers, args.timeout)
    elif not args.report_only:
        commit, absent = git_head(), stage()
        print(f"mutation: mutmut in {STAGE.relative_to(ROOT)} with {args.workers} workers, "
              f"bound {args.timeout:.0f} s (log: {STAGE.relative_to(ROOT)}/mutmut.log)", flush=True)
        code, seconds = run_mutmut(args.workers, args.timeout, STAGE / "mutmut.log")
        save_run({"code": code, "seconds": seconds, "workers": args.workers, "commit": commit, "absent": absent})
    run = json.loads((STAGE / "run.json").read_text())
    targets = verdicts()
    write_report(report, targets, run)
    print("\n".join(summary_table(targets)))
    print(f"mutation: report in {report.relative_to(ROOT)}")
    return 0 if run["code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
