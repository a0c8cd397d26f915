"""A month of known production for the report tests: jobs made through the app, runs written as stored.

March 2026 in the shop's zone (Africa/Johannesburg, UTC+2). The figures every report test expects
are worked out by hand in the comments beside each run (and in docs/reports.md's definitions).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from tests.factories import add_quote_line, create_client, create_quote, paid_project
from tests.support import ShopClient

MARCH = "start=2026-03-01&end=2026-03-31"


def stamp(utc: str) -> str:
    """A UTC time ('2026-03-02 08:00') as a UTCDateTime column stores it on SQLite."""
    return f"{utc}:00.000000"


@dataclass
class Shop:
    karoo: int  # client ids
    cape: int
    a: int  # project ids
    b: int
    c: int
    d: int
    e: int
    operator_id: int
    manager_id: int
    extra_id: int


def add_run(
    sql: Callable[..., list[tuple]],
    project_id: int,
    operator_id: int,
    started_utc: str,
    minutes: str,
    sheets: int,
    parts: int,
    *,
    material: str,
    thickness: str,
    extra_id: int | None = None,
    status: str = "completed",
) -> None:
    item = sql("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))
    sql(
        "INSERT INTO laser_runs (created_at, updated_at, project_id, queue_item_id, operator_id, extra_operator_id, "
        "logged_by_id, preset_id, status, started_at, ended_at, cut_minutes, material_type, thickness_mm, sheet_size, "
        "sheets_used, parts_produced, notes, job_finished, inventory_item_id, stock_shortfall, short_at_start) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, '3000x1500', ?, ?, '', 0, NULL, 0, 0)",
        (
            stamp(started_utc),
            stamp(started_utc),
            project_id,
            item[0][0] if item else None,
            operator_id,
            extra_id,
            operator_id,
            status,
            stamp(started_utc),
            None if status == "running" else stamp(started_utc),
            round(float(minutes) * 100),
            material,
            round(float(thickness) * 100),
            sheets,
            parts,
        ),
    )


def complete(sql: Callable[..., list[tuple]], project_id: int, utc: str) -> None:
    sql(
        "UPDATE queue_items SET status = 'Completed', completed_at = ? WHERE project_id = ?",
        (stamp(utc), project_id),
    )


def created(sql: Callable[..., list[tuple]], project_id: int, utc: str) -> None:
    sql("UPDATE projects SET created_at = ? WHERE id = ?", (stamp(utc), project_id))


def build_march(manager: ShopClient, sql: Callable[..., list[tuple]]) -> Shop:
    """Five jobs, six counted runs and the runs that must not count (hand-computed totals in the tests)."""
    karoo = create_client(manager, "Karoo Steelworks")
    cape = create_client(manager, "Cape Signage")
    # A: Mild Steel 3.0, estimate 90 min, quoted R 4 500. B: Stainless 2.0, 60 min, R 3 000 (Cape).
    a = paid_project(manager, karoo, name="Gate panels", estimated_cut_time="90", quoted_price="4500.00")
    b = paid_project(
        manager, cape, name="Sign letters", material_type="Stainless Steel", thickness_mm="2.00",
        estimated_cut_time="60", quoted_price="3000.00",
    )  # fmt: skip
    # C: Mild Steel 3.0, 50 min, no quoted price. D: finished in February. E: still open at the end of March.
    c = paid_project(manager, karoo, name="Base plates", estimated_cut_time="50", quoted_price="")
    d = paid_project(manager, karoo, name="February job", estimated_cut_time="30", quoted_price="1000.00")
    e = paid_project(manager, cape, name="April job", estimated_cut_time="45", quoted_price="2000.00")
    for project, when in ((a, "2026-03-01 06:00"), (b, "2026-03-02 06:00"), (c, "2026-03-31 21:00")):
        created(sql, project, when)
    created(sql, d, "2026-02-10 06:00")
    created(sql, e, "2026-03-31 22:00")  # 1 April 00:00 in the shop: outside March
    operator_id = sql("SELECT id FROM users WHERE username = 'operator'")[0][0]
    manager_id = sql("SELECT id FROM users WHERE username = 'manager'")[0][0]
    sql(
        "INSERT INTO extra_operators (display_name, is_active, notes, created_at, updated_at) VALUES (?, 1, '', ?, ?)",
        ("Themba Relief", stamp("2026-01-01 00:00"), stamp("2026-01-01 00:00")),
    )
    extra_id = sql("SELECT id FROM extra_operators WHERE display_name = 'Themba Relief'")[0][0]
    ms = {"material": "Mild Steel", "thickness": "3.00"}
    ss = {"material": "Stainless Steel", "thickness": "2.00"}
    add_run(sql, a, operator_id, "2026-03-02 08:00", "60", 2, 50, **ms)  # 2 March: 60 min
    add_run(sql, a, operator_id, "2026-03-03 07:00", "40", 1, 30, **ms)  # 3 March: 40 min
    add_run(sql, b, manager_id, "2026-03-03 21:30", "100", 3, 20, **ss)  # 23:30 on 3 March in the shop
    add_run(sql, c, operator_id, "2026-03-04 22:30", "40", 1, 10, extra_id=extra_id, **ms)  # 00:30 on 5 March
    # Not in March: 23:59 on 28 February, and 00:00 on 1 April (shop time); nor a running or a discarded run.
    add_run(sql, d, operator_id, "2026-02-28 21:59", "30", 1, 5, **ms)
    add_run(sql, e, operator_id, "2026-03-31 22:00", "45", 2, 8, **ms)
    add_run(sql, e, manager_id, "2026-03-10 09:00", "15", 1, 1, status="running", **ms)
    add_run(sql, e, operator_id, "2026-03-11 09:00", "5", 1, 1, status="discarded", **ms)
    complete(sql, a, "2026-03-03 12:00")
    complete(sql, b, "2026-03-04 09:00")
    complete(sql, c, "2026-03-05 10:00")
    complete(sql, d, "2026-02-28 20:00")  # 22:00 on 28 February in the shop
    return Shop(karoo, cape, a, b, c, d, e, operator_id, manager_id, extra_id)


# -- reading a report back: its tables on the page, and its CSV ---------------------------------


class TableReader(HTMLParser):
    """The text of each cell of the table with the given id (rows of the body only)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth, self.inside, self.section = table_id, 0, False, ""
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag in ("thead", "tbody", "tfoot"):
            self.section = tag
        elif self.inside and self.section == "tbody" and tag == "tr":
            self.rows.append([])
        elif self.inside and self.section == "tbody" and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self.inside and tag == "td" and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table" and self.inside:
            self.inside = False

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self.cell is not None:
            self.cell.append(data)


def page_rows(html: str, key: str) -> list[list[str]]:
    reader = TableReader(f"data-{key}")
    reader.feed(html)
    return reader.rows


def csv_rows(client, path: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# -- revenue: quotes sent, invoices issued, payments received (made through the app, dated as stored) --------


@dataclass
class Revenue:
    quotes: dict[str, int]  # name → quote id
    invoices: dict[str, int]  # name → invoice id


def _location_id(response: Any) -> int:
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


def build_revenue(manager: ShopClient, sql: Callable[..., list[tuple]], shop: Shop) -> Revenue:
    """Quotes, invoices and payments on build_march's jobs, around March 2026 (hand-computed in the tests).

    VAT is 15 %. Karoo: Q1 on A (R 4 000 → R 4 600) sent 1 March, accepted, invoiced as I1 on 5 March
    and paid R 2 000 on 20 March and R 2 600 on 2 April; Q6 on C (R 100 → R 115) sent 12 March, declined;
    I2 on D (its quoted R 1 000 → R 1 150) issued 25 February, paid 1 March; I3 on A a draft that
    carries a March date; I4 on A issued 10 March then voided. Cape: Q2 on B (R 2 000 → R 2 300) sent
    2 March, revised as Q3 (R 2 500 → R 2 875) sent 10 March, accepted, invoiced as I5 on 31 March and
    paid R 250 on 28 February and R 500 on 31 March; Q4 on E (R 1 000 → R 1 150) sent at 00:00 on 1 April
    in the shop; Q5 on B a draft; I6 on E (its quoted R 2 000 → R 2 300) issued 1 April.
    """

    def quote(project_id: int, *lines: tuple[str, str, str]) -> int:
        quote_id = create_quote(manager, project_id)
        for line in lines:
            add_quote_line(manager, quote_id, *line)
        return quote_id

    def status(kind: str, record_id: int, value: str) -> None:
        response = manager.post_form(f"/{kind}/{record_id}/status", {"status": value})
        assert response.status_code == 303, response.text[:2000]

    def invoice_from(quote_id: int) -> int:
        return _location_id(manager.post_form(f"/quotes/{quote_id}/invoice"))

    def invoice_for(project_id: int) -> int:
        return _location_id(manager.post_form("/invoices/new", {"project_id": str(project_id)}))

    def pay(invoice_id: int, amount: str, paid_on: str) -> None:
        data = {"amount": amount, "paid_on": sql("SELECT date('now')")[0][0], "method": "EFT", "reference": "R"}
        response = manager.post_form(f"/invoices/{invoice_id}/payments", data)
        assert response.status_code == 303, response.text[:2000]
        newest = sql("SELECT max(id) FROM payments WHERE invoice_id = ?", (invoice_id,))[0][0]
        sql("UPDATE payments SET paid_on = ? WHERE id = ?", (paid_on, newest))

    def sent_at(quote_id: int, utc: str) -> None:
        sql("UPDATE quotes SET sent_at = ? WHERE id = ?", (stamp(utc), quote_id))

    def issued_on(invoice_id: int, day: str) -> None:
        sql("UPDATE invoices SET issued_on = ? WHERE id = ?", (day, invoice_id))

    q1 = quote(shop.a, ("Gate panels", "1", "4000.00"))
    status("quotes", q1, "sent")
    status("quotes", q1, "accepted")
    sent_at(q1, "2026-03-01 08:00")
    q6 = quote(shop.c, ("Base plates", "1", "100.00"))
    status("quotes", q6, "sent")
    status("quotes", q6, "declined")
    sent_at(q6, "2026-03-12 08:00")
    q2 = quote(shop.b, ("Sign letters", "1", "2000.00"))
    status("quotes", q2, "sent")
    sent_at(q2, "2026-03-02 08:00")
    q3 = _location_id(manager.post_form(f"/quotes/{q2}/revise"))
    add_quote_line(manager, q3, "Mounting", "1", "500.00")
    status("quotes", q3, "sent")
    status("quotes", q3, "accepted")
    sent_at(q3, "2026-03-10 08:00")
    q4 = quote(shop.e, ("April job", "1", "1000.00"))
    status("quotes", q4, "sent")
    sent_at(q4, "2026-03-31 22:00")  # 00:00 on 1 April in the shop
    q5 = quote(shop.b, ("Spare letters", "1", "900.00"))  # a draft: never sent

    i1 = invoice_from(q1)
    status("invoices", i1, "sent")
    issued_on(i1, "2026-03-05")
    pay(i1, "2000.00", "2026-03-20")
    pay(i1, "2600.00", "2026-04-02")
    i2 = invoice_for(shop.d)
    status("invoices", i2, "sent")
    issued_on(i2, "2026-02-25")
    pay(i2, "1150.00", "2026-03-01")
    i3 = invoice_for(shop.a)  # a draft: even one carrying a date is not revenue
    issued_on(i3, "2026-03-15")
    i4 = invoice_for(shop.a)
    status("invoices", i4, "sent")
    status("invoices", i4, "void")
    issued_on(i4, "2026-03-10")
    i5 = invoice_from(q3)
    status("invoices", i5, "sent")
    issued_on(i5, "2026-03-31")
    pay(i5, "250.00", "2026-02-28")
    pay(i5, "500.00", "2026-03-31")
    i6 = invoice_for(shop.e)
    status("invoices", i6, "sent")
    issued_on(i6, "2026-04-01")
    return Revenue(
        quotes={"q1": q1, "q2": q2, "q3": q3, "q4": q4, "q5": q5, "q6": q6},
        invoices={"i1": i1, "i2": i2, "i3": i3, "i4": i4, "i5": i5, "i6": i6},
    )
