"""Runs: Start and End on the phone, logging on a PC, and what a run does to stock and the job."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import re
from decimal import Decimal

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import event

from laseros.app import create_app
from laseros.db import Database
from laseros.domain.admin import services as admin_services
from laseros.domain.admin.services import AuthService, UserService
from laseros.domain.clients.schemas import ClientInput
from laseros.domain.clients.services import ClientService
from laseros.domain.inventory.models import TransactionType
from laseros.domain.inventory.services import move_stock
from laseros.domain.kernel.actor import SYSTEM, Actor
from laseros.domain.kernel.shop import ShopCalendar
from laseros.domain.projects.schemas import ProjectInput
from laseros.domain.projects.services import ProjectService
from laseros.domain.runs.services import RunService
from tests.contention import in_processes
from tests.factories import create_client, create_project, paid_project
from tests.support import run as run_async

STOCK_ID_SQL = "SELECT id FROM inventory_items WHERE item_code = 'MS-3-3015'"
ON_HAND_SQL = "SELECT quantity_on_hand FROM inventory_items WHERE item_code = 'MS-3-3015'"
LEDGER_SUM_SQL = (
    "SELECT coalesce(sum(quantity), 0) FROM inventory_transactions t "
    "JOIN inventory_items i ON i.id = t.item_id WHERE i.item_code = 'MS-3-3015'"
)


@pytest.fixture
def job(manager) -> int:
    """A paid Mild Steel 3 mm job (4 sheets) in the queue."""
    return paid_project(manager, create_client(manager), name="Gate panels")


def start(client, project_id: int, **fields):  # type: ignore[no-untyped-def]
    return client.post_form("/phone/run/start", {"project_id": str(project_id), **fields})


def started_run_id(response) -> int:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text[:1500]
    match = re.fullmatch(r"/phone/run/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def end(client, run_id: int, sheets="3", **fields):  # type: ignore[no-untyped-def]
    return client.post_form("/phone/run/end", {"run_id": str(run_id), "sheets_used": sheets, **fields})


def test_the_phone_lists_jobs_with_a_start_button(operator, job):
    page = operator.get("/phone/home").text
    assert "Gate panels" in page and "▶ Start JB-" in page and "Stock ok" in page  # each button names its job


def test_starting_a_run_puts_the_job_into_cutting(operator, job, db_query):
    run_id = started_run_id(start(operator, job))
    assert db_query("SELECT stage FROM projects WHERE id = ?", (job,)) == [("cutting",)]
    assert db_query("SELECT status FROM queue_items WHERE project_id = ?", (job,)) == [("In Progress",)]
    assert db_query("SELECT status, operator_id = logged_by_id FROM laser_runs WHERE id = ?", (run_id,)) == [
        ("running", 1)
    ]
    actions = {row[0] for row in db_query("SELECT action FROM activity_log WHERE entity_type = 'project'")}
    assert "run_started" in actions
    page = operator.get(f"/phone/run/{run_id}").text
    assert 'class="run-timer"' in page and "data-started=" in page and "End Run" in page


def test_the_run_page_warns_in_red_when_the_job_has_no_preset(operator, job):
    page = operator.get(f"/phone/run/{started_run_id(start(operator, job))}").text
    assert "No preset for 3.0 mm Mild Steel" in page and "preset-missing" in page


def test_the_run_page_shows_the_jobs_preset_read_only(login_as, manager, operator, db_query):
    admin = login_as("admin")
    preset = {"name": "MS3 fast", "material_type": "Mild Steel", "thickness_mm": "3.00", "power_w": "3000",
              "speed_mm_min": "2800", "gas": "O2", "pressure_bar": "0.6", "is_active": "1"}  # fmt: skip
    assert admin.post_form("/presets/new", preset).status_code == 303
    project_id = paid_project(manager, create_client(manager))
    page = operator.get(f"/phone/run/{started_run_id(start(operator, project_id))}").text
    assert "MS3 fast" in page and "2800" in page and "preset-missing" not in page
    assert "/presets/" not in page.split('id="run-preset"')[1].split("</section>")[0]  # nothing to edit


def test_a_second_start_names_the_run_already_going(operator, manager, job):
    other = paid_project(manager, create_client(manager, "Cape Signs"), name="Sign letters")
    started_run_id(start(operator, job))
    refused = start(operator, other)
    assert refused.status_code == 409
    code = manager.get(f"/projects/{job}").text.split('<small class="muted">')[1].split("<")[0]
    assert code in refused.text and "End it before starting another" in refused.text


def test_ending_a_finished_job_deducts_stock_and_makes_it_ready(operator, job, db_query):
    before = db_query(ON_HAND_SQL)[0][0]
    run_id = started_run_id(start(operator, job))
    response = end(operator, run_id, "3", parts_produced="40", notes="one sheet scrapped", job_finished="1")
    assert response.status_code == 303 and response.headers["location"] == "/phone/home"
    assert db_query(ON_HAND_SQL)[0][0] == before - 3
    assert db_query(LEDGER_SUM_SQL)[0][0] == before - 3
    code = db_query("SELECT project_code FROM projects WHERE id = ?", (job,))[0][0]
    assert db_query(
        "SELECT transaction_type, quantity, reference, run_id FROM inventory_transactions ORDER BY id DESC LIMIT 1"
    ) == [("Usage", -3, code, run_id)]
    status, minutes, sheets, parts, finished = db_query(
        "SELECT status, cut_minutes, sheets_used, parts_produced, job_finished FROM laser_runs WHERE id = ?", (run_id,)
    )[0]
    assert (status, sheets, parts, finished) == ("completed", 3, 40, 1) and minutes is not None
    assert db_query("SELECT stage FROM projects WHERE id = ?", (job,)) == [("ready",)]
    assert db_query("SELECT status, sheets_cut FROM queue_items WHERE project_id = ?", (job,)) == [("Completed", 3)]


def test_start_run_and_end_run_are_one_write_transaction_each(operator, job, db_query):
    begins: list[str] = []
    event.listen(operator.app.state.db.write_engine.sync_engine, "begin", lambda _conn: begins.append("BEGIN"))
    run_id = started_run_id(start(operator, job))
    assert begins == ["BEGIN"]  # not a second, empty one after the commit
    begins.clear()
    assert end(operator, run_id, job_finished="1").status_code == 303
    assert begins == ["BEGIN"]
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (run_id,)) == [("completed",)]


def test_a_start_runs_activity_rows_are_written_in_one_insert_at_commit(operator, job, db_query):
    """The queue item's status, the job's stage and the run: three rows, one statement, in the action's order."""
    inserts: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO activity_log"):
            inserts.append(statement)

    event.listen(operator.app.state.db.write_engine.sync_engine, "before_cursor_execute", count)
    run_id = started_run_id(start(operator, job))
    assert len(inserts) == 1
    rows = db_query("SELECT action, entity_type, details FROM activity_log ORDER BY id DESC LIMIT 3")[::-1]
    assert [(action, entity) for action, entity, _ in rows] == [
        ("status_changed", "queue"),
        ("stage_changed", "project"),
        ("run_started", "project"),
    ]
    assert rows[2][2] == f"Run #{run_id}"


def test_an_action_that_fails_after_recording_activity_writes_none_of_it(settings, db_query):
    from laseros.db import action
    from laseros.domain.kernel.activity import record_activity
    from laseros.domain.kernel.actor import SYSTEM
    from laseros.domain.kernel.errors import Conflict

    class Failing:
        def __init__(self, session):  # type: ignore[no-untyped-def]
            self.session = session

        @action
        async def go(self) -> None:
            record_activity(self.session, SYSTEM, "tested", "project", 1, "never kept")
            raise Conflict("refused after recording")

        @action
        async def keep(self) -> None:
            record_activity(self.session, SYSTEM, "tested", "project", 1, "kept")

    async def attempt() -> None:
        db = Database.from_settings(settings)
        async with db.session(write="actions") as session:
            with pytest.raises(Conflict):
                await Failing(session).go()
            await Failing(session).keep()  # the next action in the same session writes only its own row
        await db.dispose()

    run_async(attempt())
    assert db_query("SELECT details FROM activity_log WHERE action = 'tested'") == [("kept",)]


def test_ending_a_run_without_finishing_keeps_the_job_cutting(operator, job, db_query):
    run_id = started_run_id(start(operator, job))
    assert end(operator, run_id, "2").status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (job,)) == [("cutting",)]
    assert db_query("SELECT status, sheets_cut FROM queue_items WHERE project_id = ?", (job,)) == [("In Progress", 2)]
    # The next run on the same job starts cleanly.
    assert start(operator, job).status_code == 303


def test_using_more_sheets_than_the_shelf_holds_stops_at_zero_and_records_the_shortfall(
    settings, operator, job, db_query
):
    async def leave_two() -> None:
        db = Database.from_settings(settings)
        async with db.session(write=True) as session:
            stock_id = db_query(STOCK_ID_SQL)[0][0]
            on_hand = db_query(ON_HAND_SQL)[0][0]
            await move_stock(session, stock_id, 2 - on_hand, TransactionType.ADJUSTMENT, SYSTEM, notes="count")
            await session.commit()
        await db.dispose()

    run_async(leave_two())  # the job needs more than the 2 left: the operator is asked, and cuts anyway
    run_id = started_run_id(start(operator, job, cut_anyway="1"))
    response = end(operator, run_id, "5")
    assert response.status_code == 303
    assert db_query(ON_HAND_SQL) == [(0,)] and db_query(LEDGER_SUM_SQL) == [(0,)]
    assert db_query("SELECT quantity, shortfall FROM inventory_transactions ORDER BY id DESC LIMIT 1") == [(-2, 3)]
    assert db_query("SELECT sheets_used, stock_shortfall FROM laser_runs WHERE id = ?", (run_id,)) == [(5, 3)]


@pytest.mark.parametrize("sheets", ["-1", "three", "", "2.5", "99999999"])
def test_bad_sheet_counts_are_refused_and_nothing_is_written(operator, job, db_query, sheets):
    run_id = started_run_id(start(operator, job))
    before = (db_query(ON_HAND_SQL), db_query("SELECT count(*) FROM inventory_transactions"))
    response = end(operator, run_id, sheets, job_finished="1")
    assert response.status_code == 422
    assert "sheets" in response.text.lower()
    assert (db_query(ON_HAND_SQL), db_query("SELECT count(*) FROM inventory_transactions")) == before
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (run_id,)) == [("running",)]


def test_ending_an_ended_run_is_refused(operator, job, db_query):
    run_id = started_run_id(start(operator, job))
    assert end(operator, run_id, "1").status_code == 303
    before = db_query(ON_HAND_SQL)
    again = end(operator, run_id, "1")
    assert again.status_code == 409 and "already ended" in again.text
    assert db_query(ON_HAND_SQL) == before


def test_an_operator_cannot_end_someone_elses_run(login_as, operator, manager, job, db_query):
    managers_run = started_run_id(start(manager, job))
    refused = end(operator, managers_run, "1")
    assert refused.status_code == 403
    assert db_query("SELECT status FROM laser_runs WHERE id = ?", (managers_run,)) == [("running",)]
    # A manager may close an operator's forgotten run.
    other = paid_project(manager, create_client(manager, "Other"))
    operators_run = started_run_id(start(operator, other))
    assert end(manager, operators_run, "0").status_code == 303


@pytest.mark.parametrize("run_id", ["", "abc", "-3"])
def test_an_end_without_a_usable_run_id_is_refused(operator, run_id):
    response = operator.post_form("/phone/run/end", {"run_id": run_id, "sheets_used": "1"})
    assert response.status_code == 422


def test_ending_an_unknown_run_is_404(operator):
    assert end(operator, 999999, "1").status_code == 404
    assert operator.get("/phone/run/999999").status_code == 404


def test_starting_a_job_in_any_stage_puts_it_into_production(operator, manager, db_query):
    project_id = create_project(manager, create_client(manager))  # still a Request, no POP, no queue item
    assert started_run_id(start(operator, project_id))
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("cutting",)]
    assert db_query("SELECT status FROM queue_items WHERE project_id = ?", (project_id,)) == [("In Progress",)]


def test_cutting_for_an_extra_operator_credits_them(login_as, operator, job, db_query):
    admin = login_as("admin")
    assert admin.post_form("/operators/extra/new", {"display_name": "Night shift Nandi"}).status_code == 303
    extra_id = db_query("SELECT id FROM extra_operators")[0][0]
    run_id = started_run_id(start(operator, job, extra_operator_id=str(extra_id)))
    assert "Night shift Nandi" in operator.get(f"/phone/run/{run_id}").text
    assert db_query("SELECT extra_operator_id FROM laser_runs WHERE id = ?", (run_id,)) == [(extra_id,)]


def test_an_unknown_extra_operator_is_refused(operator, job, db_query):
    assert start(operator, job, extra_operator_id="4242").status_code == 422
    assert db_query("SELECT count(*) FROM laser_runs") == [(0,)]


def test_phone_start_with_htmx_redirects_the_browser(operator, job):
    response = operator.post_form("/phone/run/start", {"project_id": str(job)}, htmx=True)
    assert response.status_code == 201 and response.headers["hx-redirect"].startswith("/phone/run/")


def test_viewers_cannot_start_or_end_runs(login_as, job):
    viewer = login_as("viewer", mode="phone")
    assert viewer.get("/phone/home").status_code == 200
    assert start(viewer, job).status_code == 403
    assert end(viewer, 1, "1").status_code == 403


def test_operators_cannot_reach_the_pc_run_pages(operator, job):
    assert operator.get("/queue/runs").status_code == 403
    assert operator.get(f"/queue/runs/new/{job}").status_code == 403
    assert operator.post_form(f"/queue/runs/new/{job}", {"operator_id": "3"}).status_code == 403


# -- PC run log ---------------------------------------------------------------------------------


def log_form(**fields: str) -> dict[str, str]:
    return {"operator_id": "2", "cut_time_minutes": "45", "sheets_used": "2", "parts_produced": "30", **fields}


def test_the_pc_run_form_preselects_who_last_cut_and_you_only_before_anyone_has(manager, job):
    page = manager.get(f"/queue/runs/new/{job}").text
    assert re.search(r'<option value="2" selected>Mo Manager \(You\)</option>', page), page  # no runs yet
    manager.post_form(f"/queue/runs/new/{job}", log_form(operator_id="3"))  # Olu cut it
    page = manager.get(f"/queue/runs/new/{job}").text
    assert re.search(r'<option value="3" selected>Olu Operator</option>', page), page


def test_logging_a_run_on_a_pc_deducts_stock_and_can_finish_the_job(manager, job, db_query):
    before = db_query(ON_HAND_SQL)[0][0]
    response = manager.post_form(f"/queue/runs/new/{job}", log_form(operator_id="3", job_finished="1"))
    assert response.status_code == 303 and response.headers["location"] == f"/projects/{job}"
    assert db_query(ON_HAND_SQL)[0][0] == before - 2
    assert db_query("SELECT operator_id, logged_by_id, status, cut_minutes FROM laser_runs") == [
        (3, 2, "completed", 4500)
    ]
    assert db_query("SELECT stage FROM projects WHERE id = ?", (job,)) == [("ready",)]
    page = manager.get(f"/projects/{job}").text
    assert "Olu Operator" in page and "Production runs" in page


@pytest.mark.parametrize(
    "fields",
    [
        {"cut_time_minutes": "0"},
        {"cut_time_minutes": "abc"},
        {"sheets_used": "-2"},
        {"operator_id": "999"},
        {"operator_id": "4"},  # the viewer cannot run the machine
        {"run_date": "2999-01-01"},
        {"preset_id": "777"},
        {"extra_operator_id": "55"},
    ],
)
def test_bad_pc_run_logs_are_refused_and_nothing_is_written(manager, job, db_query, fields):
    before = db_query(ON_HAND_SQL)
    response = manager.post_form(f"/queue/runs/new/{job}", log_form(**fields))
    assert response.status_code == 422, response.text[:500]
    assert db_query("SELECT count(*) FROM laser_runs") == [(0,)] and db_query(ON_HAND_SQL) == before
    assert db_query("SELECT stage FROM projects WHERE id = ?", (job,)) == [("queued",)]


def test_viewers_cannot_log_runs(login_as, job):
    viewer = login_as("viewer")
    assert viewer.get(f"/queue/runs/new/{job}").status_code == 403
    assert viewer.post_form(f"/queue/runs/new/{job}", log_form()).status_code == 403
    assert viewer.get("/queue/runs").status_code == 200


def test_logging_a_run_for_an_unknown_project_is_404(manager):
    assert manager.get("/queue/runs/new/424242").status_code == 404
    assert manager.post_form("/queue/runs/new/424242", log_form()).status_code == 404


def test_the_run_list_filters_by_date_operator_and_project(manager, operator, job, db_query):
    other = paid_project(manager, create_client(manager, "Other"), name="Other job")
    manager.post_form(f"/queue/runs/new/{job}", log_form(operator_id="3", run_date="2026-01-05"))
    manager.post_form(f"/queue/runs/new/{other}", log_form(operator_id="2", run_date="2026-02-10"))
    codes = dict(db_query("SELECT id, project_code FROM projects"))

    def shown(query: str) -> set[str]:
        return {code for code in codes.values() if code in manager.get(f"/queue/runs{query}").text}

    assert shown("") == set(codes.values())
    assert shown("?start=2026-02-01&end=2026-02-28") == {codes[other]}
    assert shown("?operator=u3") == {codes[job]}
    assert shown(f"?project_id={other}") == {codes[other]}
    assert shown(f"?q={codes[job]}") == {codes[job]}
    assert shown("?start=not-a-date") == set(codes.values())
    fragment = manager.get("/queue/runs?operator=u2", headers={"hx-request": "true"}).text
    assert "<html" not in fragment and codes[other] in fragment


def test_runs_export_as_csv_with_the_same_filters(manager, job):
    manager.post_form(f"/queue/runs/new/{job}", log_form(operator_id="3"))
    response = manager.get("/queue/runs?format=csv&operator=u3")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["id", "project_id", "project_code"] and "sheets_used" in rows[0]
    assert len(rows) == 2 and rows[1][rows[0].index("operator_name")] == "Olu Operator"


def test_a_project_with_runs_cannot_be_deleted(manager, job, db_query):
    manager.post_form(f"/queue/runs/new/{job}", log_form())
    response = manager.post_form(f"/projects/{job}/delete")
    assert response.status_code == 409 and "cancel it instead" in response.text
    assert db_query("SELECT count(*) FROM projects WHERE id = ?", (job,)) == [(1,)]


# -- concurrency --------------------------------------------------------------------------------


END_RUN_SHEETS = [random.Random(50).randint(1, 12) for _ in range(50)]  # 50 operators' sheets used
END_RUN_START_STOCK = 200  # less than their sum, so the last deductions are clamped


def fifty_running_runs(settings, db_query) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    """The sheet at END_RUN_START_STOCK and 50 operators with a run going each: their session tokens and run ids."""
    calendar = ShopCalendar("Africa/Johannesburg")

    async def prepare() -> list[tuple[str, int]]:
        db = Database.from_settings(settings)
        async with db.session(write=True) as session:
            stock_id = db_query(STOCK_ID_SQL)[0][0]
            on_hand = db_query(ON_HAND_SQL)[0][0]
            await move_stock(
                session, stock_id, END_RUN_START_STOCK - on_hand, TransactionType.ADJUSTMENT, SYSTEM, notes="count"
            )
            await session.commit()
        manager = Actor(2, "Mo Manager")
        async with db.session(write=True) as session:
            client = await ClientService(session, manager).create(
                ClientInput(name="Busy Client", contact_person="", email="", phone="", address="", notes="")
            )
        sessions = []
        for number in range(50):
            async with db.session(write=True) as session:
                user = await UserService(session).create(f"op{number}", "op-password", "operator", f"Operator {number}")
            async with db.session(write=True) as session:
                projects = ProjectService(session, manager, calendar)
                project = await projects.create(
                    ProjectInput(
                        client_id=client.id,
                        name=f"Job {number}",
                        description="",
                        material_type="Mild Steel",
                        thickness_mm=Decimal("3.00"),
                        sheet_size="3000x1500",
                        sheets_required=1,
                        parts_quantity=None,
                        estimated_cut_time=None,
                        quoted_price=None,
                        due_date=None,
                    )
                )
            async with db.session(write=True) as session:
                run = await RunService(session, Actor(user.id, user.display_name), calendar).start(project.id)
            async with db.session(write=True) as session:
                token = await AuthService(session).login(f"op{number}", "op-password", None, None)
            sessions.append((token, run.id))
        await db.dispose()
        return sessions

    # Fifty logins are set-up, not what is tested: a cheap argon2 cost keeps them quick (verifying reads the
    # cost from the hash itself).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(admin_services, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        return asyncio.run(prepare())


def assert_every_end_run_counted(db_query) -> None:  # type: ignore[no-untyped-def]
    """Stock = start − sum (never below 0) = the ledger's sum, with every shortfall and every run recorded."""
    expected = max(END_RUN_START_STOCK - sum(END_RUN_SHEETS), 0)
    assert db_query(ON_HAND_SQL) == [(expected,)]
    assert db_query(LEDGER_SUM_SQL) == [(expected,)]
    usage = db_query(
        "SELECT -sum(quantity), sum(shortfall), count(*) FROM inventory_transactions WHERE transaction_type = 'Usage'"
    )
    used = END_RUN_START_STOCK - expected
    assert usage == [(used, sum(END_RUN_SHEETS) - used, 50)]
    assert db_query("SELECT count(*) FROM laser_runs WHERE status = 'completed'") == [(50,)]


def test_fifty_concurrent_end_runs_against_one_stock_item_lose_nothing(settings, db_query):
    """50 operators end their runs at once through one app (its writers queue on its one write connection)."""
    tokens = fifty_running_runs(settings, db_query)
    app = create_app(settings)

    async def fire() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as browser:
            login_page = await browser.get("/auth/login")
            csrf = login_page.cookies["csrftoken"]

            async def end_one(token: str, run_id: int, used: int) -> httpx.Response:
                return await browser.post(
                    "/phone/run/end",
                    data={"run_id": str(run_id), "sheets_used": str(used), "job_finished": "1"},
                    headers={"x-csrftoken": csrf, "cookie": f"csrftoken={csrf}; laseros_session={token}"},
                )

            ends = zip(tokens, END_RUN_SHEETS, strict=True)
            return await asyncio.gather(*(end_one(t, r, n) for (t, r), n in ends))

    responses = asyncio.run(fire())
    statuses = [r.status_code for r in responses]
    assert statuses == [303] * 50, [r.text[:300] for r in responses if r.status_code != 303][:3]
    assert not any("database is locked" in r.text for r in responses)
    assert_every_end_run_counted(db_query)


def test_fifty_end_runs_at_once_from_five_web_processes_lose_nothing(settings, db_query, tmp_path):
    """The same 50 End Runs, ten from each of five web processes: they contend for SQLite's lock itself."""
    runs = [
        [token, run_id, used]
        for (token, run_id), used in zip(fifty_running_runs(settings, db_query), END_RUN_SHEETS, strict=True)
    ]
    outcomes = in_processes(settings, "end-runs", [{"runs": runs[n::5]} for n in range(5)], tmp_path)
    assert [outcome["errors"] for outcome in outcomes] == [[]] * 5  # no "database is locked", no refusal
    assert [outcome["results"] for outcome in outcomes] == [[303] * 10] * 5
    assert_every_end_run_counted(db_query)


def test_the_dashboard_counts_runs_going_and_items_low_on_stock(manager, operator, job):
    def card(label: str) -> str:
        page = manager.get("/dashboard").text
        return page.split(label)[0].rsplit('class="stat-value">', 1)[1].split("<")[0]

    assert card("Runs going now") == "0" and card("Low stock") == "0"
    started_run_id(start(operator, job))
    manager.post_form("/inventory/1/transaction", {"transaction_type": "Usage", "quantity": "495"})
    assert card("Runs going now") == "1" and card("Low stock") == "1"
