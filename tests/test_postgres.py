"""The same app on PostgreSQL (DATABASE_URL=postgresql://…): migrations, codes, POP, queue order."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from laseros import migrate
from laseros.app import create_app
from laseros.db import Database
from laseros.domain.admin.services import UserService
from laseros.settings import Settings
from tests.conftest import ShopClient
from tests.factories import create_client, create_project, paid_project

SERVER = os.environ.get("LASEROS_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432")


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(SERVER.replace("+asyncpg", "") + "/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def pg_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    name = f"laseros_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, ImportError) as unavailable:
        pytest.skip(f"PostgreSQL is not reachable at {SERVER}: {unavailable}")
    data_dir: Path = tmp_path_factory.mktemp("pg")
    settings = Settings(data_dir=data_dir, database_url=f"{SERVER}/{name}", secret_key="test-secret-key")
    migrate.upgrade(settings)

    async def add_manager() -> None:
        db = Database.from_settings(settings)
        async with db.session(write=True) as session:
            await UserService(session).create("manager", "manager-password", "manager", "Pg Manager")
        await db.dispose()

    asyncio.run(add_manager())
    yield settings
    asyncio.run(_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_manager(pg_settings: Settings) -> Iterator[ShopClient]:
    with ShopClient(app=create_app(pg_settings)) as client:
        assert client.login("manager", "manager-password").status_code == 303
        yield client


def test_the_office_workflow_runs_on_postgresql(pg_manager):
    client_id = create_client(pg_manager, f"Pg Client {uuid.uuid4().hex[:6]}")
    first = paid_project(pg_manager, client_id)
    second = paid_project(pg_manager, client_id)
    create_project(pg_manager, client_id, name="Unpaid")
    page = pg_manager.get(f"/projects/{second}").text
    assert "Queued (ready to cut)" in page and "-002" in page
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
        assert pg_manager.post_form("/queue/reorder", {"item": order}, htmx=True).status_code in (200, 204)
    shown = [int(i) for i in re.findall(r'id="queue-item-(\d+)"', pg_manager.get("/queue").text)]
    assert shown == order
