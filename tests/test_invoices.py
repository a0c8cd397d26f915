"""Invoices: drafts without a number, INV-YYYY-0001 on issue (gap-free, even at once), payments and the balance,
overdue, void, the tax-invoice details and the documents."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from pypdf import PdfReader

from laseros.app import create_app
from laseros.domain.billing.invoices import InvoiceService
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.errors import Conflict
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications.evaluate import evaluate
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from tests.factories import accepted_quote, create_client, create_project, results
from tests.support import PASSWORDS, ShopClient, run

CALENDAR = ShopCalendar("Africa/Johannesburg")
TODAY = CALENDAR.today()
YEAR = TODAY.year


@pytest.fixture
def client_id(manager) -> int:
    return create_client(manager, "Karoo Steel", address="1 Main Rd\nWorcester")


@pytest.fixture
def project_id(manager, client_id) -> int:
    return create_project(manager, client_id, quoted_price="")


def new_invoice(manager, project_id: int) -> int:
    response = manager.post_form("/invoices/new", {"project_id": str(project_id)})
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


def invoice_from_quote(manager, project_id: int, lines: list[tuple[str, str, str]]) -> int:
    quote_id = accepted_quote(manager, project_id, lines)
    response = manager.post_form(f"/quotes/{quote_id}/invoice")
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


def issue(manager, invoice_id: int) -> None:
    assert manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"}).status_code == 303


def pay(manager, invoice_id: int, amount: str, **fields: str):
    data = {"amount": amount, "paid_on": TODAY.isoformat(), "method": "EFT", "reference": "REF", **fields}
    return manager.post_form(f"/invoices/{invoice_id}/payments", data)


def state(db_query, invoice_id: int) -> tuple:
    return db_query("SELECT invoice_number, status, total, amount_paid FROM invoices WHERE id=?", (invoice_id,))[0]


# -- making invoices -----------------------------------------------------------------------------------------


def test_an_accepted_quote_becomes_a_draft_invoice_with_its_lines_and_no_number(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Material", "2", "1450.00"), ("Cutting", "1", "333.33")])
    assert db_query("SELECT invoice_number, status, subtotal, vat_amount, total FROM invoices") == [
        (None, "draft", 323333, 48500, 371833)
    ]
    assert db_query("SELECT position, description, line_total FROM invoice_lines ORDER BY position") == [
        (1, "Material", 290000),
        (2, "Cutting", 33333),
    ]
    page = manager.get(f"/invoices/{invoice_id}").text
    assert "Draft invoice" in page and "a draft has no number" in page


def test_only_an_accepted_quote_is_invoiced(manager, db_query, project_id):
    quote = manager.post_form("/quotes/new", {"project_id": str(project_id)})
    quote_id = int(quote.headers["location"].rsplit("/", 1)[1])
    response = manager.post_form(f"/quotes/{quote_id}/invoice")
    assert response.status_code == 409 and "only an accepted quote is invoiced" in response.text
    assert db_query("SELECT count(*) FROM invoices") == [(0,)]


def test_a_project_without_a_quote_is_invoiced_at_its_quoted_price(manager, db_query, client_id):
    project_id = create_project(manager, client_id, quoted_price="4500.00")
    new_invoice(manager, project_id)
    code = db_query("SELECT project_code FROM projects")[0][0]
    assert db_query("SELECT description, quantity, unit_price FROM invoice_lines") == [
        (f"{code} Bracket set", 100, 450000)
    ]
    assert db_query("SELECT subtotal, vat_amount, total FROM invoices") == [(450000, 67500, 517500)]


def test_a_project_with_an_accepted_quote_is_invoiced_from_the_quote(manager, db_query, project_id):
    accepted_quote(manager, project_id, [("Brackets", "10", "12.50")])
    new_invoice(manager, project_id)
    assert db_query("SELECT description, line_total FROM invoice_lines") == [("Brackets", 12500)]


def test_a_new_invoice_for_an_unknown_project_is_422(manager, db_query):
    assert manager.post_form("/invoices/new", {"project_id": "999"}).status_code == 422
    assert manager.post_form("/invoices/new", {"project_id": "x"}).status_code == 422
    assert db_query("SELECT count(*) FROM invoices") == [(0,)]


# -- issuing and numbering -------------------------------------------------------------------------------


def test_issuing_gives_the_next_number_today_due_after_the_payment_terms(manager, db_query, project_id):
    first = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    second = new_invoice(manager, project_id)
    issue(manager, first)
    issue(manager, second)
    due = (TODAY + timedelta(days=7)).isoformat()
    assert db_query("SELECT id, invoice_number, status, issued_on, due_date FROM invoices ORDER BY id") == [
        (first, f"INV-{YEAR}-0001", "sent", TODAY.isoformat(), due),
        (second, f"INV-{YEAR}-0002", "sent", TODAY.isoformat(), due),
    ]
    assert "Tax invoice INV-" in manager.get(f"/invoices/{first}").text


def test_a_refused_issue_takes_no_number_so_numbers_have_no_gaps(manager, db_query, project_id):
    empty = new_invoice(manager, project_id)
    response = manager.post_form(f"/invoices/{empty}/status", {"status": "sent"})
    assert response.status_code == 409 and "nothing to charge" in response.text
    assert db_query("SELECT invoice_number, status FROM invoices") == [(None, "draft")]
    real = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    issue(manager, real)
    assert state(db_query, real)[0] == f"INV-{YEAR}-0001"


def test_concurrent_issues_get_distinct_numbers_without_gaps(manager, db, db_query, project_id):
    drafts = [invoice_from_quote(manager, project_id, [("Cutting", "1", f"{n + 1}.00")]) for n in range(8)]

    async def issue_all() -> list[str | None]:
        async def one(invoice_id: int) -> str | None:
            async with db.session(write="actions") as session:
                return (await InvoiceService(session, SYSTEM, CALENDAR).issue(invoice_id)).invoice_number

        return list(await asyncio.gather(*(one(i) for i in drafts)))

    numbers = run(issue_all())
    assert sorted(n or "" for n in numbers) == [f"INV-{YEAR}-{n:04d}" for n in range(1, 9)]
    assert db_query("SELECT count(DISTINCT invoice_number) FROM invoices") == [(8,)]

    async def issue_again() -> None:
        async with db.session(write="actions") as session:
            await InvoiceService(session, SYSTEM, CALENDAR).issue(drafts[0])

    with pytest.raises(Conflict):
        run(issue_again())
    assert db_query("SELECT last_value FROM code_sequences WHERE name=?", (f"inv-{YEAR}",)) == [(8,)]


def test_an_issued_invoice_is_not_edited(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    issue(manager, invoice_id)
    line = {"description": "Extra", "quantity": "1", "unit_price": "5"}
    response = manager.post_form(f"/invoices/{invoice_id}/lines", line)
    assert response.status_code == 409 and "only a draft invoice can be changed" in response.text
    assert manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"}).status_code == 409
    assert db_query("SELECT count(*) FROM invoice_lines") == [(1,)]


def test_a_draft_invoice_lines_are_edited_like_a_quote(manager, db_query, project_id):
    invoice_id = new_invoice(manager, project_id)
    line = {"description": "Cutting", "quantity": "3", "unit_price": "333.33"}
    assert manager.post_form(f"/invoices/{invoice_id}/lines", line).status_code == 303
    assert db_query("SELECT subtotal, vat_amount, total FROM invoices") == [(99999, 15000, 114999)]
    bad = manager.post_form(f"/invoices/{invoice_id}/lines", {"description": "", "quantity": "1", "unit_price": "1"})
    assert bad.status_code == 422 and 'id="e-description"' in bad.text
    line_id = db_query("SELECT id FROM invoice_lines")[0][0]
    assert manager.post_form(f"/invoices/{invoice_id}/lines/{line_id}/delete").status_code == 303
    assert db_query("SELECT subtotal, total FROM invoices") == [(0, 0)]


def test_void_keeps_the_number_and_the_next_issue_takes_the_next_one(manager, db_query, project_id):
    voided = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    issue(manager, voided)
    assert manager.post_form(f"/invoices/{voided}/status", {"status": "void"}).status_code == 303
    assert state(db_query, voided)[:2] == (f"INV-{YEAR}-0001", "void")
    assert "VOID" in manager.get(f"/invoices/{voided}/print").text
    nxt = new_invoice(manager, project_id)
    issue(manager, nxt)
    assert state(db_query, nxt)[0] == f"INV-{YEAR}-0002"
    assert manager.post_form(f"/invoices/{voided}/status", {"status": "void"}).status_code == 409


# -- payments ------------------------------------------------------------------------------------------------


def test_payments_move_an_invoice_to_partially_paid_then_paid(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])  # R 1,150.00
    issue(manager, invoice_id)
    assert pay(manager, invoice_id, "150.00", reference="FNB 123").status_code == 303
    assert state(db_query, invoice_id)[1:] == ("partially_paid", 115000, 15000)
    assert "R 1,000.00" in manager.get(f"/invoices/{invoice_id}").text  # the balance
    assert pay(manager, invoice_id, "1,000.00", method="Cash").status_code == 303
    assert state(db_query, invoice_id)[1:] == ("paid", 115000, 115000)
    assert db_query("SELECT amount, method, reference FROM payments ORDER BY id") == [
        (15000, "EFT", "FNB 123"),
        (100000, "Cash", "REF"),
    ]
    response = pay(manager, invoice_id, "1.00")
    assert response.status_code == 409 and "paid in full" in response.text


def test_a_payment_above_the_balance_is_refused_and_nothing_is_written(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    issue(manager, invoice_id)
    response = pay(manager, invoice_id, "1150.01")
    assert response.status_code == 422
    assert "more than the balance of R 1,150.00" in response.text and 'id="e-amount"' in response.text
    assert db_query("SELECT count(*) FROM payments") == [(0,)]
    assert state(db_query, invoice_id)[1:] == ("sent", 115000, 0)


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"amount": "0"}, "amount"), ({"amount": "-5"}, "amount"), ({"amount": "abc"}, "amount"),
     ({"paid_on": "yesterday"}, "paid_on"), ({"method": "Bitcoin"}, "method"),
     ({"paid_on": (TODAY + timedelta(days=3)).isoformat()}, "paid_on")],
)  # fmt: skip
def test_a_bad_payment_is_422_beside_its_field(manager, db_query, project_id, fields, field):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    issue(manager, invoice_id)
    response = pay(manager, invoice_id, fields.pop("amount", "10.00"), **fields)
    assert response.status_code == 422 and f'id="e-{field}"' in response.text
    assert db_query("SELECT count(*) FROM payments") == [(0,)]


def test_a_payment_on_a_draft_is_refused(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    response = pay(manager, invoice_id, "10.00")
    assert response.status_code == 409 and "issue it first" in response.text


def test_an_invoice_with_payments_cannot_be_voided(manager, db_query, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    issue(manager, invoice_id)
    pay(manager, invoice_id, "10.00")
    response = manager.post_form(f"/invoices/{invoice_id}/status", {"status": "void"})
    assert response.status_code == 409 and "payment(s) recorded" in response.text
    assert state(db_query, invoice_id)[1] == "partially_paid"


def test_unpaid_invoices_past_their_due_date_become_overdue(manager, db, db_query, project_id):
    late = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    on_time = new_invoice(manager, project_id)
    issue(manager, late)
    issue(manager, on_time)
    db_query("UPDATE invoices SET due_date=? WHERE id=?", ((TODAY - timedelta(days=1)).isoformat(), late))

    async def mark() -> int:
        async with db.session(write="actions") as session:
            return await InvoiceService(session, SYSTEM, CALENDAR).mark_overdue()

    assert run(mark()) == 1
    assert [state(db_query, i)[1] for i in (late, on_time)] == ["overdue", "sent"]
    assert run(mark()) == 0
    pay(manager, late, "100.00")
    assert state(db_query, late)[1] == "overdue"  # still owing, still late
    page = manager.get("/dashboard").text
    block = page[page.index('id="invoices-overdue"') :][:400]
    assert '<span class="stat-value">1</span>' in block and "R 1,050.00" in block
    pay(manager, late, "1050.00")
    assert state(db_query, late)[1] == "paid"


# -- the tax invoice and its documents -----------------------------------------------------------------------


def test_above_r5000_the_page_warns_when_the_client_lacks_a_vat_number(manager, db_query, project_id, client_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "4500.00")])  # R 5,175.00
    page = manager.get(f"/invoices/{invoice_id}").text
    assert 'id="tax-warning"' in page and "VAT number" in page and "Issue anyway" in page
    data = {"name": "Karoo Steel", "address": "1 Main Rd\nWorcester", "vat_number": "4123456789"}
    assert manager.post_form(f"/clients/{client_id}/edit", data).status_code == 303
    assert db_query("SELECT vat_number FROM clients") == [("4123456789",)]
    page = manager.get(f"/invoices/{invoice_id}").text
    assert 'id="tax-warning"' not in page and "Issue invoice" in page
    issue(manager, invoice_id)
    text = manager.get(f"/invoices/{invoice_id}/print").text
    assert "Tax Invoice" in text and "4123456789" in text and "Worcester" in text


def test_at_or_below_r5000_there_is_no_warning(manager, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    assert 'id="tax-warning"' not in manager.get(f"/invoices/{invoice_id}").text


def test_the_invoice_pdf_is_a_real_pdf_with_its_number_total_and_company_details(manager, db_query, project_id):
    company = {"company_address": "12 Laser St\nPaarl", "company_vat_number": "4999999999",
               "company_bank_details": "FNB Cheque 62000000000 branch 250655"}  # fmt: skip
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "3", "333.33")])
    issue(manager, invoice_id)
    for key, value in company.items():
        db_query(
            "INSERT INTO shop_settings (key, value, updated_at) VALUES (?, ?, ?)", (key, value, "2026-01-01 00:00:00")
        )
    response = manager.get(f"/invoices/{invoice_id}.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert f'filename="INV-{YEAR}-0001.pdf"' in response.headers["content-disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in ("Tax Invoice", f"INV-{YEAR}-0001", "R 1,149.99", "Paarl", "4999999999", "62000000000"):
        assert expected in text, expected


# -- lists and the project page ------------------------------------------------------------------------------


def test_the_lists_filter_and_export_csv(manager, project_id):
    paid = invoice_from_quote(manager, project_id, [("Cutting", "1", "100.00")])
    issue(manager, paid)
    pay(manager, paid, "115.00", reference="PAID-1")
    new_invoice(manager, project_id)
    listing = results(manager.get("/invoices?status=paid").text)
    assert f"INV-{YEAR}-0001" in listing and "Draft invoice" not in listing
    rows = list(csv.reader(io.StringIO(manager.get("/invoices?format=csv").text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "invoice_number", "status", "project_code"]
    assert sorted(r[2] for r in rows[1:]) == ["draft", "paid"]
    assert "PAID-1" in results(manager.get("/invoices/payments?q=PAID").text)
    payments = list(csv.reader(io.StringIO(manager.get("/invoices/payments?format=csv").text.lstrip("\ufeff"))))
    assert payments[0] == ["id", "invoice_number", "client_name", "amount", "paid_on", "method", "reference",
                           "created_at"]  # fmt: skip
    assert payments[1][1:4] == [f"INV-{YEAR}-0001", "Karoo Steel", "115.00"]


def test_the_project_page_shows_its_invoices_and_balance(manager, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    issue(manager, invoice_id)
    pay(manager, invoice_id, "150.00")
    page = manager.get(f"/projects/{project_id}").text
    assert f'href="/invoices/{invoice_id}"' in page
    assert '<strong data-testid="project-balance">R 1,000.00</strong>' in page


def test_a_viewer_reads_invoices_and_an_operator_cannot(login_as, manager, project_id):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    viewer = login_as("viewer")
    assert viewer.get(f"/invoices/{invoice_id}").status_code == 200
    assert viewer.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"}).status_code == 403
    operator = login_as("operator")
    assert operator.get(f"/invoices/{invoice_id}").status_code == 403


# -- notifications and the nightly job -----------------------------------------------------------------------


def live_billing_notifications(db_query) -> list[tuple]:
    return db_query(
        "SELECT notif_type, subject_key, severity FROM notifications "
        "WHERE closed_at IS NULL AND notif_type IN ('quote_expiring', 'invoice_overdue') ORDER BY id"
    )


def test_a_quote_sent_with_three_days_left_raises_quote_expiring_until_it_is_answered(
    manager, db, db_query, project_id
):
    soon = (TODAY + timedelta(days=3)).isoformat()
    response = manager.post_form("/quotes/new", {"project_id": str(project_id), "valid_until": soon})
    quote_id = int(response.headers["location"].rsplit("/", 1)[1])
    manager.post_form(f"/quotes/{quote_id}/lines", {"description": "Cutting", "quantity": "1", "unit_price": "100"})
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    assert live_billing_notifications(db_query) == [("quote_expiring", f"quote:{quote_id}", "warning")]
    message = db_query("SELECT message FROM notifications WHERE notif_type='quote_expiring'")[0][0]
    assert f"Q-{YEAR}-0001" in message and "expires in 3 days" in message and "R 115.00" in message
    assert f'href="/quotes/{quote_id}"' in manager.get("/notifications/list").text

    # The hourly evaluation of projects and stock leaves billing's notifications alone.
    async def full_pass() -> None:
        async with db.session(write=True) as session:
            await evaluate(session)
            await session.commit()

    run(full_pass())
    assert len(live_billing_notifications(db_query)) == 1
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "accepted"})
    assert live_billing_notifications(db_query) == []
    assert db_query("SELECT auto_cleared FROM notifications WHERE notif_type='quote_expiring'") == [(1,)]


def test_the_billing_job_marks_invoices_overdue_raises_invoice_overdue_and_payment_clears_it(
    manager, settings, db_query, project_id
):
    invoice_id = invoice_from_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    issue(manager, invoice_id)
    db_query("UPDATE invoices SET due_date=? WHERE id=?", ((TODAY - timedelta(days=2)).isoformat(), invoice_id))

    async def job() -> dict:
        async with open_services(settings) as services:
            return await run_now("billing-day", services)

    assert run(job()) == {"quotes_expired": 0, "invoices_overdue": 1, "notifications_changed": 1}
    assert state(db_query, invoice_id)[1] == "overdue"
    assert live_billing_notifications(db_query) == [("invoice_overdue", f"invoice:{invoice_id}", "warning")]
    message = db_query("SELECT message FROM notifications WHERE notif_type='invoice_overdue'")[0][0]
    assert f"INV-{YEAR}-0001" in message and "2 days overdue" in message and "R 1,150.00 unpaid" in message
    assert run(job()) == {"quotes_expired": 0, "invoices_overdue": 0, "notifications_changed": 0}  # idempotent
    pay(manager, invoice_id, "150.00")
    assert "R 1,000.00 unpaid" in db_query("SELECT message FROM notifications WHERE closed_at IS NULL")[0][0]
    pay(manager, invoice_id, "1000.00")
    assert live_billing_notifications(db_query) == []


def test_quote_to_paid_invoice_on_postgresql(pg_settings):
    """The same path on PostgreSQL: numbering, totals in cents, sums on the dashboard and project page."""
    with ShopClient(app=create_app(pg_settings)) as manager:
        assert manager.login("manager", PASSWORDS["manager"]).status_code == 303
        client_id = create_client(manager, f"Pg Billing {uuid.uuid4().hex[:6]}")
        project_id = create_project(manager, client_id, quoted_price="")
        invoice_id = invoice_from_quote(manager, project_id, [("Bracket", "3", "333.33")])
        issue(manager, invoice_id)
        page = manager.get(f"/invoices/{invoice_id}").text
        assert re.search(r"Tax invoice INV-\d{4}-\d{4}", page) and "R 1,149.99" in page
        assert pay(manager, invoice_id, "149.99").status_code == 303
        assert (
            '<strong data-testid="project-balance">R 1,000.00</strong>' in manager.get(f"/projects/{project_id}").text
        )
        assert pay(manager, invoice_id, "1000.00").status_code == 303
        assert "Paid" in manager.get(f"/invoices/{invoice_id}").text
        assert manager.get("/invoices?format=csv&status=paid").status_code == 200
        assert manager.get("/dashboard").status_code == 200
