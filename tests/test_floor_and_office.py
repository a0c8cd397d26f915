"""The floor and the office agree: cancels under a running run, starts without the sheets, one job state.

Each test is something a shop owner saw contradict itself on the first day (issue 11).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from laseros.web.templating import duration
from tests.factories import create_client, create_project, paid_project
from tests.support import STOCKED_SHEET

SHEETS_SQL = "SELECT quantity_on_hand FROM inventory_items WHERE item_code = ?"


def _queue_item(db_query, project_id: int) -> int:
    return db_query("SELECT id FROM queue_items WHERE project_id = ?", (project_id,))[0][0]


def _start(operator, project_id: int, **extra: str):  # type: ignore[no-untyped-def]
    return operator.post_form("/phone/run/start", {"project_id": str(project_id), **extra})


def _running_run(db_query, project_id: int) -> int:
    rows = db_query("SELECT id FROM laser_runs WHERE project_id = ? AND status = 'running'", (project_id,))
    assert len(rows) == 1, rows
    return rows[0][0]


def _on_hand(db_query) -> int:
    return db_query(SHEETS_SQL, (STOCKED_SHEET["item_code"],))[0][0]


# -- cancelling a job that is being cut --------------------------------------------------------------


@pytest.fixture
def cutting_job(manager, operator, db_query):  # type: ignore[no-untyped-def]
    project_id = paid_project(manager, create_client(manager), name="Balustrade panels", sheets_required="4")
    assert _start(operator, project_id).status_code == 303
    return project_id, _queue_item(db_query, project_id), _running_run(db_query, project_id)


def test_cancel_in_the_queue_asks_first_and_says_whose_run_is_going(manager, cutting_job):
    _project_id, item_id, run_id = cutting_job
    asked = manager.post_form(f"/queue/{item_id}/status", {"status": "Cancelled"})
    assert asked.status_code == 303 and asked.headers["location"] == f"/queue/{item_id}/cancel"
    page = manager.get(f"/queue/{item_id}/cancel").text
    assert "A run is going" in page and "Olu Operator" in page and f"run #{run_id}" in page
    assert "End the run and cancel the job" in page


def test_a_job_with_a_running_run_is_never_cancelled_under_it(manager, cutting_job, db_query):
    project_id, item_id, run_id = cutting_job
    refused = manager.post_form(f"/queue/{item_id}/cancel")
    assert refused.status_code == 409 and "is going" in refused.text
    stage = manager.post_form(f"/projects/{project_id}/status", {"stage": "cancelled"})
    assert stage.status_code == 409 and "Olu Operator&#39;s run" in stage.text
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("cutting",)]
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (run_id,)) == [("running",)]


def test_the_cancel_can_end_the_run_with_the_sheets_the_operator_reports(manager, operator, cutting_job, db_query):
    project_id, item_id, run_id = cutting_job
    before = _on_hand(db_query)
    done = manager.post_form(f"/queue/{item_id}/cancel", {"end_run": "1", "sheets_used": "2", "parts_produced": "5"})
    assert done.status_code == 303
    assert db_query("SELECT status, sheets_used, parts_produced FROM laser_runs WHERE id = ?", (run_id,)) == [
        ("completed", 2, 5)
    ]
    assert _on_hand(db_query) == before - 2
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("cancelled",)]
    assert db_query("SELECT status FROM queue_items WHERE id = ?", (item_id,)) == [("Cancelled",)]
    # The operator's phone says so, and a late End Run changes nothing.
    run_page = operator.get(f"/phone/run/{run_id}").text
    assert "This job was cancelled by the office" in run_page
    late = operator.post_form("/phone/run/end", {"run_id": str(run_id), "sheets_used": "3"})
    assert late.status_code == 409 and "the job was cancelled" in late.text
    assert _on_hand(db_query) == before - 2


def test_a_job_without_a_run_is_cancelled_once_confirmed(manager, db_query):
    project_id = paid_project(manager, create_client(manager))
    item_id = _queue_item(db_query, project_id)
    assert "Yes, cancel the job" in manager.get(f"/queue/{item_id}/cancel").text
    assert manager.post_form(f"/queue/{item_id}/cancel").status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("cancelled",)]


def test_only_the_office_cancels(login_as, manager, db_query):
    project_id = paid_project(manager, create_client(manager))
    item_id = _queue_item(db_query, project_id)
    viewer = login_as("viewer")
    assert viewer.get(f"/queue/{item_id}/cancel").status_code == 403
    assert viewer.post_form(f"/queue/{item_id}/cancel").status_code == 403
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("queued",)]


# -- starting a run without the sheets ----------------------------------------------------------------


@pytest.fixture
def short_job(manager, db_query):  # type: ignore[no-untyped-def]
    """A paid job for more sheets than the shelf holds: it waits on material."""
    project_id = paid_project(manager, create_client(manager), name="Big gates", sheets_required="900")
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("waiting_material",)]
    return project_id


def test_start_run_on_a_job_the_shelf_does_not_cover_asks_first_and_writes_nothing(operator, short_job, db_query):
    asked = _start(operator, short_job)
    assert asked.status_code == 409
    assert "Stock says 500 of 900 sheets of Mild Steel 3.0 mm 3000x1500 — cut anyway?" in asked.text
    assert "Cut anyway" in asked.text
    assert db_query("SELECT count(*) FROM laser_runs") == [(0,)]
    assert db_query("SELECT stage FROM projects WHERE id = ?", (short_job,)) == [("waiting_material",)]


def test_a_confirmed_start_is_logged_and_keeps_the_material_alert_up(operator, short_job, db_query):
    assert _start(operator, short_job, cut_anyway="1").status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (short_job,)) == [("cutting",)]
    assert db_query("SELECT short_at_start FROM laser_runs WHERE project_id = ?", (short_job,)) == [(400,)]
    logged = db_query("SELECT details FROM activity_log WHERE action = 'run_started'")[0][0]
    assert "started without the sheets: Stock says 500 of 900 sheets" in logged
    alert = db_query(
        "SELECT severity, message FROM notifications WHERE project_id = ? AND notif_type = 'material_block' "
        "AND resolved_at IS NULL",
        (short_job,),
    )
    assert len(alert) == 1 and alert[0][0] == "urgent" and "being cut without its sheets" in alert[0][1]


def test_a_queued_job_whose_sheets_are_taken_away_goes_back_to_waiting(manager, login_as, db_query):
    first = paid_project(manager, create_client(manager, name="Early client"), name="Early job", sheets_required="300")
    second = paid_project(manager, create_client(manager, name="Late client"), name="Late job", sheets_required="150")
    assert db_query("SELECT stage FROM projects WHERE id IN (?, ?)", (first, second)) == [("queued",), ("queued",)]
    admin = login_as("admin")
    item = db_query("SELECT id FROM inventory_items WHERE item_code = ?", (STOCKED_SHEET["item_code"],))[0][0]
    taken = admin.post_form(
        f"/inventory/{item}/transaction",
        {"transaction_type": "Adjustment", "quantity": "-100", "reference": "damaged", "notes": "rain in the yard"},
    )
    assert taken.status_code == 303
    # 400 left covers the first (300) but not both: the newer POP waits again.
    assert db_query("SELECT stage FROM projects WHERE id = ?", (first,)) == [("queued",)]
    assert db_query("SELECT stage FROM projects WHERE id = ?", (second,)) == [("waiting_material",)]
    assert "Waiting on material" in manager.get("/queue").text


def test_another_jobs_run_can_send_a_queued_job_back_to_waiting(manager, operator, db_query):
    cut = paid_project(manager, create_client(manager, name="Cutter"), name="Cut first", sheets_required="250")
    wait = paid_project(manager, create_client(manager, name="Waiter"), name="Cut next", sheets_required="250")
    assert _start(operator, cut).status_code == 303
    run = _running_run(db_query, cut)
    # The run used 100 sheets more than planned: the shelf no longer covers the next job.
    assert operator.post_form("/phone/run/end", {"run_id": str(run), "sheets_used": "350"}).status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (wait,)) == [("waiting_material",)]


def test_requeueing_a_job_the_shelf_no_longer_covers_leaves_it_waiting(manager, db_query, short_job):
    item_id = _queue_item(db_query, short_job)
    refused = manager.post_form(f"/projects/{short_job}/status", {"stage": "queued"})
    assert refused.status_code == 409 and "Stock says 500 of 900 sheets" in refused.text
    assert db_query("SELECT stage FROM projects WHERE id = ?", (short_job,)) == [("waiting_material",)]
    assert item_id


# -- one state for a job, everywhere ---------------------------------------------------------------------


def test_a_job_waiting_on_material_never_reads_queued(manager, operator, short_job):
    for page in (
        manager.get("/queue").text,
        manager.get(f"/projects/{short_job}").text,
        operator.get("/phone/home").text,
    ):
        card = page[page.index("Big gates") - 2000 : page.index("Big gates") + 2500]
        assert "Waiting on material" in card
        assert ">Queued<" not in card


def test_in_progress_without_a_run_says_so_and_the_dashboard_agrees(manager, db_query):
    project_id = paid_project(manager, create_client(manager), name="Started by hand")
    item_id = _queue_item(db_query, project_id)
    assert manager.post_form(f"/queue/{item_id}/status", {"status": "In Progress"}).status_code == 303
    assert "Cutting — no run going" in manager.get("/queue").text
    dashboard = manager.get("/dashboard").text
    assert re.search(r'stat-value">0</span><span class="stat-label">Runs going now', dashboard)
    assert "Cutting — no run going" in dashboard


def test_a_run_going_names_its_operator_on_the_queue(manager, operator, cutting_job):
    assert "Cutting — Olu Operator" in manager.get("/queue").text


def test_the_stage_picker_starts_on_no_change(manager, db_query):
    project_id = create_project(manager, create_client(manager))
    page = manager.get(f"/projects/{project_id}").text
    assert '<option value="" selected>— no change —</option>' in page
    refused = manager.post_form(f"/projects/{project_id}/status", {"stage": ""})
    assert refused.status_code == 422 and "Choose the stage" in refused.text
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("request",)]


# -- the queue reads as a plan -----------------------------------------------------------------------


def test_a_queue_row_shows_the_plan_and_edits_in_place(manager, db_query):
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    item_id = _queue_item(db_query, project_id)
    row = manager.get(f"/queue/{item_id}/row", headers={"hx-request": "true"}).text
    assert "Gate panels" in row and ">Edit<" in row and 'name="priority"' not in row
    editor = manager.get(f"/queue/{item_id}/row", params={"edit": "1"}, headers={"hx-request": "true"}).text
    assert 'name="priority"' in editor and 'name="scheduled_date"' in editor and "Cancel job…" in editor
    saved = manager.post_form(
        f"/queue/{item_id}/edit",
        {"priority": "Urgent", "scheduled_date": "2026-12-14", "notes": "first thing"},
        htmx=True,
    )
    assert saved.status_code == 200 and "Saved ✓" in saved.text and 'name="priority"' not in saved.text
    assert db_query("SELECT priority, scheduled_date, notes FROM queue_items WHERE id = ?", (item_id,)) == [
        ("Urgent", "2026-12-14", "first thing")
    ]


def test_the_queue_says_what_each_day_holds(manager, db_query):
    for name, minutes in (("Monday job", "90"), ("Also monday", "30")):
        project_id = paid_project(manager, create_client(manager, name=name), name=name, estimated_cut_time=minutes)
        item_id = _queue_item(db_query, project_id)
        manager.post_form(f"/queue/{item_id}/edit", {"priority": "Normal", "scheduled_date": "2026-12-14"})
    page = manager.get("/queue").text
    days = page[page.index('class="day-list"') : page.index("</ul>", page.index('class="day-list"'))]
    assert "Mon 14 Dec" in days and "2 jobs" in days and "2 h" in days and "8 sheets" in days


# -- phone safety ----------------------------------------------------------------------------------


def test_a_run_started_by_mistake_is_taken_back_with_nothing_deducted(manager, operator, db_query):
    project_id = paid_project(manager, create_client(manager))
    before = _on_hand(db_query)
    assert _start(operator, project_id).status_code == 303
    run = _running_run(db_query, project_id)
    assert "Take back this run" in operator.get(f"/phone/run/{run}").text
    assert operator.post_form(f"/phone/run/{run}/discard").status_code == 303
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (run,)) == [("discarded",)]
    assert _on_hand(db_query) == before
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("queued",)]
    assert db_query("SELECT status FROM queue_items WHERE project_id = ?", (project_id,)) == [("Queued",)]
    assert db_query("SELECT count(*) FROM activity_log WHERE action = 'run_discarded'") == [(1,)]


def test_a_run_cannot_be_taken_back_after_five_minutes(manager, operator, db_query, settings):
    import sqlite3

    project_id = paid_project(manager, create_client(manager))
    assert _start(operator, project_id).status_code == 303
    run = _running_run(db_query, project_id)
    earlier = (datetime.now(UTC) - timedelta(minutes=6)).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(settings.data_dir / "laseros.db") as conn:
        conn.execute("UPDATE laser_runs SET started_at = ? WHERE id = ?", (earlier, run))
    assert "Take back this run" not in operator.get(f"/phone/run/{run}").text
    refused = operator.post_form(f"/phone/run/{run}/discard")
    assert refused.status_code == 409 and "more than 5 minutes ago" in refused.text
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (run,)) == [("running",)]


def test_log_out_is_at_the_top_of_the_phone_not_under_the_thumb(operator):
    page = operator.get("/phone/home").text
    top = page[page.index('<header class="phone-top">') : page.index("</header>")]
    assert 'action="/auth/logout"' in top
    assert 'action="/auth/logout"' not in page[page.index("</header>") :]


@pytest.mark.parametrize(
    ("minutes", "said"), [(0.11, "7 s"), (4, "4 min"), (80, "1 h 20 min"), (120, "2 h"), (None, ""), (0, "0 s")]
)
def test_durations_read_as_people_say_them(minutes, said):
    assert duration(minutes) == said
