"""The floor and the office agree, as people click it: a cancel asks first and never leaves a run
going under a cancelled job (the operator's phone says so); a start without the sheets asks the
operator first; a run started by mistake is taken back; the queue row edits in place."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Playwright, expect

from e2e.helpers import (
    NewContext,
    desktop_page,
    on_hand,
    open_row_editor,
    paid_job,
    phone_page,
    queue_row,
    sheet_item_url,
    start_run,
    url,
)

pytestmark = pytest.mark.e2e

START = re.compile(r"^▶ Start")


def test_cancelling_a_job_being_cut_ends_the_run_with_the_reported_sheets_and_the_phone_says_so(
    new_context: NewContext, playwright: Playwright
) -> None:
    office = desktop_page(new_context)
    project_id, code = paid_job(office, material="Mild Steel", thickness="2.0 mm", sheet_size="3000x1500", sheets=2)
    stock_url = sheet_item_url(office, "SH-002")
    before = on_hand(office, stock_url)
    phone = phone_page(new_context, playwright)
    run_url = start_run(phone, project_id, code)

    row = queue_row(office, code)
    open_row_editor(office, row)
    row.get_by_role("link", name="Cancel job…").click()
    expect(office).to_have_url(url(r"/queue/\d+/cancel"))
    going = office.locator("#run-going")
    expect(going).to_contain_text("A run is going")
    expect(going).to_contain_text("Sipho Operator")
    # Nothing changed yet: the confirmation is a page of its own.
    expect(office.get_by_role("heading", name=f"Cancel {code}?")).to_be_visible()
    office.get_by_label("Sheets used (ask the operator)").fill("1")
    office.get_by_role("button", name="End the run and cancel the job").click()
    expect(office).to_have_url(url("/queue"))
    expect(office.locator("#flash")).to_contain_text(f"{code} cancelled.")
    assert on_hand(office, stock_url) == before - 1

    phone.goto(run_url)
    expect(phone.locator("#job-cancelled")).to_contain_text("This job was cancelled by the office; the run was ended.")
    expect(phone.get_by_role("button", name="End Run")).to_have_count(0)


def test_keeping_the_job_changes_nothing(new_context: NewContext) -> None:
    office = desktop_page(new_context)
    _project_id, code = paid_job(office, material="Mild Steel", thickness="2.0 mm", sheet_size="3000x1500", sheets=1)
    row = queue_row(office, code)
    open_row_editor(office, row)
    row.get_by_role("link", name="Cancel job…").click()
    office.get_by_role("link", name="Keep the job").click()
    expect(office).to_have_url(url("/queue"))
    expect(queue_row(office, code)).to_contain_text("Queued")


def test_a_start_without_the_sheets_asks_the_operator_first(new_context: NewContext, playwright: Playwright) -> None:
    office = desktop_page(new_context)
    # Far more sheets than the shelf holds: the job waits on material.
    project_id, code = paid_job(
        office,
        material="Mild Steel",
        thickness="2.0 mm",
        sheet_size="3000x1500",
        sheets=5000,
        stage="Waiting on material",
    )
    phone = phone_page(new_context, playwright)
    phone.goto("/phone/home")
    card = phone.locator(f"#job-{project_id}")
    expect(card).to_contain_text("Waiting on material")
    card.get_by_role("button", name=START).click()
    confirm = phone.locator("#start-confirm")
    expect(confirm).to_contain_text("cut anyway?")
    expect(confirm).to_contain_text("of 5000 sheets")
    confirm.get_by_role("link", name="Not now").click()
    expect(phone).to_have_url(url("/phone/home"))
    expect(phone.locator("a.running-banner")).to_have_count(0)

    phone.locator(f"#job-{project_id}").get_by_role("button", name=START).click()
    phone.get_by_role("button", name=re.compile("^Cut anyway")).click()
    expect(phone).to_have_url(url(r"/phone/run/\d+"))
    expect(phone.locator(".run-code")).to_contain_text(code)

    # The office hears of it at once: the material alert is up.
    office.goto(f"/projects/{project_id}")
    expect(office.locator("body")).to_contain_text("Cutting")
    office.goto("/notifications/list")
    expect(office.locator("body")).to_contain_text(code)

    # Taken back: the job goes back to waiting, and nothing was cut.
    phone.get_by_role("button", name="Take back this run").click()
    expect(phone.locator("#flash")).to_contain_text("taken back")
    office.goto(f"/projects/{project_id}")
    expect(office.locator("body")).to_contain_text("Waiting on material")
