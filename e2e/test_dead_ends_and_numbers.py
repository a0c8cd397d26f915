"""A person types South African numbers, has a form refused, reloads — and is never stranded.

* "R 15 000,50" typed into a unit cost is saved and shown as R 15,000.50.
* After a refused form the address bar shows the form's action; a reload (what a phone does by
  itself after sleeping) lands on the form's own page, still signed in — never "405" and Log in.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Playwright, expect

from e2e.helpers import desktop_page, log_in_to_phone, phone_context_args, settled, unique, url


def test_a_unit_cost_typed_the_south_african_way_is_saved(new_context: Any) -> None:
    page = desktop_page(new_context, "admin")
    page.goto("/inventory/new")
    code = unique("ZA").replace(" ", "-").upper()
    page.locator("#f-item_code").fill(code)
    page.locator("#f-name").fill("Ceramic nozzle ring")
    page.locator("#f-category").select_option("Consumable")
    page.locator("#f-unit").select_option("each")
    page.locator("#f-unit_cost").fill("R 15 000,50")
    page.get_by_role("button", name="Create item").click()
    expect(page).to_have_url(url(r"/inventory/\d+"))
    expect(page.locator("main")).to_contain_text("R 15,000.50")

    # An ambiguous price is refused beside the field, with both readings spelled out.
    movement = page.locator("#record-movement")
    movement.locator("#f-transaction_type").select_option("Purchase")
    movement.locator("#f-quantity").fill("4")
    movement.locator("#f-unit_cost").fill("1,450")
    movement.get_by_role("button", name="Record").click()
    expect(page.locator("main")).to_contain_text("Write 1450 or 1.450 — is the comma a decimal or thousands?")
    expect(page).to_have_url(url(r"/inventory/\d+/transaction"))

    # The phone-style reload of the refused form's address: back on the item, signed in.
    page.reload()
    expect(page).to_have_url(url(r"/inventory/\d+"))
    expect(page.locator("main")).to_contain_text("Nothing was sent again")
    expect(page.locator("header.topbar .who")).to_contain_text("Thandi Admin")
    expect(page.get_by_text("Method Not Allowed")).to_have_count(0)
    expect(page.get_by_role("link", name="Log in")).to_have_count(0)

    movement = page.locator("#record-movement")
    movement.locator("#f-transaction_type").select_option("Purchase")
    movement.locator("#f-quantity").fill("4")
    movement.locator("#f-unit_cost").fill("R 6 250,00")
    movement.get_by_role("button", name="Record").click()
    expect(page).to_have_url(url(r"/inventory/\d+"))
    settled(page)
    expect(page.locator("main")).to_contain_text("R 6,250.00")


def test_a_phone_waking_on_a_form_address_goes_back_to_the_jobs(new_context: Any, playwright: Playwright) -> None:
    context = new_context(**phone_context_args(playwright))
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in_to_phone(page, "operator")
    page.goto("/phone/run/end")  # what the address bar held when the phone went to sleep
    expect(page).to_have_url(url("/phone/home"))
    expect(page.locator("main")).to_contain_text("Nothing was sent again")
    expect(page.locator("body")).to_have_class("phone")


def test_error_pages_know_who_is_signed_in(new_context: Any, playwright: Playwright) -> None:
    office = desktop_page(new_context, "manager")
    office.goto("/projects/99999999")
    expect(office.get_by_role("heading", name="Not found")).to_be_visible()
    expect(office.locator("header.topbar .who")).to_contain_text("Pieter Manager")
    expect(office.get_by_role("link", name="Log in")).to_have_count(0)
    office.get_by_role("link", name="Back to Projects").click()
    expect(office).to_have_url(url("/projects"))

    stranger = new_context(**phone_context_args(playwright)).new_page()
    stranger.goto("/auth/login/nowhere")
    expect(stranger.get_by_role("heading", name="Not found")).to_be_visible()
    expect(stranger.get_by_role("link", name="Log in")).to_be_visible()
