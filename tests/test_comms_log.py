"""The communication log at /comms: filters, CSV, logging a call by hand, sending by hand, a draft
sent as email; bad input is 422 with nothing written."""

from __future__ import annotations

import csv
import io

from tests.factories import create_client, create_project, paid_project

COUNT_SQL = "SELECT COUNT(*) FROM communications"


def _ready_draft(manager, db_query, client_id: int) -> int:  # type: ignore[no-untyped-def]
    project_id = paid_project(manager, client_id, name="Gate panels")
    item_id = db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]
    for status in ("In Progress", "Completed"):
        assert manager.post_form(f"/queue/{item_id}/status", {"status": status}).status_code == 303
    return db_query("SELECT id FROM outbound_drafts WHERE project_id = ?", (project_id,))[0][0]


def test_a_call_is_logged_by_hand_and_shows_on_the_client_and_in_the_log(manager, db_query):
    client_id = create_client(manager, "Karoo Steel")
    form = {
        "channel": "phone",
        "direction": "in",
        "client_id": str(client_id),
        "subject": "Called",
        "body": "Wants 3 mm",
    }
    response = manager.post_form("/comms/log", form)
    assert response.status_code == 303
    assert db_query("SELECT channel, direction, status, client_id, body FROM communications") == [
        ("phone", "in", "received", client_id, "Wants 3 mm")
    ]
    assert "Called" in manager.get("/comms").text
    assert "Called" in manager.get(f"/comms/panel?client_id={client_id}").text
    assert f"/comms/panel?client_id={client_id}" in manager.get(f"/clients/{client_id}").text


def test_a_bad_log_form_is_422_and_writes_nothing(manager, db_query):
    for form in (
        {"channel": "email", "direction": "out", "client_id": "1", "body": "x"},  # email is sent, not logged
        {"channel": "phone", "direction": "sideways", "client_id": "1", "body": "x"},
        {"channel": "phone", "direction": "out", "body": "x"},  # about nobody
        {"channel": "phone", "direction": "out", "client_id": "1", "body": ""},
        {"channel": "phone", "direction": "out", "client_id": "999999", "body": "x"},
        {"channel": "phone", "direction": "out", "client_id": "1", "body": "bell \x07"},
    ):
        assert manager.post_form("/comms/log", form).status_code == 422, form
    assert db_query(COUNT_SQL) == [(0,)]


def test_sending_by_hand_checks_the_address_and_the_text(manager, db_query):
    client_id = create_client(manager, "Karoo Steel")
    base = {"client_id": str(client_id), "recipient": "johan@karoo.example", "subject": "Hi", "body": "Hello"}
    for bad in (
        {"recipient": "not-an-address"},
        {"recipient": "a@example.com, b@example.com"},
        {"recipient": "a@example.com\r\nBcc: x@example.com"},
        {"subject": "", "body": ""},
        {"template_id": "999999"},
        {"project_id": "999999"},
    ):
        response = manager.post_form("/comms/send", {**base, **bad})
        assert response.status_code == 422, bad
    assert db_query(COUNT_SQL) == [(0,)]
    response = manager.post_form("/comms/send", base)
    assert response.status_code == 303
    assert db_query("SELECT status, recipient, subject, body, client_id, kind FROM communications") == [
        ("pending", "johan@karoo.example", "Hi", "Hello", client_id, "manual")
    ]


def test_the_send_page_says_when_a_client_has_no_address(manager):
    client_id = create_client(manager, "No Mail Ltd", email="")
    page = manager.get(f"/comms/send?client_id={client_id}")
    assert page.status_code == 200
    assert "No Mail Ltd has no usable email address on record" in page.text
    assert manager.get("/comms/send?client_id=999999").status_code == 404


def test_a_draft_sent_as_email_is_queued_and_the_draft_marked_sent(manager, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    draft_id = _ready_draft(manager, db_query, client_id)
    before = db_query(COUNT_SQL)[0][0]
    form = {"recipient": "other@karoo.example", "subject": "Ready", "body_text": "Come and fetch it"}
    response = manager.post_form(f"/comms/drafts/{draft_id}/email", form)
    assert response.status_code == 303
    [(status, recipient, body, kind, linked)] = db_query(
        "SELECT status, recipient, body, kind, draft_id FROM communications WHERE kind = 'draft'"
    )
    assert (status, recipient, body, kind, linked) == (
        "pending",
        "other@karoo.example",
        "Come and fetch it",
        "draft",
        draft_id,
    )
    assert db_query("SELECT status FROM outbound_drafts WHERE id = ?", (draft_id,)) == [("sent",)]
    assert db_query(COUNT_SQL)[0][0] == before + 1
    # Sent already: a second send is refused and writes nothing.
    manager.post_form(f"/comms/drafts/{draft_id}/email", form)
    assert db_query(COUNT_SQL)[0][0] == before + 1


def test_a_draft_with_a_bad_address_is_not_sent(manager, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    draft_id = _ready_draft(manager, db_query, client_id)
    before = db_query(COUNT_SQL)
    manager.post_form(f"/comms/drafts/{draft_id}/email", {"recipient": "nope", "subject": "x", "body_text": "y"})
    assert db_query(COUNT_SQL) == before
    assert db_query("SELECT status FROM outbound_drafts WHERE id = ?", (draft_id,)) == [("pending",)]


def test_the_log_filters_and_exports(manager, db_query):
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    other_id = create_client(manager, "Other Co", email="o@other.example")
    project_id = create_project(manager, client_id, name="Gate panels")
    manager.post_form(f"/projects/{project_id}/pop")  # a POP confirmation email, pending
    manager.post_form("/comms/log", {"channel": "whatsapp", "direction": "out", "client_id": str(other_id),
                                     "subject": "Sent a WhatsApp", "body": "=cmd|' /C calc'!A0"})  # fmt: skip
    emails = manager.get("/comms?channel=email").text
    assert "Payment received for Gate panels" in emails and "Sent a WhatsApp" not in emails
    assert "Sent a WhatsApp" in manager.get(f"/comms?client_id={other_id}").text
    assert "Payment received" not in manager.get(f"/comms?client_id={other_id}").text
    assert "Payment received" in manager.get("/comms?status=pending").text
    assert "Payment received" not in manager.get("/comms?status=sent").text
    assert "Payment received" not in manager.get("/comms?start=2000-01-01&end=2000-01-02").text
    assert manager.get("/comms?start=nonsense&page=9999&channel=<x>").status_code == 200
    export = manager.get("/comms?format=csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["id", "created_at", "channel", "direction", "status"]
    bodies = [row[rows[0].index("body")] for row in rows[1:]]
    assert "'=cmd|' /C calc'!A0" in bodies  # a spreadsheet formula is neutralised


def test_viewers_read_the_log_but_cannot_export_or_send(viewer, manager, db_query):
    client_id = create_client(manager, "Karoo Steel")
    assert viewer.get("/comms").status_code == 200
    assert viewer.get("/comms?format=csv").status_code == 403
    assert "Send email" not in viewer.get(f"/comms/panel?client_id={client_id}").text
    assert viewer.post_form("/comms/log", {"channel": "note", "direction": "out", "client_id": str(client_id),
                                           "body": "x"}).status_code == 403  # fmt: skip
    assert db_query(COUNT_SQL) == [(0,)]
