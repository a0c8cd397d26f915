"""The office's main path: a new client's job goes from request to the top of the cutting queue."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import (
    assert_inside_viewport,
    assert_pc_frame_usable,
    drag_queue_row_to_top,
    go_via_sidebar,
    log_in_to_pc,
    queue_move,
    queue_row_ids,
    unique,
    url,
)

pytestmark = pytest.mark.e2e


def test_manager_takes_a_new_job_from_request_to_cutting(page: Page, form_factor: str) -> None:
    log_in_to_pc(page, "manager")
    assert_pc_frame_usable(page)
    if form_factor == "desktop":
        expect(page.locator("header.topbar .who")).to_contain_text("Pieter Manager")
        expect(page.locator("header.topbar .who")).to_contain_text("Manager")

    # A new client, through the sidebar and the "+ New client" button.
    go_via_sidebar(page, "Clients", "/clients")
    assert_pc_frame_usable(page)
    page.get_by_role("link", name="+ New client").click()
    expect(page).to_have_url(url("/clients/new"))
    client_name = unique("E2E Fabricators")
    page.get_by_role("textbox", name="Name", exact=True).fill(client_name)
    page.get_by_label("Contact person").fill("Naledi Mokoena")
    page.get_by_label("Email").fill("naledi@e2e.example")
    page.get_by_label("Phone").fill("+27 82 000 1234")
    page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(client_name)
    client_id = page.url.rsplit("/", 1)[1]

    # A project for that client: 4 sheets of 3.0 mm mild steel.
    page.get_by_role("link", name="+ New project").click()
    expect(page).to_have_url(url(rf"/projects/new\?client_id={client_id}"))
    expect(page.get_by_label("Client")).to_have_value(client_id)
    project_name = unique("Gusset plates")
    page.get_by_label("Project name").fill(project_name)
    page.get_by_label("Material", exact=True).select_option("Mild Steel")
    page.get_by_label("Thickness (mm)").select_option(label="3.0 mm")
    page.get_by_label("Sheet size").select_option("3000x1500")
    page.get_by_label("Sheets required").fill("4")
    page.get_by_label("Parts").fill("120")
    page.get_by_label("Estimated cut time (minutes)").fill("45")
    create = page.get_by_role("button", name="Create project")
    create.scroll_into_view_if_needed()
    assert_inside_viewport(page, create)
    create.click()

    expect(page).to_have_url(url(r"/projects/\d+"))
    project_url = page.url
    stage = page.locator(".page-head .badge")
    expect(page.get_by_role("heading", level=1)).to_contain_text(project_name)
    expect(stage).to_have_text("Request")
    job_card = page.locator("section.card").filter(has=page.get_by_role("heading", name="Job", exact=True))
    expect(job_card.locator(".details")).to_contain_text("Mild Steel · 3.0 mm · 3000x1500")
    code = page.locator(".page-head h1 small").inner_text().strip()
    assert re.fullmatch(r"JB-\d{4}-\d{2}-CL\d{4}-001", code), code

    # Proof of payment: the job joins the queue, last.
    pop = page.get_by_role("button", name="✓ Mark POP received")
    assert_inside_viewport(page, pop)
    pop.click()
    expect(stage).to_have_text("Queued (ready to cut)")
    expect(page.get_by_role("button", name="✓ Mark POP received")).to_have_count(0)
    queue_panel = page.locator("#queue-panel")
    expect(queue_panel).to_contain_text(re.compile(r"#\d+ in the queue"))
    item_href = queue_panel.get_by_role("link", name="Queue item details").get_attribute("href")
    assert item_href is not None and re.fullmatch(r"/queue/\d+", item_href), item_href
    row_id = f"queue-item-{item_href.rsplit('/', 1)[1]}"

    go_via_sidebar(page, "Queue", "/queue")
    assert_pc_frame_usable(page)
    rows = page.locator("#queue-rows > tr")
    expect(rows.last).to_have_id(row_id)
    assert len(queue_row_ids(page)) >= 2, "the demo queue should have other jobs to jump"
    row = page.locator(f"#{row_id}")
    expect(row).to_contain_text(code)

    # Drag it to the top; the order is saved and survives a reload.
    drag_queue_row_to_top(page, row)
    expect(rows.first).to_have_id(row_id)
    expect(page.locator(f"#{row_id} td.num").first).to_have_text("1")
    expect(page.locator("#queue-section .flash-error")).to_have_count(0)
    page.reload()
    expect(rows.first).to_have_id(row_id)
    expect(page.locator(f"#{row_id} td.num").first).to_have_text("1")

    # Start cutting from the queue's row editor; the project follows.
    queue_move(page, page.locator(f"#{row_id}"), "Start")
    expect(page.locator(f"#{row_id} .job-state")).to_have_text("Cutting — no run going")
    expect(rows.first).to_have_id(row_id)

    page.locator(f"#{row_id}").get_by_role("link", name=code).click()
    expect(page).to_have_url(project_url)
    expect(stage).to_have_text("Cutting")
    expect(page.locator("#queue-panel")).to_contain_text("Cutting — no run going")  # the one job state
