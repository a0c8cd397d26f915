"""Phone mode is made for a gloved thumb on a small screen: big targets, no sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

from e2e.helpers import choose_mode, expect_layout, log_in, phone_context_args

pytestmark = pytest.mark.e2e

MIN_TAP_PX = 48
SMALL_PHONE = {"width": 360, "height": 740}


def new_phone_page(new_context: Callable[..., BrowserContext], playwright: Playwright, **overrides: Any) -> Page:
    return new_context(**phone_context_args(playwright, **overrides)).new_page()


def assert_no_sideways_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width} px wide on a {width} px screen"


def test_phone_mode_buttons_are_big_enough_to_tap(new_context: Any, playwright: Playwright) -> None:
    page = new_phone_page(new_context, playwright)
    log_in(page, "manager")
    for name in ("PC mode", "Phone mode"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box is not None and box["height"] >= MIN_TAP_PX, (name, box)
    choose_mode(page, "Phone mode")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jobs to cut")
    expect(page.locator("article.job-card").first).to_be_visible()

    footer = page.locator("footer.phone-bottom")
    # PC mode at the bottom; Log out at the top, out of the thumb's way.
    for button in (
        footer.get_by_role("button", name="PC mode"),
        page.locator("header.phone-top").get_by_role("button", name="Log out"),
    ):
        name = button.inner_text()
        expect(button).to_be_in_viewport()
        box = button.bounding_box()
        assert box is not None, name
        assert box["height"] >= MIN_TAP_PX, f"{name} is {box['height']:.0f} px tall"
        assert box["width"] >= MIN_TAP_PX, f"{name} is {box['width']:.0f} px wide"

    # The fixed footer does not hide the last job card once scrolled to the end.
    last_card = page.locator("article.job-card").last
    last_card.scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    card_box, footer_box = last_card.bounding_box(), footer.bounding_box()
    assert card_box is not None and footer_box is not None
    assert card_box["y"] + card_box["height"] <= footer_box["y"], "the footer covers the last job card"

    # Its PC mode button leads to the office layout.
    footer.get_by_role("button", name="PC mode").click()
    expect_layout(page, "/dashboard")
    expect(page.locator("#sidebar")).to_be_visible()
    # ...and the top bar's Phone mode button leads back.
    page.locator("header.topbar").get_by_role("button", name="Phone mode").click()
    expect_layout(page, "/phone/home")


def test_phone_pages_fit_a_360_px_screen(new_context: Any, playwright: Playwright) -> None:
    page = new_phone_page(new_context, playwright, viewport=SMALL_PHONE)
    page.goto("/auth/login")
    assert_no_sideways_scroll(page, SMALL_PHONE["width"])
    log_in(page, "operator")
    assert_no_sideways_scroll(page, SMALL_PHONE["width"])
    choose_mode(page, "Phone mode")
    expect(page.locator("article.job-card").first).to_be_visible()
    assert_no_sideways_scroll(page, SMALL_PHONE["width"])
    box = page.locator("header.phone-top").get_by_role("button", name="Log out").bounding_box()
    assert box is not None and box["height"] >= MIN_TAP_PX and box["x"] + box["width"] <= SMALL_PHONE["width"]

    # The refusal an operator meets in the office pages fits too.
    page.goto("/dashboard")
    expect(page.locator(".error-code")).to_have_text("403")
    assert_no_sideways_scroll(page, SMALL_PHONE["width"])
