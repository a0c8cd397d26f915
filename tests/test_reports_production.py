"""The production report: known runs give known runs, cut hours, sheets and parts, by day, operator and material."""

from __future__ import annotations

import pytest

from tests.reports_data import MARCH, build_march, csv_rows, page_rows


@pytest.fixture
def shop(manager, db_query):
    return build_march(manager, db_query)


def test_march_production_by_day_is_what_the_runs_add_up_to(manager, shop):
    rows = csv_rows(manager, f"/reports/production?{MARCH}&format=csv&table=by_time")
    assert rows[0] == ["date", "runs", "cut_hours", "sheets", "parts", "estimated_hours"]
    by_day = {row[0]: row[1:] for row in rows[1:]}
    assert len(by_day) == 31  # every day of March, the quiet ones as zeros
    # 2 March: A's 60 min (estimate share 90 × 60/100 = 54 min). 3 March: A's 40 + B's 100 at 23:30
    # shop time (shares 36 + 60 = 96 min). 5 March: C's 40 min started 00:30 shop time (estimate 50).
    assert by_day["2026-03-02"] == ["1", "1.0", "2", "50", "0.9"]
    assert by_day["2026-03-03"] == ["2", "2.3", "4", "50", "1.6"]
    assert by_day["2026-03-04"] == ["0", "0.0", "0", "0", "0.0"]
    assert by_day["2026-03-05"] == ["1", "0.7", "1", "10", "0.8"]
    # D's run at 23:59 on 28 February and E's at 00:00 on 1 April are outside; running and discarded runs never count.
    assert by_day["2026-03-01"] == by_day["2026-03-31"] == ["0", "0.0", "0", "0", "0.0"]
    assert sum(int(r[0]) for r in by_day.values()) == 4


def test_totals_weeks_operators_and_materials(manager, shop):
    page = manager.get(f"/reports/production?{MARCH}&by=week")
    assert page.status_code == 200
    weeks = csv_rows(manager, f"/reports/production?{MARCH}&by=week&format=csv&table=by_time")
    assert weeks[0][0] == "week"
    # 1 March is a Sunday: its week is that one day; then 2–8 March holds all four runs.
    assert weeks[1] == ["2026-03-01", "0", "0.0", "0", "0", "0.0"]
    assert weeks[2] == ["2026-03-02 – 2026-03-08", "4", "4.0", "7", "110", "3.3"]
    assert len(weeks) == 1 + 6
    people = csv_rows(manager, f"/reports/production?{MARCH}&format=csv&table=by_operator")
    assert people[1:] == [  # most cut time first; equal times by name
        ["Mo Manager", "1", "1.7", "3", "20"],
        ["Olu Operator", "2", "1.7", "3", "80"],  # A's two runs: 100 min
        ["Themba Relief", "1", "0.7", "1", "10"],  # C's run names him: it counts for him, not the login
    ]
    materials = csv_rows(manager, f"/reports/production?{MARCH}&format=csv&table=by_material")
    assert materials[1:] == [
        ["Mild Steel", "3.0", "3", "2.3", "4", "90"],
        ["Stainless Steel", "2.0", "1", "1.7", "3", "20"],
    ]


def test_the_page_shows_what_the_csv_holds(manager, shop):
    page = manager.get(f"/reports/production?{MARCH}").text
    for key in ("by_time", "by_operator", "by_material"):
        shown = page_rows(page, key)
        exported = csv_rows(manager, f"/reports/production?{MARCH}&format=csv&table={key}")[1:]
        assert len(shown) == len(exported) and shown, key
        for seen, row in zip(shown, exported, strict=True):
            assert [cell.replace(",", "") for cell in seen] == row, key
    assert "Total" in page and "4.0" in page


def test_the_charts_are_svg_with_titles_and_a_table_beside(manager, shop):
    page = manager.get(f"/reports/production?{MARCH}").text
    for chart in ("chart-cut-hours", "chart-sheets"):
        start = page.index(f'id="{chart}"')
        svg = page[page.rindex("<svg", 0, start) : page.index("</svg>", start)]
        assert 'role="img"' in svg and f'<title id="{chart}-title">' in svg and "<desc" in svg
    assert "Cut hours per day, with the estimate" in page
    assert "<caption>Sheets per material</caption>" in page
    assert "<script" not in page.split('id="chart-cut-hours"')[1].split("</svg>")[0]
