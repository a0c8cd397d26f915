"""The daily report: each section's content, one stored report per date, the pages, and the dashboard cards."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from alembic import command

from laseros.app import create_app
from laseros.db import Database, utcnow
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.notifications import evaluate as evaluation
from laseros.domain.reports.daily import (
    BLOCKED_AND_STALLED,
    CLIENTS_TO_CONTACT,
    CUT_TODAY,
    MATERIAL_TO_ORDER,
    NOTHING,
    SECTIONS,
    YESTERDAYS_PRODUCTION,
    CutLine,
    DailyReports,
    ProductionLine,
    ReportData,
    generate_daily_report,
    highlights,
)
from laseros.migrate import alembic_config
from laseros.web.controllers.reports import daily_text, report_text
from tests.factories import create_client, create_project, move_queue_item, paid_project
from tests.support import PASSWORDS, ShopClient, run

CAL = ShopCalendar("Africa/Johannesburg")
KAROO_PHONE = "+27 82 555 0101"


# -- helpers ---------------------------------------------------------------------------------------------


def stamp(moment: datetime) -> str:
    """A UTC moment as the UTC columns store it on SQLite."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def generate(db: Database, by: str = "Test", report_date: date | None = None):  # type: ignore[no-untyped-def]
    return run(generate_daily_report(db, CAL, report_date, generated_by=by))


def split(body: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A .txt's header lines, and (heading, text) for each underlined heading, as a reader sees them."""
    header: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line in SECTIONS and lines[i + 1 : i + 2] == ["-" * len(line)]:
            sections.append((line, []))
            i += 1  # the heading's rule
        elif sections:
            sections[-1][1].append(line)
        elif line.strip():
            header.append(line)
        i += 1
    return header, [(title, "\n".join(text).strip("\n")) for title, text in sections]


def section(body: str, title: str) -> str:
    """The text under one heading."""
    return dict(split(body)[1])[title]


def txt(report) -> str:  # type: ignore[no-untyped-def]
    """A stored report's .txt, as the download gives it."""
    return report_text(report)


def age(db_query, project_id: int, days: float) -> None:  # type: ignore[no-untyped-def]
    """Pretend the project entered its stage ``days`` ago."""
    db_query(
        "UPDATE projects SET stage_changed_at = ? WHERE id = ?", (stamp(utcnow() - timedelta(days=days)), project_id)
    )


def evaluate(db: Database) -> None:
    """The hourly pass, now."""

    async def go() -> None:
        async with db.session(write=True) as session:
            await evaluation.evaluate(session)
            await session.commit()

    run(go())


def code_of(db_query, project_id: int) -> str:  # type: ignore[no-untyped-def]
    return db_query("SELECT project_code FROM projects WHERE id = ?", (project_id,))[0][0]


def queue_item(db_query, project_id: int) -> int:  # type: ignore[no-untyped-def]
    return db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]


def set_queue(manager, db_query, project_id: int, *statuses: str) -> None:  # type: ignore[no-untyped-def]
    item = queue_item(db_query, project_id)
    for status in statuses:
        assert move_queue_item(manager, item, status).status_code == 303


def quote(manager, client_id: int, name: str) -> int:  # type: ignore[no-untyped-def]
    project_id = create_project(manager, client_id, name=name)
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    return project_id


LOW_ITEM = {
    "item_code": "NZ-15", "name": "Nozzle 1.5 mm", "category": "Consumable", "unit": "each",
    "quantity_on_hand": "3", "min_required": "10", "reorder_quantity": "25",
}  # fmt: skip


# -- 1. what to cut today --------------------------------------------------------------------------------


def test_cut_today_lists_the_queue_in_order_with_material_sheets_and_preset(login_as, manager, db, db_query):
    admin = login_as("admin")
    karoo = create_client(manager)
    first = paid_project(manager, karoo, name="Gate panels", sheets_required="4")
    second = paid_project(manager, create_client(manager, "Vaal Fab"), name="Brackets", sheets_required="2")
    cutting = paid_project(manager, karoo, name="Shelving", sheets_required="6")
    blocked = paid_project(manager, karoo, name="Huge job", sheets_required="900")  # waits on material
    preset = {"name": "MS3 fast", "material_type": "Mild Steel", "thickness_mm": "3.00", "is_active": "1"}
    assert admin.post_form("/presets/new", preset).status_code == 303
    preset_id = db_query("SELECT id FROM presets WHERE name = 'MS3 fast'")[0][0]
    db_query("UPDATE projects SET preset_id = ? WHERE id = ?", (preset_id, second))
    db_query("UPDATE projects SET preset_id = NULL WHERE id IN (?, ?)", (first, cutting))
    # Queue order: Brackets, Gate panels, Shelving (moved), and Shelving is being cut with 2 sheets done.
    order = [queue_item(db_query, p) for p in (second, first, cutting, blocked)]
    assert manager.post_form("/queue/reorder", {"item": [str(i) for i in order]}).status_code == 303
    set_queue(manager, db_query, cutting, "In Progress")
    db_query("UPDATE queue_items SET sheets_cut = 2 WHERE project_id = ?", (cutting,))

    body = txt(generate(db))
    text = section(body, CUT_TODAY)
    lines = [line for line in text.splitlines() if re.match(r"\d+\. ", line)]
    assert [line.split()[2] for line in lines] == ["Brackets", "Gate", "Shelving"]
    sheet = "Mild Steel 3.0 mm 3000x1500"
    assert f"1. {code_of(db_query, second)} Brackets — Vaal Fab\n   {sheet} · 2 sheets · preset MS3 fast" in text
    assert f"2. {code_of(db_query, first)} Gate panels — Karoo Steel\n   {sheet} · 4 sheets · no preset yet" in text
    assert (
        "Shelving — Karoo Steel [cutting now]\n   Mild Steel 3.0 mm 3000x1500 · 4 of 6 sheets left · no preset yet"
        in text
    )
    db_query("UPDATE queue_items SET sheets_cut = 6 WHERE project_id = ?", (cutting,))
    assert (
        "Shelving — Karoo Steel [cutting now]\n   Mild Steel 3.0 mm 3000x1500 · all 6 sheets cut · no preset yet"
        in (section(txt(generate(db)), CUT_TODAY))
    )
    assert "Huge job" not in text
    assert "(1 more queued job waits on material — see MATERIAL TO ORDER.)" in text


def test_finished_and_cancelled_jobs_are_not_in_the_cut_list(manager, db, db_query):
    karoo = create_client(manager)
    done = paid_project(manager, karoo, name="Done job")
    gone = paid_project(manager, karoo, name="Gone job")
    set_queue(manager, db_query, done, "In Progress", "Completed")
    set_queue(manager, db_query, gone, "Cancelled")
    assert section(txt(generate(db)), CUT_TODAY) == NOTHING


# -- 2. material to order --------------------------------------------------------------------------------


def test_material_to_order_lists_low_stock_with_shortfall_and_waiting_jobs_with_what_is_missing(
    login_as, manager, db, db_query
):
    admin = login_as("admin")
    assert admin.post_form("/inventory/new", LOW_ITEM).status_code == 303
    karoo = create_client(manager)
    paid_project(manager, karoo, name="Ahead", sheets_required="4")  # claims 4 of the 500
    waiting = paid_project(manager, karoo, name="Big gates", sheets_required="600")
    odd = paid_project(manager, karoo, name="Alu panels", material_type="Aluminium", sheets_required="3")

    text = section(txt(generate(db)), MATERIAL_TO_ORDER)
    assert "Below minimum:\n- NZ-15 Nozzle 1.5 mm: 3 each on hand, minimum 10, short 7, reorder 25" in text
    assert "MS-3-3015" not in text  # 496 left is above its minimum of 10
    assert (
        f"- {code_of(db_query, waiting)} Big gates (Karoo Steel): needs 600 sheets of Mild Steel 3.0 mm 3000x1500, "
        "496 free in stock — missing 104"
    ) in text
    # A sheet nobody stocks: nothing free, all of it missing.
    assert (
        f"- {code_of(db_query, odd)} Alu panels (Karoo Steel): needs 3 sheets of Aluminium 3.0 mm 3000x1500, "
        "0 free in stock — missing 3"
    ) in text
    assert text.index("Below minimum:") < text.index("Jobs short of sheets:")


def test_material_to_order_lists_every_short_job_whatever_its_stage(manager, operator, db, db_query):
    karoo = create_client(manager)
    short = paid_project(manager, karoo, name="Big gates", sheets_required="900")  # waits: 500 on the shelf
    assert operator.post_form("/phone/run/start", {"project_id": str(short), "cut_anyway": "1"}).status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (short,)) == [("cutting",)]

    body = txt(generate(db))
    code = code_of(db_query, short)
    # Being cut without its sheets: still on the order list, and flagged where the cut list names it.
    assert (
        f"- {code} Big gates (Karoo Steel) — cutting, short of sheets: needs 900 sheets of Mild Steel 3.0 mm "
        "3000x1500, 500 free in stock — missing 400"
    ) in section(body, MATERIAL_TO_ORDER)
    assert f"{code} Big gates — Karoo Steel [cutting now, short of sheets]" in section(body, CUT_TODAY)
    page = manager.get("/reports/daily").text
    assert f'<a href="/projects/{short}"><strong>{code}</strong></a> Big gates (Karoo Steel) — ' in page
    assert "cutting, short of sheets" in page


def test_material_to_order_is_empty_when_stock_is_fine(manager, db):
    paid_project(manager, create_client(manager))
    assert section(txt(generate(db)), MATERIAL_TO_ORDER) == NOTHING


# -- 3. clients to contact -------------------------------------------------------------------------------


def test_clients_to_contact_joins_drafts_and_open_waits_per_project_with_name_and_phone(manager, db, db_query):
    karoo = create_client(manager)
    vaal = create_client(manager, "Vaal Fab", phone="+27 16 555 0199")
    slow = quote(manager, karoo, "Slow quote")
    fresh = quote(manager, karoo, "Fresh quote")
    ready = paid_project(manager, vaal, name="Collect me")
    set_queue(manager, db_query, ready, "In Progress", "Completed")  # drafts "ready for collection" at once
    age(db_query, slow, 5)
    age(db_query, fresh, 1)
    evaluate(db)  # raises approval_wait and drafts the follow-up for the slow quote

    text = section(txt(generate(db)), CLIENTS_TO_CONTACT)
    slow_line = next(line for line in text.splitlines() if "Slow quote" in line)
    assert slow_line.startswith(f"- Karoo Steel ({KAROO_PHONE}) — {code_of(db_query, slow)} Slow quote: ")
    assert "Waiting on client approval" in slow_line and "draft ready: Approval follow-up" in slow_line
    assert (
        f"- Vaal Fab (+27 16 555 0199) — {code_of(db_query, ready)} Collect me: draft ready: Ready for collection"
        in text
    )
    assert "Fresh quote" not in text
    assert len(text.splitlines()) == 2


def test_sent_drafts_and_resolved_waits_are_not_listed(manager, db, db_query):
    slow = quote(manager, create_client(manager), "Slow quote")
    age(db_query, slow, 5)
    evaluate(db)
    db_query("UPDATE outbound_drafts SET status = 'sent'")
    db_query("UPDATE notifications SET resolved_at = ?", (stamp(utcnow()),))
    assert section(txt(generate(db)), CLIENTS_TO_CONTACT) == NOTHING


# -- 4. blocked and stalled ------------------------------------------------------------------------------


def test_blocked_and_stalled_uses_the_stage_limits_and_names_the_next_action(manager, db, db_query):
    karoo = create_client(manager)
    paid_project(manager, karoo, name="Ahead", sheets_required="4")
    waiting = paid_project(manager, karoo, name="Big gates", sheets_required="600")
    stalled = paid_project(manager, karoo, name="Stalled cut")
    busy = paid_project(manager, karoo, name="Busy cut")
    slow = quote(manager, karoo, "Slow quote")
    fresh = quote(manager, karoo, "Fresh quote")
    ready = paid_project(manager, karoo, name="Uncollected")
    set_queue(manager, db_query, stalled, "In Progress")
    set_queue(manager, db_query, busy, "In Progress")
    set_queue(manager, db_query, ready, "In Progress", "Completed")
    # Busy cut had a run end an hour ago: cutting, but not stalled.
    run_form = {"operator_id": "3", "cut_time_minutes": "30", "sheets_used": "1", "parts_produced": "5"}
    assert manager.post_form(f"/queue/runs/new/{busy}", run_form).status_code == 303
    for project_id, days in ((waiting, 3), (stalled, 2), (busy, 2), (slow, 5), (fresh, 3.9), (ready, 3)):
        age(db_query, project_id, days)

    text = section(txt(generate(db)), BLOCKED_AND_STALLED)
    assert text.splitlines() == [
        f"- {code_of(db_query, waiting)} Big gates (Karoo Steel) — Waiting on material, 3 days in stage — "
        "next: order 112 sheets of Mild Steel 3.0 mm 3000x1500",  # 600 − (499 on hand − 4 − 4 − 3 claimed)
        f"- {code_of(db_query, stalled)} Stalled cut (Karoo Steel) — Cutting, 2 days in stage — "
        "next: check the machine / log the run",
        f"- {code_of(db_query, slow)} Slow quote (Karoo Steel) — Quote & Approval, 5 days in stage — "
        "next: call client to approve",
        f"- {code_of(db_query, ready)} Uncollected (Karoo Steel) — Ready for pickup, 3 days in stage — "
        "next: call client to collect",
    ]


def test_blocked_and_stalled_reads_the_limits_from_the_shop_settings(manager, db, db_query):
    slow = quote(manager, create_client(manager), "Slow quote")
    age(db_query, slow, 5)
    assert "Slow quote" in section(txt(generate(db)), BLOCKED_AND_STALLED)
    db_query(
        "INSERT INTO shop_settings (key, value, updated_at) VALUES ('limit_quote_days', '10', ?)", (stamp(utcnow()),)
    )
    assert section(txt(generate(db)), BLOCKED_AND_STALLED) == NOTHING


def test_a_job_waiting_on_material_that_stock_now_covers_says_to_queue_it(manager, db, db_query):
    waiting = paid_project(manager, create_client(manager), name="Big gates", sheets_required="600")
    db_query("UPDATE inventory_items SET quantity_on_hand = 1000 WHERE item_code = 'MS-3-3015'")
    text = section(txt(generate(db)), BLOCKED_AND_STALLED)
    assert f"{code_of(db_query, waiting)} Big gates" in text
    assert "next: Mild Steel 3.0 mm 3000x1500 is in stock — move the job to Queued" in text


# -- 5. yesterday's production ---------------------------------------------------------------------------


def test_yesterdays_production_counts_runs_that_ended_yesterday_in_total_and_by_operator(
    login_as, manager, db, db_query
):
    admin = login_as("admin")
    assert admin.post_form("/operators/extra/new", {"display_name": "Sam Extra"}).status_code == 303
    sam = db_query("SELECT id FROM extra_operators WHERE display_name = 'Sam Extra'")[0][0]
    job = paid_project(manager, create_client(manager), name="Gate panels", sheets_required="20")
    today = CAL.today()
    yesterday = (today - timedelta(days=1)).isoformat()

    def log(minutes: str, sheets: str, parts: str, run_date: str, **extra: str) -> None:
        form = {"operator_id": "3", "cut_time_minutes": minutes, "sheets_used": sheets, "parts_produced": parts,
                "run_date": run_date, **extra}  # fmt: skip
        response = manager.post_form(f"/queue/runs/new/{job}", form)
        assert response.status_code == 303, response.text[:500]

    log("60", "2", "30", yesterday)  # Olu Operator
    log("90", "1", "10", yesterday, extra_operator_id=str(sam))  # cut for Sam, logged under Olu
    log("30", "1", "5", yesterday, operator_id="2")  # Mo Manager
    log("45", "3", "40", today.isoformat())  # today: tomorrow's report
    log("45", "3", "40", (today - timedelta(days=2)).isoformat())  # the day before: yesterday's report
    # A run that ended one minute before yesterday began does not count; one ending at its first minute does.
    start = CAL.start_of(today - timedelta(days=1))
    runs = [r[0] for r in db_query("SELECT id FROM laser_runs ORDER BY id")]
    db_query("UPDATE laser_runs SET ended_at = ? WHERE id = ?", (stamp(start - timedelta(minutes=1)), runs[4]))

    text = section(txt(generate(db)), YESTERDAYS_PRODUCTION)
    assert text.splitlines() == [
        "3 runs · 3.0 h cut · 4 sheets · 45 parts",
        "By operator:",
        "- Sam Extra: 1 run · 1.5 h · 1 sheet · 10 parts",
        "- Olu Operator: 1 run · 1.0 h · 2 sheets · 30 parts",
        "- Mo Manager: 1 run · 0.5 h · 1 sheet · 5 parts",
    ]
    db_query("UPDATE laser_runs SET ended_at = ? WHERE id = ?", (stamp(start), runs[4]))
    assert section(txt(generate(db)), YESTERDAYS_PRODUCTION).startswith("4 runs · 3.8 h cut · 7 sheets · 85 parts")


# -- the whole report ------------------------------------------------------------------------------------


def test_an_empty_shop_gets_every_heading_with_nothing_to_report(db):
    report = generate(db, "Mo Manager")
    header, sections = split(txt(report))
    assert header[0] == f"Laser OS Demo Shop — DAILY REPORT {CAL.today().isoformat()} ({CAL.today():%A})"
    assert re.fullmatch(
        r"Generated \d{4}-\d\d-\d\d \d\d:\d\d shop time \(Africa/Johannesburg\) by Mo Manager", header[1]
    )
    assert sections == [(title, NOTHING) for title in SECTIONS]
    assert report.report_date == CAL.today()
    assert report.highlights == {
        "cut_today": 0, "low_stock": 0, "waiting_material": 0, "clients_to_contact": 0, "blocked": 0,
        "runs_yesterday": 0, "cut_hours_yesterday": "0.0", "sheets_yesterday": 0, "parts_yesterday": 0,
    }  # fmt: skip


def test_the_generation_time_is_shown_in_shop_time():
    data = ReportData("Acme Laser", date(2026, 3, 2), datetime(2026, 3, 2, 5, 30, tzinfo=UTC), CAL.zone.key, "System")
    text = daily_text(data)
    assert text.startswith(
        "Acme Laser — DAILY REPORT 2026-03-02 (Monday)\n"
        "Generated 2026-03-02 07:30 shop time (Africa/Johannesburg) by System\n"
    )
    assert [line for line in text.splitlines() if line in SECTIONS] == list(SECTIONS)


def test_highlights_count_each_section_and_total_yesterday():
    data = ReportData("Acme", date(2026, 3, 2), datetime(2026, 3, 2, 5, 30, tzinfo=UTC), CAL.zone.key)
    data.cut = [CutLine("JB-1", "A", "C", "Mild Steel", 2, 2, None, False, "Normal")] * 3
    data.production = [ProductionLine("Olu", 2, Decimal("75"), 3, 30), ProductionLine("Sam", 1, Decimal("45"), 1, 5)]
    marks = highlights(data)
    assert (marks["cut_today"], marks["runs_yesterday"], marks["cut_hours_yesterday"]) == (3, 3, "2.0")
    assert (marks["sheets_yesterday"], marks["parts_yesterday"]) == (4, 35)


def test_highlights_are_stored_with_the_report(login_as, manager, db):
    assert login_as("admin").post_form("/inventory/new", LOW_ITEM).status_code == 303
    karoo = create_client(manager)
    paid_project(manager, karoo)
    paid_project(manager, karoo, sheets_required="900")
    marks = generate(db).highlights
    assert (marks["cut_today"], marks["low_stock"], marks["waiting_material"], marks["blocked"]) == (1, 1, 1, 1)


# -- one report per date ---------------------------------------------------------------------------------


def test_regenerating_a_date_replaces_its_report(manager, db, db_query):
    first = generate(db, "System")
    paid_project(manager, create_client(manager), name="Late arrival")
    second = generate(db, "Mo Manager")
    assert second.id == first.id
    rows = db_query("SELECT count(*), generated_by, data FROM daily_reports")
    assert rows[0][0] == 1 and rows[0][1] == "Mo Manager" and "Late arrival" in rows[0][2]
    assert "Late arrival" in section(txt(second), CUT_TODAY)
    assert second.generated_at > first.generated_at
    assert second.highlights["cut_today"] == 1


def test_each_date_has_its_own_report(db, db_query):
    generate(db, report_date=CAL.today() - timedelta(days=1))
    generate(db)
    assert db_query("SELECT count(*) FROM daily_reports") == [(2,)]


def test_two_generators_at_once_leave_one_report(settings, db_query):
    """Two workers at 07:30 (separate engines, like separate processes) race for the same date."""

    async def race() -> None:
        dbs = [Database.from_settings(settings) for _ in range(3)]
        try:
            await asyncio.gather(
                *(generate_daily_report(d, CAL, generated_by=f"worker {i}") for i, d in enumerate(dbs))
            )
        finally:
            for d in dbs:
                await d.dispose()

    run(race())
    rows = db_query("SELECT report_date, generated_by FROM daily_reports")
    assert len(rows) == 1 and rows[0][0] == CAL.today().isoformat()


def test_a_write_session_can_generate_and_the_report_is_committed(db, db_query):
    async def in_session() -> int:
        async with db.session(write=True) as session:
            report = await generate_daily_report(session, CAL, generated_by="job")
            return report.id

    report_id = run(in_session())
    assert db_query("SELECT id, generated_by FROM daily_reports") == [(report_id, "job")]


# -- the pages -------------------------------------------------------------------------------------------


def test_the_page_explains_when_there_is_no_report_yet(manager, db_query):
    db_query(
        "INSERT INTO shop_settings (key, value, updated_at) VALUES ('daily_report_time', '06:45', ?)",
        (stamp(utcnow()),),
    )
    page = manager.get("/reports/daily")
    assert page.status_code == 200
    assert "No report yet</strong> — it is generated every day at 06:45, or press Generate now." in page.text
    assert 'action="/reports/daily/generate"' in page.text


def test_generate_now_downloads_todays_report_as_text(manager, db_query):
    paid_project(manager, create_client(manager), name="Gate panels")
    response = manager.post_form("/reports/daily/generate")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert (
        response.headers["content-disposition"] == f'attachment; filename="DailyReport_{CAL.today().isoformat()}.txt"'
    )
    body = response.content.decode("utf-8")
    assert [line for line in body.splitlines() if line in SECTIONS] == list(SECTIONS)
    assert "Gate panels" in body and "by Mo Manager" in body
    assert db_query("SELECT count(*), generated_by FROM daily_reports") == [(1, "Mo Manager")]
    # Pressing it again replaces today's report.
    assert manager.post_form("/reports/daily/generate").status_code == 200
    assert db_query("SELECT count(*) FROM daily_reports") == [(1,)]


def test_generate_now_from_htmx_swaps_in_the_report_and_asks_for_the_download(manager, db_query):
    response = manager.post_form("/reports/daily/generate", htmx=True)
    assert response.status_code == 200
    report_id = db_query("SELECT id FROM daily_reports")[0][0]
    assert json.loads(response.headers["hx-trigger"]) == {
        "report-generated": {"download": f"/reports/daily/{report_id}.txt"}
    }
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<article id="daily-report"')
    assert 'id="report-history"' in response.text and 'hx-swap-oob="true"' in response.text
    for title in SECTIONS:
        assert title.capitalize().replace("'", "&#39;") in response.text  # headings in sentence case on the page


def test_a_report_page_and_its_download(manager, db):
    old = generate(db, report_date=CAL.today() - timedelta(days=1))
    latest = generate(db)
    page = manager.get("/reports/daily").text
    assert f'href="/reports/daily/{latest.id}.txt"' in page and "Earlier report" not in page
    older = manager.get(f"/reports/daily/{old.id}")
    assert older.status_code == 200
    assert "Earlier report" in older.text and f'href="/reports/daily/{old.id}.txt"' in older.text
    assert "data-print>Print</button>" in older.text
    download = manager.get(f"/reports/daily/{old.id}.txt")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    expected = f'attachment; filename="DailyReport_{old.report_date.isoformat()}.txt"'
    assert download.headers["content-disposition"] == expected
    assert download.content.decode("utf-8") == txt(old)


def test_the_page_lays_out_each_section_from_the_stored_data_in_the_words_of_the_text(login_as, manager, db, db_query):
    assert login_as("admin").post_form("/inventory/new", LOW_ITEM).status_code == 303
    karoo = create_client(manager)
    job = paid_project(manager, karoo, name="Gate panels <b>", sheets_required="4")
    waiting = paid_project(manager, karoo, name="Big gates", sheets_required="600")
    report = generate(db)
    stored, body_text = db_query("SELECT data, body_text FROM daily_reports")[0]
    assert body_text is None  # the text is rendered from the data, not stored beside it
    data = json.loads(stored)
    assert [line["project_name"] for line in data["cut"]] == ["Gate panels <b>"]
    assert ReportData.from_json(data) == ReportData.from_json(report.data)

    page = manager.get("/reports/daily").text
    code = code_of(db_query, job)
    assert f"<strong>{code}</strong></a> Gate panels &lt;b&gt; — Karoo Steel" in page  # escaped on the page
    assert f'<a href="/projects/{job}"><strong>{code}</strong></a>' in page  # every job links to its page
    assert f"{code} Gate panels <b> — Karoo Steel" in txt(report)  # and as typed in the .txt
    assert "Mild Steel 3.0 mm 3000x1500 · 4 sheets · <strong>no preset yet</strong>" in page
    assert "<strong>NZ-15</strong></a> Nozzle 1.5 mm: 3 each on hand, minimum 10, short 7, reorder 25" in page
    assert (
        f"<strong>{code_of(db_query, waiting)}</strong></a> Big gates (Karoo Steel):\n        needs 600 sheets of "
        "Mild Steel 3.0 mm 3000x1500, 496 free in stock — missing 104"
    ) in page
    assert "Waiting on material, 0 days in stage — next: order 104 sheets of Mild Steel 3.0 mm 3000x1500" in page
    assert page.count('<p class="report-note">Nothing to report.</p>') == 2  # contacts and production
    assert "Made " in page and "shop time (Africa/Johannesburg)" in page


def test_the_page_has_no_inline_script(manager, db):
    """A Content-Security-Policy without 'unsafe-inline' must not break Print or Generate now (app.js)."""
    generate(db)
    page = manager.get("/reports/daily").text
    assert not re.search(r"\son[a-z]+\s*=|hx-on", page, re.IGNORECASE)
    assert "data-print" in page


def test_a_report_stored_before_0004_shows_and_downloads_its_stored_text(settings, login_as, db, db_query):
    """Reports stored as text only have nothing to rebuild their data from: their text is shown as it is."""
    kept = generate(db, report_date=CAL.today() - timedelta(days=1))
    config = alembic_config(settings)
    command.downgrade(config, "0003")
    placeholder = db_query("SELECT body_text FROM daily_reports WHERE id = ?", (kept.id,))[0][0]
    assert placeholder.startswith("This report was stored as data by a newer Laser OS")
    old_text = (
        f"Old Shop — DAILY REPORT 2025-01-06 (Monday)\n\n{CUT_TODAY}\n{'-' * len(CUT_TODAY)}\n1. JB-1 Old <job>\n"
    )
    db_query(
        "INSERT INTO daily_reports (report_date, generated_at, generated_by, body_text, highlights) "
        "VALUES ('2025-01-06', ?, 'System', ?, ?)",
        (stamp(utcnow()), old_text, json.dumps({"cut_today": 1})),
    )
    command.upgrade(config, "head")
    old_id = db_query("SELECT id FROM daily_reports WHERE report_date = '2025-01-06'")[0][0]
    assert db_query("SELECT data FROM daily_reports WHERE id = ?", (old_id,)) == [(None,)]

    # (Going down past 0010 rebuilds the users table on SQLite, which ends every session: sign in again.)
    manager = login_as("manager")
    page = manager.get(f"/reports/daily/{old_id}")
    assert page.status_code == 200
    assert '<pre class="report-text">Old Shop — DAILY REPORT 2025-01-06 (Monday)' in page.text
    assert "1. JB-1 Old &lt;job&gt;" in page.text
    assert manager.get(f"/reports/daily/{old_id}.txt").content.decode("utf-8") == old_text
    assert "2025-01-06" in manager.get("/reports/daily").text  # in the history
    # Regenerating its date replaces the text with data.
    generate(db, report_date=date(2025, 1, 6))
    assert db_query(
        "SELECT count(*), body_text IS NULL, data IS NOT NULL FROM daily_reports WHERE id = ?", (old_id,)
    ) == [(1, 1, 1)]


def test_the_latest_report_is_the_newest_date_not_the_newest_row(manager, db):
    newest = generate(db)
    generate(db, report_date=CAL.today() - timedelta(days=3))  # regenerated later, but for an older date
    page = manager.get("/reports/daily").text
    assert f'href="/reports/daily/{newest.id}.txt"' in page


@pytest.mark.parametrize(
    "path", ["/reports/daily/999", "/reports/daily/999.txt", "/reports/daily/abc", "/reports/daily/1.pdf"]
)
def test_unknown_reports_are_404(manager, path):
    assert manager.get(path).status_code == 404


def test_history_loads_older_pages_when_scrolled_to_and_by_plain_links(manager, db_query):
    today = CAL.today()
    for n in range(35):
        db_query(
            "INSERT INTO daily_reports (report_date, generated_at, generated_by, body_text, highlights) "
            "VALUES (?, ?, 'System', 'text', ?)",
            ((today - timedelta(days=n)).isoformat(), stamp(utcnow()), json.dumps({"cut_today": n})),
        )
    page = manager.get("/reports/daily").text
    history = page[page.index('id="report-history"') :]
    assert history.count('class="history-row') == 30
    assert 'hx-get="/reports/daily?page=2" hx-trigger="revealed"' in history
    assert '<a href="/reports/daily?page=2" rel="next">Older reports</a>' in history
    more = manager.get("/reports/daily?page=2", headers={"hx-request": "true"})
    assert more.status_code == 200 and "<html" not in more.text
    assert more.text.count('class="history-row') == 5
    assert (today - timedelta(days=34)).isoformat() in more.text and "page=3" not in more.text
    plain = manager.get("/reports/daily?page=2").text  # without JavaScript: the whole page
    assert "<html" in plain and plain.count('class="history-row') == 5 and 'rel="prev"' in plain


def test_a_page_number_that_is_not_a_number_is_refused_and_one_below_1_is_the_first(manager, db):
    generate(db)
    assert manager.get("/reports/daily?page=abc").status_code == 400
    for page in ("0", "-3"):
        response = manager.get(f"/reports/daily?page={page}")
        assert response.status_code == 200 and response.text.count('class="history-row') == 1


def test_a_viewer_reads_reports_but_cannot_generate(login_as, db, db_query):
    viewer = login_as("viewer")
    assert "No report yet</strong> — it is generated every day at 07:30.</p>" in viewer.get("/reports/daily").text
    generate(db)
    page = viewer.get("/reports/daily")
    assert page.status_code == 200 and "What to cut today" in page.text
    assert "/reports/daily/generate" not in page.text and "Generate now</button>" not in page.text
    report_id = db_query("SELECT id FROM daily_reports")[0][0]
    assert viewer.get(f"/reports/daily/{report_id}.txt").status_code == 200
    before = db_query("SELECT generated_at FROM daily_reports")
    refused = viewer.post_form("/reports/daily/generate")
    assert refused.status_code == 403
    assert "Only a manager or an admin can generate the daily report." in refused.text
    assert db_query("SELECT generated_at FROM daily_reports") == before


def test_operators_cannot_open_or_generate_reports(login_as, db, db_query):
    report = generate(db)
    operator = login_as("operator")
    for path in ("/reports/daily", f"/reports/daily/{report.id}", f"/reports/daily/{report.id}.txt"):
        assert operator.get(path).status_code == 403, path
    assert operator.post_form("/reports/daily/generate").status_code == 403
    assert db_query("SELECT count(*) FROM daily_reports") == [(1,)]


def test_an_admin_can_generate(login_as, db_query):
    assert login_as("admin").post_form("/reports/daily/generate").status_code == 200
    assert db_query("SELECT generated_by FROM daily_reports") == [("Ada Admin",)]


def test_generate_needs_the_csrf_token(manager, db_query):
    response = manager.post("/reports/daily/generate", follow_redirects=False)
    assert response.status_code == 403
    assert db_query("SELECT count(*) FROM daily_reports") == [(0,)]


def test_anonymous_visitors_are_sent_to_log_in(anon):
    response = anon.get("/reports/daily", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/auth/login"


# -- the dashboard ---------------------------------------------------------------------------------------


def card(page: str, card_id: str) -> tuple[int, str]:
    match = re.search(
        rf'<a class="card stat[^"]*" href="([^"]+)" id="{card_id}"[^>]*><span class="stat-value">(\d+)<', page
    )
    assert match, card_id
    return int(match.group(2)), match.group(1)


def test_the_dashboard_counts_what_needs_attention_and_links_to_each_list(login_as, manager, db, db_query):
    assert login_as("admin").post_form("/inventory/new", LOW_ITEM).status_code == 303
    karoo = create_client(manager)
    slow = quote(manager, karoo, "Slow quote")
    quote(manager, karoo, "Fresh quote")
    for name in ("Ready one", "Ready two"):
        set_queue(manager, db_query, paid_project(manager, karoo, name=name), "In Progress", "Completed")
    paid_project(manager, karoo, name="Big gates", sheets_required="600")
    paid_project(manager, karoo, name="Queued")
    age(db_query, slow, 5)
    evaluate(db)

    page = manager.get("/dashboard").text
    assert card(page, "attn-low-stock") == (1, "/inventory?low=1")
    assert card(page, "attn-approval") == (1, "/notifications/list?type=approval_wait")
    assert card(page, "attn-ready") == (2, "/projects?stage=ready")
    assert card(page, "attn-material") == (1, "/projects?stage=waiting_material")
    assert "No report yet" in page.split('id="report-highlights"')[1]


def test_the_dashboard_shows_the_latest_reports_highlights(manager, db):
    karoo = create_client(manager)
    paid_project(manager, karoo)
    paid_project(manager, karoo, name="Second")
    generate(db)
    part = manager.get("/dashboard").text.split('id="report-highlights"')[1].split("</section>")[0]
    assert f"Daily report · {CAL.today():%a %d %b %Y}" in part and 'href="/reports/daily"' in part
    assert "<strong>2</strong> to cut today" in part
    assert "<strong>0</strong> blocked or stalled" in part


# -- PostgreSQL -----------------------------------------------------------------------------------------


def test_the_report_is_built_and_stored_once_on_postgresql(pg_settings):
    """The upsert, the grouping and the JSON highlights on PostgreSQL (skipped when no server is reachable)."""
    with ShopClient(app=create_app(pg_settings)) as manager:
        assert manager.login("manager", PASSWORDS["manager"]).status_code == 303
        job = paid_project(manager, create_client(manager, "Pg Report Co"), name="Pg gates")
        yesterday = (CAL.today() - timedelta(days=1)).isoformat()
        form = {
            "operator_id": "1",
            "cut_time_minutes": "90",
            "sheets_used": "2",
            "parts_produced": "12",
            "run_date": yesterday,
        }
        assert manager.post_form(f"/queue/runs/new/{job}", form).status_code == 303

    async def race() -> list[int]:
        dbs = [Database.from_settings(pg_settings) for _ in range(2)]
        try:
            reports = await asyncio.gather(
                *(generate_daily_report(d, CAL, generated_by=f"pg {i}") for i, d in enumerate(dbs))
            )
            async with dbs[0].session(write=False) as session:
                assert (await DailyReports(session).history(1, 10)).total == 1
            body = txt(reports[1])
            assert [line for line in body.splitlines() if line in SECTIONS] == list(SECTIONS)
            assert section(body, YESTERDAYS_PRODUCTION).startswith("1 run · 1.5 h cut · 2 sheets · 12 parts")
            assert reports[1].highlights["runs_yesterday"] == 1
            return [r.id for r in reports]
        finally:
            for d in dbs:
                await d.dispose()

    ids = run(race())
    assert ids[0] == ids[1]


def test_a_long_queue_lists_the_first_jobs_and_says_how_many_follow():
    from laseros.domain.reports.daily import CUT_LIST_MAX, CutLine

    data = ReportData("Acme Laser", date(2026, 3, 2), datetime(2026, 3, 2, 5, 30, tzinfo=UTC), CAL.zone.key, "System")
    data.cut = [
        CutLine(f"JB-{n:03d}", "Brackets", "Karoo", "Mild Steel 3.0 mm", 2, 2, "MS3", False, "Normal")
        for n in range(CUT_LIST_MAX + 7)
    ]
    text = daily_text(data)
    assert f"{CUT_LIST_MAX}. JB-{CUT_LIST_MAX - 1:03d}" in text and f"JB-{CUT_LIST_MAX:03d}" not in text
    assert "… and 7 more after these, in queue order (see the Queue page)." in text
    # What gather stores: the listed jobs, and a count of the rest (the same text and highlights).
    kept = ReportData("Acme Laser", data.report_date, data.generated_at, CAL.zone.key, "System")
    kept.cut, kept.cut_beyond = data.cut[:CUT_LIST_MAX], 7
    assert daily_text(ReportData.from_json(json.loads(json.dumps(kept.to_json())))) == text
    assert highlights(kept)["cut_today"] == highlights(data)["cut_today"] == CUT_LIST_MAX + 7
