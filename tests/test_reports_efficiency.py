"""The efficiency report: each completed job's estimate against its cut time, the groups, and calibration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from laseros.domain.runs.calibration import calibration_factors, calibration_for
from tests.factories import create_client, paid_project
from tests.reports_data import MARCH, add_run, build_march, complete, csv_rows, page_rows
from tests.support import run


@pytest.fixture
def shop(manager, db_query):
    return build_march(manager, db_query)


def test_each_job_completed_in_march_with_its_variance_and_badge(manager, shop):
    rows = csv_rows(manager, f"/reports/efficiency?{MARCH}&format=csv&table=jobs")
    header = rows[0]
    assert header == [
        "project_code", "project_name", "client", "material_type", "thickness_mm", "completed_on", "runs",
        "estimated_minutes", "actual_minutes", "variance_minutes", "variance_percent", "efficiency_percent", "badge",
    ]  # fmt: skip
    jobs = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    # D finished on 28 February (shop time); E is not finished: neither is in March.
    assert set(jobs) == {"Gate panels", "Sign letters", "Base plates"}
    a, b, c = jobs["Gate panels"], jobs["Sign letters"], jobs["Base plates"]
    # A: estimate 90, runs 60 + 40 = 100 → variance +10 min (+11.1 %), efficiency 90 / 100 = 90.0 % green.
    assert (a["estimated_minutes"], a["actual_minutes"], a["variance_minutes"]) == ("90.0", "100.0", "10.0")
    assert (a["variance_percent"], a["efficiency_percent"], a["badge"], a["runs"]) == ("11.1", "90.0", "green", "2")
    # B: 60 against 100 → +40 min (+66.7 %), 60.0 % red.
    assert (b["variance_minutes"], b["variance_percent"], b["efficiency_percent"], b["badge"]) == (
        "40.0",
        "66.7",
        "60.0",
        "red",
    )
    # C: 50 against 40 → −10 min (−20.0 %), 125.0 %: faster than estimated is green.
    assert (c["variance_minutes"], c["variance_percent"], c["efficiency_percent"], c["badge"]) == (
        "-10.0",
        "-20.0",
        "125.0",
        "green",
    )
    assert c["completed_on"] == "2026-03-05" and c["client"] == "Karoo Steelworks"
    # Worst first.
    assert [row[1] for row in rows[1:]] == ["Sign letters", "Gate panels", "Base plates"]


def test_groups_by_material_and_by_operator(manager, shop):
    materials = csv_rows(manager, f"/reports/efficiency?{MARCH}&format=csv&table=by_material")
    assert materials[1:] == [
        ["Mild Steel", "3.0", "2", "140.0", "140.0", "100.0", "green", "0"],  # A + C: (90 + 50) / (100 + 40)
        ["Stainless Steel", "2.0", "1", "60.0", "100.0", "60.0", "red", "1"],
    ]
    people = csv_rows(manager, f"/reports/efficiency?{MARCH}&format=csv&table=by_operator")
    assert people[1:] == [  # worst first
        ["Mo Manager", "1", "60.0", "100.0", "60.0", "red", "1"],
        ["Olu Operator", "1", "90.0", "100.0", "90.0", "green", "0"],
        ["Themba Relief", "1", "50.0", "40.0", "125.0", "green", "0"],
    ]


def test_an_amber_job_and_the_overall_figure(manager, shop, db_query):
    page = manager.get(f"/reports/efficiency?{MARCH}")
    assert page.status_code == 200
    # Σ estimated 200 ÷ Σ actual 240 = 83.3 %: amber.
    assert "83.3 %" in page.text and 'badge eff-amber">Amber' in page.text
    assert "1</span> red jobs" in page.text
    shown = page_rows(page.text, "jobs")
    exported = csv_rows(manager, f"/reports/efficiency?{MARCH}&format=csv&table=jobs")[1:]
    assert [[cell.replace(",", "").replace(" %", "") for cell in row] for row in shown] == [
        [cell.replace("green", "Green").replace("red", "Red") for cell in row] for row in exported
    ]
    # The red job links to its project.
    assert f'href="/projects/{shop.b}"' in page.text


def test_jobs_without_an_estimate_are_counted_apart(manager, shop, db_query):
    db_query("UPDATE projects SET estimated_cut_time = NULL WHERE id = ?", (shop.c,))
    rows = csv_rows(manager, f"/reports/efficiency?{MARCH}&format=csv&table=jobs")
    assert [row[1] for row in rows[1:]] == ["Sign letters", "Gate panels"]
    assert "1 more completed without an estimate" in manager.get(f"/reports/efficiency?{MARCH}").text


def test_the_calibration_factor_is_the_median_of_the_last_jobs(manager, db, db_query):
    client_id = create_client(manager, "Calibration Co")
    operator_id = db_query("SELECT id FROM users WHERE username = 'operator'")[0][0]
    aluminium = {"material_type": "Aluminium", "thickness_mm": "2.00", "estimated_cut_time": "100"}
    # Six Aluminium 2.0 jobs estimated at 100 min, cut in 80, 90, 100, 110, 150 and 200 min.
    projects = []
    for day, minutes in enumerate(("80", "90", "100", "110", "150", "200"), start=1):
        project = paid_project(manager, client_id, name=f"Alu {minutes}", **aluminium)
        add_run(db_query, project, operator_id, f"2026-04-0{day} 08:00", minutes, 1, 1,
                material="Aluminium", thickness="2.00")  # fmt: skip
        complete(db_query, project, f"2026-04-0{day} 12:00")
        projects.append(project)
    # Four Galvanised jobs: too few for a factor.
    for n in range(4):
        project = paid_project(
            manager, client_id, name=f"Galv {n}", material_type="Galvanised", estimated_cut_time="60"
        )
        add_run(
            db_query, project, operator_id, f"2026-04-1{n} 08:00", "90", 1, 1, material="Galvanised", thickness="3.00"
        )
        complete(db_query, project, f"2026-04-1{n} 12:00")

    async def read():  # type: ignore[no-untyped-def]
        async with db.session(write=False) as session:
            return await calibration_factors(session), await calibration_for(session, "Aluminium", Decimal("2.00"))

    factors, aluminium_factor = run(read())
    by_sheet = {(c.material_type, c.thickness_mm): c for c in factors}
    alu = by_sheet[("Aluminium", Decimal("2.00"))]
    # Ratios 0.8 0.9 1.0 1.1 1.5 2.0: the median is (1.0 + 1.1) / 2.
    assert alu.factor == Decimal("1.050") and alu.applied and len(alu.jobs) == 6
    assert alu.jobs[0].project_id == projects[-1]  # newest first
    assert aluminium_factor.factor == Decimal("1.050")
    galvanised = by_sheet[("Galvanised", Decimal("3.00"))]
    assert galvanised.factor == Decimal("1.000") and not galvanised.applied and len(galvanised.jobs) == 4
    # A sheet with no history: 1.0.
    assert run(_nothing(db)).factor == Decimal("1.000")
    page = manager.get("/reports/efficiency?start=2026-04-01&end=2026-04-30")
    table = csv_rows(manager, "/reports/efficiency?start=2026-04-01&end=2026-04-30&format=csv&table=calibration")
    assert table[1][:5] == ["Aluminium", "2.0", "6", "1.050", "median"]
    assert table[2][:5] == ["Galvanised", "3.0", "4", "1.000", "1.0 (fewer than 5 jobs)"]
    assert "1.050" in page.text


def test_only_the_last_thirty_jobs_count(manager, db, db_query):
    client_id = create_client(manager, "Thirty Co")
    operator_id = db_query("SELECT id FROM users WHERE username = 'operator'")[0][0]
    # 31 jobs: the oldest took ten times its estimate; the 30 newest exactly their estimate.
    for n in range(31):
        project = paid_project(manager, client_id, name=f"Job {n}", material_type="Aluminium", thickness_mm="5.00",
                               estimated_cut_time="10")  # fmt: skip
        add_run(db_query, project, operator_id, f"2026-05-{n // 24 + 1:02d} {n % 24:02d}:00",
                "100" if n == 0 else "10", 1, 1, material="Aluminium", thickness="5.00")  # fmt: skip
        complete(db_query, project, f"2026-05-{n // 24 + 1:02d} {n % 24:02d}:30")

    async def read():  # type: ignore[no-untyped-def]
        async with db.session(write=False) as session:
            return await calibration_for(session, "Aluminium", Decimal("5.00"))

    found = run(read())
    assert len(found.jobs) == 30 and found.factor == Decimal("1.000")
    assert all(job.ratio == 1 for job in found.jobs)


async def _nothing(db):  # type: ignore[no-untyped-def]
    async with db.session(write=False) as session:
        return await calibration_for(session, "Titanium", Decimal("1.00"))
