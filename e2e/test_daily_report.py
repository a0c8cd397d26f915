"""The daily report: a manager presses "Generate now", gets the .txt, and sees the report on the page
and its highlights on the dashboard; printing shows the report alone.

Desktop only: the daily report is an office page.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import go_via_sidebar, log_in_to_pc, settled, url

pytestmark = pytest.mark.e2e

SECTIONS = (
    "WHAT TO CUT TODAY",
    "MATERIAL TO ORDER",
    "CLIENTS TO CONTACT",
    "BLOCKED AND STALLED",
    "YESTERDAY'S PRODUCTION",
)


def shop_today() -> str:
    return datetime.now(ZoneInfo("Africa/Johannesburg")).date().isoformat()


@pytest.mark.parametrize("form_factor", ["desktop"])
def test_generate_now_downloads_the_report_and_shows_it(page: Page) -> None:
    log_in_to_pc(page, "manager")
    me = page.locator(".topbar .who strong").inner_text()
    go_via_sidebar(page, "Daily report", "/reports/daily")

    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Generate now").click()
    download = downloaded.value
    assert download.suggested_filename == f"DailyReport_{shop_today()}.txt"
    path = download.path()
    assert path is not None
    text = path.read_text(encoding="utf-8")
    assert [line for line in text.splitlines() if line in SECTIONS] == list(SECTIONS)
    assert text.splitlines()[1].endswith(f" by {me}")

    # The page now shows the report it just made, and lists it in the history.
    report = page.locator("#daily-report")
    for title in SECTIONS:
        expect(report.get_by_role("heading", name=title)).to_be_visible()
    expect(report.locator(".report-header")).to_contain_text(f"by {me}")
    expect(page.locator("#report-history")).to_contain_text(shop_today())
    expect(page).to_have_url(url("/reports/daily"))
    settled(page)

    # The page's own download link gives the same text.
    with page.expect_download() as again:
        report.get_by_role("link", name="Download .txt").click()
    again_path = again.value.path()
    assert again_path is not None and again_path.read_text(encoding="utf-8") == text

    # Print opens the browser's print dialog (app.js: no inline handler on the page).
    page.evaluate("() => { window.print = () => { window.printed = (window.printed || 0) + 1; }; }")
    report.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") == 1

    # Printed, it is the report alone: no menu, buttons or history.
    page.emulate_media(media="print")
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.get_by_role("button", name="Generate now")).to_be_hidden()
    expect(page.locator("#report-history")).to_be_hidden()
    expect(report.get_by_role("button", name="Print")).to_be_hidden()
    expect(report.get_by_role("heading", name="WHAT TO CUT TODAY")).to_be_visible()
    page.emulate_media(media="screen")

    # The dashboard carries the report's highlights and the attention cards.
    go_via_sidebar(page, "Dashboard", "/dashboard")
    highlights = page.locator("#report-highlights")
    expect(highlights).to_contain_text("Daily report")
    expect(highlights).to_contain_text("to cut today")
    for card in ("Low stock", "Waiting on client approval", "Ready for pickup", "Blocked by material"):
        expect(page.locator("#attention")).to_contain_text(card)
    page.locator("#attn-ready").click()
    expect(page).to_have_url(url(r"/projects\?stage=ready"))


@pytest.mark.parametrize("form_factor", ["desktop"])
def test_a_viewer_reads_the_report_without_a_generate_button(page: Page) -> None:
    log_in_to_pc(page, "viewer")
    go_via_sidebar(page, "Daily report", "/reports/daily")
    expect(page.get_by_role("heading", name="Daily report", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Generate now")).to_have_count(0)
