"""User administration in the browser: an admin creates a user, and the user signs in with it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import DESKTOP, NewContext, go_via_sidebar, log_in_to_pc, settled, unique, url

pytestmark = pytest.mark.e2e


def test_an_admin_creates_a_user_who_then_signs_in(page: Page, new_context: NewContext) -> None:
    log_in_to_pc(page, "admin")
    go_via_sidebar(page, "Users", "/admin/users")
    page.get_by_role("link", name="+ New user").click()
    expect(page).to_have_url(url("/admin/users/new"))
    settled(page)

    username = unique("e2e").replace(" ", "-")
    name = f"Thandi {username[-4:]}"
    page.locator("#f-username").fill(username)
    page.locator("#f-display_name").fill(name)
    page.locator("#f-email").fill(f"{username}@example.com")
    page.locator("#f-role").select_option(label="Manager")

    # A common password is refused beside its field, and nothing is created.
    page.locator("#f-password").fill("password123")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator("#e-password")).to_contain_text("common")
    expect(page.locator("#f-username")).to_have_value(username)  # what was typed stays…
    expect(page.locator("#f-password")).to_have_value("")  # …except the password

    password = "amber-valley-tractor-7"
    page.locator("#f-password").fill(password)
    page.get_by_role("button", name="Create user").click()
    expect(page).to_have_url(url(r"/admin/users/\d+/edit"))
    expect(page.locator("#flash")).to_contain_text(f"{name} can now sign in as {username}")

    go_via_sidebar(page, "Users", "/admin/users")
    row = page.locator("tr", has_text=username)
    expect(row).to_contain_text("Manager")
    expect(row).to_contain_text("Never")

    # The new user signs in, in a browser of their own, and works in PC mode as a manager.
    theirs = new_context(**DESKTOP).new_page()
    theirs.goto("/auth/login")
    theirs.locator("#username").fill(username)
    theirs.locator("#password").fill(password)
    theirs.get_by_role("button", name="Log in").click()
    expect(theirs).to_have_url(url("/auth/select-mode"))
    theirs.get_by_role("button", name="PC mode").click()
    expect(theirs).to_have_url(url("/dashboard"))
    expect(theirs.locator("header.topbar")).to_contain_text(name)
    expect(theirs.locator("#sidebar").get_by_role("link", name="Users", exact=True)).to_have_count(0)

    # The admin sees when they signed in.
    page.reload()
    expect(page.locator("tr", has_text=username)).not_to_contain_text("Never")
