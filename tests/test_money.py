"""Money: one half-up rounding to the cent, and amounts written as the shop writes them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laseros.domain.kernel.money import format_rand, line_total, sum_amounts, to_cents, vat_on

D = Decimal


@pytest.mark.parametrize(
    ("amount", "cents"),
    [(D("0.005"), D("0.01")), (D("0.0049"), D("0.00")), (D("2.675"), D("2.68")), (D("-0.005"), D("-0.01")),
     (D("149.9985"), D("150.00")), (D(7), D("7.00"))],
)  # fmt: skip
def test_rounding_is_half_up_to_the_cent(amount, cents):
    assert to_cents(amount) == cents
    assert str(to_cents(amount)) == str(cents)


def test_three_lines_of_333_33_make_999_99_plus_150_00_vat_is_1149_99():
    lines = [line_total(1, D("333.33")) for _ in range(3)]
    subtotal = sum_amounts(lines)
    vat = vat_on(subtotal, D(15))
    assert (subtotal, vat, subtotal + vat) == (D("999.99"), D("150.00"), D("1149.99"))


def test_vat_is_rounded_once_on_the_subtotal_not_per_line():
    # Per line 0.15 × 0.10 = 0.015 → 0.02 each, 0.06 for three; on the subtotal 0.045 → 0.05.
    subtotal = sum_amounts([line_total(1, D("0.10"))] * 3)
    assert vat_on(subtotal, D(15)) == D("0.05")


def test_a_fractional_quantity_is_rounded_once_in_its_line_total():
    assert line_total(D("2.5"), D("10.01")) == D("25.03")  # 25.025 half-up


@pytest.mark.parametrize(
    ("amount", "text"),
    [(D("15000"), "R 15,000.00"), (D("1149.99"), "R 1,149.99"), (D("0"), "R 0.00"), (D("-12.5"), "-R 12.50"),
     (D("1234567.891"), "R 1,234,567.89"), (None, "")],
)  # fmt: skip
def test_format_rand(amount, text):
    assert format_rand(amount) == text


def test_the_money_filter_in_templates_is_format_rand(app):
    env = app.template_engine.engine
    assert env.from_string("{{ x|money }} {{ x|format_rand }}").render(x=D("15000")) == "R 15,000.00 R 15,000.00"
