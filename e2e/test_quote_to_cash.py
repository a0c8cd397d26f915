"""Quote to cash in the browser: a quote with lines is sent and accepted, invoiced, issued and paid."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.helpers import NewContext, create_client, create_project, desktop_page, url

pytestmark = pytest.mark.e2e


def test_manager_quotes_invoices_and_records_the_payment(new_context: NewContext) -> None:
    page = desktop_page(new_context, "manager")
    client_id, _name = create_client(page, "E2E Billing")
    project_id, code = create_project(page, client_id, name="Gate brackets", material="Mild Steel",
                                      thickness="3.0 mm", sheet_size="3000x1500", sheets=2)  # fmt: skip

    # A quote from the project page, with three lines.
    billing = page.locator("#project-billing")
    billing.get_by_role("link", name="+ New quote").click()
    expect(page).to_have_url(url(rf"/quotes/new\?project_id={project_id}"))
    page.get_by_role("button", name="Create draft quote").click()
    expect(page).to_have_url(url(r"/quotes/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Quote Q-\d{4}-\d{4}"))
    quote_url = page.url
    for number, description in enumerate(("Bracket A", "Bracket B", "Bracket C"), start=1):
        add = page.locator("form.line-add")
        add.get_by_label("Description").fill(description)
        add.get_by_label("Quantity").fill("1")
        add.get_by_label("Unit price (R, excl. VAT)").fill("333.33")
        add.get_by_role("button", name="Add line").click()
        expect(page.get_by_role("textbox", name=f"Description of line {number}")).to_have_value(description)
    expect(page.get_by_test_id("total")).to_have_text("R 1,149.99")

    # Sent, then accepted: the project moves to quote and takes the total as its quoted price.
    page.get_by_role("button", name="Mark sent").click()
    expect(page.locator(".page-head .badge")).to_have_text("Sent")
    expect(page.get_by_role("button", name="Add line")).to_have_count(0)  # only drafts are edited
    expect(page.locator("table.doc-lines tbody")).to_contain_text("Bracket C")
    page.get_by_role("button", name="Accepted").click()
    expect(page.locator(".page-head .badge")).to_have_text("Accepted")
    page.goto(f"/projects/{project_id}")
    expect(page.locator(".page-head .badge")).to_have_text("Quote & Approval")
    expect(page.locator("#project-billing")).to_contain_text("Accepted")

    # The invoice: made from the quote, issued with its number, paid in two parts.
    page.goto(quote_url)
    page.get_by_role("button", name="Create invoice").click()
    expect(page).to_have_url(url(r"/invoices/\d+"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft invoice")
    page.get_by_role("button", name="Issue invoice").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(r"Tax invoice INV-\d{4}-\d{4}"))
    expect(page.get_by_test_id("balance")).to_have_text("R 1,149.99")
    payment = page.locator("form", has=page.get_by_role("button", name="Record payment"))
    payment.get_by_label("Amount (R)").fill("149.99")
    payment.get_by_label("Reference").fill(code)
    payment.get_by_role("button", name="Record payment").click()
    expect(page.locator(".page-head .badge")).to_have_text("Partially paid")
    expect(page.get_by_test_id("balance")).to_have_text("R 1,000.00")
    payment = page.locator("form", has=page.get_by_role("button", name="Record payment"))
    payment.get_by_label("Amount (R)").fill("2000.00")  # more than is owed: refused beside the field
    payment.get_by_role("button", name="Record payment").click()
    expect(page.locator("#e-amount")).to_contain_text("more than the balance of R 1,000.00")
    payment = page.locator("form", has=page.get_by_role("button", name="Record payment"))
    payment.get_by_label("Amount (R)").fill("1000.00")
    payment.get_by_role("button", name="Record payment").click()
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    expect(page.get_by_test_id("balance")).to_have_text("R 0.00")

    # The project shows what is owed; the PDF opens.
    page.goto(f"/projects/{project_id}")
    expect(page.get_by_test_id("project-balance")).to_have_text("R 0.00")
    invoice_link = page.locator("#project-billing").get_by_role("link", name=re.compile(r"INV-\d{4}-\d{4}"))
    href = invoice_link.get_attribute("href")
    response = page.request.get(f"{href}.pdf")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
