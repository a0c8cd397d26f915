"""Quote to cash in the browser: a quote with lines is sent and accepted, invoiced, issued and paid; and from
the drawing: a DXF priced, quoted from the breakdown, sent by email with its PDF, accepted, invoiced, paid."""

from __future__ import annotations

import io
import re
from pathlib import Path

import ezdxf
import pytest
from playwright.sync_api import Page, expect

from e2e.a11y import assert_accessible
from e2e.helpers import DESKTOP, NewContext, create_client, create_project, desktop_page, log_in_to_pc, unique, url

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


def bracket_dxf(path: Path) -> Path:
    """A 200 × 100 mm bracket with two Ø12 holes."""
    doc = ezdxf.new(units=4)
    msp = doc.modelspace()
    msp.add_lwpolyline([(0, 0), (200, 0), (200, 100), (0, 100)], close=True)
    msp.add_circle((40, 50), 6)
    msp.add_circle((160, 50), 6)
    stream = io.StringIO()
    doc.write(stream)
    path.write_text(stream.getvalue())
    return path


def open_sent_email(page: Page, client_id: str, subject: str) -> None:
    """The message in the log, then its page once the server's worker has sent it to the local outbox."""
    page.goto(f"/comms?client_id={client_id}")
    page.locator("#results").get_by_role("link", name=subject).click()
    expect(page).to_have_url(url(r"/comms/\d+"))
    status = page.locator(".comm-status").first
    for _ in range(40):
        if status.inner_text().strip() == "Sent":
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(status).to_have_text("Sent")


def test_a_drawing_is_quoted_sent_by_email_accepted_invoiced_and_paid(new_context: NewContext, tmp_path: Path) -> None:
    context = new_context(**DESKTOP, bypass_csp=True)  # axe-core is injected (e2e/a11y.py)
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_pc(page, "manager")
    page.goto("/clients/new")
    client_name = unique("E2E Drawing")
    page.get_by_role("textbox", name="Name", exact=True).fill(client_name)
    page.get_by_role("textbox", name="Email").fill("buyer@example.com")
    page.get_by_role("button", name="Create client").click()
    expect(page).to_have_url(url(r"/clients/\d+"))
    client_id = page.url.rsplit("/", 1)[1]
    project_id, code = create_project(page, client_id, name="Drawn brackets", material="Mild Steel",
                                      thickness="3.0 mm", sheet_size="3000x1500", sheets=1)  # fmt: skip

    # The drawing, priced on the pricing page, becomes a draft quote.
    files = page.locator("#files")
    files.locator("input[type=file]").set_input_files(str(bracket_dxf(tmp_path / "Bracket.dxf")))
    files.get_by_role("button", name="Upload").click()
    expect(page.locator("#flash")).to_contain_text("Uploaded Bracket.dxf")
    page.locator("#pricing-link").click()
    expect(page).to_have_url(url(rf"/projects/{project_id}/pricing"))
    page.get_by_label("Quantity of Bracket.dxf").fill("25")
    page.get_by_role("button", name="Recalculate").click()
    expect(page).to_have_url(re.compile(r"qty_\d+=25"))
    expect(page.locator("#pricing-sheet-count")).to_contain_text("(25 parts")
    subtotal = page.locator("#pricing-subtotal").inner_text()
    total = page.locator("#pricing-total").inner_text()
    assert_accessible(page, label="pricing page")
    page.get_by_role("button", name="Quote from drawing").click()
    expect(page).to_have_url(url(r"/quotes/\d+"))
    expect(page.locator(".flash")).to_contain_text("made from the drawing")
    expect(page.locator(".page-head .badge")).to_have_text("Draft")
    number = re.search(r"Q-\d{4}-\d{4}", page.get_by_role("heading", level=1).inner_text())
    assert number is not None
    description = page.get_by_role("textbox", name=re.compile(r"Description of line \d"))
    expect(description).to_have_count(3)
    expect(description.nth(0)).to_have_value(re.compile(r"^Material: 3\.0 mm Mild Steel 3000x1500 sheet"))
    expect(description.nth(1)).to_have_value(re.compile(r"^Laser cutting: 25 part\(s\)"))
    expect(description.nth(2)).to_have_value("Setup (once per job)")
    expect(page.get_by_test_id("subtotal")).to_have_text(subtotal)
    expect(page.get_by_test_id("total")).to_have_text(total)
    quote_url = page.url
    assert_accessible(page, label="draft quote from the drawing")

    # Sent by email: the PDF goes to the client; the quote is sent and the project waits on approval.
    page.get_by_role("button", name="Send by email").click()
    expect(page.locator(".flash")).to_contain_text(f"{number.group(0)} sent by email to buyer@example.com")
    expect(page.locator(".page-head .badge")).to_have_text("Sent")
    open_sent_email(page, client_id, f"Quote {number.group(0)} for Drawn brackets")
    outbox = page.locator(".comm-outbox")
    expect(outbox).to_contain_text("buyer@example.com")
    expect(outbox).to_contain_text(f"{number.group(0)}.pdf (application/pdf")
    expect(outbox.locator(".comm-body")).to_contain_text(f"{total} incl. VAT")
    page.goto(f"/projects/{project_id}")
    expect(page.locator(".page-head .badge")).to_have_text("Quote & Approval")

    # Accepted, invoiced, issued, emailed and paid.
    page.goto(quote_url)
    page.get_by_role("button", name="Accepted").click()
    expect(page.locator(".page-head .badge")).to_have_text("Accepted")
    page.get_by_role("button", name="Create invoice").click()
    expect(page).to_have_url(url(r"/invoices/\d+"))
    expect(page.get_by_role("button", name="Send by email")).to_have_count(0)  # a draft is issued first
    page.get_by_role("button", name=re.compile(r"Issue (invoice|anyway)")).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(re.compile(r"Tax invoice INV-\d{4}-\d{4}"))
    invoice_number = re.search(r"INV-\d{4}-\d{4}", heading.inner_text())
    assert invoice_number is not None
    page.get_by_role("button", name="Send by email").click()
    expect(page.locator(".flash")).to_contain_text(f"{invoice_number.group(0)} sent by email to buyer@example.com")
    expect(page.locator(".details")).to_contain_text("Sent by email")
    expect(page.get_by_test_id("balance")).to_have_text(total)
    assert_accessible(page, label="issued invoice")
    payment = page.locator("form", has=page.get_by_role("button", name="Record payment"))
    payment.get_by_label("Reference").fill(code)
    payment.get_by_role("button", name="Record payment").click()  # the amount offered is the balance
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
    expect(page.get_by_test_id("balance")).to_have_text("R 0.00")
    invoice_url = page.url
    open_sent_email(page, client_id, f"Tax invoice {invoice_number.group(0)} for Drawn brackets")
    expect(page.locator(".comm-outbox")).to_contain_text(f"{invoice_number.group(0)}.pdf (application/pdf")
    page.goto(invoice_url)
    expect(page.locator(".page-head .badge")).to_have_text("Paid")
