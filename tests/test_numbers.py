"""Numbers as a South African shop writes them: one parser for every money and quantity field.

"R 15 000,50", "6 250,00" and "1,500.00" are all read; a number that reads two ways ("1,234": is
the comma a decimal or thousands?) is refused with both readings spelled out, nothing saved.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from laseros.domain.kernel.fields import FieldReader, NumberRefused, parse_number
from tests.support import STOCKED_ID, STOCKED_SHEET

NBSP, THIN, NARROW = "\u00a0", "\u2009", "\u202f"

# (typed, places, currency) → the number
READ = [
    ("R 15 000,50", 2, True, "15000.50"),
    ("6 250,00", 2, False, "6250.00"),
    ("1,500.00", 2, False, "1500.00"),
    ("1 500", 2, False, "1500"),
    ("1500,5", 2, False, "1500.5"),
    ("0,5", 2, False, "0.5"),
    (" R1500 ", 2, True, "1500"),
    ("r 99,95", 2, True, "99.95"),
    ("R15,632.00", 2, True, "15632.00"),  # what the app itself shows
    (f"R{NBSP}15{NBSP}000,50", 2, True, "15000.50"),  # pasted from a spreadsheet
    (f"15{THIN}000", 2, False, "15000"),
    (f"1{NARROW}234{NARROW}567,8", 2, False, "1234567.8"),
    ("1.500,00", 2, False, "1500.00"),
    ("1,234,567", 2, False, "1234567"),
    ("1 234 567.25", 2, False, "1234567.25"),
    ("1500", 2, False, "1500"),
    ("1500.5", 2, False, "1500.5"),
    ("1.250", 2, False, "1.250"),  # a lone dot is a decimal, as the app writes decimals
    ("0,500", 2, False, "0.500"),
    (",5", 2, False, "0.5"),
    ("1234,567", 2, False, "1234.567"),  # four digits before: the comma can only be a decimal
    ("1 234,567", 2, False, "1234.567"),  # spaces are the thousands: the comma is the decimal
    ("-1,5", 2, False, "-1.5"),
    ("\u22122,25", 2, False, "-2.25"),  # the minus sign, not a hyphen
    ("R -50", 2, True, "-50"),
    ("-R 50", 2, True, "-50"),
    ("+2", 0, False, "2"),  # an adjustment that adds
    ("1,500", 0, False, "1500"),  # a whole-number field: "1,500 sheets" is fifteen hundred
    ("1.500", 0, False, "1500"),
    ("1 500", 0, False, "1500"),
    ("1,5", 0, False, "1.5"),  # read, then refused by the field as not whole
]

# (typed, places, currency) → the start of the refusal
REFUSED = [
    ("1,234", 2, False, "Write 1234 or 1.234 — is the comma a decimal or thousands?"),
    ("R 1,500", 2, True, "Write 1500 or 1.500 — is the comma a decimal or thousands?"),
    ("1.234,5.6", 2, False, "Use one decimal mark"),
    ("1,234.5,6", 2, False, "Use one decimal mark"),
    ("1.500.000,00.5", 2, False, "Use one decimal mark"),
    ("12,34.5", 2, False, "Thousands go in groups of three"),
    ("1 50", 2, False, "Thousands go in groups of three"),
    ("1,23,456", 2, False, "Thousands go in groups of three"),
    ("1 500,000.00", 2, False, "Group thousands one way only"),
    ("lots", 2, False, "Enter a number like 1.5."),
    ("lots", 2, True, "Enter an amount like 1500.00 or 1 500,00."),
    ("two", 0, False, "Enter a whole number."),
    ("R", 2, True, "Enter an amount"),
    ("R 15", 2, False, "Enter a number"),  # an "R" only where the field is money
    ("15R", 2, True, "Enter an amount"),
    ("1e5", 2, False, "Enter a number"),
    ("NaN", 2, False, "Enter a number"),
    ("Infinity", 2, False, "Enter a number"),
    ("15,", 2, False, "Enter a number"),
    ("15.", 2, False, "Enter a number"),
    ("1  500", 2, False, "Enter a number"),
    ("1 ,5", 2, False, "Enter a number"),
    ("1,,5", 2, False, "Enter a number"),
    ("--5", 2, False, "Enter a number"),
    ("+-5", 2, False, "Enter a number"),
    (".", 2, False, "Enter a number"),
    ("1" * 40, 2, False, "That number is too long."),
]


@pytest.mark.parametrize(("typed", "places", "currency", "expected"), READ)
def test_parse_number_reads(typed, places, currency, expected):
    assert parse_number(typed, places=places, currency=currency) == Decimal(expected)


@pytest.mark.parametrize(("typed", "places", "currency", "message"), REFUSED)
def test_parse_number_refuses(typed, places, currency, message):
    with pytest.raises(NumberRefused) as refused:
        parse_number(typed, places=places, currency=currency)
    assert refused.value.message.startswith(message), refused.value.message


def read(field: str, value: str, **kwargs: object) -> tuple[object, dict[str, str]]:
    reader = FieldReader({"x": value})
    result = getattr(reader, field)("x", **kwargs)
    return result, reader.errors


def test_every_number_field_reads_through_the_one_parser():
    assert read("money", "R 15 000,50") == (Decimal("15000.50"), {})
    assert read("money", "6 250") == (Decimal("6250.00"), {})
    assert read("decimal", "1,5") == (Decimal("1.50"), {})
    assert read("decimal", "-12,25", minimum=Decimal(-50), maximum=Decimal(50)) == (Decimal("-12.25"), {})
    assert read("integer", "1 500") == (1500, {})
    assert read("integer", "1,500") == (1500, {})
    assert read("integer", "-3", minimum=-10) == (-3, {})


def test_the_fields_keep_their_own_limits():
    assert read("money", "R -50")[1] == {"x": "Enter an amount of zero or more."}
    assert read("money", "10,555")[1] == {"x": "Write 10555 or 10.555 — is the comma a decimal or thousands?"}
    assert read("money", "10.555")[1] == {"x": "Use at most two decimal places."}
    assert read("money", "1 000 000 000")[1] == {"x": "That amount is too large."}
    assert read("integer", "1,5")[1] == {"x": "Enter a whole number."}
    assert read("integer", "-1")[1] == {"x": "Enter a number of at least 0."}
    assert read("decimal", "0,625")[1] == {"x": "Use at most 2 decimal places."}
    assert read("decimal", "-1")[1] == {"x": "Enter a number of at least 0."}
    assert read("integer", " ", required=True)[1] == {"x": "This field is required."}
    assert read("money", NBSP)[0] is None


def test_a_south_african_unit_cost_is_saved_as_typed(admin, db_query):
    data = {**STOCKED_SHEET, "unit_cost": "R 15 000,50", "min_required": "1 000", "reorder_quantity": "2,500"}
    response = admin.post_form(f"/inventory/{STOCKED_ID}/edit", data)
    assert response.status_code == 303, response.text[:2000]
    row = db_query("SELECT unit_cost, min_required, reorder_quantity FROM inventory_items WHERE id = ?", (STOCKED_ID,))
    assert row == [(1500050, 1000, 2500)]  # cents, as stored
    assert "R 15,000.50" in admin.get(f"/inventory/{STOCKED_ID}").text


def test_a_purchase_at_a_south_african_price_sets_the_unit_cost(admin, db_query):
    data = {"transaction_type": "Purchase", "quantity": "1 000", "unit_cost": "R 6 250,00", "reference": "INV-77"}
    response = admin.post_form(f"/inventory/{STOCKED_ID}/transaction", data)
    assert response.status_code == 303, response.text[:2000]
    assert db_query("SELECT quantity, unit_cost FROM inventory_transactions WHERE reference = 'INV-77'") == [
        (1000, 625000)
    ]
    assert db_query("SELECT quantity_on_hand FROM inventory_items WHERE id = ?", (STOCKED_ID,)) == [(1500,)]


def test_an_ambiguous_price_is_refused_beside_the_field_and_nothing_is_written(admin, db_query):
    before = db_query("SELECT unit_cost FROM inventory_items WHERE id = ?", (STOCKED_ID,))
    response = admin.post_form(f"/inventory/{STOCKED_ID}/edit", {**STOCKED_SHEET, "unit_cost": "1,450"})
    assert response.status_code == 422
    assert "Write 1450 or 1.450 — is the comma a decimal or thousands?" in response.text
    assert 'value="1,450"' in response.text  # what was typed stays in the box
    assert db_query("SELECT unit_cost FROM inventory_items WHERE id = ?", (STOCKED_ID,)) == before


def test_a_quoted_price_in_rand_with_spaces_is_saved(manager, db_query):
    from tests.factories import create_client, create_project

    project_id = create_project(manager, create_client(manager), quoted_price="R 15 632,00")
    assert db_query("SELECT quoted_price FROM projects WHERE id = ?", (project_id,)) == [(1563200,)]


def test_a_day_limit_setting_reads_through_the_same_parser():
    from laseros.domain.kernel.registry import _clean_days
    from laseros.domain.kernel.settings import SettingRefused

    assert _clean_days("0,5") == "0.5"
    assert _clean_days(" 2,25 ") == "2.25"
    with pytest.raises(SettingRefused, match="is the comma a decimal or thousands"):
        _clean_days("1,125")
    with pytest.raises(SettingRefused, match="number of days"):
        _clean_days("two")
