"""The same app on PostgreSQL (DATABASE_URL=postgresql://…): migrations, codes, POP, queue order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from laseros.app import create_app
from laseros.db import Database
from laseros.domain.kernel.actor import SYSTEM
from laseros.settings import Settings
from tests.factories import create_client, create_project, paid_project
from tests.support import PASSWORDS, STOCKED_SHEET, ShopClient


@pytest.fixture
def pg_manager(pg_settings: Settings) -> Iterator[ShopClient]:
    """Mo Manager's PostgreSQL twin, logged in on a PC (the database comes from conftest's ``pg_settings``)."""
    with ShopClient(app=create_app(pg_settings)) as client:
        assert client.login("manager", PASSWORDS["manager"]).status_code == 303
        yield client


def test_the_office_workflow_runs_on_postgresql(pg_manager):
    client_id = create_client(pg_manager, f"Pg Client {uuid.uuid4().hex[:6]}")
    first = paid_project(pg_manager, client_id)
    second = paid_project(pg_manager, client_id)
    create_project(pg_manager, client_id, name="Unpaid")
    page = pg_manager.get(f"/projects/{second}").text
    assert '<span class="badge stage-queued">' in page and "-002" in page
    queue = pg_manager.get("/queue").text
    assert queue.index(f"/projects/{first}") < queue.index(f"/projects/{second}")
    search = pg_manager.get("/projects", params={"q": "UNPAID"}).text
    assert "Unpaid" in search
    assert pg_manager.get("/projects", params={"format": "csv"}).status_code == 200
    assert pg_manager.get("/dashboard").status_code == 200


def test_reorder_and_renumber_on_postgresql(pg_manager):
    import re

    client_id = create_client(pg_manager, f"Pg Queue {uuid.uuid4().hex[:6]}")
    for number in range(3):
        paid_project(pg_manager, client_id, name=f"Pg job {number}")
    order = [int(i) for i in re.findall(r'id="queue-item-(\d+)"', pg_manager.get("/queue").text)]
    for _ in range(22):  # enough to use up a gap and force a renumber
        order.insert(1, order.pop())
        assert pg_manager.post_form("/queue/reorder", {"item": order}, htmx=True).status_code == 204
    shown = [int(i) for i in re.findall(r'id="queue-item-(\d+)"', pg_manager.get("/queue").text)]
    assert shown == order


def test_the_shop_floor_runs_on_postgresql(pg_settings, pg_manager):
    """Stock-aware POP, a release on purchase, and a run's atomic clamped deduction, on PostgreSQL."""
    with ShopClient(app=create_app(pg_settings)) as admin:
        assert admin.login("admin", PASSWORDS["admin"]).status_code == 303
        sheet = {
            **STOCKED_SHEET,
            "item_code": f"AL-{uuid.uuid4().hex[:6]}",
            "name": "Alu 2",
            "material_type": "Aluminium",
            "thickness_mm": "2.00",
            "sheet_size": "2500x1250",
            "quantity_on_hand": "1",
        }
        created = admin.post_form("/inventory/new", sheet)
        assert created.status_code == 303, created.text[:500]
        stock_url = created.headers["location"]
    client_id = create_client(pg_manager, f"Pg Floor {uuid.uuid4().hex[:6]}")
    fields = {"material_type": "Aluminium", "thickness_mm": "2.00", "sheet_size": "2500x1250", "sheets_required": "3"}
    waiting = paid_project(pg_manager, client_id, **fields)
    assert '<span class="badge stage-waiting_material">' in pg_manager.get(f"/projects/{waiting}").text
    assert "Blocked" in pg_manager.get("/queue").text
    bought = pg_manager.post_form(f"{stock_url}/transaction", {"transaction_type": "Purchase", "quantity": "4"})
    assert bought.status_code == 303
    assert '<span class="badge stage-queued">' in pg_manager.get(f"/projects/{waiting}").text
    started = pg_manager.post_form("/phone/run/start", {"project_id": str(waiting)})
    assert started.status_code == 303, started.text[:500]
    run_id = started.headers["location"].rsplit("/", 1)[1]
    ended = pg_manager.post_form("/phone/run/end", {"run_id": run_id, "sheets_used": "7", "job_finished": "1"})
    assert ended.status_code == 303
    stock_id = int(stock_url.rsplit("/", 1)[1])
    on_hand, ledger, shortfall = _pg_row(
        pg_settings,
        "SELECT i.quantity_on_hand, sum(t.quantity), sum(t.shortfall) FROM inventory_items i "
        "JOIN inventory_transactions t ON t.item_id = i.id WHERE i.id = :id GROUP BY i.quantity_on_hand",
        id=stock_id,
    )
    assert (on_hand, ledger, shortfall) == (0, 0, 2)  # 1 + 4 bought, 7 used: stops at 0, 2 short
    assert '<span class="badge stage-ready">' in pg_manager.get(f"/projects/{waiting}").text


def _pg_row(settings: Settings, sql: str, **params: object) -> tuple:  # type: ignore[type-arg]
    from sqlalchemy import text

    async def query() -> tuple:  # type: ignore[type-arg]
        db = Database.from_settings(settings)
        try:
            async with db.session(write=False) as session:
                return tuple((await session.execute(text(sql), params)).one())
        finally:
            await db.dispose()

    return asyncio.run(query())


def test_notifications_and_drafts_on_postgresql(pg_settings, pg_manager):
    """The evaluator's bulk writes, partial unique index and draft keys behave the same on PostgreSQL."""
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from laseros.db import utcnow
    from laseros.domain.notifications.bell import open_count
    from laseros.domain.notifications.evaluate import evaluate
    from laseros.domain.notifications.models import Notification, OutboundDraft
    from laseros.domain.notifications.services import NotificationService
    from laseros.domain.projects.models import Project

    client_id = create_client(pg_manager, f"Pg Alerts {uuid.uuid4().hex[:6]}")
    project_id = create_project(pg_manager, client_id, name="Waiting quote")
    assert pg_manager.post_form(f"/projects/{project_id}/status", {"stage": "quote"}).status_code == 303

    async def scenario() -> None:
        db = Database.from_settings(pg_settings)
        try:
            async with db.session(write=True) as session:
                await session.execute(
                    update(Project)
                    .where(Project.id == project_id)
                    .values(stage_changed_at=utcnow() - timedelta(days=6))
                )
                await session.commit()
            for _ in range(2):
                async with db.session(write=True) as session:
                    await evaluate(session)
                    await session.commit()
            async with db.session(write=False) as session:
                live = list(await session.scalars(select(Notification).where(Notification.project_id == project_id)))
                drafts = await session.scalar(
                    select(func.count()).select_from(OutboundDraft).where(OutboundDraft.project_id == project_id)
                )
                before = await open_count(session)
            assert [n.notif_type for n in live] == ["approval_wait"] and drafts == 1
            async with db.session(write=True) as session:
                await NotificationService(session, SYSTEM).resolve(live[0].id)
            async with db.session(write=False) as session:
                assert await open_count(session) == before - 1
        finally:
            await db.dispose()

    asyncio.run(scenario())
