"""Every page a user opens passes axe-core's WCAG 2.1 AA rules, on a desktop and on a phone (SPEC §10).

A new page is one line in PAGES (or PHONE_PAGES for the phone layout): a name, who looks at it and
the address, or the list page and the pattern of the link a user follows from it to the page.
Interactive states (the open bell, a queue row being edited, a run under way) have their own test
below. See docs/accessibility.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from e2e.a11y import assert_accessible
from e2e.helpers import (
    DESKTOP,
    choose_mode,
    end_own_running_run,
    end_run_on_phone,
    log_in,
    open_row_editor,
    paid_job,
    phone_context_args,
    settled,
    start_run,
)

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Visit:
    """A page as a user reaches it: `path` itself, or from `path` the first link whose address matches
    `links[0]`, then on that page the first matching `links[1]`, and so on."""

    name: str
    path: str
    role: str | None = "manager"  # None: signed out
    links: tuple[str, ...] = ()
    status: int = 200

    def __str__(self) -> str:
        return self.name


# The office pages (PC mode), each checked at a desktop's and a phone's size.
PAGES = [
    Visit("sign-in", "/auth/login", role=None),
    Visit("mode choice", "/auth/select-mode"),
    Visit("mode choice, operator", "/auth/select-mode", role="operator"),
    Visit("dashboard", "/dashboard"),
    Visit("clients", "/clients"),
    Visit("client new", "/clients/new"),
    Visit("client detail", "/clients", links=(r"/clients/\d+",)),
    Visit("client edit", "/clients", links=(r"/clients/\d+", r"/clients/\d+/edit")),
    Visit("projects", "/projects"),
    Visit("project edit", "/projects", links=(r"/projects/\d+", r"/projects/\d+/edit")),
    Visit("log a run", "/projects", links=(r"/projects/\d+", r"/queue/runs/new/\d+")),
    Visit("project new", "/projects/new"),
    Visit("project detail", "/projects", links=(r"/projects/\d+",)),
    Visit("project pricing", "/projects", links=(r"/projects/\d+", r"/projects/\d+/pricing")),
    Visit("queue", "/queue"),
    Visit("queue detail", "/queue", links=(r"/queue/\d+",)),
    Visit("queue cancel", "/queue", links=(r"/queue/\d+", r"/queue/\d+/cancel")),
    Visit("runs", "/queue/runs"),
    Visit("inventory", "/inventory"),
    Visit("inventory new", "/inventory/new", role="admin"),
    Visit("inventory detail", "/inventory", links=(r"/inventory/\d+",)),
    Visit("inventory edit", "/inventory", role="admin", links=(r"/inventory/\d+", r"/inventory/\d+/edit")),
    Visit("inventory transactions", "/inventory/transactions"),
    Visit("presets", "/presets"),
    Visit("preset new", "/presets/new", role="admin"),
    Visit("preset detail", "/presets", links=(r"/presets/\d+",)),
    Visit("preset edit", "/presets", role="admin", links=(r"/presets/\d+", r"/presets/\d+/edit")),
    Visit("operators", "/operators"),
    Visit("operator detail", "/operators", links=(r"/operators/\d+",)),
    Visit("operator new", "/operators/new", role="admin"),
    Visit("operator edit", "/operators", role="admin", links=(r"/operators/\d+", r"/operators/\d+/edit")),
    Visit("extra operator new", "/operators/extra/new", role="admin"),
    Visit("notifications", "/notifications/list"),
    Visit("drafts", "/comms/drafts"),
    Visit("draft edit", "/comms/drafts", links=(r"/comms/drafts/\d+/edit\?view=\w+",)),
    Visit("daily report", "/reports/daily"),
    Visit("reports", "/reports"),
    Visit("production report", "/reports/production"),
    Visit("efficiency report", "/reports/efficiency"),
    Visit("inventory report", "/reports/inventory"),
    Visit("clients report", "/reports/clients"),
    Visit("users", "/admin/users", role="admin"),
    Visit("user new", "/admin/users/new", role="admin"),
    Visit("user edit", "/admin/users", role="admin", links=(r"/admin/users/\d+/edit",)),
    Visit("roles", "/admin/roles", role="admin"),
    Visit("activity", "/admin/activity", role="admin"),
    Visit("settings", "/admin/settings", role="admin"),
    Visit("sign-in log", "/admin/logins", role="admin"),
    Visit("sage", "/sage", role="admin"),
    Visit("404", "/clients/999999999", status=404),
    Visit("403", "/clients/new", role="viewer", status=403),
    Visit("404 signed out", "/no-such-page", role=None, status=404),
]

# The phone layout: the operator in Phone mode on a Pixel 7.
PHONE_PAGES = [
    Visit("phone home", "/phone/home", role="operator"),
    Visit("phone notifications", "/notifications/list", role="operator"),
    Visit("phone 403", "/dashboard", role="operator", status=403),
]

SignedIn = Callable[[str | None, str], Page]


@pytest.fixture(scope="module")
def signed_in(browser: Browser, playwright: Playwright, base_url: str) -> Iterator[SignedIn]:
    """One signed-in tab per (role, form factor) for the whole module: the checks only look."""
    pages: dict[tuple[str | None, str], Page] = {}
    contexts: list[BrowserContext] = []

    def get(role: str | None, form_factor: str) -> Page:
        if (role, form_factor) not in pages:
            size: dict[str, Any] = DESKTOP if form_factor == "desktop" else phone_context_args(playwright)
            # axe-core is injected as an inline script, which the app's CSP (rightly) forbids.
            context = browser.new_context(base_url=base_url, bypass_csp=True, **size)
            context.set_default_timeout(15_000)
            contexts.append(context)
            page = context.new_page()
            if role is not None:
                log_in(page, role)
                # Operators have only the phone layout; everyone else is checked in the one the test names.
                choose_mode(page, "Phone mode" if role == "operator" else "PC mode")
            pages[role, form_factor] = page
        return pages[role, form_factor]

    yield get
    for context in contexts:
        context.close()


def open_page(page: Page, visit: Visit) -> None:
    """Go to the page as a user would, check it answered as expected, and let htmx settle."""
    target = visit.path
    for pattern in visit.links:
        page.goto(target)
        hrefs: list[str] = page.locator("#main a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        found = [href for href in hrefs if re.fullmatch(pattern, href)]
        assert found, f"no link matching {pattern} on {target} (the demo shop should have one)"
        target = found[0]
    response = page.goto(target)
    assert response is not None and response.status == visit.status, (
        f"{target} answered {response.status if response else None}, not {visit.status}"
    )
    settled(page)


@pytest.mark.parametrize("form_factor", ["desktop", "phone"])
@pytest.mark.parametrize("visit", PAGES, ids=str)
def test_office_page_is_accessible(signed_in: SignedIn, visit: Visit, form_factor: str) -> None:
    page = signed_in(visit.role, form_factor)
    open_page(page, visit)
    assert_accessible(page, label=f"{visit.name}, {form_factor}")


@pytest.mark.parametrize("visit", PHONE_PAGES, ids=str)
def test_phone_page_is_accessible(signed_in: SignedIn, visit: Visit) -> None:
    page = signed_in(visit.role, "phone")
    open_page(page, visit)
    expect(page.locator("body")).to_have_class("phone")
    assert_accessible(page, label=visit.name)


@pytest.mark.parametrize("form_factor", ["desktop", "phone"])
def test_open_bell_is_accessible(signed_in: SignedIn, form_factor: str) -> None:
    page = signed_in("manager", form_factor)
    open_page(page, Visit("dashboard", "/dashboard"))
    page.locator("header.topbar .bell-btn").click()
    expect(page.locator("#bell-panel .notif-list")).to_be_visible()
    expect(page.locator("header.topbar .bell-btn")).to_have_attribute("aria-expanded", "true")
    settled(page)
    assert_accessible(page, label=f"the open bell, {form_factor}")


def test_open_bell_on_the_phone_is_accessible(signed_in: SignedIn) -> None:
    page = signed_in("operator", "phone")
    open_page(page, Visit("phone home", "/phone/home"))
    page.locator("header.phone-top .bell-btn").click()
    expect(page.locator("#bell-panel .notif-list")).to_be_visible()
    settled(page)
    assert_accessible(page, label="the open bell")


@pytest.mark.parametrize("form_factor", ["desktop", "phone"])
def test_queue_row_editor_is_accessible(signed_in: SignedIn, form_factor: str) -> None:
    page = signed_in("manager", form_factor)
    open_page(page, Visit("queue", "/queue"))
    row = page.locator("#queue-rows > tr").first
    open_row_editor(page, row)
    settled(page)
    assert_accessible(page, label=f"a queue row's editor, {form_factor}")


def test_run_page_is_accessible(signed_in: SignedIn) -> None:
    """The operator's page while cutting: the run, its clock and the End Run form."""
    office = signed_in("manager", "desktop")
    project_id, code = paid_job(office, material="Mild Steel", thickness="3.0 mm", sheet_size="3000x1500", sheets=1)
    phone = signed_in("operator", "phone")
    phone.goto("/phone/home")
    end_own_running_run(phone)
    start_run(phone, project_id, code)
    settled(phone)
    try:
        assert_accessible(phone, label="the run page")
    finally:
        end_run_on_phone(phone, 0)


@pytest.mark.parametrize("form_factor", ["desktop", "phone"])
def test_form_with_errors_is_accessible(signed_in: SignedIn, form_factor: str) -> None:
    """A refused form: the messages beside the fields are tied to them and readable."""
    page = signed_in("manager", form_factor)
    open_page(page, Visit("client new", "/clients/new"))
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/clients/new")) as answered:
        page.get_by_role("button", name="Create client").click()
    assert answered.value.status == 422, f"an empty client form answered {answered.value.status}"
    settled(page)
    expect(page.locator(".error").first).to_be_visible()
    assert_accessible(page, label=f"the client form with errors, {form_factor}")


@pytest.mark.parametrize("form_factor", ["desktop", "phone"])
def test_failed_sign_in_is_accessible(signed_in: SignedIn, form_factor: str) -> None:
    page = signed_in(None, form_factor)
    open_page(page, Visit("sign-in", "/auth/login", role=None))
    # No such user, so no real login is slowed down or locked by the failure.
    page.locator("#username").fill("nobody-a11y")
    page.locator("#password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".flash, .error").first).to_be_visible()
    assert_accessible(page, label=f"a failed sign-in, {form_factor}")
