"""Notifications: the stage-age rules at their limits, low stock, presets, and how they are kept in step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from laseros.db import Database
from laseros.domain.kernel.actor import SYSTEM
from laseros.domain.notifications.bell import on_bell_change, open_count
from laseros.domain.notifications.evaluate import Evaluation, evaluate
from laseros.domain.notifications.models import DraftKind, Notification, NotificationType, OutboundDraft, Severity
from laseros.domain.notifications.rules import ItemFacts, ProjectFacts, item_alerts, limits_from, project_alerts
from laseros.domain.notifications.services import NotificationService
from laseros.domain.notifications.watch import set_wake_up_scheduler, watch_everything
from laseros.domain.projects.models import Project
from laseros.domain.projects.stages import Stage
from tests.factories import create_client, create_project, paid_project
from tests.support import run

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
LIMITS = limits_from({})


def facts(stage: Stage, age: timedelta, **overrides: object) -> ProjectFacts:
    values: dict[str, object] = {
        "id": 7, "project_code": "JB-2026-11-CL0001-001", "name": "Gate panels", "client_id": 1,
        "client_name": "Karoo Steel", "stage": stage, "stage_changed_at": NOW - age, "material_type": "Mild Steel",
        "thickness_mm": Decimal("3.00"), "sheet_size": "3000x1500", "sheets_required": 4, "preset_id": 1,
        "pop_deadline": None, "due_date": None,
    }  # fmt: skip
    return ProjectFacts(**{**values, **overrides})  # type: ignore[arg-type]


def kinds(stage: Stage, age: timedelta, **overrides: object) -> tuple[set[str], set[str]]:
    raised, drafts = project_alerts(facts(stage, age, **overrides), LIMITS, NOW)
    return {r.notif_type.value for r in raised}, {d.kind.value for d in drafts}


# -- the rules at their limits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "days", "notif_type", "draft"),
    [
        (Stage.QUOTE, 4, "approval_wait", "approval_followup"),
        (Stage.CUTTING, 1, "cutting_stall", None),
        (Stage.READY, 2, "pickup_wait", None),
    ],
)
def test_a_stage_limit_raises_only_once_it_is_passed(stage, days, notif_type, draft):
    limit = timedelta(days=days)
    under, under_drafts = kinds(stage, limit - MINUTE)
    over, over_drafts = kinds(stage, limit + MINUTE)
    assert notif_type not in under
    assert notif_type in over
    # Passing the limit adds its own draft where the rule has one, and no other.
    assert over_drafts - under_drafts == ({draft} if draft else set())


def test_exactly_at_the_limit_is_not_yet_past_it():
    assert "approval_wait" not in kinds(Stage.QUOTE, timedelta(days=4))[0]


def test_a_job_waiting_on_material_is_raised_at_once_and_is_urgent_past_its_limit():
    under = project_alerts(facts(Stage.WAITING_MATERIAL, timedelta(days=2) - MINUTE), LIMITS, NOW)
    over = project_alerts(facts(Stage.WAITING_MATERIAL, timedelta(days=2) + MINUTE), LIMITS, NOW)
    assert [(r.notif_type, r.severity) for r in under[0]] == [(NotificationType.MATERIAL_BLOCK, Severity.WARNING)]
    assert [(r.notif_type, r.severity) for r in over[0]] == [(NotificationType.MATERIAL_BLOCK, Severity.URGENT)]
    assert "4 × Mild Steel 3.0 mm 3000x1500" in under[0][0].message
    assert under[1] == []
    assert [d.kind for d in over[1]] == [DraftKind.MATERIAL_DELAY]


def test_a_completed_run_restarts_the_cutting_clock():
    recent_run = NOW - timedelta(hours=23)
    assert kinds(Stage.CUTTING, timedelta(days=5), last_run_ended_at=recent_run)[0] == set()
    stalled = kinds(Stage.CUTTING, timedelta(days=5), last_run_ended_at=NOW - timedelta(days=1) - MINUTE)[0]
    assert stalled == {"cutting_stall"}


def test_a_ready_job_gets_its_collection_message_straight_away():
    assert kinds(Stage.READY, timedelta(minutes=5)) == (set(), {"ready_for_collection"})


@pytest.mark.parametrize(
    ("stage", "preset_id", "expected"),
    [(Stage.QUEUED, None, True), (Stage.CUTTING, None, True), (Stage.QUEUED, 3, False), (Stage.QUOTE, None, False)],
)
def test_a_job_about_to_be_cut_without_a_preset_is_flagged(stage, preset_id, expected):
    raised = kinds(stage, timedelta(hours=1), preset_id=preset_id)[0]
    assert ("preset_missing" in raised) is expected


def test_the_missing_preset_message_names_the_sheet():
    raised, _ = project_alerts(facts(Stage.QUEUED, timedelta(hours=1), preset_id=None), LIMITS, NOW)
    assert raised[0].message.startswith("No preset for 3.0 mm Mild Steel — check the machine settings manually")


def item(on_hand: int, minimum: int = 10, shortfall: int = 0) -> ItemFacts:
    return ItemFacts(1, "SH-001", "Mild Steel 3 mm", "sheets", on_hand, minimum, 20, shortfall)


def test_low_stock_is_below_the_minimum_not_at_it():
    assert item_alerts(item(10)) == []
    low = item_alerts(item(9))
    assert [(r.notif_type, r.severity) for r in low] == [(NotificationType.LOW_STOCK, Severity.WARNING)]
    assert low[0].message == "Low stock: SH-001 Mild Steel 3 mm — 9 sheets on hand, minimum 10. Order 20."


def test_a_run_that_used_more_than_the_shelf_held_calls_for_an_emergency_buy():
    raised = item_alerts(item(0, shortfall=3))
    assert raised[0].severity == Severity.URGENT
    assert raised[0].message.startswith("Emergency buy: SH-001 Mild Steel 3 mm ran out — a run used 3 more")


# -- reconciling with the database ----------------------------------------------------------------------


async def _age(db: Database, project_id: int, age: timedelta) -> None:
    async with db.session(write=True) as session:
        await session.execute(update(Project).where(Project.id == project_id).values(stage_changed_at=NOW - age))
        await session.commit()


async def _evaluate(db: Database, **scope: object) -> Evaluation:
    async with db.session(write=True) as session:
        result = await evaluate(session, now=NOW, **scope)  # type: ignore[arg-type]
        await session.commit()
        return result


async def _rows(db: Database, project_id: int) -> list[Notification]:
    async with db.session(write=False) as session:
        return list(
            await session.scalars(select(Notification).where(Notification.project_id == project_id).order_by("id"))
        )


@pytest.fixture
def quote(manager) -> int:  # type: ignore[no-untyped-def]
    project_id = create_project(manager, create_client(manager), name="Quoted brackets")
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303
    return project_id


def test_the_hourly_pass_raises_once_and_then_changes_nothing(db, quote):
    async def scenario() -> None:
        await _age(db, quote, timedelta(days=5))
        first = await _evaluate(db)
        second = await _evaluate(db)
        assert (first.raised, first.drafts) == (1, 1)
        assert not second.changed
        rows = await _rows(db, quote)
        assert [(r.notif_type, r.resolved_at, r.closed_at) for r in rows] == [("approval_wait", None, None)]
        assert "quote waiting on approval for 5 days" in rows[0].message

    run(scenario())


def test_a_live_notification_is_updated_not_duplicated(db, quote):
    async def scenario() -> None:
        await _age(db, quote, timedelta(days=5))
        await _evaluate(db)
        await _age(db, quote, timedelta(days=6))
        result = await _evaluate(db)
        assert (result.raised, result.updated) == (0, 1)
        rows = await _rows(db, quote)
        assert len(rows) == 1 and "for 6 days" in rows[0].message

    run(scenario())


def test_moving_on_clears_the_notification_automatically(db, quote, manager):
    async def raise_it() -> None:
        await _age(db, quote, timedelta(days=5))
        await _evaluate(db)

    run(raise_it())
    # The manager's stage change re-evaluates the project in its own transaction.
    assert manager.post_form(f"/projects/{quote}/pop").status_code == 303
    rows = run(_rows(db, quote))
    approval = [r for r in rows if r.notif_type == "approval_wait"]
    assert len(approval) == 1
    assert approval[0].auto_cleared and approval[0].resolved_at is not None and approval[0].closed_at is not None


def test_resolving_by_hand_quietens_the_condition_until_it_ends(db, quote, manager):
    async def scenario() -> None:
        await _age(db, quote, timedelta(days=5))
        await _evaluate(db)
        notif = (await _rows(db, quote))[0]
        async with db.session(write=True) as session:
            await NotificationService(session, SYSTEM).resolve(notif.id)
        async with db.session(write=False) as session:
            assert await open_count(session) == 0
        # Still waiting on the client: the hourly pass does not raise it again.
        assert not (await _evaluate(db)).raised
        # The condition ends (back to request) and returns later: a new notification.
        async with db.session(write=True) as session:
            await session.execute(update(Project).where(Project.id == quote).values(stage="request"))
            await session.commit()
        await _evaluate(db)
        async with db.session(write=True) as session:
            await session.execute(update(Project).where(Project.id == quote).values(stage="quote"))
            await session.commit()
        await _age(db, quote, timedelta(days=5))
        assert (await _evaluate(db)).raised == 1
        rows = await _rows(db, quote)
        assert [(r.resolved_at is None, r.closed_at is None, r.auto_cleared) for r in rows] == [
            (False, False, False),  # resolved by hand, closed when the condition ended
            (True, True, False),  # the new one, open
        ]

    run(scenario())


def test_stage_limits_are_shop_settings(db, quote):
    async def scenario() -> None:
        await _age(db, quote, timedelta(days=2))
        assert not (await _evaluate(db)).raised
        async with db.session(write=True) as session:
            await session.execute(
                text("INSERT INTO shop_settings (key, value, updated_at) VALUES ('limit_quote_days', '1', :now)"),
                {"now": NOW.replace(tzinfo=None)},
            )
            await session.commit()
        assert (await _evaluate(db)).raised == 1

    run(scenario())


# -- raised by the actions themselves, in their own transaction -------------------------------------------


def test_paying_for_a_job_without_stock_raises_material_block_at_once(manager, db_query):
    client_id = create_client(manager)
    project_id = paid_project(manager, client_id, name="Huge order", sheets_required="900")
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("waiting_material",)]
    rows = db_query("SELECT notif_type, severity, message FROM notifications WHERE project_id = ?", (project_id,))
    assert [(r[0], r[1]) for r in rows] == [("material_block", "warning")]
    assert "900 × Mild Steel 3.0 mm 3000x1500" in rows[0][2]


def test_stock_arriving_clears_the_material_block(login_as, manager, db_query):
    project_id = paid_project(manager, create_client(manager), name="Huge order", sheets_required="600")
    response = manager.post_form("/inventory/1/transaction", {"transaction_type": "Purchase", "quantity": "200"})
    assert response.status_code == 303
    assert db_query("SELECT stage FROM projects WHERE id = ?", (project_id,)) == [("queued",)]
    assert db_query(
        "SELECT auto_cleared, closed_at IS NOT NULL FROM notifications "
        "WHERE project_id = ? AND notif_type = 'material_block'",
        (project_id,),
    ) == [(1, 1)]


def _run_job(operator, project_id: int, sheets: str, finished: bool) -> None:  # type: ignore[no-untyped-def]
    started = operator.post_form("/phone/run/start", {"project_id": str(project_id)})
    assert started.status_code == 303, started.text[:500]
    run_id = started.headers["location"].rsplit("/", 1)[1]
    data = {"run_id": run_id, "sheets_used": sheets, "parts_produced": "10"}
    if finished:
        data["job_finished"] = "1"
    assert operator.post_form("/phone/run/end", data).status_code == 303


def test_ending_a_run_below_the_minimum_raises_low_stock_and_a_finished_job_is_drafted(login_as, manager, db_query):
    operator = login_as("operator")
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    # 500 on hand, minimum 10: use 495 → 5 left.
    _run_job(operator, project_id, "495", finished=True)
    low = db_query("SELECT severity, message FROM notifications WHERE notif_type = 'low_stock' AND closed_at IS NULL")
    assert low == [
        ("warning", "Low stock: MS-3-3015 Mild Steel 3 mm 3000x1500 — 5 sheets on hand, minimum 10. Order 50.")
    ]
    drafts = db_query("SELECT kind, status, body_text FROM outbound_drafts WHERE project_id = ?", (project_id,))
    assert [(d[0], d[1]) for d in drafts] == [("ready_for_collection", "pending")]
    assert "Karoo Steel" in drafts[0][2] and "ready for collection" in drafts[0][2]


def test_using_more_than_the_shelf_held_raises_an_emergency_buy(login_as, manager, db_query):
    operator = login_as("operator")
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    _run_job(operator, project_id, "503", finished=False)
    low = db_query("SELECT severity, message FROM notifications WHERE notif_type = 'low_stock' AND closed_at IS NULL")
    assert low[0][0] == "urgent"
    assert low[0][1].startswith("Emergency buy: MS-3-3015 Mild Steel 3 mm 3000x1500 ran out — a run used 3 more")
    # Buying stock back above the minimum clears it.
    manager.post_form("/inventory/1/transaction", {"transaction_type": "Purchase", "quantity": "100"})
    assert db_query("SELECT count(*) FROM notifications WHERE notif_type = 'low_stock' AND resolved_at IS NULL") == [
        (0,)
    ]


def test_activating_a_preset_clears_the_missing_preset_notifications(login_as, manager, db_query):
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    open_sql = "SELECT count(*) FROM notifications WHERE notif_type = 'preset_missing' AND resolved_at IS NULL"
    assert db_query(open_sql) == [(1,)]
    admin = login_as("admin")
    preset = {
        "name": "MS 3mm O2", "material_type": "Mild Steel", "thickness_mm": "3.0", "power_w": "3000",
        "speed_mm_min": "2800", "frequency_hz": "5000", "gas_type": "O2", "gas_pressure_bar": "0.6",
        "nozzle_mm": "1.2", "focus_mm": "-1.0", "pierce_time_s": "0.5", "is_active": "1",
    }  # fmt: skip
    assert admin.post_form("/presets/new", preset).status_code == 303
    assert db_query(open_sql) == [(0,)]
    assert db_query("SELECT preset_id IS NOT NULL FROM projects WHERE id = ?", (project_id,)) == [(1,)]


def test_the_bell_is_announced_only_after_a_commit(db, quote):
    heard: list[str] = []

    async def listener() -> None:
        heard.append("bell")

    async def scenario() -> None:
        unsubscribe = on_bell_change(listener)
        try:
            await _age(db, quote, timedelta(days=5))
            async with db.session(write=True) as session:
                assert (await evaluate(session, now=NOW)).raised == 1
                await session.rollback()
            assert heard == []
            async with db.session(write=True) as session:
                await evaluate(session, now=NOW)
                assert heard == []
                await session.commit()
            assert heard == ["bell"]
        finally:
            unsubscribe()

    run(scenario())


def test_a_failed_action_writes_no_notification(manager, db_query):
    """An action refused half-way (here: POP twice) leaves notifications exactly as they were."""
    project_id = paid_project(manager, create_client(manager), name="Huge order", sheets_required="900")
    before = db_query("SELECT count(*) FROM notifications")
    assert manager.post_form(f"/projects/{project_id}/pop").status_code == 409
    assert db_query("SELECT count(*) FROM notifications") == before


def test_each_event_drafts_once(db, manager):
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    queue_id = run(_queue_item_id(db, project_id))
    assert manager.post_form(f"/queue/{queue_id}/status", {"status": "In Progress"}).status_code == 303
    assert manager.post_form(f"/queue/{queue_id}/status", {"status": "Completed"}).status_code == 303

    async def drafts() -> list[str]:
        await _evaluate(db)
        await _evaluate(db)
        async with db.session(write=False) as session:
            return list(await session.scalars(select(OutboundDraft.kind).where(OutboundDraft.project_id == project_id)))

    assert run(drafts()) == ["ready_for_collection"]


async def _queue_item_id(db: Database, project_id: int) -> int:
    async with db.session(write=False) as session:
        return int(await session.scalar(text("SELECT id FROM queue_items WHERE project_id = :p"), {"p": project_id}))


def test_an_unsent_draft_is_withdrawn_once_the_job_moves_on(db, manager, db_query):
    project_id = paid_project(manager, create_client(manager), name="Gate panels")
    queue_id = run(_queue_item_id(db, project_id))
    manager.post_form(f"/queue/{queue_id}/status", {"status": "In Progress"})
    manager.post_form(f"/queue/{queue_id}/status", {"status": "Completed"})
    assert db_query("SELECT status FROM outbound_drafts WHERE project_id = ?", (project_id,)) == [("pending",)]
    assert manager.post_form(f"/projects/{project_id}/status", {"stage": "delivered"}).status_code == 303
    assert db_query("SELECT status FROM outbound_drafts WHERE project_id = ?", (project_id,)) == [("withdrawn",)]


def test_a_wake_up_is_scheduled_for_the_limit_only_once_the_stage_change_commits(db, manager):
    from laseros.domain.projects.lifecycle import set_stage

    project_id = create_project(manager, create_client(manager), name="Quoted brackets")
    scheduled: list[tuple[int, datetime]] = []

    async def recorder(pid: int, due: datetime) -> None:
        scheduled.append((pid, due))

    async def scenario() -> None:
        unset = set_wake_up_scheduler(recorder)
        try:
            for finish in ("rollback", "commit"):
                async with db.session(write=True) as session:
                    project = await session.get(Project, project_id)
                    await set_stage(session, project, Stage.QUOTE, SYSTEM, "test", today=NOW.date())
                    entered = project.stage_changed_at
                    await getattr(session, finish)()
                assert scheduled == (
                    [] if finish == "rollback" else [(project_id, entered + timedelta(days=4, seconds=1))]
                )
        finally:
            unset()

    run(scenario())


def test_changing_the_limits_reschedules_every_wake_up(db, quote):
    scheduled: list[int] = []

    async def recorder(pid: int, due: datetime) -> None:
        scheduled.append(pid)

    async def scenario() -> None:
        unset = set_wake_up_scheduler(recorder)
        try:
            async with db.session(write=True) as session:
                watch_everything(session)
                await session.commit()
        finally:
            unset()

    run(scenario())
    assert scheduled == [quote]  # the one project in a limited stage, not yet past its limit
