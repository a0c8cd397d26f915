"""Client message drafts: made once per event by the evaluator, read, edited, sent and deleted on /comms/drafts."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import update

from laseros.app import create_app
from laseros.db import Database, utcnow
from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.message_templates import TEMPLATE_FIELDS
from laseros.domain.kernel.registry import COMPANY_NAME, WHATSAPP_COUNTRY_CODE
from laseros.domain.notifications.drafting import MESSAGE_SETTINGS
from laseros.domain.notifications.drafts import (
    BODY_MAX_CHARS,
    EXPORT_COLUMNS,
    check_body,
    mailto_url,
    whatsapp_number,
    whatsapp_url,
)
from laseros.domain.notifications.evaluate import evaluate
from laseros.domain.projects.models import Project
from laseros.settings import Settings
from tests.factories import create_client, create_project, paid_project
from tests.support import PASSWORDS, ShopClient, run

DRAFTS_SQL = "SELECT id, kind, project_id, status, body_text FROM outbound_drafts ORDER BY id"


# -- the phone number a WhatsApp link needs ---------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("082 555 0101", "27825550101"),  # local: the single leading 0 becomes the country code
        ("0825550101", "27825550101"),
        ("(082) 555-0101", "27825550101"),
        ("082-555-0101", "27825550101"),
        ("+27 82 555 0101", "27825550101"),  # already international: the + goes
        ("+27825550101", "27825550101"),
        ("0027 82 555 0101", "27825550101"),  # 00 is the international dialling prefix
        ("27825550101", "27825550101"),
        ("  011 555 0000 ", "27115550000"),
        ("(011) 555-0000", "27115550000"),
        ("082.555.0101", "27825550101"),
    ],
)
def test_phone_numbers_become_international_digits(phone, expected):
    assert whatsapp_number(phone, "27") == expected


@pytest.mark.parametrize("phone", ["", "   ", "ask at reception", "082 555 0101 ext 4", "0123", "+" + "1" * 16])
def test_numbers_whatsapp_cannot_use_give_none(phone):
    assert whatsapp_number(phone, "27") is None


def test_the_shops_country_code_is_used_for_local_numbers():
    assert whatsapp_number("020 7946 0958", "44") == "442079460958"
    assert whatsapp_number("+27 82 555 0101", "44") == "27825550101"


def test_a_stored_country_code_is_read_as_digits():
    assert WHATSAPP_COUNTRY_CODE.read("+44") == "44"
    assert WHATSAPP_COUNTRY_CODE.read(" 27 ") == "27"
    assert WHATSAPP_COUNTRY_CODE.read("") == "27"
    assert WHATSAPP_COUNTRY_CODE.read("none") == "27"


def test_the_whatsapp_link_carries_the_whole_message_encoded():
    text = "Hi Jo & team,\nyour order is ready — 100% done? Yes."
    link = whatsapp_url("27825550101", text)
    assert link.startswith("https://wa.me/27825550101?text=")
    assert link.split("?text=", 1)[1] == quote(text, safe="")
    assert " " not in link and "&" not in link.split("?text=", 1)[1] and "%0A" in link


def test_the_email_link_has_subject_and_body():
    link = mailto_url("jo@example.com", "Your quote", "Hi Jo,\nall good")
    assert link == "mailto:jo@example.com?subject=Your%20quote&body=Hi%20Jo%2C%0Aall%20good"


def test_an_edited_message_is_trimmed_with_plain_line_ends():
    assert check_body("  Hi\r\nthere \r\n") == "Hi\nthere"
    assert check_body("x" * BODY_MAX_CHARS) == "x" * BODY_MAX_CHARS
    for bad in ("", "  \r\n ", "x" * (BODY_MAX_CHARS + 1)):
        with pytest.raises(InvalidInput) as refused:
            check_body(bad)
        assert "body_text" in refused.value.errors


def test_the_docs_show_every_default_template_and_placeholder():
    docs = (Path(__file__).resolve().parent.parent / "docs" / "communications_outbound.md").read_text()
    for kind, setting in MESSAGE_SETTINGS.items():
        assert f"**{kind.label}**: {setting.default}" in docs, kind
    for field in TEMPLATE_FIELDS:
        assert f"`{{{{{field}}}}}`" in docs, field
    assert f"default `{WHATSAPP_COUNTRY_CODE.default}`" in docs


# -- helpers: events that draft messages -------------------------------------------------------------


def evaluate_now(settings: Settings, projects: list[int] | None = None) -> int:
    """Run the evaluator (as the hourly job does) and commit; returns how many drafts it added."""

    async def go() -> int:
        db = Database.from_settings(settings)
        try:
            async with db.session(write=True) as session:
                result = await evaluate(session, projects=projects)
                await session.commit()
                return result.drafts
        finally:
            await db.dispose()

    return run(go())


def age_stage(settings: Settings, project_id: int, days: float) -> None:
    """Pretend the project entered its current stage ``days`` ago."""

    async def go() -> None:
        db = Database.from_settings(settings)
        try:
            async with db.session(write=True) as session:
                await session.execute(
                    update(Project)
                    .where(Project.id == project_id)
                    .values(stage_changed_at=utcnow() - timedelta(days=days))
                )
                await session.commit()
        finally:
            await db.dispose()

    run(go())


def quote_waiting(manager, settings, client_id: int, days: float = 5, **fields: str) -> int:
    """A project in Quote & Approval for ``days`` days."""
    project_id = create_project(manager, client_id, **fields)
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    age_stage(settings, project_id, days)
    return project_id


def finish_in_queue(manager, db_query, project_id: int) -> None:
    """Start and complete the project's queue item from /queue: the job is ready for collection."""
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]
    for status in ("In Progress", "Completed"):
        response = manager.post_form(f"/queue/{item_id}/status", {"status": status, "next": "/queue"})
        assert response.status_code == 303, response.text[:500]


def ready_job(manager, db_query, client_id: int, name: str) -> int:
    project_id = paid_project(manager, client_id, name=name)
    finish_in_queue(manager, db_query, project_id)
    return project_id


def draft_id_for(db_query, project_id: int) -> int:
    return db_query("SELECT id FROM outbound_drafts WHERE project_id = ?", (project_id,))[0][0]


def card(page: str, draft_id: int) -> str:
    """The HTML of one draft's card on a page."""
    start = page.index(f'id="draft-{draft_id}"')
    end = page.find("</article>", start)
    return page[start : end if end != -1 else None]


def card_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<article id="draft-(\d+)"', page)]


@pytest.fixture
def client_id(manager) -> int:
    return create_client(manager, "Karoo Steel", phone="082 555 0101", email="johan@example.com")


@pytest.fixture
def drafts(manager, db_query, client_id) -> list[int]:
    """Three ready-for-collection drafts, made in this order (ids ascending)."""
    ids = []
    for name in ("Gate panels", "Brackets", "Signage"):
        ids.append(draft_id_for(db_query, ready_job(manager, db_query, client_id, name)))
    return ids


# -- generation, end to end --------------------------------------------------------------------------


def test_a_quote_waiting_past_its_limit_drafts_one_follow_up(manager, settings, db_query, client_id):
    project_id = quote_waiting(manager, settings, client_id, days=4.5, name="Balustrade")
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]
    assert evaluate_now(settings) == 1
    rows = db_query("SELECT kind, project_id, client_id, status, body_text FROM outbound_drafts")
    assert len(rows) == 1
    kind, project, client, status, body = rows[0]
    assert (kind, project, client, status) == ("approval_followup", project_id, client_id, "pending")
    assert "Karoo Steel" in body and code in body and "Balustrade" in body and COMPANY_NAME.default in body
    assert evaluate_now(settings) == 0
    assert evaluate_now(settings, [project_id]) == 0
    assert db_query("SELECT count(*) FROM outbound_drafts") == [(1,)]
    page = manager.get("/comms/drafts").text
    assert "Approval follow-up" in page and code in page


def test_a_quote_inside_its_limit_drafts_nothing(manager, settings, db_query, client_id):
    quote_waiting(manager, settings, client_id, days=3.5)
    assert evaluate_now(settings) == 0
    assert db_query("SELECT count(*) FROM outbound_drafts") == [(0,)]


def test_completing_a_queued_job_drafts_ready_for_collection(manager, db_query, client_id):
    project_id = paid_project(manager, client_id, name="Gate panels")
    assert db_query("SELECT count(*) FROM outbound_drafts") == [(0,)]
    finish_in_queue(manager, db_query, project_id)
    assert db_query("SELECT kind, project_id, status FROM outbound_drafts") == [
        ("ready_for_collection", project_id, "pending")
    ]
    page = manager.get("/comms/drafts")
    assert page.status_code == 200
    assert "Ready for collection" in page.text and "Gate panels" in page.text


def test_ending_a_run_that_finishes_the_job_drafts_ready_for_collection(login_as, manager, db_query, client_id):
    project_id = paid_project(manager, client_id, name="Fire escape")
    operator = login_as("operator")
    started = operator.post_form("/phone/run/start", {"project_id": str(project_id)})
    run_id = int(started.headers["location"].rsplit("/", 1)[1])
    ended = operator.post_form(
        "/phone/run/end", {"run_id": str(run_id), "sheets_used": "4", "parts_produced": "120", "job_finished": "1"}
    )
    assert ended.status_code == 303
    assert db_query("SELECT kind, project_id FROM outbound_drafts") == [("ready_for_collection", project_id)]
    assert "Fire escape" in manager.get("/comms/drafts").text


# -- the list ----------------------------------------------------------------------------------------


def test_the_list_shows_pending_drafts_newest_first_with_project_and_client(manager, drafts):
    response = manager.get("/comms/drafts")
    assert response.status_code == 200
    page = response.text
    assert card_ids(page) == list(reversed(drafts))
    first = card(page, drafts[0])
    assert "Ready for collection" in first and "Pending" in first
    assert re.search(r'<a href="/projects/\d+">JB-', first) and "Gate panels" in first
    assert "Karoo Steel" in first and "082 555 0101" in first and "johan@example.com" in first
    assert re.search(r"<time [^>]*>\d{4}-\d\d-\d\d \d\d:\d\d</time>", first)
    assert "Mark sent" in first and "Edit" in first and "Delete" in first and "Copy" in first


def test_the_status_tabs_show_pending_sent_and_all_but_never_deleted(manager, drafts):
    newest, middle, oldest = reversed(drafts)
    assert manager.post_form(f"/comms/drafts/{middle}/sent").status_code == 303
    assert manager.post_form(f"/comms/drafts/{oldest}/delete").status_code == 303
    assert card_ids(manager.get("/comms/drafts").text) == [newest]
    assert card_ids(manager.get("/comms/drafts?status=pending").text) == [newest]
    assert card_ids(manager.get("/comms/drafts?status=sent").text) == [middle]
    assert card_ids(manager.get("/comms/drafts?status=all").text) == [newest, middle]
    assert card_ids(manager.get("/comms/drafts?status=deleted").text) == [newest]  # unknown → pending


def test_an_empty_list_says_how_drafts_appear(manager):
    page = manager.get("/comms/drafts").text
    assert "No drafts waiting" in page and "ready for collection" in page
    assert "No message has been marked sent yet." in manager.get("/comms/drafts?status=sent").text


def test_the_list_is_paginated(manager, settings, db_query, client_id):
    small_pages = ShopClient(app=create_app(Settings(**{**settings.__dict__, "page_size": 2})))
    with small_pages:
        assert small_pages.login("manager", PASSWORDS["manager"]).status_code == 303
        for name in ("One", "Two", "Three"):
            ready_job(manager, db_query, client_id, name)
        first, second = small_pages.get("/comms/drafts").text, small_pages.get("/comms/drafts?page=2").text
    assert len(card_ids(first)) == 2 and len(card_ids(second)) == 1
    assert "Page 1 of 2" in first and "Showing 1–2 of 3" in first


def test_the_csv_export_has_the_drafts_with_the_same_filters(manager, drafts, db_query):
    manager.post_form(f"/comms/drafts/{drafts[0]}/sent")
    response = manager.get("/comms/drafts?status=pending&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS
    assert [int(r[0]) for r in rows[1:]] == [drafts[2], drafts[1]]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["kind"] == "ready_for_collection" and record["client_name"] == "Karoo Steel"
    assert record["project_code"].startswith("JB-") and record["status"] == "pending"
    assert record["channel_hint"] == "whatsapp" and "Signage" in record["body_text"]
    assert record["created_at"] and record["sent_at"] == ""
    sent = list(csv.reader(io.StringIO(manager.get("/comms/drafts?status=sent&format=csv").text.lstrip("\ufeff"))))
    assert [int(r[0]) for r in sent[1:]] == [drafts[0]] and sent[1][-1]
    everything = manager.get("/comms/drafts?status=all&format=csv").text
    assert len(list(csv.reader(io.StringIO(everything.lstrip("\ufeff"))))) == 4


# -- the send buttons ----------------------------------------------------------------------------------


def test_open_in_whatsapp_links_the_clients_number_and_the_message(manager, drafts, db_query):
    body = db_query("SELECT body_text FROM outbound_drafts WHERE id = ?", (drafts[0],))[0][0]
    html = card(manager.get("/comms/drafts").text, drafts[0])
    link = unescape(re.search(r'href="(https://wa\.me/[^"]+)"', html).group(1))
    assert link == f"https://wa.me/27825550101?text={quote(body, safe='')}"
    mail = unescape(re.search(r'href="(mailto:[^"]+)"', html).group(1))
    assert mail.startswith("mailto:johan@example.com?subject=Gate%20panels%20%28JB-")
    assert mail.endswith("&body=" + quote(body, safe=""))


def test_without_a_phone_number_whatsapp_is_disabled_with_the_reason(manager, db_query):
    bare = create_client(manager, "Walk-in Willem", phone="", email="")
    draft = draft_id_for(db_query, ready_job(manager, db_query, bare, "Plates"))
    html = card(manager.get("/comms/drafts").text, draft)
    assert "wa.me" not in html and "mailto:" not in html
    assert re.search(r"<button [^>]*disabled[^>]*>Open in WhatsApp</button>", html)
    assert "No phone number for Walk-in Willem" in html and "No email address for Walk-in Willem" in html


def test_a_number_whatsapp_cannot_use_is_explained(manager, db_query):
    odd = create_client(manager, "Odd Number Co", phone="call reception")
    draft = draft_id_for(db_query, ready_job(manager, db_query, odd, "Plates"))
    html = unescape(card(manager.get("/comms/drafts").text, draft))
    assert "wa.me" not in html and "“call reception” is not one WhatsApp can use" in html


def test_the_shops_country_code_setting_applies_to_local_numbers(manager, drafts, settings):
    import sqlite3

    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute(
            "INSERT INTO shop_settings (key, value, updated_at) "
            "VALUES ('whatsapp_country_code', '+44', '2026-01-01 00:00:00')"
        )
    assert "https://wa.me/44825550101?text=" in manager.get("/comms/drafts").text


# -- edit ----------------------------------------------------------------------------------------------


def test_editing_saves_the_message_and_goes_back_to_the_list(manager, drafts, db_query):
    draft = drafts[1]
    form = manager.get(f"/comms/drafts/{draft}/edit")
    assert form.status_code == 200 and 'name="body_text"' in form.text
    response = manager.post_form(f"/comms/drafts/{draft}/edit", {"body_text": "  Hi Johan,\r\ncome fetch it!  "})
    assert response.status_code == 303 and response.headers["location"] == "/comms/drafts"
    assert db_query("SELECT body_text FROM outbound_drafts WHERE id = ?", (draft,)) == [("Hi Johan,\ncome fetch it!",)]
    assert db_query("SELECT actor, action, entity_type, entity_id FROM activity_log WHERE entity_type = 'draft'") == [
        ("Mo Manager", "edited", "draft", draft)
    ]
    page = manager.get("/comms/drafts").text
    assert "saved" in page and "come fetch it!" in card(page, draft)
    assert f"text={quote('Hi Johan,', safe='')}%0Acome%20fetch%20it%21" in card(page, draft)


def test_editing_returns_to_the_tab_it_came_from(manager, drafts):
    response = manager.post_form(f"/comms/drafts/{drafts[0]}/edit", {"body_text": "New", "view": "all"})
    assert response.headers["location"] == "/comms/drafts?status=all"
    response = manager.post_form(f"/comms/drafts/{drafts[0]}/edit", {"body_text": "New", "view": "//evil"})
    assert response.headers["location"] == "/comms/drafts"


def test_with_htmx_edit_swaps_the_card_for_a_textarea_and_back(manager, drafts, db_query):
    draft = drafts[0]
    form = manager.get(f"/comms/drafts/{draft}/edit?view=pending", headers={"hx-request": "true"})
    assert form.status_code == 200
    assert form.text.lstrip().startswith(f'<article id="draft-{draft}"') and "<textarea" in form.text
    assert "<html" not in form.text and "Message drafts" not in form.text
    saved = manager.post_form(f"/comms/drafts/{draft}/edit", {"body_text": "Ready when you are."}, htmx=True)
    assert saved.status_code == 200
    assert saved.text.lstrip().startswith(f'<article id="draft-{draft}"') and "<textarea" not in saved.text
    assert "Ready when you are." in saved.text and "wa.me/27825550101?text=Ready%20when%20you%20are." in saved.text
    cancel = manager.get(f"/comms/drafts/{draft}?view=pending", headers={"hx-request": "true"})
    assert "<textarea" not in cancel.text and "Ready when you are." in cancel.text


@pytest.mark.parametrize("body", ["", "   \r\n  ", "x" * (BODY_MAX_CHARS + 1)])
def test_an_empty_or_too_long_message_is_refused_and_nothing_is_written(manager, drafts, db_query, body):
    draft = drafts[0]
    before = db_query(DRAFTS_SQL)
    response = manager.post_form(f"/comms/drafts/{draft}/edit", {"body_text": body})
    assert response.status_code == 422
    assert "cannot be empty" in response.text or "2000 characters" in response.text
    assert 'name="body_text"' in response.text  # the form again, with the user's text
    assert db_query(DRAFTS_SQL) == before
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'draft'") == [(0,)]
    htmx = manager.post_form(f"/comms/drafts/{draft}/edit", {"body_text": body}, htmx=True)
    assert htmx.status_code == 422 and htmx.text.lstrip().startswith(f'<article id="draft-{draft}"')
    assert 'aria-invalid="true"' in htmx.text


def test_unknown_drafts_are_404(manager, drafts):
    assert manager.get("/comms/drafts/999999").status_code == 404
    assert manager.get("/comms/drafts/999999/edit").status_code == 404
    for action in ("edit", "sent", "delete"):
        assert manager.post_form(f"/comms/drafts/999999/{action}", {"body_text": "x"}).status_code == 404


def test_a_sent_message_cannot_be_edited(manager, drafts, db_query):
    draft = drafts[0]
    manager.post_form(f"/comms/drafts/{draft}/sent")
    before = db_query(DRAFTS_SQL)
    response = manager.post_form(f"/comms/drafts/{draft}/edit", {"body_text": "Changed after sending"})
    assert response.status_code == 409 and "already sent" in response.text
    assert db_query(DRAFTS_SQL) == before
    assert manager.get(f"/comms/drafts/{draft}/edit").status_code == 409
    assert "/edit" not in card(manager.get("/comms/drafts?status=sent").text, draft)


# -- mark sent and delete --------------------------------------------------------------------------------


def test_marking_sent_stamps_who_and_when(manager, drafts, db_query):
    draft = drafts[0]
    response = manager.post_form(f"/comms/drafts/{draft}/sent", {"view": "pending"})
    assert response.status_code == 303 and response.headers["location"] == "/comms/drafts"
    status, sent_at, sent_by = db_query(
        "SELECT status, sent_at, sent_by_id FROM outbound_drafts WHERE id = ?", (draft,)
    )[0]
    assert status == "sent" and sent_at and sent_by == 2  # the manager
    pending_page = manager.get("/comms/drafts").text
    assert "Ready for collection for JB-" in pending_page and "marked sent." in pending_page  # the flash
    assert draft not in card_ids(pending_page)
    assert "Sent <time" in card(manager.get("/comms/drafts?status=sent").text, draft)
    # A second press changes nothing: the first sender and time stand.
    assert manager.post_form(f"/comms/drafts/{draft}/sent").status_code == 303
    assert db_query("SELECT sent_at FROM outbound_drafts WHERE id = ?", (draft,)) == [(sent_at,)]
    assert db_query("SELECT action FROM activity_log WHERE entity_type = 'draft'") == [("marked_sent",)]


def test_with_htmx_mark_sent_swaps_the_card(manager, drafts):
    response = manager.post_form(f"/comms/drafts/{drafts[0]}/sent", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<article id="draft-{drafts[0]}"')
    assert "draft-status-sent" in response.text
    assert "Mark sent" not in response.text and "wa.me" not in response.text


def test_deleting_hides_the_draft_and_the_event_is_never_drafted_again(manager, drafts, db_query, settings):
    draft = drafts[0]
    project_id = db_query("SELECT project_id FROM outbound_drafts WHERE id = ?", (draft,))[0][0]
    response = manager.post_form(f"/comms/drafts/{draft}/delete")
    assert response.status_code == 303 and response.headers["location"] == "/comms/drafts"
    assert db_query("SELECT status FROM outbound_drafts WHERE id = ?", (draft,)) == [("deleted",)]
    page = manager.get("/comms/drafts?status=all").text
    assert draft not in card_ids(page) and "deleted" in page
    assert manager.get(f"/comms/drafts/{draft}").status_code == 404
    assert evaluate_now(settings, [project_id]) == 0
    assert evaluate_now(settings) == 0
    assert db_query("SELECT count(*) FROM outbound_drafts WHERE project_id = ?", (project_id,)) == [(1,)]
    assert db_query("SELECT action, entity_id FROM activity_log WHERE entity_type = 'draft'") == [("deleted", draft)]


def test_a_deleted_follow_up_is_not_drafted_again_by_the_hourly_pass(manager, settings, db_query, client_id):
    quote_waiting(manager, settings, client_id, days=6)
    evaluate_now(settings)
    (draft,) = db_query("SELECT id FROM outbound_drafts")[0]
    assert manager.post_form(f"/comms/drafts/{draft}/delete", htmx=True).status_code == 200
    assert evaluate_now(settings) == 0
    assert db_query("SELECT id, status FROM outbound_drafts") == [(draft, "deleted")]


def test_a_draft_whose_job_moved_on_is_withdrawn_and_refused(manager, drafts, db_query):
    draft = drafts[0]
    project_id = db_query("SELECT project_id FROM outbound_drafts WHERE id = ?", (draft,))[0][0]
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "delivered"}).status_code == 303
    assert db_query("SELECT status FROM outbound_drafts WHERE id = ?", (draft,)) == [("withdrawn",)]
    assert draft not in card_ids(manager.get("/comms/drafts?status=all").text)
    tabs = manager.get("/comms/drafts").text
    assert 'Pending <span class="tab-count">2</span>' in tabs and 'All <span class="tab-count">2</span>' in tabs
    before = db_query(DRAFTS_SQL)
    for action in ("edit", "sent", "delete"):
        response = manager.post_form(f"/comms/drafts/{draft}/{action}", {"body_text": "Still?"})
        assert response.status_code == 409 and "withdrawn" in response.text, action
        htmx = manager.post_form(f"/comms/drafts/{draft}/{action}", {"body_text": "Still?"}, htmx=True)
        assert htmx.status_code == 409 and htmx.text.lstrip().startswith(f'<p id="draft-{draft}"'), action
    assert db_query(DRAFTS_SQL) == before
    csv_ids = [line.split(",")[0] for line in manager.get("/comms/drafts?status=all&format=csv").text.splitlines()]
    assert str(draft) not in csv_ids


def test_with_htmx_delete_leaves_a_note_in_place_of_the_card(manager, drafts):
    response = manager.post_form(f"/comms/drafts/{drafts[0]}/delete", htmx=True)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<p id="draft-{drafts[0]}"') and "deleted" in response.text


# -- who may do what ---------------------------------------------------------------------------------------


def test_a_viewer_reads_drafts_but_sees_no_controls_and_cannot_change_them(login_as, drafts, db_query):
    viewer = login_as("viewer")
    page = viewer.get("/comms/drafts")
    assert page.status_code == 200 and card_ids(page.text) == list(reversed(drafts))
    for marker in ("/sent", "/edit", "/delete", "Mark sent", "wa.me", "mailto:"):
        assert marker not in page.text, marker
    assert viewer.get("/comms/drafts?format=csv").status_code == 403  # exports are for managers and admins
    assert viewer.get(f"/comms/drafts/{drafts[0]}/edit").status_code == 403
    before = db_query(DRAFTS_SQL)
    for action in ("edit", "sent", "delete"):
        response = viewer.post_form(f"/comms/drafts/{drafts[0]}/{action}", {"body_text": "Hijacked"})
        assert response.status_code == 403, action
    assert db_query(DRAFTS_SQL) == before
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type = 'draft'") == [(0,)]


def test_operators_cannot_open_the_drafts_page(login_as, drafts, db_query):
    operator = login_as("operator")
    for path in ("/comms/drafts", "/comms/drafts?status=all", "/comms/drafts?format=csv", f"/comms/drafts/{drafts[0]}"):
        assert operator.get(path, follow_redirects=False).status_code == 403, path
    before = db_query(DRAFTS_SQL)
    for action in ("edit", "sent", "delete"):
        assert operator.post_form(f"/comms/drafts/{drafts[0]}/{action}", {"body_text": "x"}).status_code == 403
    assert db_query(DRAFTS_SQL) == before


def test_an_admin_can_manage_drafts(login_as, drafts, db_query):
    admin = login_as("admin")
    assert admin.post_form(f"/comms/drafts/{drafts[0]}/edit", {"body_text": "From the admin"}).status_code == 303
    assert admin.post_form(f"/comms/drafts/{drafts[0]}/sent").status_code == 303
    assert db_query("SELECT status, sent_by_id FROM outbound_drafts WHERE id = ?", (drafts[0],)) == [("sent", 1)]
