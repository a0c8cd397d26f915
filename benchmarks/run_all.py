"""Every benchmark, one after the other, then one screen: each benchmark's targets, met or missed.

    make bench                                  # = .venv/bin/python benchmarks/run_all.py
    .venv/bin/python benchmarks/run_all.py --only shop_floor,foundation

Each benchmark runs as its own process with the options below (its full output goes to a log file
in a temporary folder, named at the end). A target line is any line a benchmark prints with "met"
or "MISSED" in it; a benchmark that prints figures only says so. The exit code is 1 when a target
was missed, a benchmark failed or the time ran out. What each measures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# (name, extra options, timeout in seconds). The shop floor's saturation run is the same benchmark, paced out.
BENCHMARKS: list[tuple[str, list[str], int]] = [
    ("foundation", [], 300),
    ("shop_floor", ["--phases", "full,single"], 480),
    ("shop_floor_saturation", ["--pause", "0", "--reader-think", "0", "--phases", "full", "--no-probe"], 240),
    ("alerts", [], 300),
    ("reports", [], 300),
    ("login_flood", [], 240),
    ("documents", [], 180),
    ("dxf", [], 240),
    ("nesting", [], 240),
]
TARGET_LINE = re.compile(r"\b(met|MISSED)\b")
BUDGET_S = 15 * 60
SHOWN = 8  # target lines shown per benchmark before only its misses are (one screen in all)


def script(name: str) -> Path:
    return HERE / f"bench_{name.removesuffix('_saturation')}.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(b[0] for b in BENCHMARKS))
    args = parser.parse_args()
    wanted = {n.strip() for n in args.only.split(",") if n.strip()}
    logs = Path(tempfile.mkdtemp(prefix="laseros-bench-"))
    started = time.monotonic()
    summary: list[tuple[str, str, float, list[str]]] = []
    for name, options, timeout in BENCHMARKS:
        if wanted and name not in wanted:
            continue
        left = BUDGET_S - (time.monotonic() - started)
        log = logs / f"{name}.log"
        if left <= 0:
            summary.append((name, "not run (time)", 0.0, []))
            continue
        command = [sys.executable, str(script(name)), *options]
        print(f"… {name}: {' '.join(command[1:])}", flush=True)
        t0 = time.monotonic()
        with log.open("w") as out:
            try:
                code = subprocess.run(
                    command, stdout=out, stderr=subprocess.STDOUT, timeout=min(timeout, left), cwd=HERE.parent
                ).returncode
                outcome = "ok" if code == 0 else f"exit {code}"
            except subprocess.TimeoutExpired:
                outcome = "timed out"
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if TARGET_LINE.search(line)]
        summary.append((name, outcome, time.monotonic() - t0, lines))

    total = time.monotonic() - started
    missed = failed = 0
    print(f"\n== Benchmarks: {total / 60:.1f} min (budget {BUDGET_S // 60} min); logs in {logs} ==")
    for name, outcome, seconds, lines in summary:
        print(f"{name} — {outcome}, {seconds:.0f} s")
        failed += outcome not in ("ok", "exit 1")  # exit 1: the benchmark's own "a target was missed"
        misses = [line for line in lines if "MISSED" in line]
        missed += len(misses)
        shown = (
            lines if len(lines) <= SHOWN else [*misses, f"… and {len(lines) - len(misses)} more target lines, all met"]
        )
        for line in shown or ["(figures only: see its log)"]:
            print(f"    {line[:110]}")
    print(f"\n{missed} target line(s) missed; {failed} benchmark(s) failed or not run")
    return 1 if missed or failed or total > BUDGET_S else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
