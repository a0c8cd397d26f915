"""Reports benchmark: each business report at ten years of data, through HTTP.

Uses the shop-floor benchmark's cached database (``bench_shop_floor.build_or_load``: 50 000
projects with a 5 000-job queue, about 500 000 runs and 1 000 000 stock ledger rows; built on the
first run, a few minutes), upgrades a copy to the latest migration (the reports' indexes, 0012),
starts the real server (``laseros serve``) on it and, logged in as a manager, requests every report
(/reports, production, efficiency, inventory, clients) for each preset period — this month, last
month, this year, the last 12 months — and a whole-history period, plus each report's CSV for this
month. Each request is repeated (``--repeat``, after one warm-up) and the median and the slowest
are printed beside a static file's time from the same server, so the figures read on any machine.

    .venv/bin/python benchmarks/bench_reports.py [--repeat 5]

Target: every report's median < 500 ms for the preset periods (the whole history is shown for
information). Invoices do not exist in this data yet: the clients report has no revenue source
(docs/reports.md). Results: docs/performance.md ("Reports"). Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

if not __package__:  # run as a file rather than with -m: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_foundation import PASSWORD, USERNAME, print_table
from benchmarks.bench_shop_floor import SECRET_KEY, ShopServer, build_or_load, logged_in
from laseros import migrate
from laseros.domain.reports.analytics.period import Period, preset_periods
from laseros.settings import Settings

TARGET_MS = 500.0
REPORTS = ("/reports", "/reports/production", "/reports/efficiency", "/reports/inventory", "/reports/clients")
STATIC_PATH = "/static/css/app.css"
HISTORY = "ten years"


def prepare(source: Path) -> Path:
    """A copy of the cached shop, upgraded to the latest migration and analysed."""
    folder = Path(tempfile.mkdtemp(prefix="laseros-reports-bench-"))
    shutil.copyfile(source, folder / "laseros.db")
    started = time.perf_counter()
    migrate.upgrade(
        Settings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder / 'laseros.db'}", secret_key=SECRET_KEY)
    )
    with sqlite3.connect(folder / "laseros.db") as conn:
        conn.execute("ANALYZE")
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  upgraded to the latest migration and analysed: {time.perf_counter() - started:.1f} s")
    return folder / "laseros.db"


async def measure(base_url: str, periods: list[tuple[str, Period]], repeat: int) -> list[tuple[str, str, list[float]]]:
    client = await logged_in(base_url, USERNAME, PASSWORD, "pc")
    results: list[tuple[str, str, list[float]]] = []
    try:

        async def timed(path: str) -> float:
            started = time.perf_counter()
            response = await client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
            return elapsed

        static = []
        for _ in range(repeat + 1):
            static.append(await timed(STATIC_PATH))
        results.append(("static file", STATIC_PATH, static[1:]))
        for label, period in periods:
            query = f"start={period.start.isoformat()}&end={period.end.isoformat()}"
            # The whole history is timed once, cold: it is there to show the cost's growth, not as a target.
            runs = 1 if label == HISTORY else repeat + 1
            for report in REPORTS:
                samples = [await timed(f"{report}?{query}") for _ in range(runs)]
                results.append((label, f"{report}", samples[-repeat:] if runs > 1 else samples))
        this_month = periods[0][1]
        query = f"start={this_month.start.isoformat()}&end={this_month.end.isoformat()}&format=csv"
        for report, table in (
            ("/reports/production", "by_time"),
            ("/reports/efficiency", "jobs"),
            ("/reports/inventory", "purchases_vs_usage"),
            ("/reports/clients", "clients"),
        ):
            samples = [await timed(f"{report}?{query}&table={table}") for _ in range(repeat + 1)]
            results.append((f"{periods[0][0]} CSV", f"{report} ({table})", samples[1:]))
    finally:
        await client.aclose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured requests per report and period")
    parser.add_argument("--projects", type=int, default=50_000)
    parser.add_argument("--queue", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=400)
    parser.add_argument("--runs", type=int, default=500_000)
    parser.add_argument("--ledger", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--rebuild", action="store_true", help="build the cached database again")
    args = parser.parse_args()

    print("Laser OS reports benchmark")
    print(
        f"  machine: {os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sa.__version__}; load average {os.getloadavg()[0]:.2f}"
    )
    built = build_or_load(args)
    m = built.meta
    print(f"  {m['projects']} projects, {m['runs']} runs, {m['ledger']} ledger rows; {m['size_mb']:.0f} MB")
    source = prepare(built.db_path)
    today = datetime.now(ZoneInfo("Africa/Johannesburg")).date()
    periods = [(label, period) for _, label, period in preset_periods(today)]
    periods.append((HISTORY, Period(date(today.year - 10, 1, 1), today)))
    workdir = Path(tempfile.mkdtemp(prefix="laseros-reports-run-"))
    try:
        with ShopServer(source, workdir) as server:
            results = asyncio.run(measure(server.base_url, periods, args.repeat))
            problems = server.log_problems()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(source.parent, ignore_errors=True)
    rows, ok = [], True
    for label, path, samples in results:
        median, slowest = statistics.median(samples), max(samples)
        checked = label in {p[0] for p in periods[:4]}
        verdict = ("met" if median < TARGET_MS else "MISSED") if checked else ""
        ok = ok and (not checked or median < TARGET_MS)
        rows.append([label, path, f"{median:.0f}", f"{slowest:.0f}", verdict])
    print()
    print_table(["period", "request", "median ms", "slowest ms", f"target < {TARGET_MS:.0f} ms"], rows)
    if problems:
        print("\nserver log problems:\n  " + "\n  ".join(problems[:10]))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
