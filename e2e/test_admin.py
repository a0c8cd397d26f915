"""Administration in the browser: an admin creates a user, who then signs in; the documents' logo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.a11y import assert_accessible
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


def test_an_admin_uploads_the_documents_logo_and_removes_it(new_context: NewContext, tmp_path: Path) -> None:
    context = new_context(**DESKTOP, bypass_csp=True)  # axe-core is injected (e2e/a11y.py)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_pc(page, "admin")
    page.goto("/admin/settings")
    logo = tmp_path / "logo.png"
    logo.write_bytes(page.screenshot(clip={"x": 0, "y": 0, "width": 160, "height": 48}))  # a real PNG

    # Not a picture: refused beside the field.
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    section = page.locator("#documents-logo")
    section.get_by_label(re.compile(r"(Upload|Replace) (a|the) logo")).set_input_files(str(fake))
    section.get_by_role("button", name="Upload logo").click()
    expect(page.locator("#e-logo")).to_contain_text("not a real PNG or JPEG picture")

    section = page.locator("#documents-logo")
    section.get_by_label(re.compile(r"(Upload|Replace) (a|the) logo")).set_input_files(str(logo))
    section.get_by_role("button", name="Upload logo").click()
    expect(page.locator("#flash")).to_contain_text("Logo uploaded")
    preview = page.locator("#documents-logo img.logo-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("() => { const i = document.querySelector('img.logo-preview'); return i && i.complete; }")
    assert preview.evaluate("(img) => img.naturalWidth") == 160
    assert_accessible(page, "#documents-logo", label="settings, logo")

    # A quote's print view heads the document with it.
    page.goto("/projects")
    page.locator("#results tbody tr").first.get_by_role("link").first.click()
    expect(page).to_have_url(url(r"/projects/\d+"))
    page.locator("#project-billing").get_by_role("link", name="+ New quote").click()
    page.get_by_role("button", name="Create draft quote").click()
    expect(page).to_have_url(url(r"/quotes/\d+"))
    page.get_by_role("link", name="Print view").click()
    printed = page.locator("header.doc-head img.logo")
    expect(printed).to_be_visible()
    page.wait_for_function("() => { const i = document.querySelector('img.logo'); return i && i.complete; }")
    assert printed.evaluate("(img) => img.naturalWidth") == 160

    page.goto("/admin/settings")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove the logo").click()
    expect(page.locator("#flash")).to_contain_text("Logo removed")
    expect(page.locator("#no-logo")).to_be_visible()
