"""Sage Business Cloud Accounting: connecting both back ends, the customer sync both ways, failures.

Every test talks to a real HTTP server (``tests/fake_sage.py``) speaking the SA API 2.0.0 and v3.1
with their failure modes: 401 for bad credentials or an expired token, 429, 5xx, slow answers.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from laseros.db import Database
from laseros.domain.accounting.backends import NewCustomer, ZaBackend
from laseros.domain.accounting.client import CallRecord, Redactor, SageHttp, SageUnavailable
from laseros.domain.accounting.secrets import SecretBox
from laseros.domain.accounting.sync import sync_customers
from laseros.jobs.tasks import run_now
from laseros.services import open_services
from laseros.settings import Settings
from tests.sage_support import SECRET_KEY, add_client, connect_v31, connect_za, endpoints_for, query
from tests.support import browser, make_settings, run


def sync(settings: Settings) -> dict:
    async def go() -> dict:
        async with open_services(settings) as services:
            return await run_now("sage-sync-customers", services)

    return run(go())


# -- South Africa: connecting ------------------------------------------------------------------------


def test_an_admin_connects_the_south_african_back_end_and_the_page_says_who_without_secrets(
    admin_on_sage, fake, sage_settings
):
    response = connect_za(admin_on_sage, fake)
    assert response.status_code == 303
    columns = "backend, status, connected_as, company_id, company_name, secret"
    rows = query(sage_settings, f"SELECT {columns} FROM sage_connections")
    assert rows[:1] == [("za", "connected", fake.username, "7001", "Laser Shop (Pty) Ltd", rows[0][5])]
    stored = rows[0][5]
    assert fake.password not in stored and fake.api_key not in stored
    assert SecretBox(SECRET_KEY).open(stored)["password"] == fake.password
    page = admin_on_sage.get("/sage").text
    assert f"Connected as</dt><dd>{fake.username}" in page and "Laser Shop (Pty) Ltd" in page
    assert "GET Company/Get" in page  # the audit log
    assert fake.password not in page and fake.api_key not in page
    # Every call carried the key and Basic auth; Company/Get needs no company
    (seen,) = fake.calls("GET", "Company/Get")
    assert seen.query["apikey"] == fake.api_key and seen.headers["authorization"].startswith("Basic ")


def test_wrong_credentials_are_refused_with_a_message_and_nothing_is_kept(admin_on_sage, fake, sage_settings):
    response = connect_za(admin_on_sage, fake, password="not-the-password")
    assert response.status_code == 422
    assert "Sage refused this username, password or API key." in response.text
    assert "not-the-password" not in response.text
    assert query(sage_settings, "SELECT count(*) FROM sage_connections") == [(0,)]
    assert query(sage_settings, "SELECT call, outcome, status_code FROM sage_calls") == [
        ("GET Company/Get", "refused", 401)
    ]


def test_missing_fields_are_422_and_call_nobody(admin_on_sage, fake, sage_settings):
    response = admin_on_sage.post_form("/sage/za", {"username": "", "password": "", "api_key": ""})
    assert response.status_code == 422
    assert response.text.count("Required.") == 3
    assert fake.seen == [] and query(sage_settings, "SELECT count(*) FROM sage_connections") == [(0,)]


def test_with_two_companies_the_admin_chooses_one_from_the_list(admin_on_sage, fake, sage_settings):
    fake.companies.append({"ID": 7002, "Name": "Second Co"})
    assert connect_za(admin_on_sage, fake).status_code == 303
    assert query(sage_settings, "SELECT status FROM sage_connections") == [("choose_company",)]
    assert admin_on_sage.post_form("/sage/company", {"company_id": "9999"}).status_code == 422
    assert admin_on_sage.post_form("/sage/company", {"company_id": "7002"}).status_code == 303
    assert query(sage_settings, "SELECT status, company_id, company_name FROM sage_connections") == [
        ("connected", "7002", "Second Co")
    ]


def test_disconnect_forgets_the_secrets(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    assert admin_on_sage.post_form("/sage/disconnect").status_code == 303
    assert query(sage_settings, "SELECT count(*) FROM sage_connections") == [(0,)]
    assert "Sage is not connected." in admin_on_sage.get("/sage").text
    # The audit log stays
    assert query(sage_settings, "SELECT count(*) FROM sage_calls") == [(1,)]


# -- South Africa: the customer sync -----------------------------------------------------------------


def test_customers_and_clients_sync_both_ways_matched_by_id_email_then_name(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    by_email = add_client(admin_on_sage, "Acme Engineering", "accounts@acme.co.za")
    by_name = add_client(admin_on_sage, "Boksburg  Steel")
    new_here = add_client(admin_on_sage, "Cape Laser Works", "cape@example.com")
    fake.add_za_customer("ACME Eng (Pty) Ltd", "Accounts@Acme.co.za")
    fake.add_za_customer("boksburg steel")
    fake.add_za_customer("Durban Fabrication", "durban@example.com", ContactName="Dee", Telephone="031 555 0101",
                         PostalAddress01="1 Dock Rd", PostalAddress02="Durban")  # fmt: skip

    result = sync(sage_settings)
    assert result["outcome"] == "ok"
    assert (result["linked"], result["created_in_sage"], result["created_here"]) == (2, 1, 1)
    links = dict(query(sage_settings, "SELECT id, sage_customer_id FROM clients"))
    ids = {c["Name"]: str(c["ID"]) for c in fake.za_customers}
    assert links[by_email] == ids["ACME Eng (Pty) Ltd"]
    assert links[by_name] == ids["boksburg steel"]
    assert links[new_here] == ids["Cape Laser Works"]
    (saved,) = fake.calls("POST", "Customer/Save")
    assert saved.body["Name"] == "Cape Laser Works" and saved.body["Email"] == "cape@example.com"
    assert saved.query["companyid"] == "7001"
    durban = query(sage_settings, "SELECT name, email, contact_person, phone, address, sage_customer_id FROM clients "
                                  "WHERE name = 'Durban Fabrication'")  # fmt: skip
    assert durban == [("Durban Fabrication", "durban@example.com", "Dee", "031 555 0101", "1 Dock Rd\nDurban",
                       ids["Durban Fabrication"])]  # fmt: skip

    # A re-run duplicates nothing on either side
    again = sync(sage_settings)
    assert (again["linked"], again["created_in_sage"], again["created_here"], again["kept"]) == (0, 0, 0, 4)
    assert len(fake.za_customers) == 4
    assert query(sage_settings, "SELECT count(*) FROM clients") == [(4,)]
    page = admin_on_sage.get("/sage").text
    assert "1 created in Sage, 1 clients created from Sage, 2 linked by email or name" in page


def test_paging_reads_every_customer_100_at_a_time(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    for number in range(150):
        fake.add_za_customer(f"Customer {number:03d}", f"c{number}@example.com")
    result = sync(sage_settings)
    assert result["created_here"] == 150
    pages = fake.calls("GET", "Customer/Get")
    assert [(p.query["$skip"], p.query["$top"]) for p in pages] == [("0", "100"), ("100", "100")]
    assert sync(sage_settings)["created_here"] == 0
    assert query(sage_settings, "SELECT count(*) FROM clients WHERE sage_customer_id IS NOT NULL") == [(150,)]


def test_a_429_is_waited_out_and_the_sync_succeeds(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    fake.add_za_customer("Rate Limited Co")
    fake.fail("Customer/Get", status=429, times=2, retry_after="0")
    assert sync(sage_settings)["created_here"] == 1
    outcomes = query(sage_settings, "SELECT outcome FROM sage_calls WHERE call = 'GET Customer/Get' ORDER BY id")
    assert outcomes == [("rate limited",), ("rate limited",), ("ok",)]


def test_sage_down_fails_the_job_for_a_retry_and_changes_nothing(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    add_client(admin_on_sage, "Waiting Co")
    fake.fail("Customer/Get", status=503, times=3)
    with pytest.raises(SageUnavailable):
        sync(sage_settings)
    assert fake.calls("POST", "Customer/Save") == []
    assert query(sage_settings, "SELECT outcome FROM sage_syncs") == [("failed",)]
    # The app keeps working; the page says what happened
    page = admin_on_sage.get("/sage").text
    assert "server error" in page and "failed (HTTP 503)" in page
    # Sage is back: the next run does the work
    assert sync(sage_settings)["created_in_sage"] == 1


def test_a_slow_read_is_asked_again(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    fake.add_za_customer("Slow Co")
    fake.fail("Customer/Get", delay_s=1.2, times=1)
    assert sync(sage_settings)["created_here"] == 1
    assert ("timeout",) in query(sage_settings, "SELECT outcome FROM sage_calls")


def test_a_create_that_timed_out_after_sage_made_it_is_found_not_made_twice(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    client_id = add_client(admin_on_sage, "Lost Answer Ltd", "lost@example.com")
    fake.fail("Customer/Save", delay_s=1.2, after_work=True)
    result = sync(sage_settings)
    assert result["created_in_sage"] == 1
    assert [c["Name"] for c in fake.za_customers] == ["Lost Answer Ltd"]
    assert len(fake.calls("POST", "Customer/Save")) == 1  # never sent again
    ((linked,),) = query(sage_settings, "SELECT sage_customer_id FROM clients WHERE id = ?", (client_id,))
    assert linked == str(fake.za_customers[0]["ID"])
    assert sync(sage_settings)["created_in_sage"] == 0 and len(fake.za_customers) == 1


def test_credentials_changed_in_sage_mark_the_connection_broken(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    fake.password = "changed-in-sage"
    result = sync(sage_settings)
    assert result["outcome"] == "failed"
    assert query(sage_settings, "SELECT status FROM sage_connections") == [("broken",)]
    assert "Connect again" in admin_on_sage.get("/sage").text
    assert sync(sage_settings)["outcome"] == "skipped"  # the hourly run leaves it alone


def test_not_connected_the_hourly_job_does_nothing(sage_settings, fake):
    assert sync(sage_settings)["outcome"] == "skipped"
    assert fake.seen == [] and query(sage_settings, "SELECT count(*) FROM sage_syncs") == [(0,)]


def test_sync_now_queues_the_job_or_says_the_queue_is_away(fake, sage_settings, namespace, ci_redis):
    queued = replace(sage_settings, redis_namespace=namespace)
    admin = browser(queued, "admin")
    offline = browser(replace(sage_settings, redis_url="redis://127.0.0.1:1/0"), "admin")
    try:
        refused = admin.post_form("/sage/sync/customers")
        assert refused.status_code == 303
        assert "Connect to Sage first." in admin.get("/sage").text
        connect_za(admin, fake)
        assert admin.post_form("/sage/sync/customers").status_code == 303
        assert "Customer sync queued" in admin.get("/sage").text
        assert ci_redis.exists(f"saq:job:{namespace}:sage-sync-customers")
        # Redis away: the page says so and keeps working; the hourly run catches up
        assert offline.post_form("/sage/sync/customers").status_code == 303
        page = offline.get("/sage")
        assert page.status_code == 200 and "The job queue is not reachable just now" in page.text
    finally:
        admin.__exit__(None, None, None)
        offline.__exit__(None, None, None)


# -- the HTTP client: pacing, secrets in logs ---------------------------------------------------------


def test_requests_are_paced(fake):
    records: list[CallRecord] = []

    async def keep(record: CallRecord) -> None:
        records.append(record)

    async def go() -> None:
        async with SageHttp("za", endpoints_for(fake, pace_s=0.2), keep, Redactor()) as http:
            backend = ZaBackend(http, fake.username, fake.password, fake.api_key, "7001")
            for _ in range(3):
                await backend.companies()

    run(go())
    times = [seen.at for seen in fake.seen]
    assert len(times) == 3 and all(b - a >= 0.19 for a, b in itertools.pairwise(times))
    assert [r.call for r in records] == ["GET Company/Get"] * 3


def test_no_secret_reaches_the_log_the_page_or_the_audit_rows(admin_on_sage, fake, sage_settings, caplog):
    caplog.set_level(logging.DEBUG)
    connect_za(admin_on_sage, fake, password="")  # refused at once
    connect_za(admin_on_sage, fake, api_key="{WRONG-KEY-0000}")
    connect_za(admin_on_sage, fake)
    add_client(admin_on_sage, "Logged Co")
    fake.fail("Customer/Get", status=500, times=1)
    sync(sage_settings)
    assert "HTTP Request" in caplog.text  # httpx did log its requests …
    page = admin_on_sage.get("/sage").text
    audit = " ".join(str(row) for row in query(sage_settings, "SELECT call, message FROM sage_calls"))
    for secret in (fake.password, fake.api_key, "{WRONG-KEY-0000}", fake.client_secret):
        assert secret not in caplog.text, secret  # … without the key
        assert secret not in page and secret not in audit


# -- International (v3.1) ------------------------------------------------------------------------------


def test_the_v31_sign_in_checks_the_state_and_keeps_the_tokens_encrypted(admin_on_sage, fake, sage_settings):
    response, state = connect_v31(admin_on_sage, fake)
    assert response.status_code == 303, response.text
    rows = query(sage_settings, "SELECT backend, status, connected_as, company_id, secret FROM sage_connections")
    assert rows[0][:4] == ("v31", "connected", "Val Owner", "biz-0d40342d")
    tokens = SecretBox(SECRET_KEY).open(rows[0][4])
    assert tokens["refresh_token"] in fake.refresh_tokens
    assert tokens["access_token"] not in rows[0][4]
    page = admin_on_sage.get("/sage").text
    assert "Val Owner" in page and "Laser Ltd" in page
    assert tokens["access_token"] not in page and tokens["refresh_token"] not in page
    # The same state twice is refused (one use)
    again = admin_on_sage.get(f"/sage/callback?code={fake.issue_code()}&state={state}", follow_redirects=False)
    assert again.status_code == 303
    assert query(sage_settings, "SELECT secret FROM sage_connections") == [(rows[0][4],)]


def test_a_callback_with_a_state_that_did_not_start_here_is_refused(admin_on_sage, fake, sage_settings):
    admin_on_sage.get("/sage/connect", follow_redirects=False)
    response = admin_on_sage.get(f"/sage/callback?code={fake.issue_code()}&state=forged", follow_redirects=False)
    assert response.status_code == 303
    assert query(sage_settings, "SELECT status, secret FROM sage_connections") == [("authorising", "")]
    assert fake.calls("POST", "/oauth/token") == []
    assert "did not start here" in admin_on_sage.get("/sage").text


def test_an_expired_token_is_refreshed_on_401_and_the_rotated_refresh_token_stored(admin_on_sage, fake, sage_settings):
    connect_v31(admin_on_sage, fake)
    first = SecretBox(SECRET_KEY).open(query(sage_settings, "SELECT secret FROM sage_connections")[0][0])
    add_client(admin_on_sage, "Token Co", "token@example.com")
    fake.add_contact("Contact From Sage", "sage@example.com")
    fake.expire_access_tokens()
    result = sync(sage_settings)
    assert (result["created_in_sage"], result["created_here"]) == (1, 1)
    calls = [row[0] for row in query(sage_settings, "SELECT call || ' ' || outcome FROM sage_calls ORDER BY id")]
    assert "GET contacts refused" in calls and "POST token (refresh_token) ok" in calls
    stored = SecretBox(SECRET_KEY).open(query(sage_settings, "SELECT secret FROM sage_connections")[0][0])
    assert stored["refresh_token"] != first["refresh_token"]
    assert stored["refresh_token"] in fake.refresh_tokens and first["refresh_token"] not in fake.refresh_tokens
    assert all(seen.headers.get("x-business") == "biz-0d40342d" for seen in fake.calls("GET", "/v31/contacts"))
    (made,) = fake.calls("POST", "/v31/contacts")
    assert made.body["contact"]["name"] == "Token Co" and made.body["contact"]["contact_type_ids"] == ["CUSTOMER"]
    assert sync(sage_settings)["created_in_sage"] == 0 and len(fake.contacts) == 2


def test_a_token_about_to_run_out_is_refreshed_before_the_call(fake, sage_settings, admin_on_sage):
    fake.access_lifetime_s = 30  # less than the minute's margin: every call refreshes first
    connect_v31(admin_on_sage, fake)
    sync(sage_settings)
    calls = [row[0] for row in query(sage_settings, "SELECT call || ' ' || outcome FROM sage_calls ORDER BY id")]
    assert "POST token (refresh_token) ok" in calls
    assert not [c for c in calls if c.endswith("refused")]


def test_v31_pages_through_contacts(admin_on_sage, fake, sage_settings):
    fake.v31_page_cap = 50
    for number in range(120):
        fake.add_contact(f"Contact {number:03d}")
    connect_v31(admin_on_sage, fake)
    assert sync(sage_settings)["created_here"] == 120
    assert [s.query["page"] for s in fake.calls("GET", "/v31/contacts")] == ["1", "2", "3"]


def test_connect_without_a_v31_app_says_what_to_set(settings, fake):
    plain = make_settings(settings.data_dir, sage=endpoints_for(fake, client_id="", client_secret=""))
    admin = browser(plain, "admin")
    try:
        response = admin.get("/sage/connect", follow_redirects=False)
        assert response.status_code == 303
        assert "LASEROS_SAGE_CLIENT_ID" in admin.get("/sage").text
    finally:
        admin.__exit__(None, None, None)


# -- tax invoices (for the invoice sync) --------------------------------------------------------------


def test_the_sa_back_end_saves_a_tax_invoice_and_finds_it_by_number(fake, sage_settings):
    async def go() -> None:
        db = Database.from_settings(sage_settings)
        try:

            async def keep(_record: CallRecord) -> None:
                return None

            async with SageHttp("za", endpoints_for(fake), keep, Redactor()) as http:
                backend = ZaBackend(http, fake.username, fake.password, fake.api_key, "7001")
                customer = await backend.create_customer(NewCustomer("Inv Co", "", "", "", ""))
                line = {"LineType": 1, "SelectionId": 4100, "TaxTypeId": 150189, "Description": "Cutting",
                        "Quantity": 1, "UnitPriceExclusive": 1000.0, "Tax": 150.0}  # fmt: skip
                saved = await backend.save_invoice(
                    {"CustomerId": int(customer.id), "DocumentNumber": "INV-0001", "Lines": [line]}
                )
                assert saved.total == 1150
                assert await backend.find_invoice("INV-0001") == saved
                assert await backend.find_invoice("INV-9999") is None
                assert (await backend.get_invoice(saved.id)).outstanding == saved.total
        finally:
            await db.dispose()

    run(go())


def test_sync_customers_is_given_the_database_and_opens_no_lock_across_calls(fake, sage_settings):
    # Not connected: the function returns without a call (the task reads the same way).
    async def go() -> str:
        db = Database.from_settings(sage_settings)
        try:
            return (await sync_customers(db, sage_settings.sage, SECRET_KEY)).outcome
        finally:
            await db.dispose()

    assert asyncio.run(go()) == "skipped"


# -- the nightly reconciliation, and the SA API's daily limit ------------------------------------------


def reconcile(settings: Settings) -> dict:
    async def go() -> dict:
        async with open_services(settings) as services:
            return await run_now("sage-reconcile", services)

    return run(go())


def test_the_nightly_reconciliation_lists_what_differs_and_changes_nothing(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    add_client(admin_on_sage, "Renamed Here", "same@example.com")
    add_client(admin_on_sage, "Gone From Sage", "gone@example.com")
    sync(sage_settings)
    assert reconcile(sage_settings)["differences"] == []
    fake.za_customers[0]["Name"] = "Renamed In Sage"
    del fake.za_customers[1]
    fake.add_za_customer("Only In Sage")
    add_client(admin_on_sage, "Not Linked Yet")
    result = reconcile(sage_settings)
    assert result["differences"] == [
        "CL-0001 Renamed Here: named “Renamed In Sage” in Sage",
        "CL-0002 Gone From Sage: its Sage customer is gone",
        "CL-0003 Not Linked Yet: not linked to Sage yet",
        "Sage customer Only In Sage: no client",
    ]
    assert query(sage_settings, "SELECT name FROM clients ORDER BY id") == [
        ("Renamed Here",),
        ("Gone From Sage",),
        ("Not Linked Yet",),
    ]
    assert "4 differences" in admin_on_sage.get("/sage").text


def test_near_the_daily_limit_the_sa_sync_waits_for_tomorrow(admin_on_sage, fake, sage_settings):
    connect_za(admin_on_sage, fake)
    with sqlite3.connect(Path(sage_settings.data_dir) / "laseros.db") as conn:
        conn.executemany(
            "INSERT INTO sage_calls (at, backend, call, outcome, message, duration_ms) "
            "VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), 'za', 'GET Customer/Get', 'ok', '', 1)",
            [()] * 4500,
        )
    before = len(fake.seen)
    result = sync(sage_settings)
    assert result["outcome"] == "skipped" and "waits for tomorrow" in result["message"]
    assert len(fake.seen) == before


def test_connect_and_sync_on_postgresql(pg_settings, fake):
    settings = replace(pg_settings, sage=endpoints_for(fake))
    fake.add_za_customer("Postgres Customer", "pg@example.com")
    admin = browser(settings, "admin")
    try:
        assert connect_za(admin, fake).status_code == 303
        add_client(admin, "Postgres Client")
        first, second = sync(settings), sync(settings)
        assert (first["created_in_sage"], first["created_here"]) == (1, 1)
        assert (second["created_in_sage"], second["created_here"], second["kept"]) == (0, 0, 2)
        assert len(fake.za_customers) == 2
        page = admin.get("/sage").text
        assert "POST Customer/Save" in page and fake.password not in page
        assert admin.post_form("/sage/disconnect").status_code == 303
    finally:
        admin.__exit__(None, None, None)


def test_a_refresh_token_sage_no_longer_accepts_asks_for_a_new_sign_in(admin_on_sage, fake, sage_settings):
    connect_v31(admin_on_sage, fake)
    fake.refresh_tokens.clear()  # revoked in Sage
    fake.expire_access_tokens()
    result = sync(sage_settings)
    assert result["outcome"] == "failed" and "connect again" in result["message"]
    assert query(sage_settings, "SELECT status FROM sage_connections") == [("broken",)]
    assert sync(sage_settings)["outcome"] == "skipped"


def test_sage_down_while_connecting_says_so_and_keeps_nothing(admin_on_sage, fake, sage_settings):
    fake.fail("Company/Get", status=503, times=3)
    response = connect_za(admin_on_sage, fake)
    assert response.status_code == 503
    assert "Sage failed (HTTP 503) on GET Company/Get" in response.text
    assert fake.password not in response.text
    assert query(sage_settings, "SELECT count(*) FROM sage_connections") == [(0,)]
    assert query(sage_settings, "SELECT count(*) FROM sage_calls WHERE outcome = 'server error'") == [(3,)]
