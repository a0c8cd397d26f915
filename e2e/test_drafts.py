"""Client message drafts: a job finished from the queue drafts its collection message; the manager
edits it, opens it in WhatsApp, copies it, marks it sent and finds it under Sent.

The demo shop's back-dated quotes and ready jobs leave drafts on first start; the test still makes
its own job (a new client with a local phone number) so it depends on nothing another test did.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.sync_api import BrowserContext, Page, expect

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


def test_a_manager_edits_sends_and_files_a_drafted_message(page: Page, context: BrowserContext) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in_to_pc(page, "manager")

    go_via_sidebar(page, "Drafts", "/comms/drafts")
    expect(page.get_by_role("heading", level=1)).to_have_text("Message drafts")
    expect(page.locator("article.draft-card").first).to_be_visible()  # the demo shop has drafts waiting

    # A job of our own is finished from the queue: its collection message is drafted at once.
    client_id, client_name = create_client_with_phone(page, "082 555 0199")
    name = unique("Drafted job")
    _, code = create_project(
        page, client_id, name=name, material="Mild Steel", thickness="3.0 mm", sheet_size="3000x1500", sheets=1
    )
    mark_pop_received(page)
    finish_from_the_queue(page, code)

    go_via_sidebar(page, "Drafts", "/comms/drafts")
    card = page.locator("article.draft-card", has_text=code)
    expect(card).to_have_count(1)
    expect(card.locator(".draft-kind")).to_have_text("Ready for collection")
    expect(card.locator(".draft-status-pending")).to_have_text("Pending")
    expect(card).to_contain_text(client_name)
    expect(card.get_by_role("link", name=code)).to_have_attribute("href", re.compile(r"^/projects/\d+$"))
    whatsapp = card.get_by_role("link", name="Open in WhatsApp")
    expect(whatsapp).to_have_attribute("href", re.compile(r"^https://wa\.me/27825550199\?text=Hi%20"))
    expect(card.get_by_role("link", name="Email from my mail app")).to_have_attribute(
        "href", re.compile(r"^mailto:drafts@example\.com\?subject=")
    )

    # Edit inline: the message becomes a textarea, and the saved text replaces it.
    card.get_by_role("link", name="Edit").click()
    textarea = card.get_by_role("textbox", name="Message")
    expect(textarea).to_be_visible()
    expect(page).to_have_url(url("/comms/drafts"))  # still the list: only the card changed
    message = f"Hi {client_name}, {name} is ready at gate 2 — bring your order number & ID."
    textarea.fill(message)
    card.get_by_role("button", name="Save message").click()
    expect(card.get_by_role("textbox", name="Message")).to_have_count(0)
    expect(card.locator(".draft-body")).to_have_text(message)
    expect(whatsapp).to_have_attribute("href", f"https://wa.me/27825550199?text={quote(message, safe='')}")

    # Copy puts the message on the clipboard.
    card.get_by_role("button", name="Copy").click()
    expect(card.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == message

    # Mark sent: the card says so, and the message is filed under Sent.
    card.get_by_role("button", name="✓ Mark sent").click()
    expect(card.locator(".draft-status-sent")).to_have_text("Sent")
    expect(card.get_by_role("button", name="✓ Mark sent")).to_have_count(0)
    expect(card.get_by_role("link", name="Edit")).to_have_count(0)

    page.locator("nav.tabs").get_by_role("link", name=re.compile(r"^Sent")).click()
    expect(page).to_have_url(url(r"/comms/drafts\?status=sent"))
    sent = page.locator("article.draft-card", has_text=code)
    expect(sent).to_have_count(1)
    expect(sent.locator(".draft-body")).to_have_text(message)
    expect(sent).to_contain_text(re.compile(r"Sent \d{4}-\d\d-\d\d \d\d:\d\d"))

    page.locator("nav.tabs").get_by_role("link", name=re.compile(r"^Pending")).click()
    expect(page).to_have_url(url(r"/comms/drafts\?status=pending"))
    expect(page.locator("article.draft-card", has_text=code)).to_have_count(0)


def test_deleting_a_draft_asks_first_and_removes_it(page: Page) -> None:
    log_in_to_pc(page, "manager")
    client_id, _ = create_client_with_phone(page, "")
    _, code = create_project(
        page, client_id, name=unique("Deleted draft"), material="Mild Steel", thickness="3.0 mm",
        sheet_size="3000x1500", sheets=1,
    )  # fmt: skip
    mark_pop_received(page)
    finish_from_the_queue(page, code)
    go_via_sidebar(page, "Drafts", "/comms/drafts")
    card = page.locator("article.draft-card", has_text=code)
    # No phone number: WhatsApp is disabled and says why.
    expect(card.get_by_role("button", name="Open in WhatsApp")).to_be_disabled()
    expect(card).to_contain_text("No phone number for")

    delete = card.get_by_role("button", name="Delete this draft")
    expect(delete).to_be_hidden()
    card.locator("summary", has_text="Delete…").click()
    delete.click()
    note = page.locator("p.draft-gone", has_text=code)
    expect(note).to_contain_text("deleted")
    page.reload()
    expect(page.locator("article.draft-card", has_text=code)).to_have_count(0)
    page.goto("/comms/drafts?status=all")
    expect(page.locator("article.draft-card", has_text=code)).to_have_count(0)
