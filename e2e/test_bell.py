"""The bell: a manager's desktop hears what the operator's phone did, live, and resolves it.

The demo shop's SH-004 (Mild Steel 5 mm 3000x1500, no preset) is this file's sheet: no other test
cuts it. Each test first tops it up so it is above its minimum, whatever an earlier run left.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Locator, Page, Playwright, expect

from e2e.helpers import (
    DESKTOP,
    NewContext,
    assert_inside_viewport,
    desktop_page,
    log_in_to_pc,
    on_hand,
    open_row_editor,
    paid_job,
    phone_page,
    queue_move,
    queue_row,
    settled,
    sheet_item_url,
    start_run,
    unique,
    url,
)

pytestmark = pytest.mark.e2e

SHEET_CODE = "SH-004"
LIVE_WITHIN_S = 2.0


def bell_count(page: Page) -> Locator:
    return page.locator("#bell-count")


def shown_count(page: Page) -> int:
    value = bell_count(page).get_attribute("data-count")
    assert value is not None and value.isdigit(), f"the bell shows {value!r}"
    return int(value)


def stream_open(page: Page) -> None:
    """The page's bell is listening on the live stream (not polling)."""
    expect(page.locator(".bell")).to_have_attribute("data-live", "true")


def minimum_of(page: Page) -> int:
    """The item page's minimum stock, e.g. "10 sheets" → 10."""
    text = page.locator("dt", has_text="Minimum").locator("xpath=following-sibling::dd[1]").inner_text()
    match = re.match(r"(\d+)", text.strip())
    assert match, f"minimum reads {text!r}"
    return int(match.group(1))


def record_movement(page: Page, kind: str, quantity: int) -> None:
    """On a stock item's page: record a Purchase/Usage/... through its form."""
    before = on_hand(page, page.url)
    movement = page.locator("#record-movement")
    movement.get_by_label("Type").select_option(kind)
    movement.get_by_label(re.compile(r"^Quantity")).fill(str(quantity))
    movement.get_by_label("Reference").fill(unique("Bell test"))
    movement.get_by_role("button", name="Record").click()
    change = quantity if kind in ("Purchase", "Return") else -quantity
    expect(page.locator("#on-hand")).to_have_text(f"{before + change} sheets")


def above_minimum(office: Page, item_url: str, spare: int) -> tuple[int, int]:
    """Top the sheet up to at least ``spare`` above its minimum; returns (on hand, minimum)."""
    sheets = on_hand(office, item_url)
    minimum = minimum_of(office)
    if sheets < minimum + spare:
        record_movement(office, "Purchase", minimum + spare - sheets)
        sheets = minimum + spare
    return sheets, minimum


def test_the_operator_ends_a_run_that_empties_the_shelf_and_the_managers_bell_rings_live(
    new_context: NewContext, playwright: Playwright
) -> None:
    office = desktop_page(new_context)
    item_url = sheet_item_url(office, SHEET_CODE)
    sheets, minimum = above_minimum(office, item_url, spare=3)
    project_id, code = paid_job(office, material="Mild Steel", thickness="5.0 mm", sheet_size="3000x1500", sheets=1)

    phone = phone_page(new_context, playwright)
    start_run(phone, project_id, code)
    drop = sheets - minimum + 1  # one under the minimum once the run is recorded

    # The manager waits on the dashboard, its bell on the live stream.
    office.goto("/dashboard")
    settled(office)
    stream_open(office)
    before = shown_count(office)
    office.evaluate("window.__sameDocument = true")

    form = phone.locator("#end-run")
    # Not finished: the job stays on the machine, so its "no preset" notice stays open too and the
    # count rises by exactly the low-stock one.
    form.locator("input[name=sheets_used]").fill(str(drop))
    pressed = time.monotonic()
    form.get_by_role("button", name="■ End Run").click()
    expect(bell_count(office)).to_have_attribute("data-count", str(before + 1), timeout=LIVE_WITHIN_S * 1000)
    took = time.monotonic() - pressed
    assert took < LIVE_WITHIN_S, f"the bell took {took:.2f} s"
    expect(bell_count(office)).to_be_visible()
    assert office.evaluate("window.__sameDocument") is True, "the dashboard was reloaded"
    expect(phone).to_have_url(url("/phone/home"))
    expect(phone.locator("#flash .flash").first).to_contain_text(f"Run ended on {code}: {drop} sheets")
    # The operator's own page came back with the new count in its header.
    expect(bell_count(phone)).to_have_attribute("data-count", str(before + 1))

    # The manager opens the bell: the low-stock notice is there, linked to the sheet.
    office.locator(".bell-btn").click()
    panel = office.locator("#bell-panel")
    notice = panel.locator(".notif").filter(has_text=f"Low stock: {SHEET_CODE}")
    expect(notice).to_have_count(1)
    expect(notice.get_by_role("link")).to_have_attribute("href", item_url)
    expect(office.locator(".bell-btn")).to_have_attribute("aria-expanded", "true")

    # Resolve it: the list and the count change in place.
    notice.get_by_role("button", name=re.compile(r"^Resolve")).click()
    expect(panel.locator(".notif").filter(has_text=f"Low stock: {SHEET_CODE}")).to_have_count(0)
    expect(bell_count(office)).to_have_attribute("data-count", str(before))
    assert office.evaluate("window.__sameDocument") is True

    # A second click on the bell closes the list; the full list no longer shows it as open.
    office.locator(".bell-btn").click()
    expect(panel).to_be_empty()
    expect(office.locator(".bell-btn")).to_have_attribute("aria-expanded", "false")
    office.goto("/notifications/list")
    expect(office.locator("#main")).not_to_contain_text(f"Low stock: {SHEET_CODE}")
    office.goto("/notifications/list?status=all")
    expect(office.locator(".notif-resolved").filter(has_text=f"Low stock: {SHEET_CODE}").first).to_contain_text(
        "Resolved"
    )


def test_the_phone_shows_the_bell_and_its_list_as_text(new_context: NewContext, playwright: Playwright) -> None:
    # A 5 mm job has no preset: queuing it opens a notice, so the operator's list has one to show.
    office = desktop_page(new_context)
    paid_job(office, material="Mild Steel", thickness="5.0 mm", sheet_size="3000x1500", sheets=1)
    expect(office.locator("#preset-missing")).to_contain_text("No active preset for 5.0 mm Mild Steel")

    phone = phone_page(new_context, playwright)
    top = phone.locator("header.phone-top")
    bell_button = top.locator(".bell-btn")
    assert_inside_viewport(phone, bell_button)
    stream_open(phone)

    bell_button.click()
    panel = phone.locator("#bell-panel")
    expect(panel.locator(".notif-list")).to_be_visible()
    assert_inside_viewport(phone, panel)
    # Operators read the notices; the PC pages they point to and resolving are for the office.
    expect(panel.locator(".notif .notif-message").first).to_be_visible()
    expect(panel.locator(".notif a")).to_have_count(0)
    expect(panel.get_by_role("button", name=re.compile(r"^Resolve"))).to_have_count(0)
    phone.keyboard.press("Escape")
    expect(panel).to_be_empty()

    # Without JavaScript the bell is a link to the list, in the phone layout.
    phone.goto("/notifications/list")
    expect(phone.locator("body")).to_have_class("phone")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Notifications")


def test_when_the_stream_is_cut_off_the_bell_polls(new_context: NewContext, playwright: Playwright) -> None:
    office = desktop_page(new_context)
    item_url = sheet_item_url(office, SHEET_CODE)
    sheets, minimum = above_minimum(office, item_url, spare=2)

    # A viewer behind something that drops the event stream (some proxies do).
    watcher_context = new_context(**DESKTOP)
    watcher_context.route("**/notifications/stream", lambda route: route.abort())
    watcher = watcher_context.new_page()
    log_in_to_pc(watcher, "viewer")
    expect(watcher.locator(".bell")).to_have_attribute("data-live", "false")
    before = shown_count(watcher)

    office.goto(item_url)
    record_movement(office, "Usage", sheets - minimum + 1)
    expect(bell_count(watcher)).to_have_attribute("data-count", str(before + 1), timeout=8_000)

    # Back above the minimum: the notice clears itself and the polled count follows.
    record_movement(office, "Purchase", sheets - minimum + 1)
    expect(bell_count(watcher)).to_have_attribute("data-count", str(before), timeout=8_000)


def test_a_change_made_on_the_page_brings_the_new_count_in_its_own_response(new_context: NewContext) -> None:
    office = desktop_page(new_context)
    # No stream here, and the first poll is seconds away: only the response itself can move the count.
    office.context.route("**/notifications/stream", lambda route: route.abort())
    _, code = paid_job(office, material="Mild Steel", thickness="5.0 mm", sheet_size="3000x1500", sheets=1)
    row = queue_row(office, code)  # the job has no preset for 5 mm: it is on the bell
    settled(office)
    before = shown_count(office)

    # A row saved in place (a <tr> fragment) keeps the table whole and the bell as it was.
    open_row_editor(office, row)
    row.get_by_label(re.compile(r"^Priority of")).select_option("High")
    with office.expect_response("**/queue/*/edit") as saved:
        row.get_by_role("button", name="Save").click()
    assert f'data-count="{before}" hx-swap-oob="true"' in saved.value.text()
    expect(row).to_contain_text("High")
    expect(row.locator(".saved-note")).to_have_text("Saved ✓")
    expect(office.locator("#bell-count")).to_have_count(1)
    expect(office.locator("#queue-rows > :not(tr)")).to_have_count(0)
    expect(bell_count(office)).to_have_attribute("data-count", str(before))

    # Finishing the job ends its "no preset" notice: the queue and the bell change together.
    queue_move(office, row, "Start")
    open_row_editor(office, row)
    with office.expect_response("**/queue/*/status") as finished:
        row.get_by_role("button", name="Complete", exact=True).click()
    assert f'data-count="{before - 1}" hx-swap-oob="true"' in finished.value.text()
    expect(bell_count(office)).to_have_attribute("data-count", str(before - 1), timeout=1_000)
    expect(office.locator("#queue-rows").get_by_role("link", name=code, exact=True)).to_have_count(0)
