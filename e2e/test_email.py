"""Email end to end with nothing installed: a draft sent as email is queued, the job sends it over
real SMTP to the embedded outbox (`laseros serve` started it: no LASEROS_SMTP_HOST), and the
manager sees it Sent in the log and reads the kept copy on its page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    create_client_with_phone,
    create_project,
    finish_from_the_queue,
    go_via_sidebar,
    log_in_to_pc,
    mark_pop_received,
    unique,
    url,
)

pytestmark = pytest.mark.e2e


def wait_until_sent(page: Page) -> None:
    """The send-email job runs in the server's worker: reload the message's page until it says Sent."""
    status = page.locator(".comm-status").first
    for _ in range(40):
        if status.inner_text().strip() == "Sent":
            return
        page.wait_for_timeout(500)
        page.reload()
    expect(status).to_have_text("Sent")


@pytest.mark.parametrize("form_factor", ["desktop"], indirect=True)
def test_a_draft_sent_as_email_reaches_the_local_outbox_and_the_log(page: Page) -> None:
    log_in_to_pc(page, "manager")
    client_id, client_name = create_client_with_phone(page, "082 555 0142")
    name = unique("Emailed job")
    _, code = create_project(
        page, client_id, name=name, material="Mild Steel", thickness="3.0 mm", sheet_size="3000x1500", sheets=1
    )
    mark_pop_received(page)  # the POP confirmation email goes out too
    finish_from_the_queue(page, code)

    go_via_sidebar(page, "Drafts", "/comms/drafts")
    card = page.locator("article.draft-card", has_text=code)
    card.locator("summary", has_text="Send as email").click()
    expect(card.get_by_role("textbox", name="To")).to_have_value("drafts@example.com")
    subject = card.get_by_role("textbox", name="Subject")
    expect(subject).to_have_value(f"{name} ({code}) is ready for collection")
    card.get_by_role("button", name="Send email now").click()

    expect(page).to_have_url(url(r"/comms/\d+"))
    expect(page.locator(".flash")).to_contain_text("Email to drafts@example.com queued")
    wait_until_sent(page)
    outbox = page.locator(".comm-outbox")
    expect(outbox).to_contain_text("kept in the local outbox — no mail server configured")
    expect(outbox).to_contain_text("drafts@example.com")
    expect(outbox).to_contain_text(f"{name} ({code}) is ready for collection")
    expect(outbox.locator(".comm-body")).to_contain_text(f"{name} ({code}) is cut and ready")

    # The log has it (and the POP confirmation), filtered to the client.
    go_via_sidebar(page, "Messages", "/comms")
    page.get_by_role("search").get_by_label("Client").select_option(label=client_name)
    expect(page).to_have_url(re.compile(r"client_id=\d+"))
    rows = page.locator("#results tbody tr")
    expect(rows.filter(has_text="is ready for collection")).to_have_count(1)
    expect(rows.filter(has_text=f"Payment received for {name}")).to_have_count(1)

    # The draft is marked sent.
    page.goto("/comms/drafts?status=sent")
    expect(page.locator("article.draft-card", has_text=code).locator(".draft-status-sent")).to_have_text("Sent")
