"""The shop floor: a paid job reaches the operator's phone, is cut with a live timer, and comes off the shelf.

Every test makes its own client and project through the office pages, so nothing here depends
on the other tests or on how many records the demo shop holds. The one demo operator ("Sipho
Operator") may have a run left going by the demo or by another test; each phone test ends it first.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, Playwright, expect

from e2e.helpers import (
    NewContext,
    desktop_page,
    end_run_on_phone,
    on_hand,
    paid_job,
    phone_page,
    queue_row,
    sheet_item_url,
    stage_badge,
    start_run,
    unique,
    url,
)

pytestmark = pytest.mark.e2e

START = re.compile(r"^▶ Start")  # "▶ Start JB-2026-12-0001": each card names its job
MIN_THUMB_PX = 44
SMALL_PHONE = {"width": 360, "height": 740}
RUN_TIMER = ".run-clock time.run-timer"
TIMER_SECONDS = """(el) => {
    const parts = el.textContent.trim().split(":").map(Number);
    return parts.length === 3 && parts.every(Number.isFinite) ? parts[0] * 3600 + parts[1] * 60 + parts[2] : -1;
}"""


# -- the run timer -----------------------------------------------------------------------------------


def timer_seconds(page: Page) -> int:
    seconds = page.locator(RUN_TIMER).evaluate(TIMER_SECONDS)
    assert isinstance(seconds, int) and seconds >= 0, f"the run timer shows {page.locator(RUN_TIMER).inner_text()!r}"
    return seconds


def wait_for_timer_at_least(page: Page, seconds: int, timeout: float = 6_000) -> None:
    """The timer on screen reaches `seconds` (it ticks once a second in the browser)."""
    page.wait_for_function(
        f"([selector, wanted]) => {{ const el = document.querySelector(selector);"
        f" return !!el && ({TIMER_SECONDS})(el) >= wanted; }}",
        arg=[RUN_TIMER, seconds],
        timeout=timeout,
    )


# -- the tests ---------------------------------------------------------------------------------------


def test_a_paid_job_is_cut_on_the_phone_and_comes_off_the_shelf(
    new_context: NewContext, playwright: Playwright
) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Mild Steel", thickness="3.0 mm", sheet_size="3000x1500", sheets=4)
    project_url = office.url
    preset_panel = office.locator("#preset-panel")
    expect(preset_panel).to_contain_text(re.compile(r"Mild Steel 3(\.0+)? mm"))
    preset_name = preset_panel.get_by_role("link").first.inner_text().strip()
    assert "Mild Steel" in preset_name, preset_name

    # The operator picks up the phone: ends whatever run was left going, then the stock is noted.
    phone = phone_page(new_context, playwright)
    stock_url = sheet_item_url(office, "SH-003")
    sheets_before = on_hand(office, stock_url)

    start_run(phone, project_id, code)
    expect(phone.locator("#run-preset")).to_contain_text(preset_name)
    expect(phone.locator(".preset-missing")).to_have_count(0)

    # The clock is the server's: a reload does not restart it, and it keeps going.
    wait_for_timer_at_least(phone, 2)
    before_reload = timer_seconds(phone)
    phone.reload()
    expect(phone.locator(RUN_TIMER)).to_be_visible()
    after_reload = timer_seconds(phone)
    assert after_reload >= before_reload, f"the timer went back from {before_reload} s to {after_reload} s on reload"
    wait_for_timer_at_least(phone, after_reload + 1)

    # No signal on the shop floor: the timer keeps counting.
    phone.context.set_offline(True)
    try:
        offline_from = timer_seconds(phone)
        wait_for_timer_at_least(phone, offline_from + 2)
    finally:
        phone.context.set_offline(False)

    # End Run: three sheets with the + button, job finished.
    sheets = phone.locator("#end-run input[name=sheets_used]")
    expect(sheets).to_have_value("0")
    for _ in range(3):
        phone.locator('#end-run [data-step="1"]').click()
    expect(sheets).to_have_value("3")
    flash = end_run_on_phone(phone, finished=True)
    expect(flash).to_contain_text(f"Run ended on {code}: 3 sheets")
    expect(flash).to_contain_text("Ready for pickup")
    expect(phone.locator("a.running-banner")).to_have_count(0)

    # The office sees the shelf three sheets lighter and the job ready for pickup.
    assert on_hand(office, stock_url) == sheets_before - 3
    office.goto(project_url)
    expect(stage_badge(office)).to_have_text("Ready for pickup")
    expect(office.locator("#runs-panel tbody tr").first).to_contain_text("Sipho Operator")


def test_a_sheet_without_a_preset_warns_the_operator(new_context: NewContext, playwright: Playwright) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Aluminium", thickness="2.0 mm", sheet_size="2500x1250", sheets=2)
    expect(office.locator("#preset-missing")).to_contain_text("No active preset for 2.0 mm Aluminium")

    # Sipho starts the run on the night shift's behalf.
    phone = phone_page(new_context, playwright)
    phone.goto("/phone/home")
    card = phone.locator(f"#job-{project_id}")
    card.locator("summary", has_text="Cutting for someone else?").click()
    card.get_by_label("Cutting for").select_option(label="Themba (night shift)")
    card.get_by_role("button", name=START).click()
    expect(phone).to_have_url(url(r"/phone/run/\d+"))
    expect(phone.locator(".run-head")).to_contain_text("Themba (night shift), logged by Sipho Operator")

    warning = phone.locator(".preset-missing")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(
        re.compile(r"No preset for 2\.0 mm Aluminium\s*— check the machine settings manually\.")
    )

    # The End Run form still works: a missing count is refused and nothing ends, then it goes through.
    form = phone.locator("#end-run")
    form.locator("input[name=sheets_used]").fill("")
    form.get_by_role("button", name="■ End Run").click()
    expect(form.locator(".error")).to_be_visible()
    expect(phone.locator(RUN_TIMER)).to_be_visible()
    form.get_by_label("Parts produced").fill("12")
    form.get_by_label("Notes (scrap, re-cuts, problems)").fill("Set the machine by hand: no preset")
    flash = end_run_on_phone(phone, 1)
    expect(flash).to_contain_text(f"Run ended on {code}: 1 sheet in")

    office.reload()
    runs = office.locator("#runs-panel tbody tr")
    expect(runs.first).to_contain_text("Themba (night shift)")
    expect(runs.first).to_contain_text("Set the machine by hand: no preset")


def test_a_second_start_names_the_run_already_going(new_context: NewContext, playwright: Playwright) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Mild Steel", thickness="2.0 mm", sheet_size="3000x1500", sheets=1)

    phone = phone_page(new_context, playwright)
    stale = phone.context.new_page()  # a second tab, opened before the run starts
    stale.goto("/phone/home")
    other_job = stale.locator(f"article.job-card:not(#job-{project_id})").filter(
        has=stale.get_by_role("button", name=START)
    )
    expect(other_job.first).to_be_visible()
    other_id = other_job.first.get_attribute("id")
    other_status = stale.locator(f"#{other_id} .badge.job-state").all_inner_texts()
    assert other_status, f"{other_id} shows no queue status"

    run_url = start_run(phone, project_id, code)
    run_path = urlparse(run_url).path

    with stale.expect_response("**/phone/run/start") as refused:
        stale.locator(f"#{other_id}").get_by_role("button", name=START).click()
    assert refused.value.status == 409, f"a second start answered {refused.value.status}"
    expect(stale.locator("#action-error")).to_contain_text(f"You already have a run going on {code}")
    expect(stale.locator("#action-error")).to_contain_text("End it before starting another.")
    banner = stale.locator("a.running-banner")
    expect(banner).to_contain_text(code)
    expect(banner).to_have_attribute("href", run_path)
    assert stale.locator(f"#{other_id} .badge.job-state").all_inner_texts() == other_status, "the refused job changed"
    expect(stale.get_by_role("button", name=START)).to_have_count(0)

    # The banner opens the run that is going, and it can be ended from there.
    banner.click()
    expect(stale).to_have_url(run_url)
    expect(stale.locator(".run-code")).to_contain_text(code)
    end_run_on_phone(stale, 0)


def test_stock_arriving_releases_a_job_waiting_on_material(new_context: NewContext) -> None:
    office = desktop_page(new_context)
    _, code = paid_job(
        office,
        material="Stainless Steel",
        thickness="3.0 mm",
        sheet_size="3000x1500",
        sheets=50,
        stage="Waiting on material",
    )
    project_url = office.url
    expect(office.locator("#queue-panel .stock-blocked")).to_have_text("Blocked")

    row = queue_row(office, code)
    expect(row.locator(".stock-blocked")).to_have_text("Blocked")

    # Sixty sheets arrive.
    office.goto(sheet_item_url(office, "SH-008"))
    before = on_hand(office, office.url)
    movement = office.locator("#record-movement")
    movement.get_by_label("Type").select_option("Purchase")
    movement.get_by_label(re.compile(r"^Quantity")).fill("60")
    movement.get_by_label("Reference").fill(unique("INV"))
    movement.get_by_role("button", name="Record").click()
    expect(office.locator("#on-hand")).to_have_text(f"{before + 60} sheets")

    office.goto(project_url)
    expect(stage_badge(office)).to_have_text("Queued (ready to cut)")
    expect(office.locator("#queue-panel .stock-blocked")).to_have_count(0)
    row = queue_row(office, code)
    expect(row.locator(".stock-blocked")).to_have_count(0)
    expect(row).to_contain_text(re.compile(r"Stock (ok|short)"))


def test_the_phone_works_one_handed_on_a_360_px_screen(new_context: NewContext, playwright: Playwright) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Galvanised", thickness="1.0 mm", sheet_size="2500x1250", sheets=1)

    phone = phone_page(new_context, playwright, viewport=SMALL_PHONE, is_mobile=True, has_touch=True)
    phone.goto("/phone/home")
    assert_fits(phone)
    start = phone.locator(f"#job-{project_id}").get_by_role("button", name=START)
    assert_thumb_sized(phone, start)

    start_run(phone, project_id, code)
    expect(phone.locator("#run-preset")).to_be_visible()
    assert_fits(phone)
    form = phone.locator("#end-run")
    for button in (
        form.get_by_role("button", name="■ End Run"),
        form.locator('[data-step="1"]'),
        form.locator('[data-step="-1"]'),
    ):
        assert_thumb_sized(phone, button)

    # The stepper is tapped, not clicked.
    form.locator('[data-step="1"]').tap()
    form.locator('[data-step="1"]').tap()
    form.locator('[data-step="-1"]').tap()
    expect(form.locator("input[name=sheets_used]")).to_have_value("1")
    end_run_on_phone(phone)
    assert_fits(phone)


def assert_fits(page: Page) -> None:
    page.wait_for_load_state("load")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= SMALL_PHONE["width"], f"{page.url} is {width} px wide on a {SMALL_PHONE['width']} px screen"


def assert_thumb_sized(page: Page, button: Locator) -> None:
    button.scroll_into_view_if_needed()
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None, f"{button} has no box"
    assert box["height"] >= MIN_THUMB_PX, f"{button} is {box['height']:.0f} px tall"
    assert box["x"] >= 0 and box["x"] + box["width"] <= SMALL_PHONE["width"], f"{button} runs off the screen: {box}"


def test_the_office_logs_a_run_cut_earlier(new_context: NewContext) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Galvanised", thickness="1.0 mm", sheet_size="2500x1250", sheets=3)

    office.get_by_role("link", name="+ Log a run").click()
    expect(office).to_have_url(url(f"/queue/runs/new/{project_id}"))
    operator = office.get_by_role("combobox", name="Operator", exact=True)
    # A new job: the form starts on whoever logged the shop's last run (the demo's runs are Sipho's).
    expect(operator.locator("option:checked")).to_have_text("Sipho Operator")
    expect(operator.locator("option", has_text="Pieter Manager (You)")).to_have_count(1)
    expect(office.get_by_label("Preset").locator("option:checked")).to_contain_text("Galvanised")
    note = unique("Logged from the job card")
    office.get_by_label("Cut time (minutes)").fill("25")
    office.get_by_label("Sheets used").fill("2")
    office.get_by_label("Parts produced").fill("40")
    office.get_by_label("Notes (scrap, re-cuts, problems)").fill(note)
    office.get_by_role("button", name="Log run").click()

    expect(office).to_have_url(url(f"/projects/{project_id}"))
    expect(office.locator("#flash")).to_contain_text(f"Run logged on {code}: 2 sheets")
    run_row = office.locator("#runs-panel tbody tr", has_text=note)
    expect(run_row).to_have_count(1)
    expect(run_row).to_contain_text("Sipho Operator")
    expect(run_row).to_contain_text("Completed")
    expect(run_row.locator("td.num").nth(1)).to_have_text("2")
    expect(office.locator("#queue-panel")).to_contain_text("2 of 3")

    # The run log lists it too, found by the job's code.
    office.goto("/queue/runs")
    office.get_by_role("searchbox", name="Search by project").fill(code)
    expect(office).to_have_url(re.compile(rf"/queue/runs\?.*q={re.escape(code)}"))
    listed = office.locator("#results tbody tr", has_text=note)
    expect(listed).to_have_count(1)
    expect(listed).to_contain_text(code)
    expect(listed).to_contain_text("Galvanised 1.0 mm")
    expect(listed.locator("td.num").nth(1)).to_have_text("2")
