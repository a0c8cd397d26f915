"""The clients report and its revenue (invoiced, paid, quoted, per month), the reports index, the period."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.reports.analytics import revenue
from laseros.domain.reports.analytics.period import (
    Period,
    last_12_months,
    last_month,
    parse_period,
    this_month,
    this_year,
)
from tests.reports_data import MARCH, build_march, build_revenue, csv_rows, page_rows
from tests.support import run

CALENDAR = ShopCalendar("Africa/Johannesburg")


@pytest.fixture
def shop(manager, db_query):
    return build_march(manager, db_query)


@pytest.fixture
def money(manager, db_query, shop):
    return build_revenue(manager, db_query, shop)


def test_clients_in_march(manager, shop, money):
    rows = csv_rows(manager, f"/reports/clients?{MARCH}&format=csv")
    assert rows[0] == ["client_code", "client", "projects", "quoted_value", "average_job_value", "cut_hours",
                       "invoiced", "paid", "last_job_on"]  # fmt: skip
    by_name = {row[1]: row for row in rows[1:]}
    # Karoo: A and C created in March (D in February); quoted Q1 R 4 600 + Q6 R 115 (declined, but sent);
    # invoiced I1 R 4 600 alone (I2 is February's, I3 a draft, I4 void): average 4 600 ÷ 1;
    # cut A's 100 min + C's 40 = 2.3 h; paid I1's R 2 000 on 20 March + I2's R 1 150 on 1 March.
    assert by_name["Karoo Steelworks"][2:8] == ["2", "4715.00", "4600.00", "2.3", "4600.00", "3150.00"]
    # Cape: B created in March (E on 1 April); quoted Q3 R 2 875 alone (Q2 was revised as Q3, Q4 sent on
    # 1 April, Q5 a draft); invoiced I5 R 2 875 on 31 March (I6 on 1 April); paid R 500 (R 250 in February).
    assert by_name["Cape Signage"][2:8] == ["1", "2875.00", "2875.00", "1.7", "2875.00", "500.00"]
    assert by_name["Cape Signage"][8] == "2026-04-01"
    assert by_name["Karoo Steelworks"][8] == "2026-03-31"  # C: 23:00 on 31 March in the shop
    assert [row[1] for row in rows[1:]] == ["Karoo Steelworks", "Cape Signage"]  # by invoiced
    page = manager.get(f"/reports/clients?{MARCH}")
    shown = page_rows(page.text, "clients")
    assert [[c.replace(",", "").replace("R ", "") for c in row] for row in shown] == rows[1:]
    assert f'href="/clients/{shop.karoo}"' in page.text
    text = " ".join(page.text.split())
    assert "R 7,475.00</span> invoiced" in text and "R 3,650.00</span> paid" in text
    assert "R 7,590.00</span> quoted" in text
    assert "not shown yet" not in page.text


def test_revenue_follows_the_dates_and_leaves_drafts_and_void_invoices_out(manager, db_query, shop, money):
    def karoo_and_cape(query: str) -> list[list[str]]:
        rows = {row[1]: row for row in csv_rows(manager, f"/reports/clients?{query}&format=csv")[1:]}
        return [rows[name][6:8] if name in rows else [] for name in ("Karoo Steelworks", "Cape Signage")]

    # February: I2 issued on the 25th (R 1 150); Cape's R 250 paid on the 28th.
    assert karoo_and_cape("start=2026-02-01&end=2026-02-28") == [["1150.00", "0.00"], ["0.00", "250.00"]]
    # 1 April alone: I6 (R 2 300) issued; nothing paid. 2 April: I1's R 2 600.
    assert karoo_and_cape("start=2026-04-01&end=2026-04-01") == [[], ["2300.00", "0.00"]]
    assert karoo_and_cape("start=2026-04-02&end=2026-04-02") == [["0.00", "2600.00"], []]
    # The draft I3 and the void I4 carry March dates and R 4 600 each, yet March invoices R 4 600 for Karoo.
    assert db_query(
        "SELECT status, issued_on, total FROM invoices WHERE id IN (?, ?) ORDER BY id",
        (money.invoices["i3"], money.invoices["i4"]),
    ) == [
        ("draft", "2026-03-15", 460000),
        ("void", "2026-03-10", 460000),
    ]
    assert karoo_and_cape(MARCH)[0] == ["4600.00", "3150.00"]
    # Q4 was sent at 00:00 on 1 April in the shop: April's quote, not March's.
    april = {row[1]: row for row in csv_rows(manager, "/reports/clients?start=2026-04-01&end=2026-04-30&format=csv")}
    assert april["Cape Signage"][3] == "1150.00"


def test_revenue_per_month_chart_and_table_hold_the_same_figures(manager, shop, money):
    query = "start=2026-02-15&end=2026-04-30"
    rows = csv_rows(manager, f"/reports/clients?{query}&format=csv&table=revenue_by_month")
    # February (from the 15th): I2 R 1 150 issued, R 250 paid. March: I1 + I5 = R 7 475 issued,
    # R 2 000 + 1 150 + 500 paid. April: I6 R 2 300 issued, I1's R 2 600 paid.
    assert rows == [
        ["month", "invoiced", "paid"],
        ["2026-02", "1150.00", "250.00"],
        ["2026-03", "7475.00", "3650.00"],
        ["2026-04", "2300.00", "2600.00"],
    ]
    page = manager.get(f"/reports/clients?{query}").text
    shown = page_rows(page, "revenue_by_month")
    assert [[c.replace(",", "").replace("R ", "") for c in row] for row in shown] == rows[1:]
    chart = page[page.index('<svg class="chart" id="chart-revenue"') :]
    chart = chart[: chart.index("</svg>")]
    assert 'role="img"' in chart and '<title id="chart-revenue-title">Revenue per month' in chart
    assert "Mar 2026: Invoiced 7475 R" in chart and "Mar 2026: Paid 3650 R" in chart
    assert "Apr 2026: Paid 2600 R" in chart and ">Invoiced</text>" in chart and ">Paid</text>" in chart
    beside = page[page.index('id="chart-revenue-data"') :]
    beside = beside[: beside.index("</table>")]
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", beside.split("<tbody>")[1])
    assert cells == ["2026-02", "R 1,150.00", "R 250.00", "2026-03", "R 7,475.00", "R 3,650.00",
                     "2026-04", "R 2,300.00", "R 2,600.00"]  # fmt: skip
    # The clients table's revenue adds up to the months'.
    clients = csv_rows(manager, f"/reports/clients?{query}&format=csv")[1:]
    assert sum(Decimal(row[6]) for row in clients) == Decimal("10925.00")
    assert sum(Decimal(row[7]) for row in clients) == Decimal("6500.00")


def test_revenue_in_sql_matches_the_hand_sums(db, shop, money):
    async def figures():  # type: ignore[no-untyped-def]
        async with db.session(write=False) as session:
            return (
                await revenue.client_revenue(session, CALENDAR, Period(date(2026, 3, 1), date(2026, 3, 31))),
                await revenue.client_revenue(
                    session, CALENDAR, Period(date(2026, 3, 1), date(2026, 3, 31)), [shop.cape]
                ),
                await revenue.revenue_by_month(session, Period(date(2026, 1, 20), date(2026, 3, 3))),
            )

    everyone, cape, months = run(figures())
    assert everyone == {
        shop.karoo: revenue.ClientRevenue(Decimal("4600.00"), Decimal("3150.00"), Decimal("4715.00"), 1),
        shop.cape: revenue.ClientRevenue(Decimal("2875.00"), Decimal("500.00"), Decimal("2875.00"), 1),
    }
    assert cape == {shop.cape: everyone[shop.cape]}
    assert [(m.month, m.invoiced, m.paid) for m in months] == [
        ("2026-01", Decimal("0.00"), Decimal("0.00")),
        ("2026-02", Decimal("1150.00"), Decimal("250.00")),
        ("2026-03", Decimal("0.00"), Decimal("1150.00")),  # only 1–3 March: I2's payment on the 1st
    ]


def test_the_index_shows_the_headline_figures(manager, shop, money):
    page = manager.get(f"/reports?{MARCH}")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "<dt>Runs</dt><dd>4</dd>" in text and "<dt>Cut hours</dt><dd>4.0</dd>" in text
    assert "<dt>Sheets</dt><dd>7</dd>" in text and "<dt>Parts</dt><dd>110</dd>" in text
    assert "<dt>Jobs completed</dt><dd>3</dd>" in text and "83.3 %" in text and "<dt>Red jobs</dt><dd>1</dd>" in text
    assert "<dt>Projects created</dt><dd>3</dd>" in text
    assert "<dt>Quoted value</dt><dd>R 7,590.00</dd>" in text
    assert "<dt>Invoiced</dt><dd>R 7,475.00</dd>" in text and "<dt>Paid</dt><dd>R 3,650.00</dd>" in text
    # The default is this month: none of March's runs.
    assert "<dt>Runs</dt><dd>0</dd>" in " ".join(manager.get("/reports").text.split())


def test_without_invoices_the_revenue_is_zero_not_missing(manager, shop):
    rows = csv_rows(manager, f"/reports/clients?{MARCH}&format=csv")
    assert [row[6:8] for row in rows[1:]] == [["0.00", "0.00"], ["0.00", "0.00"]]
    assert [row[4] for row in rows[1:]] == ["", ""]  # no invoice: no average job value
    text = " ".join(manager.get(f"/reports?{MARCH}").text.split())
    assert "<dt>Invoiced</dt><dd>R 0.00</dd>" in text


@pytest.mark.parametrize(
    ("query", "field"),
    [("start=2026-02-30", "start"), ("end=yesterday", "end"), ("start=2026-03-10&end=2026-03-01", "end")],
)
@pytest.mark.parametrize("report", ["", "/production", "/efficiency", "/inventory", "/clients"])
def test_a_bad_date_is_refused_beside_its_field(manager, query, field, report):
    response = manager.get(f"/reports{report}?{query}")
    assert response.status_code == 422
    assert f'id="period-{field}-error"' in response.text


def test_dates_out_of_range_are_moved_to_the_limits(manager):
    response = manager.get("/reports/production?start=1900-01-01&end=1999-12-31&by=week")
    assert response.status_code == 200
    assert "01 January 2000 – 01 January 2000" in response.text
    response = manager.get("/reports/efficiency?start=2100-12-01&end=9999-12-31")
    assert response.status_code == 200 and "31 December 2100" in response.text


def test_presets():
    today = date(2026, 1, 20)
    assert this_month(today) == Period(date(2026, 1, 1), today)
    assert last_month(today) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert this_year(today) == Period(date(2026, 1, 1), today)
    assert last_12_months(today) == Period(date(2025, 2, 1), today)
    assert last_12_months(date(2026, 12, 2)) == Period(date(2026, 1, 1), date(2026, 12, 2))
    assert parse_period({}, today) == this_month(today)
    assert parse_period({"start": "2026-01-05"}, today) == Period(date(2026, 1, 5), today)
    assert parse_period({"end": "2025-11-15"}, today) == Period(date(2025, 11, 1), date(2025, 11, 15))
    with pytest.raises(InvalidInput):
        parse_period({"start": "2026-13-01"}, today)


def test_the_preset_links_carry_their_dates(manager):
    page = manager.get("/reports/production").text
    for label in ("This month", "Last month", "This year", "Last 12 months"):
        assert f">{label}</a>" in page
    assert 'aria-current="true"' in page  # this month is the one shown


def test_an_unknown_table_is_not_found_and_a_bad_grouping_is_ignored(manager):
    assert manager.get("/reports/production?format=csv&table=nope").status_code == 404
    assert manager.get("/reports/production?by=fortnight").status_code == 200
    assert manager.get("/reports/efficiency?page=999").status_code == 200
