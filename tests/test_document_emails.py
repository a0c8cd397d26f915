"""Sending a quote or an invoice by email: the PDF reaches a real SMTP server as an attachment, the quote moves
as "mark sent" moves it, refusals write nothing; the quote and invoice placeholders; the quote reminder draft."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from laseros.domain.comms.templates import template_problem
from laseros.domain.kernel.shop import ShopCalendar
from tests.factories import accepted_quote, add_quote_line, create_client, create_project, create_quote
from tests.support import deliver_now, smtp_settings, sql

CALENDAR = ShopCalendar("Africa/Johannesburg")
TODAY = CALENDAR.today()
YEAR = TODAY.year
COMMS = "SELECT id, status, kind, recipient, subject, body, project_id FROM communications ORDER BY id"


@pytest.fixture
def project_id(manager) -> int:
    client_id = create_client(manager, "Karoo Steel", email="johan@karoo.example")
    return create_project(manager, client_id, name="Gate brackets", quoted_price="")


@pytest.fixture
def quote_id(manager, project_id) -> int:
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Laser cutting", "2", "500.00")
    return quote_id


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def the_attachment(message) -> tuple[str, str, bytes]:
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_content_type(), part.get_payload(decode=True)


def test_a_draft_quote_sent_by_email_reaches_the_client_with_its_pdf_and_is_marked_sent(
    manager, settings, db_query, project_id, quote_id, smtp_server
):
    number = f"Q-{YEAR}-0001"
    response = manager.post_form(f"/quotes/{quote_id}/email")
    assert response.status_code == 303, response.text[:2000]
    assert response.headers["location"] == f"/quotes/{quote_id}"
    # The same move as "mark sent": the quote is sent, the request project moves to quote.
    [(status, sent_at)] = db_query("SELECT status, sent_at FROM quotes WHERE id = ?", (quote_id,))
    assert status == "sent" and sent_at is not None
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("quote",)]
    [(comm_id, comm_status, kind, recipient, subject, body, comm_project)] = db_query(COMMS)
    assert (comm_status, kind, recipient, comm_project) == ("pending", "quote_email", "johan@karoo.example", project_id)
    assert subject == f"Quote {number} for Gate brackets"
    valid = (TODAY + timedelta(days=14)).strftime("%d %b %Y")
    assert f"our quote {number} for Gate brackets" in body and f"R 1,150.00 incl. VAT, valid until {valid}" in body
    [(filename, content_type, size, stored)] = db_query(
        "SELECT filename, content_type, size, stored_path FROM comm_attachments WHERE communication_id = ?", (comm_id,)
    )
    assert (filename, content_type) == (f"{number}.pdf", "application/pdf")
    assert (settings.data_dir / stored).read_bytes()[:4] == b"%PDF" and size > 1000
    actions = db_query("SELECT action, details FROM activity_log WHERE entity_type = 'quote' ORDER BY id")
    assert ("emailed", f"{number}: to johan@karoo.example with its PDF (message {comm_id})") in actions
    assert actions[-1] == ("status_changed", f"{number}: Draft → Sent")

    inbox, port = smtp_server
    assert deliver_now(smtp_settings(settings, port), comm_id)["status"] == "sent"
    [message] = inbox.messages
    assert message["To"] == "johan@karoo.example" and message["Subject"] == subject
    name, media_type, data = the_attachment(message)
    assert (name, media_type) == (f"{number}.pdf", "application/pdf")
    text = pdf_text(data)
    assert number in text and "1,150.00" in text
    assert db_query("SELECT status FROM communications WHERE id = ?", (comm_id,)) == [("sent",)]


def test_a_sent_quote_can_be_sent_again_and_stays_sent(manager, db_query, quote_id):
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"}).status_code == 303
    assert manager.post_form(f"/quotes/{quote_id}/email").status_code == 303
    assert db_query("SELECT status FROM quotes") == [("sent",)]
    assert db_query("SELECT kind FROM communications") == [("quote_email",)]
    assert "Send again by email" in manager.get(f"/quotes/{quote_id}").text


def test_a_client_without_an_email_address_is_422_and_nothing_is_written(manager, db_query):
    project_id = create_project(manager, create_client(manager, "No Mail Ltd", email=""), quoted_price="")
    quote_id = create_quote(manager, project_id)
    add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
    response = manager.post_form(f"/quotes/{quote_id}/email")
    assert response.status_code == 422
    assert "No Mail Ltd has no usable email address" in response.text
    assert db_query("SELECT status, sent_at FROM quotes") == [("draft", None)]
    assert db_query("SELECT count(*) FROM communications") == [(0,)]
    assert db_query("SELECT count(*) FROM comm_attachments") == [(0,)]
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("request",)]


def test_a_draft_quote_without_lines_is_refused_and_leaves_no_email_behind(manager, settings, db_query, project_id):
    quote_id = create_quote(manager, project_id)
    response = manager.post_form(f"/quotes/{quote_id}/email")
    assert response.status_code == 409 and "has no lines" in response.text
    assert db_query("SELECT count(*) FROM communications") == [(0,)]
    assert not list((settings.data_dir / "uploads" / "comms").glob("*/*"))  # its PDF was removed again


def test_an_accepted_quote_is_not_sent_again(manager, db_query, project_id):
    quote_id = accepted_quote(manager, project_id, [("Cutting", "1", "100.00")])
    response = manager.post_form(f"/quotes/{quote_id}/email")
    assert response.status_code == 409 and "only a draft or sent quote is sent" in response.text
    assert db_query("SELECT count(*) FROM communications") == [(0,)]
    assert "Send by email" not in manager.get(f"/quotes/{quote_id}").text


def invoice_for(manager, project_id: int) -> int:
    quote_id = accepted_quote(manager, project_id, [("Laser cutting", "1", "2000.00")])
    response = manager.post_form(f"/quotes/{quote_id}/invoice")
    assert response.status_code == 303
    return int(response.headers["location"].rsplit("/", 1)[1])


def test_an_issued_invoice_is_sent_by_email_with_its_pdf(manager, settings, db_query, project_id, smtp_server):
    invoice_id = invoice_for(manager, project_id)
    draft = manager.post_form(f"/invoices/{invoice_id}/email")
    assert draft.status_code == 409 and "issue it first" in draft.text
    assert db_query("SELECT count(*) FROM communications") == [(0,)]

    assert manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"}).status_code == 303
    number = f"INV-{YEAR}-0001"
    response = manager.post_form(f"/invoices/{invoice_id}/email")
    assert response.status_code == 303, response.text[:2000]
    [(status, sent_at, due)] = db_query("SELECT status, sent_at, due_date FROM invoices WHERE id = ?", (invoice_id,))
    assert status == "sent" and sent_at is not None
    [(comm_id, _status, kind, recipient, subject, body, _project)] = db_query(COMMS)
    assert (kind, recipient, subject) == (
        "invoice_email",
        "johan@karoo.example",
        f"Tax invoice {number} for Gate brackets",
    )
    due_text = (TODAY + timedelta(days=7)).strftime("%d %b %Y")
    assert due == (TODAY + timedelta(days=7)).isoformat()
    assert f"R 2,300.00 incl. VAT, R 2,300.00 due by {due_text}" in body
    assert db_query("SELECT filename, content_type FROM comm_attachments") == [(f"{number}.pdf", "application/pdf")]
    assert "Sent by email" in manager.get(f"/invoices/{invoice_id}").text

    inbox, port = smtp_server
    assert deliver_now(smtp_settings(settings, port), comm_id)["status"] == "sent"
    name, media_type, data = the_attachment(inbox.messages[0])
    assert (name, media_type) == (f"{number}.pdf", "application/pdf")
    text = pdf_text(data)
    assert number in text and "Tax Invoice" in text and "2,300.00" in text


def test_a_paid_invoice_has_nothing_to_send(manager, db_query, project_id):
    invoice_id = invoice_for(manager, project_id)
    manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"})
    payment = {"amount": "2300.00", "paid_on": TODAY.isoformat(), "method": "EFT", "reference": "R1"}
    assert manager.post_form(f"/invoices/{invoice_id}/payments", payment).status_code == 303
    assert manager.post_form(f"/invoices/{invoice_id}/email").status_code == 409
    assert db_query("SELECT count(*) FROM communications") == [(0,)]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_managers_and_admins_send_documents(login_as, manager, db_query, project_id, quote_id, role):
    invoice_project = create_project(manager, create_client(manager, "Other", email="o@example.com"), quoted_price="")
    invoice_id = invoice_for(manager, invoice_project)
    manager.post_form(f"/invoices/{invoice_id}/status", {"status": "sent"})
    client = login_as(role)
    assert client.post_form(f"/quotes/{quote_id}/email").status_code == 403
    assert client.post_form(f"/invoices/{invoice_id}/email").status_code == 403
    assert db_query("SELECT count(*) FROM communications") == [(0,)]
    if role == "viewer":
        assert "Send by email" not in client.get(f"/quotes/{quote_id}").text


def test_an_admin_sends_too(admin, db_query, quote_id):
    assert admin.post_form(f"/quotes/{quote_id}/email").status_code == 303
    assert db_query("SELECT status FROM quotes") == [("sent",)]


# -- the placeholders and the shop's own texts ---------------------------------------------------------


def test_the_quote_and_invoice_placeholders_are_accepted_in_a_template():
    assert template_problem("{{quote_number}} {{quote_total}} {{quote_valid_until}}") is None
    assert template_problem("{{invoice_number}} {{invoice_total}} {{invoice_balance}} {{invoice_due_date}}") is None
    problem = template_problem("{{quote_nmber}}")
    assert problem is not None and "{{quote_nmber}} is not a placeholder" in problem and "{{quote_total}}" in problem


def test_the_shop_edits_the_quote_email_template(manager, settings, db_query, quote_id):
    sql(
        settings,
        "UPDATE message_templates SET subject = 'Q {{quote_number}}: {{quote_total}}', "
        "body = 'Dear {{client_name}}, {{quote_number}} until {{quote_valid_until}}.' WHERE key = 'quote_email'",
    )
    assert manager.post_form(f"/quotes/{quote_id}/email").status_code == 303
    valid = (TODAY + timedelta(days=14)).strftime("%d %b %Y")
    template_id = db_query("SELECT id FROM message_templates WHERE key = 'quote_email'")[0][0]
    assert db_query("SELECT subject, body, template_id FROM communications") == [
        (f"Q Q-{YEAR}-0001: R 1,150.00", f"Dear Karoo Steel, Q-{YEAR}-0001 until {valid}.", template_id)
    ]


def test_the_quote_email_template_switched_off_sends_the_default_text(manager, settings, db_query, quote_id):
    sql(settings, "UPDATE message_templates SET is_active = 0 WHERE key = 'quote_email'")
    assert manager.post_form(f"/quotes/{quote_id}/email").status_code == 303
    assert db_query("SELECT subject, template_id FROM communications") == [
        (f"Quote Q-{YEAR}-0001 for Gate brackets", None)
    ]


def test_the_seeded_templates_are_listed_with_the_shops_others(manager):
    page = manager.get("/comms/templates").text
    assert "Quote by email" in page and "Invoice by email" in page and "Quote expiry reminder" in page


# -- quote_expiring drafts a reminder, once per quote ------------------------------------------------------


def test_a_quote_about_to_expire_drafts_one_client_reminder_withdrawn_when_accepted(manager, db_query, project_id):
    soon = (TODAY + timedelta(days=2)).isoformat()
    quote_id = create_quote(manager, project_id, valid_until=soon)
    add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"}).status_code == 303
    drafts = "SELECT kind, project_id, event_key, status, body_text FROM outbound_drafts WHERE kind = 'quote_reminder'"
    [(kind, draft_project, event_key, status, body)] = db_query(drafts)
    assert (kind, draft_project, event_key, status) == ("quote_reminder", project_id, f"quote:{quote_id}", "pending")
    valid = (TODAY + timedelta(days=2)).strftime("%d %b %Y")
    assert f"our quote Q-{YEAR}-0001 for Gate brackets (R 115.00) is valid until {valid}" in body
    assert body.startswith("Hi Karoo Steel,")
    page = manager.get("/comms/drafts").text
    assert "Quote reminder" in page and f"Q-{YEAR}-0001" in page

    # Raised again (a payment elsewhere, the nightly pass): still one draft, even after it was deleted.
    other = create_quote(manager, project_id)
    add_quote_line(manager, other, "Other", "1", "10.00")
    manager.post_form(f"/quotes/{other}/status", {"status": "sent"})  # runs the billing alerts again
    assert len(db_query(drafts)) == 1
    draft_id = db_query("SELECT id FROM outbound_drafts WHERE kind = 'quote_reminder'")[0][0]
    assert manager.post_form(f"/comms/drafts/{draft_id}/delete").status_code == 303
    manager.post_form(f"/quotes/{other}/status", {"status": "declined"})
    assert db_query("SELECT status FROM outbound_drafts WHERE kind = 'quote_reminder'") == [("deleted",)]


def test_an_answered_quote_withdraws_its_pending_reminder(manager, db_query, project_id):
    quote_id = create_quote(manager, project_id, valid_until=(TODAY + timedelta(days=1)).isoformat())
    add_quote_line(manager, quote_id, "Cutting", "1", "100.00")
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})
    assert db_query("SELECT status FROM outbound_drafts WHERE kind = 'quote_reminder'") == [("pending",)]
    assert manager.post_form(f"/quotes/{quote_id}/status", {"status": "accepted"}).status_code == 303
    assert db_query("SELECT status FROM outbound_drafts WHERE kind = 'quote_reminder'") == [("withdrawn",)]


def test_a_quote_with_time_left_drafts_no_reminder(manager, db_query, quote_id):
    manager.post_form(f"/quotes/{quote_id}/status", {"status": "sent"})  # valid for 14 days
    assert db_query("SELECT count(*) FROM outbound_drafts WHERE kind = 'quote_reminder'") == [(0,)]
