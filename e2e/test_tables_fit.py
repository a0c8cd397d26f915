"""Tables that fit: codes, dates and quantities never break over lines; wide tables scroll in themselves.

Checked in the browser on the demo shop, at the office's 1366 x 900 and in PC mode on a 375 px
phone: every code, date and quantity cell is drawn on one line (its text's line boxes all share
one top), and the page body never scrolls sideways.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import log_in_to_pc, settled

# The list pages with tables (the queue has its own layout test).
PAGES = ["/projects", "/clients", "/inventory", "/inventory/transactions", "/queue/runs", "/presets", "/operators"]

# Every code, date, time and quantity in a table, and how many lines each is drawn on.
BROKEN_CELLS = """() => {
  const code = /^[A-Z]{2,4}-?[A-Z0-9]*[0-9][A-Z0-9-]*$/;
  const date = /^\\d{4}-\\d{2}-\\d{2}( \\d{2}:\\d{2})?$/;
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    // Line boxes: a fragment starting below the bottom of the line so far starts a new line (a
    // badge's padded box sits a little higher or lower than the text beside it, on the same line).
    const rects = [...range.getClientRects()].filter((r) => r.width > 0).sort((a, b) => a.top - b.top);
    let count = 0, bottom = -Infinity;
    for (const r of rects) {
      if (r.top >= bottom - 1) { count += 1; bottom = r.bottom; } else { bottom = Math.max(bottom, r.bottom); }
    }
    return count;
  };
  const found = [];
  let checked = 0;
  for (const el of document.querySelectorAll("main .table td, main .table td a, main .table td .nowrap")) {
    const text = el.textContent.trim();
    const kept = el.classList.contains("num") || el.classList.contains("nowrap");
    const wanted = code.test(text) || date.test(text) || kept;
    if (!wanted || !text) continue;
    checked += 1;
    if (lines(el) > 1) found.push(text);
  }
  return {checked, found};
}"""

SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def office_page(new_context: Any, width: int, height: int) -> Page:
    context = new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_pc(page, "manager")
    return page


def project_with_runs(page: Page) -> str:
    """A demo job that has runs on it (its page shows the run table)."""
    page.goto("/queue/runs")
    return str(page.locator("main .table tbody tr td a[href^='/projects/']").first.get_attribute("href"))


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (375, 800)], ids=["office-1366", "pc-mode-on-phone-375"])
def test_codes_dates_and_quantities_stay_on_one_line_and_the_page_never_scrolls_sideways(
    new_context: Any, width: int, height: int
) -> None:
    page = office_page(new_context, width, height)
    for path in [*PAGES, project_with_runs(page)]:
        page.goto(path)
        settled(page)
        result = page.evaluate(BROKEN_CELLS)
        assert result["checked"] > 0, f"{path}: no code, date or quantity cell found to check"
        assert result["found"] == [], f"{path} at {width} px breaks these over lines: {result['found'][:8]}"
        assert page.evaluate(SIDEWAYS) <= 0, f"{path} at {width} px scrolls the whole page sideways"
    for path in ["/dashboard", "/inventory/1"]:
        page.goto(path)
        settled(page)
        assert page.evaluate(SIDEWAYS) <= 0, f"{path} at {width} px scrolls the whole page sideways"


def test_a_wide_table_scrolls_inside_its_labelled_wrapper_by_keyboard(new_context: Any) -> None:
    page = office_page(new_context, 375, 800)
    page.goto("/inventory/transactions")
    settled(page)
    wrapper = page.get_by_role("region", name="Stock transactions (scrolls sideways)")
    expect(wrapper).to_be_visible()
    assert wrapper.evaluate("el => el.scrollWidth > el.clientWidth"), "the table fits; nothing to scroll"
    wrapper.focus()
    expect(wrapper).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")
    assert page.evaluate(SIDEWAYS) <= 0


def test_the_transactions_filter_bar_keeps_each_control_whole(new_context: Any) -> None:
    for width in (1366, 375):
        page = office_page(new_context, width, 900)
        page.goto("/inventory/transactions")
        settled(page)
        bar = page.locator("form.filters")
        # "From [date]" and "To [date]" are each one piece on one line; nothing pokes out of the bar.
        for label in bar.locator("label.check").all():
            box, field = label.bounding_box(), label.locator("input").bounding_box()
            assert box and field and field["y"] < box["y"] + box["height"] and abs(field["y"] - box["y"]) < 12
        right = bar.evaluate("el => el.getBoundingClientRect().right")
        for control in bar.locator("input, select, button").all():
            control_box = control.bounding_box()
            assert control_box and control_box["x"] + control_box["width"] <= right + 1
        assert page.evaluate(SIDEWAYS) <= 0
        page.context.close()
