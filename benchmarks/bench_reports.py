"""Reports benchmark: each business report at ten years of data, through HTTP.

Uses the shop-floor benchmark's cached database (``bench_shop_floor.build_or_load``: 50 000
projects with a 5 000-job queue, about 500 000 runs and 1 000 000 stock ledger rows; built on the
first run, a few minutes), upgrades a copy to the latest migration (the reports' indexes, 0012 and
0016), adds ten years of billing to it (``add_billing``: a quote per quoted project, an invoice per
completed job, their payments — some 50 000 quotes, 40 000 invoices and 45 000 payments),
starts the real server (``laseros serve``) on it and, logged in as a manager, requests every report
(/reports, production, efficiency, inventory, clients) for each preset period — this month, last
month, this year, the last 12 months — and a whole-history period, plus each report's CSV for this
month. Each request is repeated (``--repeat``, after one warm-up) and the median and the slowest
are printed beside a static file's time from the same server, so the figures read on any machine.

    .venv/bin/python benchmarks/bench_reports.py [--repeat 5]

Target: every report's median < 500 ms for the preset periods (the whole history is shown for
information). Results: docs/performance.md ("Reports"). Exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
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


VAT_PERCENT = 15
SHOP_ZONE = ZoneInfo("Africa/Johannesburg")


def _shop_date(stored: str) -> date:
    """The shop's date of a stored UTC time ('YYYY-MM-DD HH:MM:SS.ffffff')."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).astimezone(SHOP_ZONE).date()


def _stored(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def add_billing(db_path: Path, seed: int) -> dict[str, int]:
    """Ten years of quotes, invoices and payments, bulk-inserted as the app stores them (totals beside one
    line each; amounts as ×100 integers; dates as text), so the clients report has revenue to sum.

    Every quoted project has a quote sent within two days of its creation (one in sixteen was revised
    first: the superseded version stays ``sent``), accepted once the job went ahead, declined if it was
    cancelled. Every completed job has one invoice, issued on the day it was completed: older than
    60 days almost all are paid (one or two payments within 45 days), 1.5 % void, the rest part-paid or
    overdue; the last 60 days hold drafts (no number), sent, part-paid and paid ones.
    """
    rng = random.Random(seed + 16)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA synchronous=OFF")
    today = datetime.now(SHOP_ZONE).date()
    manager_id = conn.execute("SELECT id FROM users WHERE role = 'manager' ORDER BY id LIMIT 1").fetchone()[0]
    projects = conn.execute(
        "SELECT p.id, p.client_id, p.created_at, p.stage, p.quoted_price, q.status, q.completed_at "
        "FROM projects p LEFT JOIN queue_items q ON q.project_id = p.id "
        "WHERE p.quoted_price IS NOT NULL ORDER BY p.created_at"
    ).fetchall()
    quotes, quote_lines, invoices, invoice_lines, payments = [], [], [], [], []
    quote_numbers: Counter[int] = Counter()
    accepted: dict[int, int] = {}  # project id → its accepted quote's id

    def split(total: int) -> tuple[int, int]:
        subtotal = round(total * 100 / (100 + VAT_PERCENT))
        return subtotal, total - subtotal

    for project_id, client_id, created_at, stage, total, queue_status, completed_at in projects:
        created = datetime.fromisoformat(created_at).replace(tzinfo=UTC)
        versions = 2 if rng.random() < 1 / 16 else 1
        sent = created + timedelta(hours=rng.uniform(0.5, 48))
        previous = None
        for version in range(versions):
            last = version == versions - 1
            amount = total if last else round(total * rng.uniform(1.05, 1.3))
            if not last:
                status = "sent"  # revised: the newer version carries the value
            elif stage == "cancelled":
                status = "declined"
            elif stage == "quote":
                status = "sent" if (today - sent.date()).days < 14 else "expired"
            else:
                status = "accepted"
            quote_id = len(quotes) + 1
            quote_numbers[sent.year] += 1
            subtotal, vat = split(amount)
            stamp = _stored(sent)
            decided = (
                _stored(sent + timedelta(days=rng.uniform(0.2, 5))) if status in ("accepted", "declined") else None
            )
            quotes.append(
                (quote_id, f"Q-{sent.year}-{quote_numbers[sent.year]:04d}", project_id, client_id, status,
                 (sent.date() + timedelta(days=14)).isoformat(), "", previous, stamp, decided, VAT_PERCENT * 100,
                 subtotal, vat, amount, stamp, stamp)
            )  # fmt: skip
            quote_lines.append((quote_id, 1, "Laser cutting", 100, subtotal, subtotal, stamp, stamp))
            if status == "accepted":
                accepted[project_id] = quote_id
            previous = quote_id
            sent += timedelta(days=rng.uniform(1, 4))
        if queue_status != "Completed" or completed_at is None:
            continue
        issued = _shop_date(completed_at)
        age = (today - issued).days
        roll = rng.random()
        if age > 60:
            status = "paid" if roll < 0.97 else "void" if roll < 0.985 else rng.choice(("partially_paid", "overdue"))
        else:
            status = "draft" if roll < 0.15 else "paid" if roll < 0.55 else rng.choice(("sent", "partially_paid"))
        if status == "sent" and issued + timedelta(days=7) < today:
            status = "overdue"
        invoice_id = len(invoices) + 1
        subtotal, vat = split(total)
        stamp = completed_at
        voided = _stored(datetime.fromisoformat(stamp).replace(tzinfo=UTC) + timedelta(days=2))
        paid_total = 0
        if status in ("paid", "partially_paid"):
            parts = [total] if status == "paid" and rng.random() < 0.8 else []
            if not parts:
                first = round(total * rng.uniform(0.3, 0.7))
                parts = [first, total - first] if status == "paid" else [first]
            day = issued
            for amount in parts:
                day = min(today, day + timedelta(days=rng.randint(0, 45 // len(parts))))
                recorded = _stored(datetime.combine(day, datetime.min.time(), SHOP_ZONE) + timedelta(hours=10))
                method = rng.choice(("EFT", "EFT", "EFT", "Cash", "Card"))
                reference = f"PAY-{len(payments) + 1:06d}"
                payments.append(
                    (invoice_id, amount, day.isoformat(), method, reference, manager_id, recorded, recorded)
                )
                paid_total += amount
        invoices.append(
            [invoice_id, None, project_id, client_id, accepted.get(project_id), status, "",
             None if status == "draft" else issued.isoformat(),
             None if status == "draft" else (issued + timedelta(days=7)).isoformat(), paid_total,
             voided if status == "void" else None,
             VAT_PERCENT * 100, subtotal, vat, total, stamp, stamp]
        )  # fmt: skip
        invoice_lines.append((invoice_id, 1, "Laser cutting", 100, subtotal, subtotal, stamp, stamp))
    # Numbers in the order of issue, one sequence a year, as the app gives them; drafts have none.
    invoice_numbers: Counter[int] = Counter()
    for row in sorted((r for r in invoices if r[7] is not None), key=lambda r: (r[7], r[0])):
        year = int(row[7][:4])
        invoice_numbers[year] += 1
        row[1] = f"INV-{year}-{invoice_numbers[year]:04d}"
    conn.executemany(
        "INSERT INTO quotes (id, quote_number, project_id, client_id, status, valid_until, notes, revision_of_id, "
        "sent_at, decided_at, vat_rate, subtotal, vat_amount, total, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        quotes,
    )
    conn.executemany(
        "INSERT INTO quote_lines (quote_id, position, description, quantity, unit_price, line_total, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        quote_lines,
    )
    conn.executemany(
        "INSERT INTO invoices (id, invoice_number, project_id, client_id, quote_id, status, notes, issued_on, "
        "due_date, amount_paid, voided_at, vat_rate, subtotal, vat_amount, total, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        invoices,
    )
    conn.executemany(
        "INSERT INTO invoice_lines (invoice_id, position, description, quantity, unit_price, line_total, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        invoice_lines,
    )
    conn.executemany(
        "INSERT INTO payments (invoice_id, amount, paid_on, method, reference, recorded_by_id, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        payments,
    )
    conn.commit()
    conn.close()
    return {"quotes": len(quotes), "invoices": len(invoices), "payments": len(payments)}


def prepare(source: Path, seed: int) -> Path:
    """A copy of the cached shop, upgraded to the latest migration, given its billing and analysed."""
    folder = Path(tempfile.mkdtemp(prefix="laseros-reports-bench-"))
    shutil.copyfile(source, folder / "laseros.db")
    started = time.perf_counter()
    migrate.upgrade(
        Settings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder / 'laseros.db'}", secret_key=SECRET_KEY)
    )
    counts = add_billing(folder / "laseros.db", seed)
    print(
        f"  billing: {counts['quotes']} quotes, {counts['invoices']} invoices, {counts['payments']} payments: "
        f"{time.perf_counter() - started:.1f} s"
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
    source = prepare(built.db_path, args.seed)
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
