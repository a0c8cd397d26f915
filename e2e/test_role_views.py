"""What each role sees: a viewer reads the PC pages without any edit control; an operator
is sent to Phone mode."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    assert_pc_frame_usable,
    choose_mode,
    go_via_sidebar,
    log_in,
    log_in_to_pc,
    url,
)

pytestmark = pytest.mark.e2e

QUEUE_BUTTONS = ("Start", "Complete", "Cancel", "Re-queue", "Save", "↑", "↓")


def expect_no_button(page: Page, name: str) -> None:
    expect(page.locator("#main").get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_viewer_sees_no_edit_controls(page: Page) -> None:
    log_in_to_pc(page, "viewer")
    assert_pc_frame_usable(page)

    # Clients list: readable, but no way to add one.
    go_via_sidebar(page, "Clients", "/clients")
    client_links = page.locator("#results tbody a[href^='/clients/']")
    expect(client_links.first).to_be_visible()
    expect(page.get_by_role("link", name="+ New client")).to_have_count(0)
    expect(page.locator("a[href='/clients/new']")).to_have_count(0)

    # A client's page: details and projects, no edit, delete or new project.
    client_links.first.click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    expect(page.get_by_role("heading", name="Details")).to_be_visible()
    expect(page.get_by_role("link", name="+ New project")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.locator("details.danger-zone")).to_have_count(0)
    expect(page.locator("#main form[method='post']")).to_have_count(0)

    # A project still waiting for its POP: no POP button, no edit, no stage change.
    go_via_sidebar(page, "Projects", "/projects")
    page.get_by_role("combobox", name="Stage").select_option(label="Request")
    expect(page).to_have_url(url(r"/projects\?.*stage=request.*"))
    badges = page.locator("#results tbody .badge")
    expect(badges.filter(has_not_text="Request")).to_have_count(0)
    expect(badges.first).to_have_text("Request")
    project_links = page.locator("#results tbody a[href^='/projects/']")
    project_links.first.click()
    expect(page).to_have_url(url(r"/projects/\d+"))
    expect(page.locator(".page-head .badge")).to_have_text("Request")
    expect_no_button(page, "✓ Mark POP received")
    expect(page.get_by_role("link", name="Edit", exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="Change stage")).to_have_count(0)
    expect(page.locator("details.danger-zone")).to_have_count(0)
    expect(page.locator("#main form[method='post']")).to_have_count(0)

    # The queue: rows to read, nothing to drag, press or type into.
    go_via_sidebar(page, "Queue", "/queue")
    rows = page.locator("#queue-rows > tr[id^='queue-item-']")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 2
    expect(page.locator("#queue-rows")).not_to_have_class("sortable")
    expect(page.locator("#queue-rows")).not_to_have_attribute("hx-post", "/queue/reorder")
    expect(page.locator(".drag-handle")).to_have_count(0)
    expect(page.get_by_text("to change the cutting order")).to_have_count(0)
    for name in QUEUE_BUTTONS:
        expect_no_button(page, name)
    expect(page.locator("#queue-rows select, #queue-rows input:not([type='hidden'])")).to_have_count(0)
    expect(page.locator("#main form[method='post']")).to_have_count(0)
    # ...and the read-only row still says what is set.
    expect(rows.first.locator(".badge").first).to_be_visible()


def test_operator_is_sent_to_phone_mode(page: Page) -> None:
    log_in(page, "operator")
    pc = page.get_by_role("button", name="PC mode")
    expect(pc).to_be_disabled()
    expect(page.locator("#pc-refusal")).to_have_text("Operators use Phone mode only: PC mode is for the office.")
    expect(pc).to_have_attribute("aria-describedby", "pc-refusal")
    phone = page.get_by_role("button", name="Phone mode")
    expect(phone).to_be_enabled()

    choose_mode(page, "Phone mode")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jobs to cut")
    expect(page.locator("footer.phone-bottom").get_by_role("button", name="PC mode")).to_have_count(0)
    expect(page.locator("header.phone-top").get_by_role("button", name="Log out")).to_be_visible()

    # Office pages are refused with a readable page, not a stack trace or a blank screen.
    for path in ("/dashboard", "/queue"):
        response = page.goto(path)
        assert response is not None and response.status == 403, (path, response and response.status)
        expect(page.get_by_role("heading", level=1)).to_have_text("You don't have access to this")
        expect(page.locator(".error-code")).to_have_text("403")
        expect(page.locator("#sidebar")).to_have_count(0)
