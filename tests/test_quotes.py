"""Quotes: numbered per year, lines and totals, draft → sent → accepted / declined / expired, Revise, documents."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from laseros.domain.billing.models import QuoteStatus
from laseros.domain.billing.quotes import QuoteService
from laseros.domain.billing.schemas import LineInput
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.kernel.registry import VAT_RATE
from laseros.domain.kernel.settings import SettingRefused
from laseros.domain.kernel.shop import ShopCalendar
from tests.factories import accepted_quote, add_quote_line, create_client, create_project, create_quote, results
from tests.support import run

CALENDAR = ShopCalendar("Africa/Johannesburg")
YEAR = CALENDAR.today().year


@pytest.fixture
def project_id(manager) -> int:
    return create_project(manager, create_client(manager, "Karoo Steel"), quoted_price="")


def lines_of(db_query, quote_id: int) -> list[tuple]:
    return db_query(
        "SELECT position, description, quantity, unit_price, line_total FROM quote_lines WHERE quote_id=? "
        "ORDER BY position",
        (quote_id,),
    )


def totals_of(db_query, quote_id: int) -> tuple:
    return db_query("SELECT subtotal, vat_amount, total FROM quotes WHERE id=?", (quote_id,))[0]


# -- numbering ------------------------------------------------------------------------------------------


def test_quotes_are_numbered_per_year_and_start_as_drafts_valid_for_the_setting(manager, db_query, project_id):
    first = create_quote(manager, project_id)
    second = create_quote(manager, project_id)
    rows = db_query("SELECT id, quote_number, status, valid_until, vat_rate FROM quotes ORDER BY id")
    valid = (CALENDAR.today() + timedelta(days=14)).isoformat()
    assert rows == [
        (first, f"Q-{YEAR}-0001", "draft", valid, 1500),
        (second, f"Q-{YEAR}-0002", "draft", valid, 1500),
    ]
    assert db_query("SELECT actor, action FROM activity_log WHERE entity_type='quote' ORDER BY id") == [
        ("Mo Manager", "created"),
        ("Mo Manager", "created"),
    ]


def test_quote_numbers_stay_unique_when_many_are_created_at_once(db, project_id, db_query):
    async def create_many() -> list[str]:
        async def one() -> str:
            async with db.session(write="actions") as session:
                quote = await QuoteService(session, SYSTEM, CALENDAR).create_with_lines(
                    project_id, [LineInput("Cutting", Decimal(1), Decimal("100.00"))]
                )
                return quote.quote_number

        return list(await asyncio.gather(*(one() for _ in range(12))))

    numbers = run(create_many())
    assert sorted(numbers) == [f"Q-{YEAR}-{n:04d}" for n in range(1, 13)]
    assert db_query("SELECT count(DISTINCT quote_number), count(*) FROM quotes") == [(12, 12)]


def test_a_new_quote_for_an_unknown_project_is_422_and_writes_nothing(manager, db_query):
    response = manager.post_form("/quotes/new", {"project_id": "999"})
    assert response.status_code == 422
    assert "Choose a project from the list." in response.text
    assert db_query("SELECT count(*) FROM quotes") == [(0,)]
    assert db_query("SELECT count(*) FROM code_sequences WHERE name LIKE 'q-%'") == [(0,)]


def test_a_quote_valid_until_a_past_date_is_refused(manager, db_query, project_id):
    response = manager.post_form("/quotes/new", {"project_id": str(project_id), "valid_until": "2001-01-01"})
    assert response.status_code == 422
    assert "valid until today or later" in response.text
    assert db_query("SELECT count(*) FROM quotes") == [(0,)]


# -- lines and totals -----------------------------------------------------------------------------------


def test_three_lines_at_333_33_make_999_99_vat_150_00_total_1149_99(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    for n in range(3):
        add_quote_line(manager, quote_id, f"Bracket {n + 1}", "1", "333.33")
    assert totals_of(db_query, quote_id) == (99999, 15000, 114999)
    page = manager.get(f"/quotes/{quote_id}").text
    assert "R 999.99" in page and "R 150.00" in page and "R 1,149.99" in page


def test_lines_are_edited_removed_and_reordered_with_the_totals_following(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "2.5", "10.01")
    add_quote_line(manager, quote_id, "Material", "3", "1450.00")
    add_quote_line(manager, quote_id, "Setup", "1", "250.00")
    assert lines_of(db_query, quote_id) == [
        (1, "Cutting", 250, 1001, 2503),
        (2, "Material", 300, 145000, 435000),
        (3, "Setup", 100, 25000, 25000),
    ]
    ids = [row[0] for row in db_query("SELECT id FROM quote_lines ORDER BY position")]
    edit = {"description": "Material 3 mm", "quantity": "4", "unit_price": "1450.00"}
    assert manager.post_form(f"/quotes/{quote_id}/lines/{ids[1]}/edit", edit).status_code == 303
    assert manager.post_form(f"/quotes/{quote_id}/lines/{ids[0]}/delete").status_code == 303
    order = {"line": [str(ids[2]), str(ids[1])]}
    assert manager.post_form(f"/quotes/{quote_id}/lines/reorder", order).status_code == 303
    assert lines_of(db_query, quote_id) == [(1, "Setup", 100, 25000, 25000), (2, "Material 3 mm", 400, 145000, 580000)]
    # 6 050.00 + 15 % = 907.50 → 6 957.50
    assert totals_of(db_query, quote_id) == (605000, 90750, 695750)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"description": "", "quantity": "1", "unit_price": "10"}, "description", "This field is required."),
        ({"description": "X", "quantity": "0", "unit_price": "10"}, "quantity", "above 0"),
        ({"description": "X", "quantity": "abc", "unit_price": "10"}, "quantity", "Enter a number"),
        ({"description": "X", "quantity": "1", "unit_price": "-5"}, "unit_price", "zero or more"),
        ({"description": "X", "quantity": "1", "unit_price": "1.234"}, "unit_price", "two decimal places"),
        ({"description": "X" * 600, "quantity": "1", "unit_price": "1"}, "description", "500 characters"),
    ],
)
def test_a_bad_line_is_422_beside_its_field_and_writes_nothing(manager, db_query, project_id, fields, field, message):
    quote_id = create_quote(manager, project_id)
    response = manager.post_form(f"/quotes/{quote_id}/lines", fields)
    assert response.status_code == 422
    assert message in response.text
    assert f'id="e-{field}"' in response.text
    assert db_query("SELECT count(*) FROM quote_lines") == [(0,)]
    assert totals_of(db_query, quote_id) == (0, 0, 0)


def test_a_reorder_that_does_not_name_every_line_once_is_refused(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "A", "1", "1")
    add_quote_line(manager, quote_id, "B", "1", "1")
    first = db_query("SELECT id FROM quote_lines ORDER BY position")[0][0]
    response = manager.post_form(f"/quotes/{quote_id}/lines/reorder", {"line": [str(first), str(first)]})
    assert response.status_code == 422
    assert [r[1] for r in lines_of(db_query, quote_id)] == ["A", "B"]


def test_the_service_seam_creates_a_draft_with_its_lines_in_order(db, db_query, project_id):
    async def make() -> int:
        async with db.session(write="actions") as session:
            lines = [
                LineInput("Material: 2 sheets", Decimal(2), Decimal("1450.00")),
                LineInput("Cutting: 1.5 h", Decimal("1.5"), Decimal("1500.00")),
                LineInput("Setup", Decimal(1), Decimal("250.00")),
            ]
            quote = await QuoteService(session, SYSTEM, CALENDAR).create_with_lines(project_id, lines, notes="From DXF")
            return quote.id

    quote_id = run(make())
    assert [r[1] for r in lines_of(db_query, quote_id)] == ["Material: 2 sheets", "Cutting: 1.5 h", "Setup"]
    assert totals_of(db_query, quote_id) == (540000, 81000, 621000)
    assert db_query("SELECT status, notes FROM quotes") == [("draft", "From DXF")]


# -- the lifecycle --------------------------------------------------------------------------------------


def test_marking_sent_moves_a_request_project_to_quote(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "1", "1000.00")
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"}).status_code == 303
    assert db_query("SELECT status, sent_at IS NOT NULL FROM quotes") == [("sent", 1)]
    assert db_query("SELECT stage FROM projects WHERE id=?", (project_id,)) == [("quote",)]
    assert ("stage_changed", f"Request → Quote & Approval (Q-{YEAR}-0001 sent)") in db_query(
        "SELECT action, details FROM activity_log WHERE entity_type='project'"
    )


def test_a_quote_without_lines_cannot_be_sent(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    response = manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    assert response.status_code == 409
    assert "has no lines" in response.text
    assert db_query("SELECT status FROM quotes") == [("draft",)]
    assert db_query("SELECT stage FROM projects") == [("request",)]


def test_only_drafts_are_edited_a_sent_quote_answers_409_with_the_reason(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "1", "1000.00")
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    line_id = db_query("SELECT id FROM quote_lines")[0][0]
    line = {"description": "More", "quantity": "1", "unit_price": "5"}
    for url, data in [
        (f"/quotes/{quote_id}/lines", line),
        (f"/quotes/{quote_id}/lines/{line_id}/edit", line),
        (f"/quotes/{quote_id}/lines/{line_id}/delete", {}),
        (f"/quotes/{quote_id}/edit", {"valid_until": "2100-01-01", "notes": "x"}),
    ]:
        response = manager.post_form(url, data)
        assert response.status_code == 409, url
        assert "only a draft quote can be changed" in response.text
        assert "Revise it" in response.text
    assert lines_of(db_query, quote_id) == [(1, "Cutting", 100, 100000, 100000)]


def test_accepting_sets_the_project_quoted_price_to_the_total(manager, db_query, project_id):
    quote_id = accepted_quote(manager, project_id, [("Cutting", "1", "1000.00")])
    assert db_query("SELECT status, decided_at IS NOT NULL FROM quotes") == [("accepted", 1)]
    assert db_query("SELECT quoted_price FROM projects WHERE id=?", (project_id,)) == [(115000,)]
    assert "R 1,150.00" in manager.get(f"/projects/{project_id}").text
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "declined"}).status_code == 409


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        ([], "accepted", "is a draft: send it before the client can accept it"),
        ([], "declined", "is a draft: send it before the client can decline it"),
        (["sent"], "sent", "is already sent"),
        (["sent", "declined"], "accepted", "is declined: its status no longer changes"),
    ],
)
def test_status_moves_outside_the_lifecycle_are_refused(manager, db_query, project_id, path, target, message):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "1", "1000.00")
    for status in path:
        assert manager.post_form(f"/quotes/{quote_id}/status", {"status": status}).status_code == 303
    before = db_query("SELECT status FROM quotes")
    response = manager.post_form(f"/quotes/{quote_id}/status", {"status": target})
    assert response.status_code == 409
    assert message in response.text
    assert db_query("SELECT status FROM quotes") == before


def test_an_unknown_status_is_refused(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "expired"}).status_code == 422
    assert db_query("SELECT status FROM quotes") == [("draft",)]


def test_revise_copies_a_sent_quote_into_a_new_draft_naming_its_predecessor(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id, notes="Price held for 14 days")
    add_quote_line(manager, quote_id, "Cutting", "2", "500.00")
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    response = manager.post_form(f"/quotes/{quote_id}/revise")
    assert response.status_code == 303
    new_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert db_query("SELECT quote_number, status, revision_of_id, notes FROM quotes WHERE id=?", (new_id,)) == [
        (f"Q-{YEAR}-0002", "draft", quote_id, "Price held for 14 days")
    ]
    assert lines_of(db_query, new_id) == lines_of(db_query, quote_id)
    assert totals_of(db_query, new_id) == totals_of(db_query, quote_id)
    assert f"Q-{YEAR}-0001" in manager.get(f"/quotes/{new_id}").text  # names its predecessor
    # A draft is edited, not revised.
    assert manager.post_form(f"/quotes/{new_id}/revise").status_code == 409


def test_the_nightly_job_expires_sent_quotes_past_valid_until_and_accepting_one_late_is_refused(
    manager, db, db_query, project_id
):
    late = create_quote(manager, project_id)
    fresh = create_quote(manager, project_id)
    for quote_id in (late, fresh):
        add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
        manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    yesterday = (CALENDAR.today() - timedelta(days=1)).isoformat()
    db_query("UPDATE quotes SET valid_until=? WHERE id=?", (yesterday, late))
    response = manager.post_form(f"/quotes/{late}/status", {"status": "accepted"})
    assert response.status_code == 409 and "expired on" in response.text

    async def expire() -> int:
        async with db.session(write="actions") as session:
            return await QuoteService(session, SYSTEM, CALENDAR).expire_due()

    assert run(expire()) == 1
    assert db_query("SELECT id, status FROM quotes ORDER BY id") == [(late, "expired"), (fresh, "sent")]
    assert run(expire()) == 0  # idempotent
    assert manager.post_form(f"/quotes/{late}/revise").status_code == 303


# -- lists, documents, the project page ------------------------------------------------------------------


def test_the_list_filters_by_status_and_search_and_exports_csv(manager, project_id):
    sent = accepted_quote(manager, project_id, [("Cutting", "1", "100.00")])
    create_quote(manager, project_id)
    text = results(manager.get("/quotes?status=accepted").text)
    assert f"/quotes/{sent}" in text and f"Q-{YEAR}-0002" not in text
    assert f"Q-{YEAR}-0002" in results(manager.get("/quotes?q=0002").text)
    rows = list(csv.reader(io.StringIO(manager.get("/quotes?format=csv&status=accepted").text.lstrip("\ufeff"))))
    assert rows[0] == ["id", "quote_number", "status", "project_code", "client_name", "valid_until", "subtotal",
                       "vat_amount", "total", "sent_at", "created_at", "updated_at"]  # fmt: skip
    assert len(rows) == 2 and rows[1][1:3] == [f"Q-{YEAR}-0001", "accepted"] and rows[1][8] == "115.00"


def test_the_quote_pdf_is_a_real_pdf_with_its_number_and_total(manager, project_id):
    quote_id = create_quote(manager, project_id)
    for n in range(3):
        add_quote_line(manager, quote_id, f"Bracket {n + 1}", "1", "333.33")
    response = manager.get(f"/quotes/{quote_id}.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"Q-{YEAR}-0001" in text
    assert "R 1,149.99" in text
    assert "Laser OS Demo Shop" in text


def test_the_print_view_is_the_same_document_in_html(manager, project_id):
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting <b>bold</b>", "1", "15000")
    page = manager.get(f"/quotes/{quote_id}/print").text
    assert f"Q-{YEAR}-0001" in page and "R 15,000.00" in page and "window.print()" in page
    assert "Cutting &lt;b&gt;bold&lt;/b&gt;" in page  # escaped like every page
    assert manager.get(f"/quotes/{quote_id}.txt").status_code == 404
    assert manager.get("/quotes/nothing").status_code == 404
    assert manager.get("/quotes/99999").status_code == 404


def test_the_project_page_lists_its_quotes(manager, project_id):
    quote_id = accepted_quote(manager, project_id, [("Cutting", "1", "100.00")])
    page = manager.get(f"/projects/{project_id}").text
    assert f'href="/quotes/{quote_id}"' in page and "Accepted" in page


def test_the_dashboard_counts_quotes_awaiting_approval_with_their_value(manager, project_id):
    for price in ("100.00", "200.00"):
        quote_id = create_quote(manager, project_id)
        add_quote_line(manager, quote_id, "Cutting", "1", price)
        manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    page = manager.get("/dashboard").text
    block = page[page.index('id="quotes-awaiting"') :][:400]
    assert '<span class="stat-value">2</span>' in block and "R 345.00" in block


def test_a_viewer_reads_quotes_but_cannot_change_them(login_as, manager, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    viewer = login_as("viewer")
    assert viewer.get(f"/quotes/{quote_id}").status_code == 200
    assert "Add a line" not in viewer.get(f"/quotes/{quote_id}").text
    line = {"description": "X", "quantity": "1", "unit_price": "1"}
    assert viewer.post_form(f"/quotes/{quote_id}/lines", line).status_code == 403
    assert db_query("SELECT count(*) FROM quote_lines") == [(0,)]


def test_quote_status_labels(manager):
    assert [s.label for s in QuoteStatus] == ["Draft", "Sent", "Accepted", "Declined", "Expired"]
    assert date.today()  # the module's calendar is the shop's


def test_a_quote_keeps_the_vat_rate_it_was_made_with(manager, db_query, project_id):
    old = create_quote(manager, project_id)
    db_query("INSERT INTO shop_settings (key, value, updated_at) VALUES ('vat_rate', '14', '2026-01-01 00:00:00')")
    new = create_quote(manager, project_id)
    for quote_id in (old, new):
        add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
    assert db_query("SELECT vat_rate, vat_amount, total FROM quotes ORDER BY id") == [(1500, 1500, 11500),
                                                                                       (1400, 1400, 11400)]  # fmt: skip


@pytest.mark.parametrize(("raw", "stored"), [("15", "15"), ("15 %", "15"), ("14.5", "14.5"), ("0", "0")])
def test_the_vat_rate_setting_takes_a_percentage(raw, stored):
    assert VAT_RATE.clean(raw) == stored


@pytest.mark.parametrize("raw", ["", "abc", "101", "-1", "15.123", "NaN"])
def test_the_vat_rate_setting_refuses_what_is_not_a_percentage(raw):
    with pytest.raises(SettingRefused):
        VAT_RATE.clean(raw)
