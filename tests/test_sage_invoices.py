"""Invoices to Sage and payments back, against the fake Sage server (``tests/fake_sage.py``), both back ends.

An issued invoice is sent once with its number, lines and totals and keeps its Sage id; drafts and
void invoices never go; a create that timed out is found by its number, never made twice; Sage's
outstanding amount becomes payments "from Sage" through the invoices' own rules.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

import pytest
from alembic import command

from laseros.domain.accounting.backends import line_vat
from laseros.domain.accounting.client import SageUnavailable
from laseros.jobs.tasks import run_now
from laseros.migrate import alembic_config
from laseros.services import open_services
from laseros.settings import Settings
from tests.factories import accepted_quote, create_project
from tests.fake_sage import FakeSage
from tests.sage_support import add_client, connect_v31, connect_za, endpoints_for, query
from tests.support import ShopClient, browser, run, wait_for

LINES = [("Laser cutting", "3", "100.00"), ("Material", "1", "333.33")]
# 300.00 + 333.33 = 633.33; VAT 15 % on the subtotal, rounded once: 95.00; total 728.33
SUBTOTAL, VAT, TOTAL = Decimal("633.33"), Decimal("95.00"), Decimal("728.33")


def job(settings: Settings, name: str) -> dict:
    async def go() -> dict:
        async with open_services(settings) as services:
            return await run_now(name, services)

    return run(go())


def sync_invoices(settings: Settings) -> dict:
    return job(settings, "sage-sync-invoices")


def draft_invoice(client: ShopClient, client_id: int, lines: list[tuple[str, str, str]] = LINES) -> int:
    project_id = create_project(client, client_id, quoted_price="")
    quote_id = accepted_quote(client, project_id, lines)
    response = client.post_form(f"/quotes/{quote_id}/invoice")
    assert response.status_code == 303, response.text[:2000]
    return int(response.headers["location"].rsplit("/", 1)[1])


def set_status(client: ShopClient, invoice_id: int, status: str) -> None:
    assert client.post_form(f"/invoices/{invoice_id}/status", {"status": status}).status_code == 303


def issued_invoice(client: ShopClient, client_id: int, lines: list[tuple[str, str, str]] = LINES) -> int:
    invoice_id = draft_invoice(client, client_id, lines)
    set_status(client, invoice_id, "sent")
    return invoice_id


def invoice_row(settings: Settings, invoice_id: int) -> tuple:
    columns = "invoice_number, status, total, amount_paid, sage_invoice_id"
    return query(settings, f"SELECT {columns} FROM invoices WHERE id = ?", (invoice_id,))[0]


def payments(settings: Settings, invoice_id: int) -> list[tuple]:
    return query(
        settings, "SELECT amount, method, reference FROM payments WHERE invoice_id = ? ORDER BY id", (invoice_id,)
    )


def za_ready(admin: ShopClient, fake: FakeSage, settings: Settings, name: str = "Acme Engineering") -> int:
    """Connected to the SA back end, with one client linked to a Sage customer."""
    assert connect_za(admin, fake).status_code == 303
    client_id = add_client(admin, name, f"{name.split()[0].lower()}@example.com")
    assert job(settings, "sage-sync-customers")["created_in_sage"] == 1
    return client_id


def test_the_lines_vat_adds_up_to_the_invoices_vat_rounded_once_on_the_subtotal():
    cents = [Decimal("0.10")] * 3  # 1.5 c VAT each rounds up to 2 c; on the 30 c subtotal VAT is 5 c
    assert line_vat(cents, Decimal(15), Decimal("0.05")) == [Decimal("0.01"), Decimal("0.02"), Decimal("0.02")]
    nets = [Decimal("300.00"), Decimal("333.33")]
    assert line_vat(nets, Decimal(15), VAT) == [Decimal("45.00"), Decimal("50.00")]
    assert line_vat([], Decimal(15), Decimal(0)) == []


# -- South Africa --------------------------------------------------------------------------------------


def test_an_issued_invoice_reaches_sage_with_its_number_lines_and_totals_and_keeps_its_sage_id(
    admin_on_sage, fake, sage_settings
):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    draft_invoice(admin_on_sage, client_id)  # a draft: never sent
    set_status(admin_on_sage, issued_invoice(admin_on_sage, client_id), "void")  # issued, then void: not sent
    number = invoice_row(sage_settings, invoice_id)[0]

    result = sync_invoices(sage_settings)
    assert (result["outcome"], result["sent"], result["found"]) == ("ok", 1, 0)
    (sent,) = fake.za_invoices
    customer = fake.za_customers[0]
    assert (sent["CustomerId"], sent["DocumentNumber"], sent["Reference"]) == (customer["ID"], number, number)
    assert [(line["Description"], line["Quantity"], line["UnitPriceExclusive"]) for line in sent["Lines"]] == [
        ("3 × Laser cutting @ 100.00", 1, 300.0),
        ("Material", 1, 333.33),
    ]
    assert all(line["SelectionId"] == 4100 and line["TaxTypeId"] == 150189 for line in sent["Lines"])
    # Sage's totals are the invoice's: the lines' VAT adds up to the VAT rounded once on the subtotal
    assert (sent["Exclusive"], sent["Tax"], sent["Total"]) == (float(SUBTOTAL), float(VAT), float(TOTAL))
    dates = query(sage_settings, "SELECT issued_on, due_date FROM invoices WHERE id = ?", (invoice_id,))[0]
    assert (sent["Date"], sent["DueDate"]) == dates
    assert invoice_row(sage_settings, invoice_id) == (number, "sent", 72833, 0, str(sent["ID"]))
    assert query(sage_settings, "SELECT count(*) FROM invoices WHERE sage_invoice_id IS NOT NULL") == [(1,)]
    page = admin_on_sage.get(f"/invoices/{invoice_id}").text
    assert f'In Sage</dt><dd data-testid="sage-id">{sent["ID"]}</dd>' in page
    sage_page = admin_on_sage.get("/sage").text
    assert "1 invoices sent to Sage, 0 found there already" in sage_page and "Invoices" in sage_page

    # A re-run sends nothing
    saves = len(fake.calls("POST", "TaxInvoice/Save"))
    again = sync_invoices(sage_settings)
    assert (again["sent"], again["found"], again["payments"]) == (0, 0, 0)
    assert len(fake.calls("POST", "TaxInvoice/Save")) == saves and len(fake.za_invoices) == 1


def test_an_invoice_whose_client_is_not_linked_waits_with_a_reason(admin_on_sage, fake, sage_settings):
    za_ready(admin_on_sage, fake, sage_settings)
    later = add_client(admin_on_sage, "Late Client Ltd")  # after the customer sync: no Sage customer yet
    invoice_id = issued_invoice(admin_on_sage, later)
    result = sync_invoices(sage_settings)
    assert result["sent"] == 0 and fake.za_invoices == []
    number = invoice_row(sage_settings, invoice_id)[0]
    assert f"waiting for the customer sync: {number} (CL-0002 Late Client Ltd)" in result["summary"]
    job(sage_settings, "sage-sync-customers")
    assert sync_invoices(sage_settings)["sent"] == 1


def test_a_create_whose_answer_was_lost_is_found_by_its_number_not_made_twice(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    fake.fail("TaxInvoice/Save", delay_s=1.2, after_work=True)  # Sage makes it, the answer comes too late
    result = sync_invoices(sage_settings)
    assert (result["sent"], result["found"]) == (0, 1)
    assert len(fake.za_invoices) == 1 and len(fake.calls("POST", "TaxInvoice/Save")) == 1
    assert invoice_row(sage_settings, invoice_id)[4] == str(fake.za_invoices[0]["ID"])
    assert ("POST TaxInvoice/Save", "timeout") in query(sage_settings, "SELECT call, outcome FROM sage_calls")
    assert sync_invoices(sage_settings)["sent"] == 0 and len(fake.za_invoices) == 1


def test_a_create_sage_makes_after_the_client_gave_up_is_found_by_the_next_run(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    fake.fail("TaxInvoice/Save", delay_s=1.2)  # no answer in time; Sage makes it a moment later
    with pytest.raises(SageUnavailable):
        sync_invoices(sage_settings)
    assert query(sage_settings, "SELECT kind, outcome FROM sage_syncs ORDER BY id DESC LIMIT 1") == [
        ("invoices", "failed")
    ]
    assert invoice_row(sage_settings, invoice_id)[4] is None
    wait_for(lambda: fake.za_invoices, 5, "Sage to make the invoice")
    result = sync_invoices(sage_settings)
    assert (result["sent"], result["found"]) == (0, 1)
    assert len(fake.za_invoices) == 1 and len(fake.calls("POST", "TaxInvoice/Save")) == 1
    assert invoice_row(sage_settings, invoice_id)[4] == str(fake.za_invoices[0]["ID"])


def test_a_429_on_create_is_waited_out_and_the_invoice_is_sent_once(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    issued_invoice(admin_on_sage, client_id)
    fake.fail("TaxInvoice/Save", status=429, times=2, retry_after="0")
    assert sync_invoices(sage_settings)["sent"] == 1
    assert len(fake.za_invoices) == 1
    outcomes = query(sage_settings, "SELECT outcome FROM sage_calls WHERE call = 'POST TaxInvoice/Save' ORDER BY id")
    assert outcomes == [("rate limited",), ("rate limited",), ("ok",)]


def test_sage_down_fails_the_run_it_is_recorded_and_a_retry_sends_it(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    fake.fail("TaxInvoice/Get", status=503, times=3)
    with pytest.raises(SageUnavailable):
        sync_invoices(sage_settings)
    assert fake.calls("POST", "TaxInvoice/Save") == [] and fake.za_invoices == []
    assert query(sage_settings, "SELECT kind, outcome, summary FROM sage_syncs WHERE kind = 'invoices'") == [
        ("invoices", "failed", "Sage failed (HTTP 503) on GET TaxInvoice/Get; the sync will try again later.")
    ]
    page = admin_on_sage.get("/sage").text
    assert "failed (HTTP 503) on GET TaxInvoice/Get" in page
    assert sync_invoices(sage_settings)["sent"] == 1
    assert invoice_row(sage_settings, invoice_id)[4] == str(fake.za_invoices[0]["ID"])


def test_without_the_sales_account_in_sage_the_run_fails_saying_what_to_set(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    issued_invoice(admin_on_sage, client_id)
    fake.za_accounts = [{"ID": 4200, "Name": "Interest Received", "Active": True}]
    result = sync_invoices(sage_settings)
    assert result["outcome"] == "failed" and "LASEROS_SAGE_SALES_ACCOUNT" in result["message"]
    assert fake.za_invoices == []
    assert "LASEROS_SAGE_SALES_ACCOUNT" in admin_on_sage.get("/sage").text


def test_payments_in_sage_come_back_partially_paid_then_paid_and_never_twice(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    sync_invoices(sage_settings)
    fake.za_invoices[0]["AmountDue"] = 364.16  # the client paid 364.17 of 728.33 in Sage

    result = sync_invoices(sage_settings)
    assert (result["payments"], result["paid_in"]) == (1, "364.17")
    assert invoice_row(sage_settings, invoice_id)[1:4] == ("partially_paid", 72833, 36417)
    assert payments(sage_settings, invoice_id) == [(36417, "Other", "from Sage")]
    assert sync_invoices(sage_settings)["payments"] == 0  # the same outstanding twice: nothing new
    assert len(payments(sage_settings, invoice_id)) == 1

    fake.za_invoices[0]["AmountDue"] = 0
    assert sync_invoices(sage_settings)["payments"] == 1
    assert invoice_row(sage_settings, invoice_id)[1:4] == ("paid", 72833, 72833)
    assert payments(sage_settings, invoice_id) == [(36417, "Other", "from Sage"), (36416, "Other", "from Sage")]
    reads = len(fake.calls("GET", "TaxInvoice/Get/"))
    assert sync_invoices(sage_settings)["payments"] == 0
    assert len(fake.calls("GET", "TaxInvoice/Get/")) == reads  # a paid invoice is not read again
    page = admin_on_sage.get(f"/invoices/{invoice_id}").text
    assert "from Sage" in page


def test_sage_saying_more_is_owed_than_here_records_nothing_and_says_so(admin_on_sage, fake, sage_settings):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    sync_invoices(sage_settings)
    today = query(sage_settings, "SELECT issued_on FROM invoices WHERE id = ?", (invoice_id,))[0][0]
    typed = {"amount": "100.00", "paid_on": today, "method": "EFT", "reference": "Bank"}
    assert admin_on_sage.post_form(f"/invoices/{invoice_id}/payments", typed).status_code == 303
    result = sync_invoices(sage_settings)  # Sage still says all 728.33 is outstanding
    assert result["payments"] == 0 and result["outcome"] == "ok"
    number = invoice_row(sage_settings, invoice_id)[0]
    assert f"{number}: Sage says R 728.33 is outstanding, Laser OS R 628.33; nothing recorded" in result["summary"]
    assert payments(sage_settings, invoice_id) == [(10000, "EFT", "Bank")]


def test_no_secret_reaches_the_log_the_page_or_the_audit_rows(admin_on_sage, fake, sage_settings, caplog):
    caplog.set_level(logging.DEBUG)
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    issued_invoice(admin_on_sage, client_id)
    fake.fail("TaxInvoice/Save", status=500, times=1)
    with pytest.raises(SageUnavailable):
        sync_invoices(sage_settings)
    sync_invoices(sage_settings)
    assert "TaxInvoice/Save" in caplog.text  # httpx logged the requests …
    page = admin_on_sage.get("/sage").text
    audit = " ".join(str(row) for row in query(sage_settings, "SELECT call, message FROM sage_calls"))
    summaries = " ".join(str(row) for row in query(sage_settings, "SELECT summary FROM sage_syncs"))
    for secret in (fake.password, fake.api_key, fake.client_secret):
        assert secret not in caplog.text, secret  # … without the key
        assert secret not in page and secret not in audit and secret not in summaries


# -- International (v3.1) ------------------------------------------------------------------------------


def v31_ready(admin: ShopClient, fake: FakeSage, settings: Settings) -> int:
    response, _ = connect_v31(admin, fake)
    assert response.status_code == 303
    client_id = add_client(admin, "Thames Laser Ltd", "thames@example.com")
    assert job(settings, "sage-sync-customers")["created_in_sage"] == 1
    return client_id


def test_v31_sends_a_sales_invoice_and_brings_its_payments_back(admin_on_sage, fake, sage_settings):
    client_id = v31_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    draft_invoice(admin_on_sage, client_id)
    number = invoice_row(sage_settings, invoice_id)[0]

    assert sync_invoices(sage_settings)["sent"] == 1
    (sent,) = fake.sales_invoices
    assert (sent["contact_id"], sent["reference"]) == (fake.contacts[0]["id"], number)
    assert [
        (line["description"], line["quantity"], line["unit_price"], line["net_amount"], line["tax_amount"])
        for line in sent["invoice_lines"]
    ] == [("Laser cutting", 3.0, 100.0, 300.0, 45.0), ("Material", 1.0, 333.33, 333.33, 50.0)]
    assert {(line["ledger_account_id"], line["tax_rate_id"]) for line in sent["invoice_lines"]} == {
        ("la-sales", "ZA_STANDARD")
    }
    assert sent["total_amount"] == float(TOTAL)
    assert invoice_row(sage_settings, invoice_id)[4] == sent["id"]
    assert all(seen.headers.get("x-business") == "biz-0d40342d" for seen in fake.calls("POST", "sales_invoices"))
    assert sync_invoices(sage_settings)["sent"] == 0 and len(fake.sales_invoices) == 1

    sent["outstanding_amount"] = 364.16
    assert sync_invoices(sage_settings)["payments"] == 1
    assert invoice_row(sage_settings, invoice_id)[1:4] == ("partially_paid", 72833, 36417)
    assert sync_invoices(sage_settings)["payments"] == 0
    sent["outstanding_amount"] = 0.0
    assert sync_invoices(sage_settings)["payments"] == 1
    assert invoice_row(sage_settings, invoice_id)[1:4] == ("paid", 72833, 72833)
    assert [row[1:] for row in payments(sage_settings, invoice_id)] == [("Other", "from Sage")] * 2


def test_v31_a_create_whose_answer_was_lost_is_found_not_made_twice(admin_on_sage, fake, sage_settings):
    client_id = v31_ready(admin_on_sage, fake, sage_settings)
    invoice_id = issued_invoice(admin_on_sage, client_id)
    fake.fail("/v31/sales_invoices", method="POST", delay_s=1.2, after_work=True)
    result = sync_invoices(sage_settings)
    assert (result["sent"], result["found"]) == (0, 1)
    assert len(fake.sales_invoices) == 1 and len(fake.calls("POST", "sales_invoices")) == 1
    assert invoice_row(sage_settings, invoice_id)[4] == fake.sales_invoices[0]["id"]
    assert [s.query.get("search") for s in fake.calls("GET", "/v31/sales_invoices")] == [
        invoice_row(sage_settings, invoice_id)[0]
    ] * 2


def test_v31_an_expired_token_is_refreshed_during_the_invoice_sync(admin_on_sage, fake, sage_settings):
    client_id = v31_ready(admin_on_sage, fake, sage_settings)
    issued_invoice(admin_on_sage, client_id)
    fake.expire_access_tokens()
    assert sync_invoices(sage_settings)["sent"] == 1
    calls = [row[0] for row in query(sage_settings, "SELECT call || ' ' || outcome FROM sage_calls ORDER BY id")]
    assert "POST token (refresh_token) ok" in calls and len(fake.sales_invoices) == 1


# -- who may start it; the job when Sage is away; the schema ---------------------------------------------


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_only_an_admin_may_start_the_invoice_sync(login_as, role, db_query):
    assert login_as(role).post_form("/sage/sync/invoices").status_code == 403
    assert login_as("admin").post_form("/sage/sync/invoices").status_code == 303
    assert db_query("SELECT count(*) FROM sage_syncs") == [(0,)]


def test_a_manager_sees_invoice_runs_without_the_sync_button(fake, sage_settings, admin_on_sage):
    client_id = za_ready(admin_on_sage, fake, sage_settings)
    issued_invoice(admin_on_sage, client_id)
    sync_invoices(sage_settings)
    assert "/sage/sync/invoices" in admin_on_sage.get("/sage").text
    manager = browser(sage_settings, "manager")
    try:
        page = manager.get("/sage").text
        assert "1 invoices sent to Sage" in page and "/sage/sync/invoices" not in page
    finally:
        manager.__exit__(None, None, None)


def test_sync_invoices_now_queues_the_job(fake, sage_settings, namespace, ci_redis):
    admin = browser(replace(sage_settings, redis_namespace=namespace), "admin")
    try:
        assert admin.post_form("/sage/sync/invoices").status_code == 303
        assert "Connect to Sage first." in admin.get("/sage").text
        connect_za(admin, fake)
        assert admin.post_form("/sage/sync/invoices").status_code == 303
        assert "Invoice sync queued" in admin.get("/sage").text
        assert ci_redis.exists(f"saq:job:{namespace}:sage-sync-invoices")
    finally:
        admin.__exit__(None, None, None)


def test_not_connected_the_invoice_job_does_nothing(sage_settings, fake):
    assert sync_invoices(sage_settings)["outcome"] == "skipped"
    assert fake.seen == [] and query(sage_settings, "SELECT count(*) FROM sage_syncs") == [(0,)]


def test_the_migration_adds_and_removes_the_sage_id(settings, db_query):
    config = alembic_config(settings)
    command.downgrade(config, "0013")
    assert "sage_invoice_id" not in {row[1] for row in db_query("PRAGMA table_info(invoices)")}
    command.upgrade(config, "head")
    assert "sage_invoice_id" in {row[1] for row in db_query("PRAGMA table_info(invoices)")}
    indexes = db_query("SELECT sql FROM sqlite_master WHERE tbl_name = 'invoices' AND type = 'table'")[0][0]
    assert "uq_invoices_sage_invoice_id" in indexes


def test_invoices_sync_and_the_migration_on_postgresql(pg_settings, fake):
    settings = replace(pg_settings, sage=endpoints_for(fake))
    admin = browser(settings, "admin")
    try:
        assert connect_za(admin, fake).status_code == 303
        client_id = add_client(admin, "Postgres Invoice Client")
        job(settings, "sage-sync-customers")
        invoice_id = issued_invoice(admin, client_id)
        assert sync_invoices(settings)["sent"] == 1
        fake.za_invoices[0]["AmountDue"] = 0
        assert sync_invoices(settings)["payments"] == 1
        assert sync_invoices(settings)["payments"] == 0 and len(fake.za_invoices) == 1
        page = admin.get(f"/invoices/{invoice_id}").text
        assert "Paid" in page and str(fake.za_invoices[0]["ID"]) in page
        assert admin.post_form("/sage/disconnect").status_code == 303
    finally:
        admin.__exit__(None, None, None)
    config = alembic_config(settings)
    command.downgrade(config, "0013")
    command.upgrade(config, "head")
