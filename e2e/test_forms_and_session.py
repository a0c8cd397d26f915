"""Bad input is explained beside the field without losing what was typed; logging out ends the session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import expect_layout, go_via_sidebar, log_in, log_in_to_pc, unique, url

pytestmark = pytest.mark.e2e


def test_new_client_without_a_name_is_explained_and_keeps_the_typed_values(page: Page) -> None:
    log_in_to_pc(page, "manager")
    go_via_sidebar(page, "Clients", "/clients")
    page.get_by_role("link", name="+ New client").click()
    expect(page).to_have_url(url("/clients/new"))

    contact = unique("Ayanda")
    typed = {
        "Contact person": contact,
        "Email": "ayanda@e2e.example",
        "Phone": "+27 82 111 2222",
        "Address": "12 Forge Road\nGermiston",
        "Notes": "Prefers WhatsApp",
    }
    for label, value in typed.items():
        page.get_by_label(label).fill(value)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/clients/new")) as answer:
        page.get_by_role("button", name="Create client").click()
    assert answer.value.status == 422, answer.value.status

    name = page.get_by_role("textbox", name="Name", exact=True)
    name_field = page.locator(".field", has=name)
    expect(name_field.locator(".error")).to_have_text("This field is required.")
    expect(name_field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("This field is required.")
    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields.")
    expect(page.locator(".field .error")).to_have_count(1)
    for label, value in typed.items():
        expect(page.get_by_label(label)).to_have_value(value)
    expect(name).to_have_value("")

    # Correcting it goes through, and nothing half-made was stored by the failed attempt.
    client_name = unique("Forge Works")
    name.fill(client_name)
    page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(client_name)
    expect(page.locator(".details")).to_contain_text(contact)
    go_via_sidebar(page, "Clients", "/clients")
    page.get_by_role("searchbox", name="Search clients").fill(contact)
    expect(page).to_have_url(url(r"/clients\?q=.+"))
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr")).to_contain_text(client_name)


def test_log_out_returns_to_login_and_locks_the_office_pages(page: Page) -> None:
    log_in_to_pc(page, "manager")
    go_via_sidebar(page, "Queue", "/queue")
    page.locator("header.topbar").get_by_role("button", name="Log out").click()
    expect_layout(page, "/auth/login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.locator("#username")).to_be_visible()

    for path in ("/dashboard", "/clients", "/projects", "/queue", "/phone/home", "/auth/select-mode"):
        page.goto(path)
        expect(page, f"{path} after logout").to_have_url(url("/auth/login"))
        expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # Browser history does not bring the session back either.
    page.go_back()
    page.reload()
    expect(page).to_have_url(url("/auth/login"))


def test_log_out_from_phone_mode(page: Page) -> None:
    log_in(page, "manager")
    page.get_by_role("button", name="Phone mode").click()
    expect_layout(page, "/phone/home")
    page.locator("header.phone-top").get_by_role("button", name="Log out").click()
    expect_layout(page, "/auth/login")
    page.goto("/phone/home")
    expect(page).to_have_url(url("/auth/login"))
