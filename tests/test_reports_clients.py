"""The clients report, the reports index, the period (presets, bad dates) and the revenue seam."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from laseros.domain.kernel.errors import InvalidInput
from laseros.domain.reports.analytics import revenue
from laseros.domain.reports.analytics.period import (
    Period,
    last_12_months,
    last_month,
    parse_period,
    this_month,
    this_year,
)
from tests.reports_data import MARCH, build_march, csv_rows, page_rows


@pytest.fixture
def shop(manager, db_query):
    return build_march(manager, db_query)


def test_clients_in_march(manager, shop):
    rows = csv_rows(manager, f"/reports/clients?{MARCH}&format=csv")
    assert rows[0] == ["client_code", "client", "projects", "quoted_value", "average_job_value", "cut_hours",
                       "last_job_on"]  # fmt: skip
    by_name = {row[1]: row for row in rows[1:]}
    # Karoo: A (R 4 500) and C (no price) created in March — D in February, E on 1 April are not;
    # cut: A's 100 min + C's 40 = 2.3 h; average job value 4 500 ÷ 1 priced project.
    assert by_name["Karoo Steelworks"][2:6] == ["2", "4500.00", "4500.00", "2.3"]
    # Cape: B (R 3 000) created in March; B's 100 min; E (1 April) is its newest job.
    assert by_name["Cape Signage"][2:6] == ["1", "3000.00", "3000.00", "1.7"]
    assert by_name["Cape Signage"][6] == "2026-04-01"
    assert by_name["Karoo Steelworks"][6] == "2026-03-31"  # C: 23:00 on 31 March in the shop
    assert [row[1] for row in rows[1:]] == ["Karoo Steelworks", "Cape Signage"]  # by quoted value
    page = manager.get(f"/reports/clients?{MARCH}")
    shown = page_rows(page.text, "clients")
    assert [[c.replace(",", "").replace("R ", "") for c in row] for row in shown] == rows[1:]
    assert f'href="/clients/{shop.karoo}"' in page.text


def test_revenue_columns_are_left_out_until_the_seam_has_a_source(manager, shop):
    page = manager.get(f"/reports/clients?{MARCH}").text
    assert "Invoiced" not in page.split('id="data-clients"')[1].split("</thead>")[0]
    assert "not shown yet: the reports have no invoice source" in page
    assert "invoiced" not in csv_rows(manager, f"/reports/clients?{MARCH}&format=csv")[0]
    assert "Invoiced</dt>" not in manager.get(f"/reports?{MARCH}").text


def test_revenue_from_the_seam_fills_the_columns(manager, shop, monkeypatch):
    async def figures(session, calendar, period, client_ids=None):  # type: ignore[no-untyped-def]
        assert period == Period(date(2026, 3, 1), date(2026, 3, 31))
        return {shop.cape: revenue.ClientRevenue(Decimal("3450.00"), Decimal("1000.00"))}

    monkeypatch.setattr(revenue, "client_revenue", figures)
    rows = csv_rows(manager, f"/reports/clients?{MARCH}&format=csv")
    assert rows[0][6:8] == ["invoiced", "paid"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Cape Signage"][6:8] == ["3450.00", "1000.00"]
    assert by_name["Karoo Steelworks"][6:8] == ["0.00", "0.00"]
    assert "R 3,450.00" in manager.get(f"/reports?{MARCH}").text


def test_the_index_shows_the_headline_figures(manager, shop):
    page = manager.get(f"/reports?{MARCH}")
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "<dt>Runs</dt><dd>4</dd>" in text and "<dt>Cut hours</dt><dd>4.0</dd>" in text
    assert "<dt>Sheets</dt><dd>7</dd>" in text and "<dt>Parts</dt><dd>110</dd>" in text
    assert "<dt>Jobs completed</dt><dd>3</dd>" in text and "83.3 %" in text and "<dt>Red jobs</dt><dd>1</dd>" in text
    assert "<dt>Projects created</dt><dd>3</dd>" in text and "R 7,500.00" in text
    # The default is this month: none of March's runs.
    assert "<dt>Runs</dt><dd>0</dd>" in " ".join(manager.get("/reports").text.split())


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
