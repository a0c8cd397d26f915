"""SQLite is set up per SPEC §10, and concurrent writers queue instead of failing, in one app and across processes."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from laseros.db import Database
from laseros.domain.kernel.sequences import next_code_value
from tests.contention import in_processes


def test_sqlite_pragmas(settings):
    async def read() -> dict[str, object]:
        db = Database.from_settings(settings)
        async with db.session(write=False) as session:
            values = {
                name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
        await db.dispose()
        return values

    assert asyncio.run(read()) == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 30000}


def test_write_sessions_begin_immediate(settings):
    statements: list[str] = []

    async def write() -> None:
        db = Database.from_settings(settings)
        from sqlalchemy import event

        def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(db.write_engine.sync_engine, "before_cursor_execute", record)
        event.listen(db.engine.sync_engine, "before_cursor_execute", record)

        async with db.session(write=True) as session:
            await session.execute(text("SELECT 1"))
            await session.commit()
        async with db.session(write=False) as session:
            await session.execute(text("SELECT 2"))
        await db.dispose()

    # The BEGIN is issued by the "begin" event via exec_driver_sql, which also passes through the cursor hook.
    asyncio.run(write())
    assert statements.index("BEGIN IMMEDIATE") < statements.index("SELECT 1")
    assert "BEGIN" in statements[statements.index("SELECT 1") :]


def test_many_concurrent_writers_never_see_database_is_locked(settings):
    async def hammer() -> list[int]:
        db = Database.from_settings(settings)

        async def bump() -> int:
            async with db.session(write=True) as session:
                # read, then write: the pattern that fails with deferred transactions
                await session.execute(text("SELECT count(*) FROM clients"))
                value = await next_code_value(session, "stress")
                await session.commit()
                return value

        values = await asyncio.gather(*(bump() for _ in range(60)))
        await db.dispose()
        return values

    values = asyncio.run(hammer())
    assert sorted(values) == list(range(1, 61))


def test_a_refused_form_does_not_hold_up_another_users_save(settings, monkeypatch, db_query):
    """One web process (uvicorn): while a refused form is drawn again, someone else's valid save goes through.

    The refused request is held inside its 422 re-render; the other user's save must finish meanwhile
    (before, the refused request held the one writer connection, and SQLite's write lock, until it ended).
    """
    import socket
    import threading
    import time

    import anyio.to_thread
    import httpx
    import uvicorn

    from laseros.app import create_app
    from laseros.web.controllers import projects as project_pages
    from tests.support import PASSWORDS

    drawing_refusal, let_it_finish = threading.Event(), threading.Event()
    render = project_pages.render

    async def held_render(request, template, context, **options):  # type: ignore[no-untyped-def]
        if options.get("status_code") == 422:
            drawing_refusal.set()
            await anyio.to_thread.run_sync(let_it_finish.wait, 20)
        return await render(request, template, context, **options)

    monkeypatch.setattr(project_pages, "render", held_render)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)

    def logged_in(role: str) -> httpx.Client:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        client.get("/auth/login")
        client.headers["x-csrftoken"] = client.cookies["csrftoken"]
        assert client.post("/auth/login", data={"username": role, "password": PASSWORDS[role]}).status_code == 303
        return client

    try:
        manager, admin = logged_in("manager"), logged_in("admin")
        refused: list[int] = []
        first = threading.Thread(
            target=lambda: refused.append(manager.post("/projects/new", data={"name": ""}).status_code)
        )
        first.start()
        assert drawing_refusal.wait(10), "the refused form was never drawn again"
        started = time.monotonic()
        saved = admin.post("/clients/new", data={"name": "Karoo Steel"}, timeout=5)
        waited = time.monotonic() - started
        let_it_finish.set()
        first.join(10)
    finally:
        let_it_finish.set()
        server.should_exit = True
        thread.join(10)
    assert (refused, saved.status_code) == ([422], 303)
    assert waited < 5
    assert db_query("SELECT name FROM clients") == [("Karoo Steel",)]
    assert db_query("SELECT count(*) FROM projects") == [(0,)]


# -- writers that really contend for SQLite's lock ------------------------------------------------------
# One Database queues its writers on its one write connection (above). Separate engines and separate
# processes each bring a write connection of their own: they meet SQLite's lock and busy_timeout.


def test_writers_on_separate_engines_wait_for_the_lock_instead_of_failing(settings, db_query):
    async def hammer() -> list[int]:
        dbs = [Database.from_settings(settings) for _ in range(4)]

        async def bump(db: Database) -> int:
            async with db.session(write=True) as session:
                await session.execute(text("SELECT count(*) FROM clients"))
                value = await next_code_value(session, "stress")
                await session.commit()
                return value

        try:
            return await asyncio.gather(*(bump(dbs[n % len(dbs)]) for n in range(60)))
        finally:
            for db in dbs:
                await db.dispose()

    values = asyncio.run(hammer())
    assert sorted(values) == list(range(1, 61))  # every bump counted once: no gap, no repeat
    assert db_query("SELECT last_value FROM code_sequences WHERE name = 'stress'") == [(60,)]


def test_sixty_writers_in_four_processes_never_see_database_is_locked(settings, db_query, tmp_path):
    outcomes = in_processes(settings, "bump", [{"name": "stress", "count": 15}] * 4, tmp_path)
    assert [outcome["errors"] for outcome in outcomes] == [[]] * 4  # no "database is locked", nothing else
    values = sorted(value for outcome in outcomes for value in outcome["results"])
    assert values == list(range(1, 61))
    assert db_query("SELECT last_value FROM code_sequences WHERE name = 'stress'") == [(60,)]


def test_a_statement_built_once_is_the_same_object_for_the_same_shape():
    from sqlalchemy import bindparam, select

    from laseros.db import built_once
    from laseros.domain.projects.models import Project

    calls = []

    @built_once
    def by_code(*, upper: bool):
        calls.append(upper)
        return select(Project.id).where(Project.project_code == bindparam("code"))

    assert by_code(upper=True) is by_code(upper=True)
    assert by_code(upper=False) is not by_code(upper=True)
    assert calls == [True, False]


def test_an_update_built_once_must_not_synchronise_the_session():
    """Its parameters' values are not known when SQLAlchemy would evaluate it on the session's objects."""
    from sqlalchemy import bindparam, update

    from laseros.db import built_once
    from laseros.domain.projects.models import Project

    def rename():
        return update(Project).where(Project.id == bindparam("project_id")).values(name=bindparam("new_name"))

    with pytest.raises(TypeError, match="synchronize_session=False"):
        built_once(rename)()
    unsynchronised = built_once(lambda: rename().execution_options(synchronize_session=False))
    assert unsynchronised() is unsynchronised()


def _queue_plan(db_query) -> str:
    """How SQLite means to read the queue page's first 100 rows."""
    from sqlalchemy.dialects import sqlite

    from laseros.domain.queue.services import _page_statements

    listing, _count = _page_statements(False)
    compiled = listing.limit(100).compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    return " / ".join(row[3] for row in db_query(f"EXPLAIN QUERY PLAN {compiled}"))


def test_the_planner_statistics_are_made_at_start_up_and_nightly(settings, db_query):
    """Years of finished queue items: without statistics SQLite sorts every active item through the status
    index; with them it reads the first page from the active queue's rank index (docs/performance.md)."""
    from laseros.app import create_app
    from laseros.jobs.tasks import run_now
    from laseros.services import open_services

    db_query(  # foreign keys are off on this connection: the items need no projects for the plan
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO queue_items (project_id, rank, status, priority, notes, created_at, updated_at) "
        "SELECT 100000 + i, i * 1000, CASE WHEN i > 2900 THEN 'Queued' ELSE 'Completed' END, 'Normal', '', "
        "'2026-01-01', '2026-01-01' FROM n"
    )
    db_query("DROP TABLE IF EXISTS sqlite_stat1")
    assert "ix_queue_items_status_completed" in _queue_plan(db_query)  # what a shop's database got before

    async def start_and_stop() -> None:
        app = create_app(settings)
        async with app.lifespan():
            pass

    asyncio.run(start_and_stop())
    assert "SCAN queue_items USING INDEX ix_queue_items_active_rank" in _queue_plan(db_query)
    assert ("queue_items",) in db_query("SELECT DISTINCT tbl FROM sqlite_stat1")

    db_query("DROP TABLE sqlite_stat1")

    async def nightly() -> dict[str, object]:
        async with open_services(settings) as services:
            return await run_now("refresh-statistics", services)

    assert asyncio.run(nightly()) == {"refreshed": True}
    assert "SCAN queue_items USING INDEX ix_queue_items_active_rank" in _queue_plan(db_query)
