"""The reports on PostgreSQL: the same grouped SQL (hour buckets, scaled sums, the ledger) gives the same figures."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest

from laseros.app import create_app
from laseros.domain.kernel.shop import ShopCalendar
from laseros.settings import Settings
from tests.factories import add_quote_line, create_client, create_quote, paid_project
from tests.reports_data import csv_rows
from tests.support import PASSWORDS, ShopClient


@pytest.fixture
def pg_manager(pg_settings: Settings) -> Iterator[ShopClient]:
    with ShopClient(app=create_app(pg_settings)) as client:
        assert client.login("manager", PASSWORDS["manager"]).status_code == 303
        yield client


def test_the_reports_run_on_postgresql(pg_manager):
    client_id = create_client(pg_manager, f"Pg Reports {uuid.uuid4().hex[:6]}")
    project_id = paid_project(pg_manager, client_id, name="Pg overrun", estimated_cut_time="6")
    form = pg_manager.get(f"/queue/runs/new/{project_id}").text
    me = re.search(r'name="operator_id".*?<option value="(\d+)"', form, re.S)  # any operator will do
    assert me, form[:2000]
    logged = pg_manager.post_form(
        f"/queue/runs/new/{project_id}",
        {"operator_id": me.group(1), "cut_time_minutes": "30", "sheets_used": "1", "parts_produced": "4",
         "job_finished": "1"},
    )  # fmt: skip
    assert logged.status_code == 303, logged.text[:1000]
    for path in ("/reports", "/reports/production", "/reports/efficiency", "/reports/inventory", "/reports/clients"):
        assert pg_manager.get(path).status_code == 200, path
    jobs = csv_rows(pg_manager, "/reports/efficiency?format=csv")
    mine = [row for row in jobs[1:] if row[1] == "Pg overrun"]
    assert mine and mine[0][7:] == ["6.0", "30.0", "24.0", "400.0", "20.0", "red"]
    by_day = csv_rows(pg_manager, "/reports/production?format=csv&by=week")
    assert sum(int(row[1]) for row in by_day[1:]) >= 1
    # Revenue: a R 100 quote sent and accepted (R 115 with VAT), invoiced, issued today and R 15 paid today.
    quote_id = create_quote(pg_manager, project_id)
    add_quote_line(pg_manager, quote_id, "Cutting", "1", "100.00")
    for status in ("sent", "accepted"):
        assert pg_manager.post_form(f"/quotes/{quote_id}/status", {"status": status}).status_code == 303
    invoice = pg_manager.post_form(f"/quotes/{quote_id}/invoice")
    invoice_id = invoice.headers["location"].rsplit("/", 1)[1]
    assert pg_manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"}).status_code == 303
    payment = {"amount": "15.00", "paid_on": ShopCalendar("Africa/Johannesburg").today().isoformat(), "method": "EFT"}
    assert pg_manager.post_form(f"/invoices/{invoice_id}/payments", payment).status_code == 303
    clients = csv_rows(pg_manager, "/reports/clients?format=csv")
    mine = [row for row in clients[1:] if row[1].startswith("Pg Reports")]
    assert mine and mine[0][3:8] == ["115.00", "115.00", "0.5", "115.00", "15.00"]
    months = csv_rows(pg_manager, "/reports/clients?format=csv&table=revenue_by_month")
    assert len(months) == 2 and Decimal(months[1][1]) >= Decimal("115.00") and Decimal(months[1][2]) >= 15
    valuation = csv_rows(pg_manager, "/reports/inventory?format=csv&table=valuation")
    assert valuation[1][0] == "Sheet"
