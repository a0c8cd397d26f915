"""The business reports: a manager opens the efficiency report and follows a red job to its project.

Desktop only: the reports are office pages.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.helpers import create_client, go_via_sidebar, log_in_to_pc, mark_pop_received, settled, unique, url

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("form_factor", ["desktop"])
def test_a_manager_follows_a_red_job_from_the_efficiency_report_to_its_project(page: Page) -> None:
    log_in_to_pc(page, "manager")
    client_id, _ = create_client(page, "E2E Reports")
    # A job estimated at 6 minutes that took 30: 20 % efficiency, red.
    name = unique("Overrun job")
    page.goto(f"/projects/new?client_id={client_id}")
    page.get_by_label("Project name").fill(name)
    page.get_by_label("Material", exact=True).select_option("Mild Steel")
    page.get_by_label("Thickness (mm)").select_option(label="3.0 mm")
    page.get_by_label("Sheet size").select_option("3000x1500")
    page.get_by_label("Sheets required").fill("1")
    page.get_by_label("Estimated cut time (minutes)").fill("6")
    page.get_by_role("button", name="Create project").click()
    expect(page).to_have_url(url(r"/projects/\d+"))
    project_id = page.url.rsplit("/", 1)[1]
    code = page.locator(".page-head h1 small").inner_text().strip()
    mark_pop_received(page)
    page.goto(f"/queue/runs/new/{project_id}")
    page.get_by_label("Cut time (minutes)").fill("30")
    page.get_by_label("Sheets used").fill("1")
    page.get_by_label("Job finished").check()
    page.get_by_role("button", name="Log run").click()
    settled(page)

    go_via_sidebar(page, "Reports", "/reports")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    page.get_by_role("navigation", name="Reports").get_by_role("link", name="Efficiency").click()
    expect(page).to_have_url(url(r"/reports/efficiency\?start=.*"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Efficiency report")
    expect(page.get_by_role("img", name="Efficiency spread")).to_be_visible()

    row = page.locator("#data-jobs tbody tr", has_text=code)
    expect(row).to_have_class("row-red")
    expect(row.locator(".badge")).to_have_text("Red")
    expect(row).to_contain_text("20.0 %")
    row.get_by_role("link", name=code).click()
    expect(page).to_have_url(url(f"/projects/{project_id}"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


@pytest.mark.parametrize("form_factor", ["desktop"])
def test_the_clients_report_draws_revenue_per_month_beside_its_table(page: Page) -> None:
    log_in_to_pc(page, "manager")
    page.goto("/reports/clients")
    chart = page.get_by_role("img", name="Revenue per month: invoiced and paid")
    expect(chart).to_be_visible()
    expect(chart.locator("text.chart-label", has_text="Invoiced")).to_have_count(1)  # the legend, in words
    this_month = page.locator("#data-revenue_by_month tbody tr")
    expect(this_month).to_have_count(1)
    expect(page.locator("#chart-revenue-data tbody tr")).to_have_count(1)
    expect(page.get_by_role("columnheader", name="Invoiced").first).to_be_visible()
