"""Projects: creation with codes, validation, filters, the stage table, POP received."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sqlite3
import tracemalloc
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient

from laseros.app import create_app
from laseros.domain.projects.stages import TRANSITIONS, Stage
from tests.contention import in_processes
from tests.factories import PROJECT_DEFAULTS, create_client, create_project, paid_project, results
from tests.support import PASSWORDS


def test_project_codes_follow_the_client_sequence(manager, db_query):
    karoo = create_client(manager, "Karoo")
    cape = create_client(manager, "Cape")
    create_project(manager, karoo)
    create_project(manager, karoo)
    create_project(manager, cape)
    codes = [row[0] for row in db_query("SELECT project_code FROM projects ORDER BY id")]
    assert [re.sub(r"JB-\d{4}-\d{2}-", "JB-YYYY-MM-", c) for c in codes] == [
        "JB-YYYY-MM-CL0001-001",
        "JB-YYYY-MM-CL0001-002",
        "JB-YYYY-MM-CL0002-001",
    ]


def test_a_new_project_starts_in_request_with_its_fields(manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    row = db_query(
        "SELECT stage, material_type, thickness_mm, sheet_size, sheets_required, quoted_price, due_date "
        "FROM projects WHERE id = ?",
        (project_id,),
    )
    assert row == [("request", "Mild Steel", 300, "3000x1500", 4, 450000, "2026-12-15")]
    page = manager.get(f"/projects/{project_id}").text
    assert "Request" in page and "R 4,500.00" in page and "3.0 mm" in page
    assert "Mark POP received" in page


def test_new_project_form_offers_the_thickness_list_and_settings_defaults(manager):
    create_client(manager)
    form = manager.get("/projects/new").text
    for label in ("0.47 mm", "0.53 mm", "1.0 mm", "2.5 mm", "16.0 mm"):
        assert f">{label}<" in form
    for material in ("Mild Steel", "Stainless Steel", "Galvanised", "Aluminium"):
        assert f">{material}<" in form
    assert ">3000x1500<" in form and ">2500x1250<" in form


BAD_PROJECT_INPUT = [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "y" * 10_000}, "name", "200 characters or fewer"),
    ({"client_id": ""}, "client_id", "Choose one."),
    ({"client_id": "abc"}, "client_id", "Choose one from the list."),
    ({"client_id": "999"}, "client_id", "Choose a client from the list."),
    ({"thickness_mm": "7.00"}, "thickness_mm", "Choose a thickness from the list"),
    ({"thickness_mm": "three"}, "thickness_mm", "Choose a thickness from the list"),
    ({"material_type": "Unobtainium"}, "material_type", "Choose one of"),
    ({"sheet_size": "9x9"}, "sheet_size", "Choose one of"),
    ({"sheets_required": "-1"}, "sheets_required", "at least 0"),
    ({"sheets_required": "two"}, "sheets_required", "Enter a whole number."),
    ({"sheets_required": "1.5"}, "sheets_required", "Enter a whole number."),
    ({"parts_quantity": "-5"}, "parts_quantity", "at least 0"),
    ({"estimated_cut_time": "abc"}, "estimated_cut_time", "Enter a whole number."),
    ({"quoted_price": "-10"}, "quoted_price", "zero or more"),
    ({"quoted_price": "lots"}, "quoted_price", "Enter an amount"),
    ({"quoted_price": "10.555"}, "quoted_price", "two decimal places"),
    ({"quoted_price": "NaN"}, "quoted_price", "Enter an amount"),
    ({"due_date": "31/12/2026"}, "due_date", "YYYY-MM-DD"),
    ({"due_date": "2026-02-30"}, "due_date", "YYYY-MM-DD"),
    ({"description": "d" * 10_000}, "description", "2000 characters or fewer"),
]


@pytest.mark.parametrize(("fields", "field", "message"), BAD_PROJECT_INPUT)
def test_bad_project_input_is_422_and_writes_nothing(manager, db_query, fields, field, message):
    client_id = create_client(manager)
    data = {**PROJECT_DEFAULTS, "client_id": str(client_id), "name": "Kept name", **fields}
    response = manager.post_form("/projects/new", data)
    assert response.status_code == 422, response.text[:300]
    assert message in response.text
    assert f'id="e-{field}"' in response.text
    if field != "name":
        assert 'value="Kept name"' in response.text
    assert db_query("SELECT count(*) FROM projects") == [(0,)]
    assert db_query("SELECT count(*) FROM activity_log WHERE entity_type='project'") == [(0,)]


def test_bad_edit_keeps_the_project_as_it_was(manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id, name="Original")
    data = {**PROJECT_DEFAULTS, "client_id": str(client_id), "name": "Changed", "sheets_required": "-3"}
    response = manager.post_form(f"/projects/{project_id}/edit", data)
    assert response.status_code == 422
    assert 'value="-3"' in response.text
    assert db_query("SELECT name, sheets_required FROM projects") == [("Original", 4)]


def test_editing_a_project_updates_the_queue_estimate(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    data = {**PROJECT_DEFAULTS, "client_id": str(client_id), "estimated_cut_time": "240"}
    assert manager.post_form(f"/projects/{project_id}/edit", data).status_code == 303
    assert db_query("SELECT estimated_minutes FROM queue_items") == [(240,)]


def test_unknown_project_is_404(manager):
    for path in ("/projects/999", "/projects/999/edit"):
        assert manager.get(path).status_code == 404
    for path in ("/projects/999/edit", "/projects/999/delete", "/projects/999/status", "/projects/999/pop"):
        assert manager.post_form(path, {"stage": "quote"}).status_code == 404


def test_filters_by_stage_client_and_search(manager):
    karoo = create_client(manager, "Karoo")
    cape = create_client(manager, "Cape")
    create_project(manager, karoo, name="Gate panels")
    quoted = create_project(manager, cape, name="Sign letters")
    manager.post_form(f"/projects/{quoted}/status", {"stage": "quote"})
    assert "Sign letters" in results(manager.get("/projects", params={"stage": "quote"}).text)
    assert "Gate panels" not in results(manager.get("/projects", params={"stage": "quote"}).text)
    by_client = results(manager.get("/projects", params={"client_id": karoo}).text)
    assert "Gate panels" in by_client and "Sign letters" not in by_client
    searched = results(manager.get("/projects", params={"q": "SIGN"}).text)
    assert "Sign letters" in searched and "Gate panels" not in searched
    by_code = results(manager.get("/projects", params={"q": "CL0001-001"}).text)
    assert "Gate panels" in by_code
    fragment = manager.get("/projects", params={"stage": "quote"}, headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<div id="results">')


def test_search_is_answered_by_the_trigram_index_kept_in_step_with_projects(manager, db_query):
    client_id = create_client(manager, "Karoo")
    shelf = create_project(manager, client_id, name="Shelf brackets")
    create_project(manager, client_id, name="Gate panels")
    odd = create_project(manager, client_id, name='50% off_cut "rush"')
    gone = create_project(manager, client_id, name="Bracket spares")

    def found(term: str) -> set[str]:
        response = manager.get("/projects", params={"q": term})
        assert response.status_code == 200, term
        page = results(response.text)
        return {name for name in ("Shelf brackets", "Gate panels", "50% off_cut", "Bracket spares") if name in page}

    assert found("BRACKET") == {"Shelf brackets", "Bracket spares"}
    assert found("ate pan") == {"Gate panels"}
    assert found('t "ru') == {"50% off_cut"}  # quotes and wildcards are text, not query syntax
    assert found("0% off_") == {"50% off_cut"} and found("%") == {"50% off_cut"} and found("_") == {"50% off_cut"}
    assert found("CL0001") == {"Shelf brackets", "Gate panels", "50% off_cut", "Bracket spares"}
    for hostile in ('"', '" OR "', "NEAR(a b)", "*", "a AND NOT b", "'; DROP TABLE projects; --", "\\"):
        found(hostile)  # a plain search, never a 500
    # Renamed and deleted projects leave the index with the table (the triggers).
    renamed = {**PROJECT_DEFAULTS, "client_id": str(client_id), "name": "Wall hooks"}
    assert manager.post_form(f"/projects/{shelf}/edit", renamed).status_code == 303
    assert manager.post_form(f"/projects/{gone}/delete").status_code == 303
    assert found("bracket") == set()
    assert "Wall hooks" in results(manager.get("/projects", params={"q": "hooks"}).text)
    indexed = db_query("SELECT rowid FROM projects_search WHERE projects_search MATCH '\"hook\"'")
    assert indexed == [(shelf,)]
    assert db_query("SELECT rowid FROM projects_search WHERE projects_search MATCH '\"rush\"'") == [(odd,)]
    # The index holds every project, as the table does.
    assert db_query("SELECT count(*) FROM projects_search") == db_query("SELECT count(*) FROM projects")


@pytest.mark.parametrize("few_matches", [0, 1_000])
def test_a_search_page_is_the_same_by_the_index_or_by_the_newest_first_walk(manager, monkeypatch, few_matches):
    from laseros.domain.projects import services

    monkeypatch.setattr(services, "FEW_MATCHES", few_matches)  # 0: always the walk; 1 000: always the index
    client_id = create_client(manager, "Karoo")
    for number in range(4):
        create_project(manager, client_id, name=f"Bracket {number}")
    create_project(manager, client_id, name="Gate panels")
    page = results(manager.get("/projects", params={"q": "bracket", "per_page": "3"}).text)
    shown = re.findall(r"Bracket \d", page)
    assert "of 4" in page and shown[:3] == ["Bracket 3", "Bracket 2", "Bracket 1"], page[:400]
    quoted = create_project(manager, client_id, name="Bracket quoted")
    manager.post_form(f"/projects/{quoted}/status", {"stage": "quote"})
    filtered = results(manager.get("/projects", params={"q": "bracket", "stage": "quote"}).text)
    assert "Bracket quoted" in filtered and "Bracket 3" not in filtered and "of 1" in filtered


def test_projects_list_is_paginated_newest_first(manager):
    client_id = create_client(manager)
    for number in range(27):
        create_project(manager, client_id, name=f"Job {number:02d}")
    first = results(manager.get("/projects").text)
    assert "Job 26" in first and "Job 01" not in first and "Showing 1–25 of 27" in first
    second = results(manager.get("/projects", params={"page": 2}).text)
    assert "Job 01" in second and "Job 00" in second


@pytest.mark.parametrize("start", list(Stage))
def test_every_stage_move_follows_the_transition_table(app, settings, start, login_as):
    """For each stage, allowed moves succeed and every other move is 409 and changes nothing."""
    manager = login_as("manager")
    client_id = create_client(manager)
    for target in Stage:
        if target == start:
            continue
        project_id = create_project(manager, client_id)
        _force_stage(settings, project_id, start)
        response = manager.post_form(f"/projects/{project_id}/status", {"stage": target.value})
        stage_now = _stage(settings, project_id)
        if target in TRANSITIONS[start]:
            assert response.status_code == 303, (start, target)
            assert stage_now == target.value
        else:
            assert response.status_code == 409, (start, target)
            assert "cannot move to" in response.text
            assert stage_now == start.value


def test_a_refused_move_writes_nothing(manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    before = db_query("SELECT count(*) FROM activity_log")
    response = manager.post_form(f"/projects/{project_id}/status", {"stage": "delivered"})
    assert response.status_code == 409
    assert "A project in Request cannot move to Delivered" in response.text
    assert db_query("SELECT count(*) FROM activity_log") == before


def test_unknown_stage_is_422(manager):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "teleported"}).status_code == 422


def test_stage_change_stamps_time_and_logs_who(manager, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    db_query("UPDATE projects SET stage_changed_at = '2020-01-01 00:00:00' WHERE id = ?", (project_id,))
    sent = datetime.now(UTC).replace(tzinfo=None)
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    answered = datetime.now(UTC).replace(tzinfo=None)
    stage, changed_at = db_query("SELECT stage, stage_changed_at FROM projects WHERE id = ?", (project_id,))[0]
    assert stage == "quote"
    assert sent <= datetime.fromisoformat(changed_at) <= answered  # stamped by the change, in UTC
    assert db_query("SELECT actor, details FROM activity_log WHERE action='stage_changed'") == [
        ("Mo Manager", "Request → Quote & Approval (changed by hand)")
    ]


def test_pop_received_queues_the_project_last_in_one_go(manager, db_query):
    client_id = create_client(manager)
    first = paid_project(manager, client_id)
    project_id = create_project(manager, client_id, estimated_cut_time="75")
    manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"})
    response = manager.post_form(f"/projects/{project_id}/pop")
    assert response.status_code == 303
    project = db_query(
        "SELECT stage, pop_received, pop_received_date, pop_deadline FROM projects WHERE id = ?", (project_id,)
    )[0]
    assert project[0] == "queued" and project[1] == 1
    from datetime import date

    received, deadline = date.fromisoformat(project[2]), date.fromisoformat(project[3])
    assert (deadline - received).days == 10
    items = db_query(
        "SELECT project_id, status, priority, estimated_minutes, scheduled_date FROM queue_items ORDER BY rank"
    )
    assert [i[0] for i in items] == [first, project_id]  # placed last
    assert items[1][1:4] == ("Queued", "Normal", 75)
    assert date.fromisoformat(items[1][4]).weekday() < 5  # next business day
    assert date.fromisoformat(items[1][4]) > received
    actions = [r[0] for r in db_query("SELECT action FROM activity_log WHERE entity_id IN (?, ?)", (project_id, 2))]
    assert "pop_received" in actions and "stage_changed" in actions
    page = manager.get(f"/projects/{project_id}").text
    assert "#2" in page and "Queued (ready to cut)" in page


def test_marking_pop_twice_is_refused(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    before = db_query("SELECT count(*) FROM activity_log")
    response = manager.post_form(f"/projects/{project_id}/pop")
    assert response.status_code == 409
    assert "already received" in response.text
    assert db_query("SELECT count(*) FROM queue_items") == [(1,)]
    assert db_query("SELECT count(*) FROM activity_log") == before


def test_pop_is_refused_outside_request_and_quote(manager, settings, db_query):
    client_id = create_client(manager)
    project_id = create_project(manager, client_id)
    _force_stage(settings, project_id, Stage.DELIVERED)
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 409
    assert db_query("SELECT count(*) FROM queue_items") == [(0,)]


def test_cancelling_a_project_cancels_its_queue_item(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "cancelled"}).status_code == 303
    assert db_query("SELECT status FROM queue_items") == [("Cancelled",)]


def test_delivered_sets_the_completion_date(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    for stage in ("cutting", "ready", "delivered"):
        assert manager.post_form(f"/projects/{project_id}/status", {"stage": stage}).status_code == 303
    assert db_query("SELECT stage, completion_date IS NOT NULL FROM projects") == [("delivered", 1)]
    assert db_query("SELECT status FROM queue_items") == [("Completed",)]


def test_project_page_shows_the_timeline(manager):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    page = manager.get(f"/projects/{project_id}").text
    for text in ("created", "pop received", "added to the queue", "Request → Queued (ready to cut) (POP received)"):
        assert text in page


def test_deleting_a_project(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    assert manager.post_form(f"/projects/{project_id}/delete").status_code == 303
    assert db_query("SELECT count(*) FROM projects") == [(0,)]
    assert db_query("SELECT count(*) FROM queue_items") == [(0,)]


def test_twenty_concurrent_creations_get_twenty_distinct_codes(settings, manager, db_query):
    """Twenty at once through one app (its writers queue on its one write connection)."""
    client_id = create_client(manager)

    async def run() -> list[int]:
        async with AsyncTestClient(app=create_app(settings)) as client:
            await client.get("/auth/login")
            token = client.cookies["csrftoken"]
            headers = {"x-csrftoken": token}
            login = {"username": "manager", "password": PASSWORDS["manager"]}
            await client.post("/auth/login", data=login, headers=headers)

            async def create(number: int) -> int:
                data = {**PROJECT_DEFAULTS, "client_id": str(client_id), "name": f"Rush job {number}"}
                response = await client.post("/projects/new", data=data, headers=headers, follow_redirects=False)
                return response.status_code

            return await asyncio.gather(*(create(n) for n in range(20)))

    statuses = asyncio.run(run())
    assert statuses == [303] * 20
    codes = [row[0] for row in db_query("SELECT project_code FROM projects")]
    assert len(codes) == 20 and len(set(codes)) == 20
    suffixes = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert suffixes == list(range(1, 21))


def test_twenty_projects_created_at_once_in_four_web_processes_get_twenty_codes_without_gaps(
    settings, manager, db_query, tmp_path
):
    """The same, from four web processes: their writers meet SQLite's lock, not one app's queue."""
    client_id = create_client(manager)
    fields = {**PROJECT_DEFAULTS, "client_id": str(client_id)}
    jobs = [
        {"password": PASSWORDS["manager"], "fields": fields, "prefix": f"Rush job {p}", "count": 5} for p in range(4)
    ]
    outcomes = in_processes(settings, "create-projects", jobs, tmp_path)
    assert [outcome["errors"] for outcome in outcomes] == [[]] * 4  # no "database is locked", no refusal
    assert [outcome["results"] for outcome in outcomes] == [[303] * 5] * 4
    codes = [row[0] for row in db_query("SELECT project_code FROM projects")]
    assert len(codes) == 20 and len(set(codes)) == 20
    assert sorted(int(code.rsplit("-", 1)[1]) for code in codes) == list(range(1, 21))


def test_projects_csv_has_spec_columns_and_the_stage_key(manager):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id)
    create_project(manager, client_id, name="Not paid")
    response = manager.get("/projects", params={"format": "csv", "stage": "queued"})
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == str(project_id) and row["stage"] == "queued" and row["client_code"] == "CL-0001"
    for column in (
        "project_code",
        "client_id",
        "name",
        "material_type",
        "thickness_mm",
        "sheet_size",
        "sheets_required",
        "parts_quantity",
        "estimated_cut_time",
        "quoted_price",
        "due_date",
        "stage_changed_at",
        "pop_received_date",
        "created_at",
        "updated_at",
    ):
        assert column in row
    assert row["thickness_mm"] == "3.00" and row["quoted_price"] == "4500.00"


def test_a_fifty_thousand_row_export_streams_without_loading_everything(manager, settings):
    client_id = create_client(manager)
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.executemany(
            "INSERT INTO projects (project_code, client_id, name, description, stage, stage_changed_at, material_type,"
            " sheet_size, pop_received, created_at, updated_at) VALUES (?, ?, ?, '', 'delivered',"
            " '2020-01-01 00:00:00', 'Mild Steel', '3000x1500', 1, '2020-01-01 00:00:00', '2020-01-01 00:00:00')",
            [(f"JB-2020-01-CL0001-{n:05d}", client_id, f"Bulk job {n}") for n in range(50_000)],
        )
    tracemalloc.start()
    rows = 0
    with manager.stream("GET", "/projects", params={"format": "csv"}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.strip():
                rows += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 50_001  # header + every project
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def _force_stage(settings, project_id: int, stage: Stage) -> None:
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE projects SET stage = ? WHERE id = ?", (stage.value, project_id))


def _stage(settings, project_id: int) -> str:
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        return conn.execute("SELECT stage FROM projects WHERE id = ?", (project_id,)).fetchone()[0]


def test_typing_a_search_reloads_the_list_without_the_filter_forms_client_list(manager):
    """The htmx fragment is the results block: the client choices its form already shows are not read again."""
    from sqlalchemy import event

    create_project(manager, create_client(manager, name="Karoo Steel"), name="Gate panels")
    statements: list[str] = []
    event.listen(
        manager.app.state.db.engine.sync_engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, *args: statements.append(sql),
    )
    fragment = manager.get("/projects?q=Gate", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "Gate panels" in fragment.text and "All clients" not in fragment.text
    assert not [sql for sql in statements if "FROM clients ORDER BY" in sql]
    page = manager.get("/projects?q=Gate")
    assert ">Karoo Steel (" in page.text and [sql for sql in statements if "FROM clients ORDER BY" in sql]
