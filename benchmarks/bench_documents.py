"""Documents benchmark: a quote's PDF and a 200-line invoice's PDF, from the same HTML as the print view.

On a fresh migrated database in a temporary folder it makes a client and project, a quote with 8
lines and an issued invoice with 200 lines (through the services the pages use), then times what
``GET /quotes/{id}.pdf`` and ``GET /invoices/{id}.pdf`` do: load the document, render
``templates/documents/*.html`` and turn it into a PDF with WeasyPrint (``web/documents.py``).
Each is made ``--runs`` times (default 5) after one warm-up; the median and the worst are shown,
as wall-clock time and as this process's CPU time (the machine's load average is printed too).

Targets: quote < 1 s, 200-line invoice < 3 s (the worst run's CPU time: on an idle machine the
same as its wall-clock time; on a shared, loaded one the wall clock also counts the waiting).
Exits 1 if a target is missed.

    .venv/bin/python benchmarks/bench_documents.py

Results: docs/performance.md ("Documents") and docs/quotes_and_invoices.md.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

if not __package__:  # run as a file rather than with -m: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from laseros import migrate
from laseros.app import create_app
from laseros.db import Database
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.billing.schemas import InvoiceInput, LineInput
from laseros.domain.billing.summary import company_details
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.clients.services import ClientService
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import ProjectService
from laseros.settings import Settings
from laseros.web.documents import html_to_pdf

TARGET_QUOTE_S = 1.0
TARGET_INVOICE_S = 3.0
CALENDAR = ShopCalendar("Africa/Johannesburg")


async def seed(db: Database, invoice_lines: int) -> tuple[int, int]:
    async with db.session(write="actions") as session:
        client = await ClientService(session, SYSTEM).create(
            ClientInput("Karoo Steel", "Johan", "", "", "1 Main Rd\nWorcester", "", "4123456789")
        )
        project = await ProjectService(session, SYSTEM, CALENDAR).create(
            ProjectInput.parse({"client_id": str(client.id), "name": "Bracket set"}, materials=[], sheet_sizes=[])
        )
        quotes = QuoteService(session, SYSTEM, CALENDAR)
        quote = await quotes.create_with_lines(
            project.id, [LineInput(f"Part {n}: laser cut", Decimal(n), Decimal("12.50")) for n in range(1, 9)]
        )
        invoices = InvoiceService(session, SYSTEM, CALENDAR)
        invoice = await invoices.create_for_project(InvoiceInput(project.id, ""))
        for n in range(invoice_lines):
            await invoices.add_line(invoice.id, LineInput(f"Part {n + 1}: bracket, 3 mm mild steel", Decimal(3),
                                                          Decimal("19.99")))  # fmt: skip
        await invoices.issue(invoice.id)
        return quote.id, invoice.id


async def make_pdf(db: Database, env: Any, kind: str, doc_id: int) -> bytes:
    async with db.session(write=False) as session:
        if kind == "quote":
            doc: Any = await QuoteService(session, SYSTEM, CALENDAR).get(doc_id)
        else:
            doc = await InvoiceService(session, SYSTEM, CALENDAR).get(doc_id)
        company = await company_details(session)
    html = env.get_template(f"documents/{kind}.html").render({kind: doc, "company": company, "for_pdf": True})
    return await asyncio.to_thread(html_to_pdf, html)


async def measure(db: Database, env: Any, kind: str, doc_id: int, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock seconds and this process's CPU seconds per document."""
    await make_pdf(db, env, kind, doc_id)  # warm-up: fonts, WeasyPrint's caches
    wall, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        pdf = await make_pdf(db, env, kind, doc_id)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
        assert pdf.startswith(b"%PDF-")
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=200, help="lines on the invoice")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), database_url=f"sqlite+aiosqlite:///{folder}/laseros.db",
                            secret_key="bench", worker_mode="off")  # fmt: skip
        migrate.upgrade(settings)
        env = create_app(settings).template_engine.engine  # type: ignore[union-attr]

        async def run() -> tuple[tuple[list[float], list[float]], tuple[list[float], list[float]], int]:
            db = Database.from_settings(settings)
            try:
                quote_id, invoice_id = await seed(db, args.lines)
                quote = await measure(db, env, "quote", quote_id, args.runs)
                invoice = await measure(db, env, "invoice", invoice_id, args.runs)
                pages = len(_pages(await make_pdf(db, env, "invoice", invoice_id)))
                return quote, invoice, pages
            finally:
                await db.dispose()

        quote, invoice, pages = asyncio.run(run())
    load = os.getloadavg()[0]
    # The target is the work a document costs (CPU seconds, the worst run); on an idle machine that is
    # its wall-clock time. A shared, overloaded machine stretches wall-clock time, not the work.
    ok = max(quote[1]) < TARGET_QUOTE_S and max(invoice[1]) < TARGET_INVOICE_S
    for label, (wall, cpu), target in (
        ("quote PDF (8 lines)", quote, TARGET_QUOTE_S),
        (f"invoice PDF ({args.lines} lines, {pages} pages)", invoice, TARGET_INVOICE_S),
    ):
        print(f"{label}: CPU median {statistics.median(cpu):.3f} s, worst {max(cpu):.3f} s; wall median "
              f"{statistics.median(wall):.3f} s, worst {max(wall):.3f} s (target < {target:g} s)")  # fmt: skip
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _pages(pdf: bytes) -> list[Any]:
    from pypdf import PdfReader

    return list(PdfReader(io.BytesIO(pdf)).pages)


if __name__ == "__main__":
    sys.exit(main())
